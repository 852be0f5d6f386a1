"""Issue 20: overlay colour, no empty undo steps, before/after divider in view coordinates, a steady
toolbar, theme."""

from __future__ import annotations

import numpy as np
from PIL import Image
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QPalette
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from llmvis_studio.core.geometry import Bounds
from llmvis_studio.ui import appearance
from llmvis_studio.ui.canvas.images import contrast_colour
from llmvis_studio.ui.canvas.tools import feather_mask


def write_png(path, image):
    Image.fromarray(image).save(path)
    return path


def red_subject(width=120, height=90) -> np.ndarray:
    image = np.full((height, width, 3), (200, 20, 25), np.uint8)  # a red coat filling the frame
    image[:10] = (240, 240, 240)
    return image


def test_the_automatic_overlay_colour_stands_out_from_a_red_subject(window, tmp_path):
    assert contrast_colour(red_subject()) != "red"
    assert window.open_path(write_png(tmp_path / "coat.png", red_subject()))
    window.document.mask[40:60, 40:60] = 255
    window.doc.maskChanged.emit(Bounds(40, 40, 20, 20))
    tint = window.canvas.item.overlay.qimage.pixelColor(50, 50)
    assert not (tint.red() > tint.green() + 50 and tint.red() > tint.blue() + 50), "not a red tint on red"


def test_the_overlay_colour_is_a_remembered_setting(window):
    action = next(a for a in window.appearance.overlay_group.actions() if a.data() == "cyan")
    action.trigger()
    assert window.settings.value(appearance.OVERLAY_KEY) == "cyan"
    window.document.mask[10:20, 10:20] = 255
    window.doc.maskChanged.emit(Bounds(10, 10, 10, 10))
    tint = window.canvas.item.overlay.qimage.pixelColor(15, 15)
    assert tint.red() < 20 and tint.green() > 100 and tint.blue() > 100


def test_a_rectangle_click_adds_no_undo_step(qtbot, window):
    window.tools_panel.tool_buttons["rectangle"].click()
    viewport = window.canvas.viewport()
    point = window.canvas.mapFromScene(50.5, 40.5)
    qtbot.mousePress(viewport, Qt.LeftButton, Qt.NoModifier, point)
    qtbot.mouseRelease(viewport, Qt.LeftButton, Qt.NoModifier, point)
    assert window.doc.undo_stack.count() == 0 and not window.document.mask.any()
    qtbot.mousePress(viewport, Qt.LeftButton, Qt.NoModifier, point)
    qtbot.mouseMove(viewport, point + QPoint(20, 10))
    qtbot.mouseRelease(viewport, Qt.LeftButton, Qt.NoModifier, point + QPoint(20, 10))
    assert window.doc.undo_stack.count() == 1 and window.document.mask.any(), "a drag still works"


def two_tone_job(window):
    """A job that turned the picture black: before = the loaded picture, after = black."""
    window.doc.before_image = np.full_like(window.document.image, 255)
    window.document.image[:] = 0
    window.doc.imageChanged.emit()


def column_colours(window, xs):
    shot = window.canvas.viewport().grab().toImage()
    y = shot.height() // 2 + 30  # below the divider's handle
    return [shot.pixelColor(x, y).red() for x in xs]


def test_the_divider_is_in_view_coordinates_and_visible_when_zoomed(qtbot, window):
    two_tone_job(window)
    window.canvas.set_zoom(8.0)  # far more picture than fits: scroll to its right-hand end
    window.canvas.horizontalScrollBar().setValue(window.canvas.horizontalScrollBar().maximum())
    window.split_slider.setValue(50)
    width = window.canvas.viewport().width()
    assert window.canvas.divider_view_x() == width / 2
    left, right = column_colours(window, [width // 4, 3 * width // 4])
    assert left == 255 and right == 0, "before on the left half of the VIEW, after on the right"


def test_the_divider_can_be_dragged_and_the_slider_follows(qtbot, window):
    two_tone_job(window)
    window.split_slider.setValue(50)
    viewport = window.canvas.viewport()
    width, middle = viewport.width(), viewport.height() // 2
    start = QPoint(width // 2, middle)
    qtbot.mousePress(viewport, Qt.LeftButton, Qt.NoModifier, start)
    qtbot.mouseMove(viewport, QPoint(width // 4, middle))
    qtbot.mouseRelease(viewport, Qt.LeftButton, Qt.NoModifier, QPoint(width // 4, middle))
    assert window.split_slider.value() == 25
    assert not window.document.mask.any() and window.doc.undo_stack.count() == 0, "the brush did not paint"


def test_holding_backslash_flashes_the_before_image_whatever_has_focus(qtbot, window):
    window.activateWindow()
    window.prompt_panel.run_button.setFocus()
    qtbot.waitUntil(window.prompt_panel.run_button.hasFocus, timeout=2000)
    QTest.keyPress(window.prompt_panel.run_button, Qt.Key_Backslash)
    assert window.canvas.item.show_before
    QTest.keyRelease(window.prompt_panel.run_button, Qt.Key_Backslash)
    assert not window.canvas.item.show_before


def test_toolbar_controls_stay_put_when_the_undo_text_grows(qtbot, window):
    qtbot.waitUntil(lambda: window.split_slider.isVisible(), timeout=2000)
    before = window.split_slider.mapTo(window, QPoint(0, 0))
    window.document.mask[10:30, 10:30] = 255
    window.doc.maskChanged.emit(Bounds(10, 10, 20, 20))
    assert feather_mask(window.doc, 8)
    assert window.undo_action.text() == "&Undo Feather mask 8 px"
    QApplication.processEvents()
    assert window.split_slider.mapTo(window, QPoint(0, 0)) == before
    assert "Feather mask 8 px" in window.undo_action.toolTip()


def test_the_dark_theme_is_a_setting_and_follows_the_system(qtbot, window, monkeypatch):
    app = QApplication.instance()
    style_name = app.style().name()
    try:
        next(a for a in window.appearance.theme_group.actions() if a.data() == "dark").trigger()
        assert window.settings.value(appearance.THEME_KEY) == "dark"
        assert app.palette().color(QPalette.Window).lightness() < 80
        QApplication.processEvents()
        icon = window.tools_panel.tool_buttons["brush"].icon().pixmap(32, 32).toImage()
        drawn = [icon.pixelColor(x, y) for x in range(32) for y in range(32) if icon.pixelColor(x, y).alpha() > 200]
        assert drawn and min(c.lightness() for c in drawn) > 150, "tool icons redrawn light on the dark theme"
        next(a for a in window.appearance.theme_group.actions() if a.data() == "light").trigger()
        assert app.palette().color(QPalette.Window).lightness() > 150
        next(a for a in window.appearance.theme_group.actions() if a.data() == "system").trigger()
        monkeypatch.setattr(appearance, "system_is_dark", lambda: True)
        window.appearance.on_system_scheme_changed()  # the system turned dark: followed
        assert app.palette().color(QPalette.Window).lightness() < 80
    finally:
        app.setStyle(style_name)
        app.setPalette(app.style().standardPalette())


def test_tools_have_icons(window):
    for name, button in window.tools_panel.tool_buttons.items():
        image = button.icon().pixmap(32, 32).toImage()
        opaque = sum(image.pixelColor(x, y).alpha() > 0 for x in range(32) for y in range(32))
        assert 30 < opaque < 600, f"{name}: a drawn icon, not empty or a filled square"


def test_the_outline_style_draws_black_and_white_dashes_at_the_mask_edge_only(qtbot, window):
    window.document.image[:] = (200, 20, 25)  # any colour: the dashes are black and white
    window.doc.imageChanged.emit()
    action = next(a for a in window.appearance.style_group.actions() if a.data() == "outline")
    action.trigger()
    assert window.settings.value(appearance.STYLE_KEY) == "outline"
    window.canvas.set_zoom(2.0)
    window.canvas.centerOn(60, 50)
    window.document.mask[30:70, 40:80] = 255
    window.doc.maskChanged.emit(Bounds(40, 30, 40, 40))
    qtbot.waitUntil(lambda: window.canvas.outline is not None and not window.canvas.outline.isEmpty(), timeout=2000)
    shot = window.canvas.viewport().grab().toImage()
    edge = window.canvas.mapFromScene(40.5, 50.5)
    inside = window.canvas.mapFromScene(60.5, 50.5)
    column = [shot.pixelColor(edge.x() + dx, edge.y() + dy) for dx in (-1, 0, 1) for dy in range(0, 12)]
    assert any(c.lightness() > 240 for c in column) and any(c.lightness() < 15 for c in column)
    assert shot.pixelColor(inside) == shot.pixelColor(window.canvas.mapFromScene(10.5, 10.5)), "no tint inside"


def test_other_modules_can_add_mask_menu_entries(window):
    called = []
    action = window.mask_commands.add_action("Select Subject", lambda: called.append(True))
    assert action in window.mask_menu.actions()
    action.trigger()  # on_mask_menu sees it too and leaves it alone
    assert called == [True] and window.doc.undo_stack.count() == 0
