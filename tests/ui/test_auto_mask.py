"""Mask ▸ Auto-mask Scratches and Dust fills the mask layer as one undoable step; Restore changes the image."""

from __future__ import annotations

import time

import numpy as np
import pytest

from llmvis_studio.catalog import BUILTIN_MODELS, Catalog
from llmvis_studio.core.geometry import Bounds
from llmvis_studio.core.requests import EditRequest, EditResult
from llmvis_studio.worker import EngineClient
from tests.helpers import fake_spec


def detector_run(engine, request: EditRequest, progress, fallback) -> EditResult:
    """detect-scratches → a fixed diagonal mask as a white-on-black image; other ops as the FakeEngine does."""
    if request.op != "detect-scratches":
        return fallback(request, progress)
    engine.requests.append(request)
    time.sleep(0.05)
    h, w = request.image.shape[:2]
    mask = np.zeros((h, w), np.uint8)
    idx = np.arange(min(h, w))
    mask[idx, idx] = 255
    return EditResult(
        request.op,
        np.repeat(mask[..., None], 3, axis=2),
        "fake-detector",
        "FakeCPU",
        0.05,
        notes=("Marked the diagonal.",),
    )


@pytest.fixture
def catalog() -> Catalog:  # overrides conftest's: with a (fake) detector installed
    detector = fake_spec("fake-detector", "detect-scratches", "Fake detector")
    return Catalog(BUILTIN_MODELS + (detector,))


@pytest.fixture
def detector_client(qapp, fake_engine):
    engine = fake_engine()
    fallback = engine.run
    engine.run = lambda request, progress: detector_run(engine, request, progress, fallback)
    client = EngineClient(lambda: engine)
    client.fake = engine
    yield client
    client.shutdown()


def test_auto_mask_fills_the_mask_as_one_undo_step(qtbot, make_window, detector_client):
    window = make_window(detector_client)
    image = window.document.image.copy()
    with qtbot.waitSignal(detector_client.jobFinished, timeout=10_000):
        window.mask_commands.auto_mask_action.trigger()
    qtbot.waitUntil(lambda: window.doc.undo_stack.count() == 1, timeout=5_000)
    mask = window.document.mask
    h, w = mask.shape
    assert mask[10, 10] == 255 and mask[10, 11] == 0 and np.count_nonzero(mask) == min(h, w)
    np.testing.assert_array_equal(window.document.image, image)  # the image itself is untouched
    assert detector_client.fake.requests[-1].op == "detect-scratches"
    window.doc.undo_stack.undo()
    assert not window.document.mask.any()
    window.doc.undo_stack.redo()
    assert np.count_nonzero(window.document.mask) == min(h, w)


def test_restore_runs_as_one_image_job(qtbot, make_window, detector_client):
    window = make_window(detector_client)
    with qtbot.waitSignal(detector_client.jobFinished, timeout=10_000):
        window.mask_commands.restore_action.trigger()
    qtbot.waitUntil(lambda: window.doc.undo_stack.count() == 1, timeout=5_000)
    assert detector_client.fake.requests[-1].op == "restore"


def test_remove_the_scratches_without_a_mask_finds_them_for_review_then_fills(qtbot, make_window, detector_client):
    window = make_window(detector_client)
    panel = window.prompt_panel
    image = window.document.image.copy()
    window.tools_panel.sensitivity_slider.setValue(70)
    panel.op_combo.setCurrentIndex(panel.op_combo.findData("inpaint"))
    panel.prompt_edit.setPlainText("remove the scratches")
    with qtbot.waitSignal(detector_client.jobFinished, timeout=10_000):
        window.run_chosen_op()  # what Run does once the prompt is routed to inpaint
    qtbot.waitUntil(lambda: "press Run to fill" in panel.understood_label.text(), timeout=5_000)
    request = detector_client.fake.requests[-1]
    assert request.op == "detect-scratches" and request.params["sensitivity"] == pytest.approx(0.7)
    np.testing.assert_array_equal(window.document.image, image)  # nothing is filled before the review
    window.document.mask[:5, :] = 0  # the user erases part of the found mask
    window.doc.maskChanged.emit(Bounds(0, 0, window.document.mask.shape[1], 5))
    reviewed = window.document.mask.copy()

    with qtbot.waitSignal(detector_client.jobFinished, timeout=10_000):
        window.run_chosen_op()
    qtbot.waitUntil(lambda: not window.jobs.busy, timeout=5_000)
    fill = detector_client.fake.requests[-1]
    assert fill.op == "inpaint"
    np.testing.assert_array_equal(fill.mask, reviewed)
    assert not np.array_equal(window.document.image, image) and not window.document.mask.any()
