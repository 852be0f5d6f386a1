"""Mask ▸ Auto-mask Damage…: one detector run, a live sensitivity slider over the cached score map, OK puts the mask
into the mask layer as one undo step."""

from __future__ import annotations

import time

import numpy as np
import pytest

from llmvis_studio.catalog import BUILTIN_MODELS, Catalog
from llmvis_studio.core.requests import EditRequest, EditResult
from llmvis_studio.ui.damage_dialog import DamageMaskDialog, mask_at
from llmvis_studio.worker import EngineClient
from tests.helpers import fake_spec


def score_run(engine, request: EditRequest, progress, fallback) -> EditResult:
    """detect-scratches with output=score → a left-to-right ramp of scores 0..255."""
    if request.op != "detect-scratches":
        return fallback(request, progress)
    engine.requests.append(request)
    time.sleep(0.05)
    h, w = request.image.shape[:2]
    ramp = np.broadcast_to(np.linspace(0, 255, w).round().astype(np.uint8), (h, w))
    return EditResult(request.op, np.repeat(ramp[..., None], 3, axis=2), "fake-detector", "FakeCPU", 0.05)


@pytest.fixture
def catalog() -> Catalog:
    detector = fake_spec("fake-detector", "detect-scratches", "Fake detector")
    return Catalog(BUILTIN_MODELS + (detector,))


@pytest.fixture
def score_client(qapp, fake_engine):
    engine = fake_engine()
    fallback = engine.run
    engine.run = lambda request, progress: score_run(engine, request, progress, fallback)
    client = EngineClient(lambda: engine)
    client.fake = engine
    yield client
    client.shutdown()


def test_mask_at_marks_more_as_sensitivity_rises():
    score = np.array([[0, 100, 128, 200, 255]], np.uint8)
    assert mask_at(score, 0.5).tolist() == [[0, 0, 255, 255, 255]]
    assert (
        np.count_nonzero(mask_at(score, 0.2))
        < np.count_nonzero(mask_at(score, 0.5))
        < np.count_nonzero(mask_at(score, 0.9))
    )


def test_slider_previews_live_and_ok_fills_the_mask_as_one_undo_step(qtbot, make_window, score_client):
    window = make_window(score_client)
    with qtbot.waitSignal(score_client.jobFinished, timeout=10_000):
        window.auto_mask_damage_action.trigger()
    qtbot.waitUntil(lambda: window.auto_mask_damage.dialog is not None, timeout=5_000)
    dialog: DamageMaskDialog = window.auto_mask_damage.dialog
    request = score_client.fake.requests[-1]
    assert request.op == "detect-scratches" and request.params == {"output": "score"}
    runs = len(score_client.fake.requests)
    assert dialog.summary.text().startswith("Sensitivity 50 %")
    dialog.slider.setValue(80)  # live: no new detector run, the summary follows
    assert len(score_client.fake.requests) == runs
    assert dialog.summary.text().startswith("Sensitivity 80 %") and "80." in dialog.summary.text()
    dialog.accept()
    mask = window.document.mask
    h, w = mask.shape
    assert abs(np.count_nonzero(mask) / mask.size - 0.8) < 0.02 and mask[:, -1].all() and not mask[:, 0].any()
    assert window.doc.undo_stack.count() == 1
    window.doc.undo_stack.undo()
    assert not window.document.mask.any()
