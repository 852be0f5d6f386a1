"""Jobs from the prompt panel run on the worker thread and come back as one undo step."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QMessageBox

from llmvis_studio.core.geometry import Bounds

JOB_TIMEOUT_MS = 10_000


class TickCounter:
    """Counts 5 ms timer ticks: they only fire while the GUI event loop is free."""

    def __init__(self) -> None:
        self.ticks = 0
        self.timer = QTimer()
        self.timer.setInterval(5)
        self.timer.timeout.connect(self.tick)
        self.timer.start()

    def tick(self) -> None:
        self.ticks += 1


def select_rectangle(window, bounds: Bounds) -> None:
    window.document.mask[bounds.slices] = 255
    window.doc.maskChanged.emit(bounds)


def choose_op(window, op: str) -> None:
    combo = window.prompt_panel.op_combo
    combo.setCurrentIndex(combo.findData(op))
    assert window.prompt_panel.op == op


@pytest.fixture
def captured_warnings(monkeypatch):
    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text, *rest: shown.append((title, text)))
    return shown


def test_job_runs_while_the_event_loop_turns_and_applies_as_one_step(qtbot, window):
    original = window.document.image.copy()
    select_rectangle(window, Bounds(20, 10, 50, 40))
    choose_op(window, "inpaint")
    panel = window.prompt_panel
    counter = TickCounter()

    with qtbot.waitSignal(window.client.jobFinished, timeout=JOB_TIMEOUT_MS):
        panel.run_button.click()
        assert not panel.run_button.isEnabled() and panel.cancel_button.isEnabled()
    counter.timer.stop()

    assert counter.ticks >= 20, f"the GUI thread blocked: only {counter.ticks} ticks in a 0.4 s job"
    assert panel.progress_bar.value() == panel.progress_bar.maximum(), "the bar followed jobProgress to the end"
    image = window.document.image
    np.testing.assert_array_equal(image[10:50, 20:70], 255 - original[10:50, 20:70])
    np.testing.assert_array_equal(image[60:, :], original[60:, :])
    stack = window.doc.undo_stack
    assert stack.count() == 1
    assert stack.command(0).atoms[0].before.shape[:2] == (40, 50), "the job stored only its changed box"
    assert panel.run_button.isEnabled() and not panel.cancel_button.isEnabled()
    assert window.job_label.text() == "Last job: FakeCPU, 1.2 s"
    after = image.copy()

    stack.undo()
    np.testing.assert_array_equal(window.document.image, original)
    stack.redo()
    np.testing.assert_array_equal(window.document.image, after)
    np.testing.assert_array_equal(window.doc.before_image, original)


def test_cancel_leaves_image_and_history_untouched(qtbot, window):
    original = window.document.image.copy()
    select_rectangle(window, Bounds(0, 0, 100, 100))
    choose_op(window, "inpaint")
    panel = window.prompt_panel
    with qtbot.waitSignal(window.client.jobProgress, timeout=JOB_TIMEOUT_MS):
        panel.run_button.click()
    with qtbot.waitSignal(window.client.jobCancelled, timeout=JOB_TIMEOUT_MS):
        panel.cancel_button.click()

    np.testing.assert_array_equal(window.document.image, original)
    assert window.doc.undo_stack.count() == 0
    assert panel.run_button.isEnabled()
    assert "Cancelled" in window.statusBar().currentMessage()


def test_failing_job_shows_its_message_and_changes_nothing(qtbot, make_window, make_client, captured_warnings):
    window = make_window(make_client("fail"))
    original = window.document.image.copy()
    select_rectangle(window, Bounds(5, 5, 30, 30))
    choose_op(window, "inpaint")
    with qtbot.waitSignal(window.client.jobFailed, timeout=JOB_TIMEOUT_MS):
        window.prompt_panel.run_button.click()

    assert captured_warnings == [("The job failed", "The fake engine cannot handle this image.")]
    assert "Traceback" not in captured_warnings[0][1]
    np.testing.assert_array_equal(window.document.image, original)
    assert window.doc.undo_stack.count() == 0
    assert window.prompt_panel.run_button.isEnabled()


def test_upscale_replaces_the_image_and_resizes_the_mask_in_one_step(qtbot, window):
    original = window.document.image.copy()
    select_rectangle(window, Bounds(10, 10, 20, 20))
    choose_op(window, "upscale")
    panel = window.prompt_panel
    panel.scale_combo.setCurrentIndex(panel.scale_combo.findData(2))
    assert panel.model_id == "fake-x2"
    with qtbot.waitSignal(window.client.jobFinished, timeout=JOB_TIMEOUT_MS):
        panel.run_button.click()

    assert window.document.image.shape == (300, 400, 3)
    assert window.document.mask.shape == (300, 400)
    assert window.document.mask[30, 30] == 255 and window.document.mask[100, 100] == 0
    assert window.size_label.text() == "400×300, 8-bit"
    window.doc.undo_stack.undo()
    np.testing.assert_array_equal(window.document.image, original)
    assert window.size_label.text() == "200×150, 8-bit"


def test_request_carries_prompt_model_and_options(window):
    panel = window.prompt_panel
    choose_op(window, "upscale")
    panel.prompt_edit.setPlainText("  make it bigger ")
    panel.scale_combo.setCurrentIndex(panel.scale_combo.findData(4))
    panel.tile_combo.setCurrentText("Custom")
    panel.tile_spin.setValue(256)
    request = panel.build_request(window.document.image, window.document.mask)
    assert (request.op, request.prompt, dict(request.params), request.tile) == (
        "upscale",
        "make it bigger",
        {"scale": 4},
        256,
    )
    assert request.mask is None, "an empty mask is not sent"
    assert not request.image.flags.writeable
    choose_op(window, "inpaint")
    assert [panel.model_combo.itemData(i) for i in range(panel.model_combo.count())] == [
        None,
        "opencv-telea",
        "opencv-ns",
        "remove-object",
    ]  # None: auto by hole size
    assert panel.model_id == "opencv-telea"


def test_result_of_a_job_whose_image_was_undone_meanwhile_is_discarded(qtbot, window):
    original = window.document.image.copy()
    select_rectangle(window, Bounds(20, 10, 50, 40))
    choose_op(window, "inpaint")
    with qtbot.waitSignal(window.client.jobFinished, timeout=JOB_TIMEOUT_MS):
        window.prompt_panel.run_button.click()
    with qtbot.waitSignal(window.client.jobFinished, timeout=JOB_TIMEOUT_MS):
        window.prompt_panel.run_button.click()
        window.undo_action.trigger()  # undo the first job while the second runs on its image
    np.testing.assert_array_equal(window.document.image, original)
    assert window.doc.undo_stack.index() == 0
    assert "discarded" in window.statusBar().currentMessage()


def test_remove_object_sample_area_is_set_from_the_mask_and_travels_with_the_request(window):
    choose_op(window, "inpaint")
    panel = window.prompt_panel
    assert panel.sample_button.isVisibleTo(panel) and not panel.sample_clear_button.isEnabled()
    select_rectangle(window, Bounds(0, 0, 40, 150))
    panel.sample_button.click()
    assert not window.document.mask.any(), "the mask is cleared for painting the object"
    select_rectangle(window, Bounds(80, 40, 30, 30))
    request = panel.build_request(window.document.image, window.document.mask)
    assert request.sample_from is not None and request.sample_from[5, 5] == 255 and request.sample_from[50, 100] == 0
    assert request.mask[50, 90] == 255 and request.mask[5, 5] == 0
    panel.sample_clear_button.click()
    assert panel.build_request(window.document.image, window.document.mask).sample_from is None
    choose_op(window, "upscale")
    assert not panel.sample_button.isVisibleTo(panel)
