"""Select subject, remove background and find text with the shipped models on real training photos.

Reference masks: see llmvis_studio/training/smart_mask_samples.py (an eagle on a plain sky with a sky-model
reference, the eagle composited onto blurred photos; captions and date stamps rendered onto Wikimedia photos).
"""

from __future__ import annotations

import numpy as np
import pytest

from llmvis_studio.core.errors import InputError
from llmvis_studio.core.mask import combined
from llmvis_studio.core.requests import EditRequest
from llmvis_studio.engine import Engine
from llmvis_studio.engine.ops.guided_filter import fast_guided_filter
from llmvis_studio.training import smart_mask_samples as samples

needs_photos = pytest.mark.skipif(not samples.available(), reason="training photos not installed")


@pytest.fixture(scope="module")
def engine():
    engine = Engine(threads=2)
    if not engine.catalog.for_task("select-subject") or not engine.catalog.for_task("detect-text"):
        pytest.skip("smart-mask models not installed (make models)")
    return engine


@pytest.fixture(scope="module")
def subjects():
    return {sample.name: sample for sample in samples.subject_samples()}


@pytest.fixture(scope="module")
def texts():
    return {sample.name: sample for sample in samples.text_samples()}


@needs_photos
@pytest.mark.parametrize("name", ["eagle-sky", "eagle-mirrored-on-blur"])
def test_select_subject_matches_the_reference(engine, subjects, name):
    sample = subjects[name]
    result = engine.run(EditRequest("select-subject", sample.image, device="cpu"))
    mask = result.image[..., 0]
    assert result.image.shape == sample.image.shape and result.image.dtype == np.uint8
    assert samples.iou(mask >= 128, sample.reference) >= 0.85
    soft = np.count_nonzero((mask > 0) & (mask < 255))
    assert soft < 0.2 * np.count_nonzero(mask == 255)  # a narrow soft edge, not a blur


@needs_photos
def test_remove_background_keeps_16_bits_and_the_subject(engine, subjects):
    sample = subjects["eagle-sky"]
    deep = sample.image.astype(np.uint16) * 257 + 100  # not just 8-bit values spread out
    result = engine.run(EditRequest("remove-background", deep, device="cpu"))
    out = result.image
    assert out.shape == deep.shape[:2] + (4,) and out.dtype == np.uint16
    np.testing.assert_array_equal(out[..., :3], deep)
    alpha = out[..., 3]
    assert np.median(alpha[sample.reference]) > 60000 and np.median(alpha[~sample.reference]) < 2000


def test_select_subject_runs_at_odd_sizes_and_refuses_tiny_images(engine):
    rng = np.random.default_rng(3)
    image = rng.integers(0, 255, (37, 530, 3), dtype=np.uint8)
    image[10:30, 200:300] = (250, 30, 30)
    assert engine.run(EditRequest("select-subject", image, device="cpu")).image.shape == image.shape
    rgba = np.concatenate([image, np.full(image.shape[:2] + (1,), 255, np.uint8)], axis=2)
    rgba[:, :100, 3] = 0  # already transparent: stays transparent
    cut = engine.run(EditRequest("remove-background", rgba, device="cpu")).image
    assert cut.shape == rgba.shape and not cut[:, :100, 3].any() and (cut[..., 3] <= rgba[..., 3]).all()
    with pytest.raises(InputError, match="too small"):
        engine.run(EditRequest("select-subject", image[:4, :4], device="cpu"))


@needs_photos
def test_find_text_covers_captions_and_date_stamps_tightly(engine, texts):
    for sample in texts.values():
        mask = engine.run(EditRequest("detect-text", sample.image, device="cpu")).image[..., 0]
        scores = samples.text_scores(mask > 0, sample.coverage)
        assert scores["recall"] >= 0.9, (sample.name, scores)
        assert scores["area_ratio"] <= 3.0, (sample.name, scores)


@needs_photos
def test_filling_the_found_text_beats_navier_stokes(engine, texts):
    """detect-text → inpaint (the default model) restores the text area at least as well as OpenCV NS on the
    same mask (the project's inpainting yardstick)."""
    whole = texts["caption+datestamp"]
    h, w = whole.coverage.shape
    crop = (slice(h - 130, h), slice(w - 520, w))  # the date stamp's corner: keeps the learned fill quick
    sample = samples.TextSample(whole.name, whole.image[crop], whole.clean[crop], whole.coverage[crop])
    mask = engine.run(EditRequest("detect-text", sample.image, device="cpu")).image[..., 0]
    hole = samples.true_text_hole(sample)
    assert mask[hole].mean() > 0.95 * 255  # the fill sees (almost) all of the text
    filled = engine.run(EditRequest("inpaint", sample.image, mask=mask, device="cpu")).image
    ns = engine.run(EditRequest("inpaint", sample.image, mask=mask, model_id="opencv-ns")).image
    ours, theirs = samples.hole_psnr(filled, sample.clean, hole), samples.hole_psnr(ns, sample.clean, hole)
    assert ours >= theirs, (ours, theirs)
    assert ours > samples.hole_psnr(sample.image, sample.clean, hole) + 10  # far better than leaving the text


def test_find_text_on_a_plain_photo_marks_little(engine):
    yy, xx = np.mgrid[:300, :400]
    sky = np.stack([80 + yy // 4, 120 + xx // 8, 200 + 0 * xx], axis=2).astype(np.uint8)
    result = engine.run(EditRequest("detect-text", sky, device="cpu"))
    assert np.count_nonzero(result.image) == 0 and result.notes == ("No text found.",)
    with pytest.raises(InputError, match="thresholds"):
        engine.run(EditRequest("detect-text", sky, params={"threshold": 1.5}, device="cpu"))


def test_guided_filter_moves_a_coarse_edge_onto_the_photo_edge():
    guide = np.zeros((64, 64, 3), np.float32)
    guide[:, 30:] = 1.0  # the photo's edge between x = 29 and 30
    coarse = np.clip((np.arange(64) - 30) / 8.0, 0, 1)[None].repeat(64, 0).astype(np.float32)  # a blurred guess
    out = fast_guided_filter(guide, guide, coarse, radius=6, eps=1e-3)
    steps = np.diff(out, axis=1)
    assert (steps.argmax(axis=1) == 29).all()  # the sharpest change now sits on the photo's edge
    assert steps[:, 29].min() > 2 * np.diff(coarse, axis=1).max()
    assert out[:, :29].max() < 0.1


def test_mask_combinations():
    painted = np.array([[0, 255, 255, 0]], np.uint8)
    found = np.array([[0, 0, 255, 255]], np.uint8)
    assert combined(painted, found, "replace").tolist() == [[0, 0, 255, 255]]
    assert combined(painted, found, "add").tolist() == [[0, 255, 255, 255]]
    assert combined(painted, found, "subtract").tolist() == [[0, 255, 0, 0]]
    assert combined(painted, found, "intersect").tolist() == [[0, 0, 255, 0]]
    with pytest.raises(ValueError):
        combined(painted, found, "xor")
