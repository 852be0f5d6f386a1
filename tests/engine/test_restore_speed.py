"""The fast restore path (issue 12: a 4000×3000 scan in ≤ 15 s on 2 cores) gives the slow path's result: the fill and
tone step crop by crop on threads vs one whole-image pass, the detector on integer tiles with a memory arena vs the
float image, and the default detectors (int8 copy, distilled student) vs their fp32 teacher. Real photo, real models; the timing itself is
benchmarks/restore_speed.py."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from llmvis_studio.catalog import load_catalog
from llmvis_studio.core.pixels import to_float_rgb
from llmvis_studio.core.progress import Progress
from llmvis_studio.core.requests import EditRequest
from llmvis_studio.engine import Engine
from llmvis_studio.engine.ops import detect_scratches, restore, restore_fill
from llmvis_studio.engine.ops.base import OpContext, nchw_runner
from llmvis_studio.engine.tiling import run_tiled
from llmvis_studio.files import load_image
from llmvis_studio.training import masks
from tests.engine.test_damage_restore import ROOT, cracked, sepia

NS = cv2.INPAINT_NS


@pytest.fixture(scope="module")
def engine():
    return Engine(threads=2)


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    img, _ = load_image(ROOT / "resources" / "sample.png")
    return np.ascontiguousarray(img[:384, :512, :3])


def whole_image_tone(original: np.ndarray, filled: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """The tone step as it ran before, once over the whole picture (uint8 RGB): YCrCb, the hole's chroma from the
    surroundings, the fill's luminance."""
    src, out = original.astype(np.float32) / 255, filled.astype(np.float32) / 255
    if np.array_equal(original[..., 0], original[..., 1]) and np.array_equal(original[..., 1], original[..., 2]):
        toned = np.repeat(out.mean(axis=2, keepdims=True), 3, axis=2)
    else:
        ycc_src = cv2.cvtColor(src, cv2.COLOR_RGB2YCrCb)
        ycc_out = cv2.cvtColor(out, cv2.COLOR_RGB2YCrCb)
        ycc_out[..., 1:] = restore_fill.surrounding_chroma(ycc_src[..., 1:], hole)
        toned = np.clip(cv2.cvtColor(ycc_out, cv2.COLOR_YCrCb2RGB), 0, 1)
    result = np.clip(np.rint(toned * 255), 0, 255).astype(np.uint8)
    result[~hole] = original[~hole]
    return result


def whole_image_pass(original: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The slow path: one Navier–Stokes fill and one tone step over the whole picture."""
    filled = cv2.inpaint(original, mask, restore.CLASSICAL_RADIUS, NS)
    return whole_image_tone(original, filled, mask > 0)


@pytest.mark.parametrize("look", ["colour", "sepia"])
def test_crop_by_crop_fill_matches_one_whole_image_pass(photo, look):
    image = photo if look == "colour" else sepia(photo)
    damaged, truth = cracked(image, seed=11)
    mask = cv2.dilate(truth, np.ones((3, 3), np.uint8))  # a crack network over the whole photo
    mask[200:230, 300:345] = 255  # and one wide patch (its middle takes colour from the coarse blurs)
    slow = whole_image_pass(damaged, mask)
    fast = restore_fill.fill_and_tone(damaged, mask, NS, restore.CLASSICAL_RADIUS, threads=2, tile=128)
    assert len(restore_fill.hole_tiles(mask > 0, 128)) >= 10  # really cut into crops
    hole = mask > 0
    assert np.array_equal(fast[~hole], damaged[~hole])  # outside the mask: bit-exact
    # inside: the same up to rare small differences in the middle of wide holes (here, in fact, none at all)
    diff = np.abs(fast.astype(np.int32) - slow).max(axis=2)[hole]
    assert (diff == 0).mean() >= 0.99 and diff.max() <= 8, (float((diff == 0).mean()), int(diff.max()))


def test_threads_and_tone_alone_change_nothing(photo):
    damaged, truth = cracked(sepia(photo), seed=4)
    radius = restore.CLASSICAL_RADIUS
    one = restore_fill.fill_and_tone(damaged, truth, NS, radius, threads=1, tile=96)
    two = restore_fill.fill_and_tone(damaged, truth, NS, radius, threads=2, tile=96)
    assert np.array_equal(one, two)
    filled = cv2.inpaint(damaged, truth, radius, NS)
    toned = restore_fill.keep_tone(damaged, filled, truth, threads=2, tile=96)
    assert np.array_equal(toned, whole_image_pass(damaged, truth))  # thin cracks: exactly the whole-image tone


def test_detector_on_integer_tiles_with_an_arena_equals_the_float_path(engine, photo):
    spec = engine.catalog.get("damage-detector")
    context = OpContext(engine.catalog, engine.open_model, engine.memory_budget, 2)
    image16 = photo.astype(np.uint16) * 257  # 16-bit scans take the same path
    for image in (photo, image16):
        prob, _ = detect_scratches.probabilities(context, image, spec, "cpu", 128, Progress())
        model = engine.open_model(spec, "cpu")  # a separate session without an arena: the old path
        rgb = to_float_rgb(image)
        old = run_tiled(rgb, nchw_runner(model), tile=128, overlap=spec.tile_min_overlap, stride=spec.stride)
        old = old[..., 0]
        old[~detect_scratches.ridge_gate(image)] = 0.0
        assert np.abs(prob - old).max() < 1e-5


def scratched(photo: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(21)
    img, truth = photo.astype(np.float32) / 255, np.zeros(photo.shape[:2], np.uint8)
    for light in (True, False, True, False):
        img, shape = masks.render_scratch(img, rng, light=light, strength=0.9)
        truth = np.maximum(truth, shape)
    return np.round(img * 255).astype(np.uint8), truth


def test_the_default_detector_is_the_distilled_student_of_the_shipped_teacher():
    """damage-detector-fast (half the network work; 12.8 s against 20.2 s for a 12-MP restore on a CPU without VNNI)
    found more than the teacher's int8 copy on the held-out photos, so it is the default on every CPU."""
    catalog = load_catalog()
    assert catalog.default_for("detect-scratches").id == "damage-detector-fast"
    assert catalog.get("damage-detector-fast").extra["widths"] == [8, 24, 48]
    assert catalog.get("damage-detector-int8").extra["quantised_from"] == "damage-detector"


def test_the_int8_copy_and_the_student_mark_the_scratches_the_teacher_marks(engine, photo):
    damaged, truth = scratched(photo)
    found = {}
    for model_id in ("damage-detector-int8", "damage-detector", "damage-detector-fast"):
        request = EditRequest.build("detect-scratches", damaged, model_id=model_id, device="cpu")
        found[model_id] = engine.run(request).image[..., 0] > 0
    int8, fp32, student = found["damage-detector-int8"], found["damage-detector"], found["damage-detector-fast"]
    assert (int8 & fp32).sum() / max(1, (int8 | fp32).sum()) >= 0.9  # the int8 copy: the same marks
    for marks in (int8, student):
        near = cv2.dilate(marks.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
        assert near[truth > 0].mean() >= 0.75  # they are the scratches (measured: 0.87 and 0.92)
    assert 0.5 * fp32.sum() <= student.sum() <= 1.5 * fp32.sum()  # the student marks about as much (0.75x here)
