"""Mask ▸ Restore Photo Step by Step: each step is its own undo step, shown with the before/after divider."""

from __future__ import annotations

import numpy as np
import pytest

from llmvis_studio.catalog import BUILTIN_MODELS, Catalog
from tests.helpers import fake_spec


@pytest.fixture
def catalog() -> Catalog:  # a detector and a denoiser installed, no upscaler
    return Catalog(
        BUILTIN_MODELS + (fake_spec("fake-detector", "detect-scratches"), fake_spec("fake-denoise", "denoise"))
    )


def test_restore_photo_runs_one_step_at_a_time_with_a_preview(qtbot, window):
    original = window.document.image.copy()
    dialog = window.open_restore_dialog()
    qtbot.addWidget(dialog)
    assert dialog.boxes["restore"].isChecked() and dialog.boxes["denoise"].isChecked()
    assert not dialog.boxes["upscale"].isEnabled(), "no upscaler installed: listed, disabled"

    with qtbot.waitSignal(window.jobs.jobEnded, timeout=10_000):
        dialog.next_button.click()
    assert window.client.fake.requests[-1].op == "restore"
    assert window.doc.undo_stack.count() == 1 and window.split_slider.value() == 50
    assert "Compare" in dialog.status_label.text() and dialog.next_button.isEnabled()
    after_first = window.document.image.copy()
    assert not np.array_equal(after_first, original)

    with qtbot.waitSignal(window.jobs.jobEnded, timeout=10_000):
        dialog.next_button.click()
    assert window.client.fake.requests[-1].op == "denoise"
    assert window.doc.undo_stack.count() == 2 and not dialog.next_button.isEnabled()
    assert "restored" in dialog.status_label.text()
    window.undo_action.trigger()  # a step the user does not like
    np.testing.assert_array_equal(window.document.image, after_first)
    dialog.close()
