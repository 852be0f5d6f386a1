"""Files, title, status bar, zoom, drops, before/after and closing."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QWheelEvent
from PySide6.QtWidgets import QMessageBox

from llmvis_studio.core.geometry import Bounds
from llmvis_studio.files import load_image, load_mask
from llmvis_studio.ui.app import build_main_window, save_screenshot
from llmvis_studio.ui.canvas.tools import invert_mask


@pytest.fixture
def captured_warnings(monkeypatch):
    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text, *rest: shown.append((title, text)))
    return shown


def write_png(path, image: np.ndarray):
    Image.fromarray(image).save(path)
    return path


def test_open_then_save_as_round_trips_and_updates_title_and_status(window, tmp_path):
    picture = np.random.default_rng(1).integers(0, 256, size=(37, 53, 3), dtype=np.uint8)
    source = write_png(tmp_path / "photo.png", picture)

    assert window.open_path(source)
    np.testing.assert_array_equal(window.document.image, picture)
    assert window.size_label.text() == "53×37, 8-bit"
    assert window.windowTitle().startswith("photo.png — ")
    invert_mask(window.doc)
    assert window.windowTitle().startswith("photo.png* — "), "an edit marks the title"

    target = tmp_path / "copy.png"
    assert window.save_to(target)
    loaded, _ = load_image(target)
    np.testing.assert_array_equal(loaded, picture)
    assert window.windowTitle().startswith("copy.png — ")
    assert not window.doc.modified
    assert window.recent.paths()[0] == str(target.resolve())


def test_failed_save_shows_the_reason_and_keeps_the_document_modified(window, tmp_path, captured_warnings):
    invert_mask(window.doc)
    assert not window.save_to(tmp_path / "no-such-folder" / "out.png")
    assert len(captured_warnings) == 1
    title, text = captured_warnings[0]
    assert "does not exist" in text and "Traceback" not in text
    assert window.doc.modified and "*" in window.windowTitle()


def test_open_of_a_broken_file_warns_and_keeps_the_current_image(window, tmp_path, captured_warnings):
    before = window.document.image.copy()
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    assert not window.open_path(broken)
    assert len(captured_warnings) == 1
    np.testing.assert_array_equal(window.document.image, before)


def test_sixteen_bit_image_is_shown_from_its_high_byte(window, tmp_path):
    import cv2

    deep = np.full((20, 30, 3), 0x1234, dtype=np.uint16)
    path = tmp_path / "deep.png"
    cv2.imwrite(str(path), deep)
    assert window.open_path(path)
    assert window.size_label.text() == "30×20, 16-bit"
    assert window.canvas.item.qimage.pixelColor(5, 5).red() == 0x12


def test_mask_export_and_import_round_trip(window, tmp_path):
    window.document.mask[5:25, 40:90] = 255
    path = tmp_path / "mask.png"
    assert window.export_mask(path)
    np.testing.assert_array_equal(load_mask(path), window.document.mask)
    exported = window.document.mask.copy()
    invert_mask(window.doc)
    steps = window.doc.undo_stack.count()
    assert window.import_mask(path)
    np.testing.assert_array_equal(window.document.mask, exported)
    assert window.doc.undo_stack.count() == steps + 1


def test_fit_and_actual_size_change_the_zoom_label(qtbot, window):
    window.canvas.fit()
    fit_label = window.zoom_label.text()
    assert fit_label.endswith(" %") and fit_label != "100 %"
    window.canvas.actual_size()
    assert window.zoom_label.text() == "100 %"
    centre = QPointF(window.canvas.viewport().rect().center())
    scene_before = window.canvas.mapToScene(centre.toPoint())
    wheel = QWheelEvent(
        centre,
        window.canvas.mapToGlobal(centre),
        QPoint(),
        QPoint(0, 120),
        Qt.NoButton,
        Qt.NoModifier,
        Qt.NoScrollPhase,
        False,
    )
    window.canvas.wheelEvent(wheel)
    assert window.zoom_label.text() == "120 %"
    scene_after = window.canvas.mapToScene(centre.toPoint())
    assert abs(scene_after.x() - scene_before.x()) < 2 and abs(scene_after.y() - scene_before.y()) < 2, (
        "the point under the mouse stays put"
    )


def test_backslash_shows_the_before_image_while_held(qtbot, window):
    qtbot.keyPress(window.canvas, Qt.Key_Backslash)
    assert window.canvas.item.show_before
    qtbot.keyRelease(window.canvas, Qt.Key_Backslash)
    assert not window.canvas.item.show_before
    window.split_slider.setValue(40)
    assert window.canvas.split == pytest.approx(0.4)


def test_dropping_a_file_opens_it(window, tmp_path):
    path = write_png(tmp_path / "dropped.png", np.zeros((12, 34, 3), np.uint8))
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(QPointF(10, 10), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    window.dropEvent(event)
    assert window.size_label.text() == "34×12, 8-bit"
    assert window.document.path == path


def test_closing_with_unsaved_changes_asks_and_can_be_refused(window, monkeypatch):
    invert_mask(window.doc)
    answers = [QMessageBox.Cancel]
    monkeypatch.setattr(window, "ask_unsaved", lambda: answers.pop(0))
    assert not window.close(), "Cancel keeps the window open"
    assert window.isVisible()
    answers.append(QMessageBox.Discard)
    assert window.close()


def test_build_main_window_and_screenshot(qtbot, client, catalog, tmp_path):
    source = write_png(tmp_path / "shot-source.png", np.full((64, 96, 3), (200, 30, 30), np.uint8))
    window = build_main_window(client, catalog, source)
    try:
        shot = tmp_path / "shot.png"
        assert save_screenshot(window, shot)
        picture, _ = load_image(shot)
        red = (picture[..., 0] > 180) & (picture[..., 1] < 60) & (picture[..., 2] < 60)
        assert red.sum() > 1000, "the image is on screen"
    finally:
        window.close()
        window.deleteLater()


def test_recent_files_menu_lists_opened_files(window, tmp_path):
    first = write_png(tmp_path / "one.png", np.zeros((4, 4, 3), np.uint8))
    second = write_png(tmp_path / "two.png", np.zeros((4, 4, 3), np.uint8))
    window.open_path(first)
    window.open_path(second)
    window.refresh_recent_menu()
    names = [action.text() for action in window.recent_menu.actions()]
    assert names[:2] == ["two.png", "one.png"]
    window.recent_menu.triggered.emit(window.recent_menu.actions()[1])
    assert window.document.path.name == "one.png"


def test_mask_overlay_repaints_only_the_changed_box(window, monkeypatch):
    updates = []
    item = window.canvas.item
    monkeypatch.setattr(item, "update", lambda *rect: updates.append(rect))
    window.document.mask[10:20, 30:40] = 255
    window.doc.maskChanged.emit(Bounds(30, 10, 10, 10))
    assert len(updates) == 1 and updates[0][0].width() == 10 and updates[0][0].height() == 10


def _drag_viewport(qtbot, window, button, start: QPoint, end: QPoint) -> None:
    viewport = window.canvas.viewport()
    qtbot.mousePress(viewport, button, Qt.NoModifier, start)
    qtbot.mouseMove(viewport, end)
    qtbot.mouseRelease(viewport, button, Qt.NoModifier, end)


def test_middle_drag_and_space_drag_pan_without_painting(qtbot, window):
    canvas = window.canvas
    canvas.set_zoom(8.0)
    horizontal, vertical = canvas.horizontalScrollBar(), canvas.verticalScrollBar()
    horizontal.setValue(horizontal.maximum() // 2)
    vertical.setValue(vertical.maximum() // 2)
    x0, y0 = horizontal.value(), vertical.value()

    _drag_viewport(qtbot, window, Qt.MiddleButton, QPoint(200, 200), QPoint(150, 180))
    assert (horizontal.value(), vertical.value()) == (x0 + 50, y0 + 20)

    qtbot.keyPress(canvas, Qt.Key_Space)
    _drag_viewport(qtbot, window, Qt.LeftButton, QPoint(150, 180), QPoint(200, 200))
    qtbot.keyRelease(canvas, Qt.Key_Space)
    assert (horizontal.value(), vertical.value()) == (x0, y0)
    assert not window.document.mask.any(), "panning paints nothing"
    assert window.doc.undo_stack.count() == 0
