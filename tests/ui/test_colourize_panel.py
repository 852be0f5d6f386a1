"""The Colourize panel: hint dots are undoable steps, and Colourize submits one frozen request with them."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF
from PySide6.QtGui import QColor

JOB_TIMEOUT_MS = 10_000


def test_hint_brush_dots_are_undoable_and_reach_the_request(window, qtbot):
    panel = window.colourize_panel
    window.colourize_action.trigger()
    assert panel.isVisible()
    panel.brush_button.setChecked(True)
    assert window.canvas.tool is panel.tool
    panel.set_colour(QColor(10, 200, 30))
    panel.tool.press(QPointF(20.5, 30.5), False)  # scene point → pixel (x 20, y 30)
    panel.set_colour(QColor(250, 20, 20))
    panel.tool.press(QPointF(100.5, 60.5), False)
    layer = panel.hints.rgba
    assert tuple(layer[30, 20]) == (10, 200, 30, 255) and tuple(layer[60, 100]) == (250, 20, 20, 255)
    assert (layer[..., 3] > 0).sum() == 18 and len(panel.markers) == 2

    window.undo()  # the red dot goes, the green one stays
    assert layer[60, 100, 3] == 0 and layer[30, 20, 3] == 255 and len(panel.markers) == 1
    window.redo()
    assert layer[60, 100, 3] == 255 and len(panel.markers) == 2

    panel.strength_slider.setValue(70)
    before = window.document.image.copy()
    job = panel.on_run()
    assert job is not None
    qtbot.waitUntil(lambda: not window.jobs.busy, timeout=JOB_TIMEOUT_MS)
    request = window.jobs.client.fake.requests[-1]  # what the worker handed the (fake) engine
    assert request.op == "colourize" and request.params["strength"] == 0.7
    assert np.array_equal(request.params["hints"], layer)  # a copy of the layer at submit time
    assert not np.array_equal(window.document.image, before)  # the (fake) result landed as an edit
    window.undo()
    assert np.array_equal(window.document.image, before)

    panel.brush_button.setChecked(False)
    assert window.canvas.tool is window.tools["brush"]


def test_clear_drops_all_hints(window):
    panel = window.colourize_panel
    panel.add_dot(5, 5)
    panel.add_dot(40, 40)
    panel.on_clear()
    assert panel.hints.is_empty() and not panel.markers
    assert "hints" not in panel.build_request().params
