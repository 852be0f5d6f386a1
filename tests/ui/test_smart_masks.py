"""Mask ▸ Select Subject / Find Text fill the mask layer (one undo step, combined with the painted mask as
chosen); Mask ▸ Remove Background makes the image RGBA in one undo step. The engine is a fake here (the real
models are tested in tests/engine/test_smart_masks.py)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from llmvis_studio.catalog import BUILTIN_MODELS, Catalog
from llmvis_studio.core.requests import EditRequest, EditResult
from llmvis_studio.worker import EngineClient
from tests.helpers import fake_spec


def found_mask(height: int, width: int) -> np.ndarray:
    """The fake 'subject': the left half of the image."""
    mask = np.zeros((height, width), np.uint8)
    mask[:, : width // 2] = 255
    return mask


def smart_run(engine, request: EditRequest, progress, fallback) -> EditResult:
    if request.op not in ("select-subject", "detect-text", "remove-background"):
        return fallback(request, progress)
    engine.requests.append(request)
    time.sleep(0.02)
    h, w = request.image.shape[:2]
    mask = found_mask(h, w)
    if request.op == "remove-background":
        image = np.concatenate([request.image[..., :3], mask[..., None]], axis=2)
        return EditResult(request.op, image, "fake-subject", "FakeCPU", 0.02)
    return EditResult(
        request.op, np.repeat(mask[..., None], 3, axis=2), "fake-subject", "FakeCPU", 0.02, notes=("Found it.",)
    )


@pytest.fixture
def catalog() -> Catalog:  # overrides conftest's: a (fake) subject model and text detector are installed
    return Catalog(
        BUILTIN_MODELS + (fake_spec("fake-subject", "select-subject"), fake_spec("fake-text", "detect-text"))
    )


@pytest.fixture
def smart_client(qapp, fake_engine):
    engine = fake_engine()
    fallback = engine.run
    engine.run = lambda request, progress: smart_run(engine, request, progress, fallback)
    client = EngineClient(lambda: engine)
    client.fake = engine
    yield client
    client.shutdown()


def run_action(qtbot, window, client, op: str) -> None:
    count = window.doc.undo_stack.count()
    with qtbot.waitSignal(client.jobFinished, timeout=10_000):
        window.mask_commands.smart_masks.actions[op].trigger()
    qtbot.waitUntil(lambda: window.doc.undo_stack.count() == count + 1, timeout=5_000)


def test_select_subject_fills_the_mask_as_one_undo_step(qtbot, make_window, smart_client):
    window = make_window(smart_client)
    image = window.document.image.copy()
    run_action(qtbot, window, smart_client, "select-subject")
    h, w = window.document.mask.shape
    np.testing.assert_array_equal(window.document.mask, found_mask(h, w))
    np.testing.assert_array_equal(window.document.image, image)
    assert smart_client.fake.requests[-1].op == "select-subject"
    window.doc.undo_stack.undo()
    assert not window.document.mask.any()


@pytest.mark.parametrize(
    "mode, expected",
    [
        ("add", lambda painted, found: np.maximum(painted, found)),
        ("subtract", lambda painted, found: np.minimum(painted, 255 - found)),
        ("intersect", lambda painted, found: np.minimum(painted, found)),
    ],
)
def test_found_masks_combine_with_the_painted_mask(qtbot, make_window, smart_client, mode, expected):
    window = make_window(smart_client)
    h, w = window.document.mask.shape
    painted = np.zeros((h, w), np.uint8)
    painted[h // 4 : h // 2, :] = 255  # a band across both halves
    window.document.mask[:] = painted
    window.mask_commands.smart_masks.set_combine_mode(mode)
    run_action(qtbot, window, smart_client, "detect-text")
    np.testing.assert_array_equal(window.document.mask, expected(painted, found_mask(h, w)))
    assert smart_client.fake.requests[-1].params["combine"] == mode


def test_remove_background_makes_the_image_rgba_in_one_undo_step(qtbot, make_window, smart_client):
    window = make_window(smart_client)
    before = window.document.image.copy()
    run_action(qtbot, window, smart_client, "remove-background")
    after = window.document.image
    assert after.shape == before.shape[:2] + (4,)
    np.testing.assert_array_equal(after[..., :3], before)
    np.testing.assert_array_equal(after[..., 3], found_mask(*before.shape[:2]))
    window.doc.undo_stack.undo()
    assert window.document.image.shape == before.shape


def test_without_a_model_the_actions_only_say_so(qtbot, make_window, client, monkeypatch):
    window = make_window(client)
    window.catalog = Catalog(BUILTIN_MODELS)
    shown = []
    monkeypatch.setattr(window, "show_status", shown.append)
    assert window.mask_commands.smart_masks.run("select-subject") is None
    assert window.mask_commands.smart_masks.run("detect-text") is None
    assert "u2netp-subject" in shown[0] and "text detector" in shown[1]
    assert not client.fake.requests


def test_select_subject_with_the_real_model_in_the_editor(qtbot, tmp_path):
    """The shipped model through the real worker: the eagle's mask lands in the mask layer, one undo step."""
    from llmvis_studio.catalog import load_catalog
    from llmvis_studio.files import save_image
    from llmvis_studio.training import smart_mask_samples as samples
    from llmvis_studio.ui.main_window import MainWindow

    real = load_catalog()
    if not samples.available() or not real.for_task("select-subject"):
        pytest.skip("training photos or the subject model not installed")
    sample = samples.subject_samples()[0]
    save_image(tmp_path / "eagle.png", sample.image)

    def make_engine():
        from llmvis_studio.engine import Engine  # the worker imports the engine, as __main__ does

        return Engine(threads=2)

    client = EngineClient(make_engine)
    window = MainWindow(client, real)
    try:
        assert window.open_path(tmp_path / "eagle.png")
        with qtbot.waitSignal(client.jobFinished, timeout=60_000):
            window.mask_commands.smart_masks.actions["select-subject"].trigger()
        qtbot.waitUntil(lambda: window.doc.undo_stack.count() == 1, timeout=5_000)
        assert samples.iou(window.document.mask >= 128, sample.reference) >= 0.85
        window.doc.undo_stack.undo()
        assert not window.document.mask.any()
    finally:
        window.doc.mark_saved()
        window.close()
        client.shutdown()
