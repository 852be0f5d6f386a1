"""Mask tools and commands on the real canvas: each is one bounding-box undo step."""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPoint, QPointF, Qt

from llmvis_studio.core import mask as maskops
from llmvis_studio.core.geometry import Bounds
from llmvis_studio.core.history import PatchAtom


def view_point(window, x: int, y: int) -> QPoint:
    """A whole viewport position that lands inside image pixel (x, y) (mapFromScene rounds)."""
    guess = window.canvas.mapFromScene(QPointF(x + 0.5, y + 0.5))
    for dx, dy in [(0, 0), (-1, 0), (0, -1), (-1, -1), (1, 0), (0, 1), (1, 1)]:
        candidate = guess + QPoint(dx, dy)
        scene = window.canvas.mapToScene(candidate)
        if (math.floor(scene.x()), math.floor(scene.y())) == (x, y):
            return candidate
    raise AssertionError(f"no viewport pixel shows image pixel {(x, y)}")


def drag(qtbot, window, points, modifier=Qt.NoModifier) -> None:
    viewport = window.canvas.viewport()
    positions = [view_point(window, x, y) for x, y in points]
    qtbot.mousePress(viewport, Qt.LeftButton, modifier, positions[0])
    for position in positions[1:]:
        qtbot.mouseMove(viewport, position)
    qtbot.mouseRelease(viewport, Qt.LeftButton, modifier, positions[-1])


def choose(window, tool: str) -> None:
    window.tools_panel.tool_buttons[tool].click()


def last_atom(window) -> PatchAtom:
    """The atom of the step that undo would revert next."""
    stack = window.doc.undo_stack
    return stack.command(stack.index() - 1).atom


def test_brush_stroke_paints_under_the_path_and_is_one_exact_undo_step(qtbot, window):
    window.brush.set_size(10)
    window.brush.set_hardness(1.0)
    mask = window.document.mask
    assert not mask.any()

    drag(qtbot, window, [(50, 40), (80, 40), (120, 40)])

    painted = mask.copy()
    assert (painted[40, 50:121] == 255).all(), "every pixel under the path is selected"
    assert painted[40, 180] == 0 and painted[120, 85] == 0 and painted[5, 5] == 0
    assert window.doc.undo_stack.count() == 1
    atom = last_atom(window)
    assert atom.layer == "mask"
    # The stroke's box: 70 px of path plus the 10 px brush (one pixel of rounding either side).
    assert atom.before.shape[0] <= 10 + 2 and atom.before.shape[1] <= 70 + 10 + 2
    assert atom.after.shape == atom.before.shape

    window.doc.undo_stack.undo()
    assert not window.document.mask.any()
    window.doc.undo_stack.redo()
    np.testing.assert_array_equal(window.document.mask, painted)


def test_eraser_clears_only_along_its_stroke(qtbot, window):
    window.tools_panel.command_buttons["invert"].click()  # select everything (one step)
    assert window.document.mask.all()
    window.brush.set_size(8)
    window.brush.set_hardness(1.0)
    choose(window, "eraser")

    drag(qtbot, window, [(20, 100), (60, 100)])

    mask = window.document.mask
    assert (mask[100, 20:61] == 0).all()
    assert mask[10, 10] == 255 and mask[100, 150] == 255
    assert window.doc.undo_stack.count() == 2
    assert last_atom(window).before.shape[1] <= 40 + 8 + 2
    window.doc.undo_stack.undo()
    assert window.document.mask.all()


def test_rectangle_adds_and_alt_rectangle_subtracts(qtbot, window):
    choose(window, "rectangle")
    drag(qtbot, window, [(20, 30), (40, 50), (60, 70)])
    mask = window.document.mask
    expected = np.zeros_like(mask)
    expected[30:71, 20:61] = 255
    np.testing.assert_array_equal(mask, expected)
    assert window.doc.undo_stack.count() == 1
    assert last_atom(window).before.shape == (41, 41)

    drag(qtbot, window, [(30, 40), (40, 50)], modifier=Qt.AltModifier)
    expected[40:51, 30:41] = 0
    np.testing.assert_array_equal(window.document.mask, expected)
    assert window.doc.undo_stack.count() == 2
    window.doc.undo_stack.undo()
    assert (window.document.mask[40:51, 30:41] == 255).all()


def test_lasso_fills_its_outline(qtbot, window):
    choose(window, "lasso")
    drag(qtbot, window, [(100, 20), (160, 20), (160, 80), (100, 80)])
    mask = window.document.mask
    assert mask[50, 130] == 255 and mask[21, 101] == 255
    assert mask[10, 130] == 0 and mask[50, 170] == 0 and mask[120, 50] == 0
    assert window.doc.undo_stack.count() == 1
    assert last_atom(window).before.shape[0] <= 62 and last_atom(window).before.shape[1] <= 62
    window.doc.undo_stack.undo()
    assert not window.document.mask.any()


def test_invert_grow_shrink_feather_are_one_step_each(qtbot, window):
    choose(window, "rectangle")
    drag(qtbot, window, [(60, 50), (100, 90)])
    start = window.document.mask.copy()
    panel = window.tools_panel
    panel.radius_spin.setValue(3)
    stack = window.doc.undo_stack
    cases = {
        "grow": maskops.grown(start, 3),
        "shrink": maskops.shrunk(start, 3),
        "feather": maskops.feathered(start, 3),
        "invert": maskops.inverted(start),
        "clear": np.zeros_like(start),
    }
    for name, expected in cases.items():
        steps = stack.index()
        panel.command_buttons[name].click()
        np.testing.assert_array_equal(window.document.mask, expected, err_msg=name)
        assert stack.index() == steps + 1, name
        if name != "invert":  # a local change stores only its box, never the whole mask
            assert last_atom(window).before.size < start.size // 4, name
        stack.undo()
        np.testing.assert_array_equal(window.document.mask, start, err_msg=f"undo {name}")
        stack.redo()
        np.testing.assert_array_equal(window.document.mask, expected, err_msg=f"redo {name}")
        stack.undo()


def test_mask_command_that_changes_nothing_adds_no_step(window):
    window.tools_panel.command_buttons["clear"].click()
    assert window.doc.undo_stack.count() == 0


def test_brackets_change_the_brush_size(qtbot, window):
    window.brush.set_size(40)
    qtbot.keyClick(window.canvas, Qt.Key_BracketRight)
    assert window.brush.size == 50
    assert window.tools_panel.size_spin.value() == 50
    qtbot.keyClick(window.canvas, Qt.Key_BracketLeft)
    qtbot.keyClick(window.canvas, Qt.Key_BracketLeft)
    assert window.brush.size == 32
    window.brush.set_size(1)
    qtbot.keyClick(window.canvas, Qt.Key_BracketLeft)
    assert window.brush.size == 1


def test_overlay_tints_masked_pixels_only(window):
    window.canvas.item.set_overlay_choice("red")
    window.tools_panel.opacity_slider.setValue(50)
    window.document.mask[10:20, 10:20] = 255
    window.doc.maskChanged.emit(Bounds(10, 10, 10, 10))
    overlay = window.canvas.item.overlay.qimage
    inside, outside = overlay.pixelColor(15, 15), overlay.pixelColor(50, 50)
    assert inside.alpha() == 128 and inside.red() == 255 and inside.green() == 0 and inside.blue() == 0
    assert outside.alpha() == 0


def test_undo_during_a_stroke_abandons_only_that_stroke(qtbot, window):
    window.brush.set_size(6)
    choose(window, "rectangle")
    drag(qtbot, window, [(10, 10), (30, 30)])
    after_rectangle = window.document.mask.copy()
    choose(window, "brush")
    viewport = window.canvas.viewport()
    qtbot.mousePress(viewport, Qt.LeftButton, Qt.NoModifier, view_point(window, 100, 100))
    qtbot.mouseMove(viewport, view_point(window, 140, 100))
    assert window.document.mask[100, 120] == 255

    window.undo_action.trigger()  # Ctrl+Z mid-stroke
    np.testing.assert_array_equal(window.document.mask, after_rectangle)
    qtbot.mouseRelease(viewport, Qt.LeftButton, Qt.NoModifier, view_point(window, 150, 100))
    np.testing.assert_array_equal(window.document.mask, after_rectangle)
    assert window.doc.undo_stack.count() == 1
    assert window.undo_action.isEnabled() and window.undo_action.text() == "&Undo Rectangle"


def test_mask_menu_chooses_tools_and_steps_the_brush(window):
    actions = {
        action.text(): action
        for menu in window.menuBar().findChildren(type(window.recent_menu))
        for action in menu.actions()
    }
    assert actions["Lasso"].shortcut().toString() == "L"
    actions["Lasso"].trigger()
    assert window.canvas.tool is window.tools["lasso"]
    assert window.tools_panel.tool_buttons["lasso"].isChecked()
    window.brush.set_size(20)
    actions["Larger Brush"].trigger()
    assert window.brush.size == 25
