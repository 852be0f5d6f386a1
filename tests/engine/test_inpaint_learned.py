"""Learned inpainting, scratch detection and restore through the engine and the CLI, with tiny exported nets."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from llmvis_studio.catalog import load_catalog
from llmvis_studio.core.requests import EditRequest
from llmvis_studio.engine import Engine
from llmvis_studio.engine.ops import inpaint_learned
from llmvis_studio.files import load_image, load_mask, save_image, save_mask
from tests.engine.test_cli import cli
from tests.helpers import photo


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A catalog folder with a tiny (untrained) inpainting net and detector, exported like the real ones."""
    import torch

    from llmvis_studio.training import train_inpaint
    from llmvis_studio.training.archs.inpaint import InpaintNet, ScratchNet

    folder = tmp_path_factory.mktemp("inpaint-models")
    torch.manual_seed(0)
    entries = []
    for kind, net in (("inpaint", InpaintNet(4, out_init=1.0)), ("scratch", ScratchNet(4))):
        path = folder / train_inpaint.EXPORT[kind]
        train_inpaint.export_onnx(kind, net, path)
        entries.append(train_inpaint.manifest_entry(kind, net, path, {}))
    (folder / "manifest.json").write_text(json.dumps({"schema": 1, "models": entries}))
    return folder


@pytest.fixture(scope="module")
def engine(models):
    return Engine(catalog=load_catalog(models), threads=1)


def scratch_mask(h: int, w: int) -> np.ndarray:
    m = np.zeros((h, w), np.uint8)
    cv2.line(m, (3, 5), (w - 4, h - 9), 255, 2)
    cv2.circle(m, (w // 3, h // 2), 6, 255, -1)
    return m


def test_learned_model_is_the_default_and_classical_stays_available(engine):
    assert engine.catalog.default_for("inpaint").id == "inpaint-gated-ns"
    assert not engine.catalog.get("opencv-telea").default
    assert {"inpaint", "detect-scratches", "restore"} <= set(engine.supported_ops())


@pytest.mark.parametrize("channels,dtype", [(3, np.uint8), (4, np.uint8), (3, np.uint16)])
def test_only_masked_pixels_change(engine, channels, dtype):
    img = photo(90, 120)
    if dtype == np.uint16:
        img = img.astype(np.uint16) * 257
    if channels == 4:
        img = np.concatenate([img, np.full(img.shape[:2] + (1,), 200, img.dtype)], axis=2)
    mask = scratch_mask(90, 120)
    mask[40:44, 100:104] = 128  # a soft brush edge: blended, still only inside the mask
    params = {"ensemble": 8} if channels == 4 else {}  # the flip/rotation self-ensemble keeps the promise too
    res = engine.run(EditRequest.build("inpaint", img, mask, params=params))
    assert res.model_id == "inpaint-gated-ns" and res.image.dtype == img.dtype and res.image.shape == img.shape
    assert np.array_equal(res.image[mask == 0], img[mask == 0])
    assert (res.image[mask == 255] != img[mask == 255]).any()
    if channels == 4:
        assert np.array_equal(res.image[..., 3], img[..., 3])


def test_regions_cover_each_hole_pixel_once_with_a_margin():
    rng = np.random.default_rng(0)
    for trial in range(5):
        h, w = int(rng.integers(100, 1400)), int(rng.integers(100, 1400))
        hole = np.zeros((h, w), bool)
        for _ in range(int(rng.integers(1, 6))):
            y, x = int(rng.integers(0, h)), int(rng.integers(0, w))
            hole[y : y + int(rng.integers(1, 30)), x : x + int(rng.integers(1, 30))] = True
        if trial % 2:  # a long thin scratch across the whole picture
            line = np.zeros((h, w), np.uint8)
            cv2.line(line, (0, 0), (w - 1, h - 1), 1, 2)
            hole |= line > 0
        margin = 24
        regions, labels = inpaint_learned.plan_regions(hole, margin)
        cover = np.zeros((h, w), np.int32)
        for context, core, label in regions:
            mine = inpaint_learned.owned(labels, core, label)
            cover[core.slices] += mine
            assert context.x <= core.x and context.y <= core.y
            assert context.x2 >= core.x2 and context.y2 >= core.y2
            # at least `margin` context around every hole pixel of the core (unless at the image border)
            ys, xs = np.nonzero(hole[core.slices] & mine)
            if ys.size:
                ys, xs = ys + core.y, xs + core.x
                assert (ys - context.y >= np.minimum(margin, ys)).all()
                assert (xs - context.x >= np.minimum(margin, xs)).all()
                assert (context.y2 - 1 - ys >= np.minimum(margin, h - 1 - ys)).all()
                assert (context.x2 - 1 - xs >= np.minimum(margin, w - 1 - xs)).all()
        assert (cover[hole] == 1).all()
        if trial % 2 and min(h, w) > 800:  # the diagonal was cut into cells
            assert len(regions) > 1 and sum(c.width * c.height for c, _, _ in regions) < 0.8 * h * w


def test_colour_matching_pulls_back_a_drift():
    hole = np.zeros((20, 20), bool)
    hole[5:15, 5:15] = True
    ref = np.full((20, 20, 3), 0.5, np.float32)
    out = ref.copy()
    out[hole] += 0.2
    fixed = inpaint_learned.match_colour(out, ref, hole)
    assert np.allclose(fixed[hole].mean(axis=0), 0.5 + inpaint_learned.COLOUR_TOLERANCE, atol=1e-5)
    small = ref.copy()
    small[hole] += 0.01
    assert np.array_equal(inpaint_learned.match_colour(small, ref, hole), small)


def test_cli_inpaint_keeps_outside_pixels_bit_exact(tmp_path, models):
    img = photo(64, 80)
    mask = scratch_mask(64, 80)
    save_image(tmp_path / "in.png", img)
    save_mask(tmp_path / "mask.png", mask)
    proc = cli("inpaint", tmp_path / "in.png", tmp_path / "mask.png", tmp_path / "out.png", models=models)
    assert proc.returncode == 0, proc.stderr
    out, _ = load_image(tmp_path / "out.png")
    assert "inpaint-gated-ns" in proc.stdout
    assert np.array_equal(out[mask == 0], img[mask == 0])


def test_cli_detect_scratches_writes_a_binary_mask_and_restore_stays_inside_it(tmp_path, models):
    img = photo(70, 90)
    save_image(tmp_path / "in.png", img)
    proc = cli("detect-scratches", tmp_path / "in.png", tmp_path / "mask.png", "--threshold", "0.45", models=models)
    assert proc.returncode == 0, proc.stderr
    mask = load_mask(tmp_path / "mask.png")
    assert mask.shape == (70, 90) and set(np.unique(mask)) <= {0, 255}
    proc = cli("restore", tmp_path / "in.png", tmp_path / "out.png", "--threshold", "0.45", models=models)
    assert proc.returncode == 0, proc.stderr
    out, _ = load_image(tmp_path / "out.png")
    grown = cv2.dilate(mask, np.ones((3, 3), np.uint8))
    assert np.array_equal(out[grown == 0], img[grown == 0])


def test_cli_detect_rejects_a_bad_threshold(tmp_path, models):
    save_image(tmp_path / "in.png", photo(20, 20))
    proc = cli("detect-scratches", tmp_path / "in.png", tmp_path / "m.png", "--threshold", "3", models=models)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr and "threshold" in proc.stderr


def test_feather_ramps_inside_the_mask_only():
    mask = np.zeros((30, 30), np.uint8)
    mask[5:25, 5:25] = 255
    w = inpaint_learned.feathered_inside(mask, 3)
    assert (w[mask == 0] == 0).all() and (w[mask > 0] >= 1).all()
    assert w[5, 15] < w[8, 15] <= w[15, 15] == 255
    edge = np.zeros((10, 10), np.uint8)
    edge[:, :4] = 255  # touching the crop border: no ramp along that side
    assert inpaint_learned.feathered_inside(edge, 2)[5, 0] == 255


def test_feathered_paste_still_keeps_outside_pixels(engine):
    img = photo(60, 70)
    mask = scratch_mask(60, 70)
    res = engine.run(EditRequest.build("inpaint", img, mask, params={"feather": 2}))
    assert np.array_equal(res.image[mask == 0], img[mask == 0])


def test_correction_weight_keeps_thin_holes_classical_and_ramps_inside_wide_ones():
    hole = np.zeros((40, 60), bool)
    hole[5, 5:55] = True  # a 1 px scratch
    hole[18:21, 5:55] = True  # a 3 px scratch
    hole[28:40, 5:55] = True  # a 12 px stroke touching the crop's bottom border (no edge there)
    weight = inpaint_learned.correction_weight(hole, 2.0)
    assert weight[5].max() == 0 and weight[18:21].max() == 0  # thin: the classical fill only
    assert weight[36, 30] == 1.0 and weight[28, 30] == 0.0  # deep inside: all of it; at the edge: none
    assert np.all(inpaint_learned.correction_weight(hole, 0) == 1)


def test_classical_within_px_makes_thin_fills_identical_to_navier_stokes(engine):
    image = photo(48, 64)
    mask = np.zeros(image.shape[:2], np.uint8)
    cv2.line(mask, (4, 10), (60, 30), 255, 2)
    ns = engine.run(EditRequest.build("inpaint", image, mask, model_id="opencv-ns")).image
    learned = engine.run(
        EditRequest.build(
            "inpaint", image, mask, model_id="inpaint-gated-ns", params={"classical_within_px": 3, "color_match": False}
        )
    ).image
    free = engine.run(
        EditRequest.build("inpaint", image, mask, model_id="inpaint-gated-ns", params={"color_match": False})
    ).image
    assert np.abs(learned.astype(int) - ns).max() <= 1  # 8-bit rounding of the same fill
    assert np.abs(free.astype(int) - ns).max() > 1  # the untrained net's correction does show without it
