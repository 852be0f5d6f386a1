"""Live Colourize (fake engine): hint and strength changes re-run the job on the worker, debounced, the latest request
winning; re-runs with unchanged content add no undo step; hints travel in the project file."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QTimer

from llmvis_studio.ui.colourize_live import DEBOUNCE_MS

TIMEOUT_MS = 10_000


def idle(qtbot, window) -> None:
    qtbot.waitUntil(
        lambda: not window.jobs.busy and not window.colourize_panel.live.timer.isActive(), timeout=TIMEOUT_MS
    )


def test_changes_rerun_debounced_and_the_latest_request_wins(window, qtbot):
    panel, fake = window.colourize_panel, window.jobs.client.fake
    panel.add_dot(10, 10)
    qtbot.wait(DEBOUNCE_MS + 100)
    assert fake.requests == [], "no live run before Colourize was pressed"
    assert panel.on_run() is not None
    idle(qtbot, window)
    assert panel.live.runs == 1

    for y in (20, 30, 40):  # a burst of edits inside one debounce interval: one run, with all of them
        panel.add_dot(y, 20)
    panel.strength_slider.setValue(60)
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(20)
    qtbot.waitUntil(lambda: panel.live.runs == 2, timeout=TIMEOUT_MS)
    idle(qtbot, window)
    timer.stop()
    assert panel.live.runs == 2
    last = fake.requests[-1]
    assert last.params["strength"] == 0.6 and np.array_equal(last.params["hints"], panel.hints.rgba)
    assert (last.params["hints"][..., 3] > 0).sum() == 4 * 9
    assert len(ticks) >= 10, "the GUI thread kept running while the worker colourized"

    ended = []
    window.jobs.jobEnded.connect(lambda op, applied: ended.append(applied))
    panel.add_dot(50, 50)
    qtbot.waitUntil(lambda: window.jobs.busy, timeout=TIMEOUT_MS)  # the live run for that dot started
    panel.strength_slider.setValue(30)  # a newer change while it runs
    qtbot.wait(DEBOUNCE_MS + 50)
    idle(qtbot, window)
    assert ended[0] is False, "the older live run was cancelled"
    assert fake.requests[-1].params["strength"] == 0.3 and panel.live.runs == 4


def test_undoing_a_hint_reruns_without_eating_the_redo(window, qtbot):
    panel = window.colourize_panel
    panel.add_dot(10, 10)
    panel.on_run()
    idle(qtbot, window)
    panel.add_dot(30, 30)
    idle(qtbot, window)
    steps = window.doc.undo_stack.count()
    window.undo()  # the newest step is the dot (the re-run gave the same pixels: no step of its own)
    assert panel.hints.rgba[30, 30, 3] == 0
    qtbot.wait(DEBOUNCE_MS + 50)
    idle(qtbot, window)
    assert window.doc.undo_stack.count() == steps and window.doc.undo_stack.canRedo()
    window.redo()
    assert panel.hints.rgba[30, 30, 3] == 255


def test_hints_are_saved_in_the_project_and_restored(window, qtbot, tmp_path):
    panel = window.colourize_panel
    panel.add_dot(10, 12)
    panel.add_dot(40, 50)
    layer = panel.hints.rgba.copy()
    assert window.doc.modified, "a hint is an edit"
    path = tmp_path / "hinted.llmvis"
    assert window.save_project_to(path)

    assert window.open_path(tmp_path / "synthetic.png")
    assert panel.hints.is_empty() and panel.markers == []
    assert window.open_path(path)
    np.testing.assert_array_equal(panel.hints.rgba, layer)
    assert len(panel.markers) == 2 and not window.doc.modified

    panel.on_clear()  # clearing is one undo step
    assert panel.hints.is_empty() and panel.markers == []
    window.undo()
    np.testing.assert_array_equal(panel.hints.rgba, layer)
    assert len(panel.markers) == 2
