"""Issue 20: a job applies to what the panel says it will, and Ctrl+Z undoes it whatever has focus."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from llmvis_studio.core.geometry import Bounds
from llmvis_studio.ui import jobs as jobs_module

JOB_TIMEOUT_MS = 10_000


def select_rectangle(window, bounds: Bounds) -> None:
    window.document.mask[bounds.slices] = 255
    window.doc.maskChanged.emit(bounds)


def choose_op(window, op: str) -> None:
    combo = window.prompt_panel.op_combo
    combo.setCurrentIndex(combo.findData(op))


def run(qtbot, window) -> None:
    with qtbot.waitSignal(window.client.jobFinished, timeout=JOB_TIMEOUT_MS):
        window.prompt_panel.run_button.click()
    qtbot.waitUntil(lambda: not window.jobs.busy, timeout=JOB_TIMEOUT_MS)


def scope(qtbot, window, expected: str) -> None:
    qtbot.waitUntil(lambda: window.prompt_panel.scope_label.text() == expected, timeout=2000)


def test_the_panel_says_what_run_applies_to_before_run(qtbot, window):
    choose_op(window, "inpaint")
    scope(qtbot, window, "Applies to: nothing yet. Paint a mask over what to fill.")
    select_rectangle(window, Bounds(20, 10, 50, 40))
    scope(qtbot, window, "Applies to: mask (2,000 px)")
    choose_op(window, "upscale")
    scope(qtbot, window, "Applies to: whole image (this operation ignores the mask)")
    window.mask_commands.run("clear", 1)
    scope(qtbot, window, "Applies to: whole image")


def test_a_masked_job_clears_the_mask_and_one_undo_brings_back_picture_and_mask(qtbot, window):
    original = window.document.image.copy()
    select_rectangle(window, Bounds(20, 10, 50, 40))
    mask_before = window.document.mask.copy()
    choose_op(window, "inpaint")
    run(qtbot, window)

    edited = window.document.image.copy()
    assert not np.array_equal(edited, original), "the job changed the picture"
    assert not window.document.mask.any(), "the mask is cleared so the result is visible"
    assert window.canvas.item.overlay.buffer.max() == 0, "no overlay hides the result"
    scope(qtbot, window, "Applies to: nothing yet. Paint a mask over what to fill.")
    assert window.doc.undo_stack.count() == 1, "the job and its mask clearing are one step"

    window.undo_action.trigger()
    np.testing.assert_array_equal(window.document.image, original)
    np.testing.assert_array_equal(window.document.mask, mask_before)
    window.redo_action.trigger()
    np.testing.assert_array_equal(window.document.image, edited)
    assert not window.document.mask.any()

    window.mask_commands.reuse_mask_action.trigger()  # Mask ▸ Reuse the Last Job's Mask: the old mask without undoing the job
    np.testing.assert_array_equal(window.document.mask, mask_before)
    np.testing.assert_array_equal(window.document.image, edited)


def test_the_next_job_after_a_masked_one_runs_on_the_whole_image(qtbot, window):
    select_rectangle(window, Bounds(20, 10, 50, 40))
    choose_op(window, "inpaint")
    run(qtbot, window)
    run(qtbot, window)
    first, second = window.client.fake.requests
    assert first.mask is not None and second.mask is None, "the second job did not inherit the old mask"


def test_ctrl_z_right_after_enter_in_the_prompt_undoes_the_edit_not_the_typing(qtbot, window):
    original = window.document.image.copy()
    select_rectangle(window, Bounds(20, 10, 50, 40))
    window.activateWindow()
    edit = window.prompt_panel.prompt_edit
    edit.setFocus()
    qtbot.waitUntil(edit.hasFocus, timeout=2000)
    QTest.keyClicks(edit, "remove the scratch")
    with qtbot.waitSignal(window.client.jobFinished, timeout=JOB_TIMEOUT_MS):
        QTest.keyClick(edit, Qt.Key_Return)
    qtbot.waitUntil(lambda: not window.jobs.busy and window.doc.undo_stack.count() == 1, timeout=JOB_TIMEOUT_MS)
    assert edit.hasFocus()

    QTest.keyClick(edit, Qt.Key_Z, Qt.ControlModifier)
    np.testing.assert_array_equal(window.document.image, original)
    assert edit.toPlainText() == "remove the scratch", "the prompt text is left alone"

    QTest.keyClicks(edit, " now")  # new typing: Ctrl+Z in the box undoes that typing first
    QTest.keyClick(edit, Qt.Key_Z, Qt.ControlModifier)
    assert edit.toPlainText() == "remove the scratch"
    assert window.doc.undo_stack.index() == 0


def test_ctrl_z_in_a_spin_box_undoes_the_document(qtbot, window):
    select_rectangle(window, Bounds(5, 5, 10, 10))
    window.mask_commands.run("invert", 1)
    window.activateWindow()
    spin = window.tools_panel.radius_spin
    spin.setFocus()
    qtbot.waitUntil(spin.hasFocus, timeout=2000)
    count = window.doc.undo_stack.index()
    QTest.keyClick(spin, Qt.Key_Z, Qt.ControlModifier)
    assert window.doc.undo_stack.index() == count - 1


def test_cancelled_and_undone_jobs_are_not_in_the_job_history(qtbot, window, tmp_path):
    from llmvis_studio.files.project import load_project

    choose_op(window, "inpaint")  # the fake engine changes the whole picture without a mask
    run(qtbot, window)
    run(qtbot, window)
    assert len(window.doc.jobs) == 2
    window.undo_action.trigger()
    assert len(window.doc.jobs) == 1, "an undone job is not history"
    with qtbot.waitSignal(window.client.jobProgress, timeout=JOB_TIMEOUT_MS):
        window.prompt_panel.run_button.click()
    with qtbot.waitSignal(window.client.jobCancelled, timeout=JOB_TIMEOUT_MS):
        window.prompt_panel.cancel_button.click()
    assert len(window.doc.jobs) == 1, "a cancelled job is not history"
    assert window.save_project_to(tmp_path / "work.llmvis")
    assert len(load_project(tmp_path / "work.llmvis").jobs) == 1
    window.redo_action.trigger()  # the redo branch still holds the undone job
    assert len(window.doc.jobs) == 2


def test_progress_shows_percentage_and_time_and_a_large_result_is_confirmed(qtbot, window, monkeypatch):
    seen = []
    window.jobs.progressChanged.connect(lambda fraction, text: seen.append(text))
    choose_op(window, "inpaint")
    run(qtbot, window)
    assert any("%" in text and ("left" in text or "almost done" in text) for text in seen), "\n".join(seen)
    speed = float(window.settings.value(f"{jobs_module.SPEED_KEY}/inpaint"))
    assert speed > 0, "the op's speed is kept, so its next run (even a silent fill) shows time left"

    asked = []
    monkeypatch.setattr(jobs_module, "LARGE_OUTPUT_PIXELS", 100_000)  # 200×150 ×2 = 120,000 px
    monkeypatch.setattr(window.jobs, "ask_large_output", lambda w, h: asked.append((w, h)) or False)
    choose_op(window, "upscale")
    window.prompt_panel.run_button.click()
    assert asked == [(400, 300)] and not window.jobs.busy, "declined: nothing runs"
    assert len(window.client.fake.requests) == 1


def test_the_view_fits_the_picture_after_its_size_changes(qtbot, window):
    window.canvas.set_zoom(4.0)
    choose_op(window, "upscale")
    run(qtbot, window)
    assert window.document.image.shape[:2] == (300, 400)
    shown = window.canvas.mapFromScene(window.canvas.item.boundingRect()).boundingRect()
    assert window.canvas.viewport().rect().adjusted(-2, -2, 2, 2).contains(shown), "the whole picture is in view"
    assert window.canvas.zoom < 4.0
