"""Mask ▸ Auto-mask Damage…: one detector run, a live sensitivity slider over the cached score map, OK puts the mask
into the mask layer as one undo step."""

from __future__ import annotations

import re
import time

import numpy as np
import pytest

from llmvis_studio.catalog import BUILTIN_MODELS, Catalog
from llmvis_studio.core.mask import damage_mask
from llmvis_studio.core.requests import EditRequest, EditResult
from llmvis_studio.ui.damage_dialog import DamageMaskDialog
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


def marked_percent(summary: str) -> float:
    found = re.search(r"about ([0-9.]+) % of the pixels marked", summary)
    assert found, summary
    return float(found.group(1))


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
    shown_at_50 = marked_percent(dialog.summary.text())
    dialog.slider.setValue(80)  # live: no new detector run, the summary follows
    assert len(score_client.fake.requests) == runs
    assert dialog.summary.text().startswith("Sensitivity 80 %")
    assert marked_percent(dialog.summary.text()) > shown_at_50
    dialog.accept()
    mask = window.document.mask
    h, w = mask.shape
    ramp = np.broadcast_to(np.linspace(0, 255, w).round().astype(np.uint8), (h, w))
    assert np.array_equal(mask, damage_mask(ramp, 255 * 0.2))  # the engine's rule on the full-size map
    assert abs(marked_percent(dialog.summary.text()) - 100 * np.count_nonzero(mask) / mask.size) < 2
    assert mask[:, -1].all() and not mask[:, 0].any()
    assert window.doc.undo_stack.count() == 1
    window.doc.undo_stack.undo()
    assert not window.document.mask.any()
