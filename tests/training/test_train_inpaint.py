"""Tiny runs of the inpainting and scratch-detector training: loss falls, export matches torch; mask synthesis."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from llmvis_studio.training import masks, train_inpaint

from ._tiny import TINY_IMAGES, fake_pack


def tiny(kind: str, out, *extra: str) -> dict:
    argv = [
        kind,
        "--out",
        str(out),
        "--batch",
        "4",
        "--patch",
        "48",
        "--channels",
        "8",
        "--lr",
        "3e-3",
        "--warmup",
        "1",
        "--val-every",
        "0",
        "--log-every",
        "10",
        "--images",
        TINY_IMAGES,
        "--threads",
        "1",
        "--pool",
        "64",
        *extra,
    ]
    args = train_inpaint.parser().parse_args(argv)
    del args.kind
    return train_inpaint.train(kind, args)


def fixed_loss(kind: str, model: torch.nn.Module) -> float:
    from llmvis_studio.training import data

    rng = np.random.default_rng(321)
    images = [img for _, img in data.load_images("train", names=TINY_IMAGES.split(","))]
    w = np.ones(len(images)) / len(images)
    make = train_inpaint.inpaint_sample if kind == "inpaint" else train_inpaint.scratch_sample
    samples = [make(rng, images, 48, w) for _ in range(24)]
    with torch.no_grad():
        model.eval()
        if kind == "inpaint":
            clean, mask, fill = train_inpaint.inpaint_tensors(samples)
            return float(train_inpaint.hole_l1(model(clean, mask, fill), clean, mask))
        x, y = train_inpaint.scratch_tensors(samples)
        return float(torch.nn.functional.binary_cross_entropy_with_logits(model.logits(x), y))


def onnx_max_diff(kind: str, model: torch.nn.Module, path) -> float:
    import onnxruntime as ort

    ort.set_default_logger_severity(3)
    rng = np.random.default_rng(0)
    h, w = 40, 56
    image = rng.random((1, 3, h, w), dtype=np.float32)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    with torch.no_grad():
        model = model.eval().float()
        if kind == "inpaint":
            mask = (rng.random((1, 1, h, w)) > 0.7).astype(np.float32)
            fill = rng.random((1, 3, h, w), dtype=np.float32)
            ref = model(*(torch.from_numpy(a) for a in (image, mask, fill))).numpy()
            got = sess.run(None, {"image": image, "mask": mask, "fill": fill})[0]
        else:
            ref = model(torch.from_numpy(image)).numpy()
            got = sess.run(None, {"image": image})[0]
    return float(np.abs(ref - got).max())


@pytest.mark.parametrize("kind", ["inpaint", "scratch"])
def test_tiny_run_loss_falls_and_export_matches_torch(tmp_path, kind):
    onnx_path = tmp_path / f"{kind}.onnx"
    # the shipped inpainting net starts close to the classical fill (last layer at 0.1× init), which a few dozen
    # steps barely improve; a full-size start gives the tiny run something measurable to learn
    extra = ["--out-init", "1.0"] if kind == "inpaint" else []
    res = tiny(
        kind,
        tmp_path / "run",
        "--steps",
        "60",
        "--export",
        str(onnx_path),
        "--manifest",
        str(tmp_path / "manifest.json"),
        *extra,
    )
    before = fixed_loss(kind, tiny(kind, tmp_path / "init", "--minutes", "0", *extra)["model"])
    after = fixed_loss(kind, res["model"])
    assert after < 0.97 * before, (before, after)
    assert onnx_max_diff(kind, res["model"], onnx_path) < 1e-4
    entry = json.loads((tmp_path / "manifest.json").read_text())["models"][0]
    assert entry["task"] == ("inpaint" if kind == "inpaint" else "detect-scratches")
    assert entry["default"] is True and entry["reproduce"] == "make models-inpaint"
    assert (tmp_path / "run" / "last.pt").exists()


def test_mse_hole_loss_trains_and_counts_only_the_hole(tmp_path):
    gt = torch.zeros(1, 3, 4, 4)
    out = gt.clone()
    out[..., 0, :] = 0.5  # wrong on row 0 only
    mask = torch.zeros(1, 1, 4, 4)
    mask[..., 1:, :] = 1  # the hole is rows 1–3
    assert float(train_inpaint.hole_mse(out, gt, mask)) == 0.0
    mask[..., 0, :] = 1
    assert float(train_inpaint.hole_mse(out, gt, mask)) > 0.0
    res = tiny("inpaint", tmp_path / "run", "--steps", "40", "--pixel-loss", "mse", "--out-init", "1.0")
    before = fixed_loss("inpaint", tiny("inpaint", tmp_path / "init", "--minutes", "0", "--out-init", "1.0")["model"])
    assert fixed_loss("inpaint", res["model"]) < 0.97 * before


def test_inpaint_output_keeps_pixels_outside_the_hole():
    from llmvis_studio.training.archs.inpaint import InpaintNet

    net = InpaintNet(8)
    image = torch.rand(1, 3, 32, 40)
    mask = (torch.rand(1, 1, 32, 40) > 0.8).float()
    with torch.no_grad():
        out = net(image, mask, torch.rand(1, 3, 32, 40))
    keep = mask.expand_as(out) == 0
    assert torch.equal(out[keep], image[keep])


def test_hole_masks_respect_the_area_limit_and_are_never_empty():
    rng = np.random.default_rng(0)
    areas = []
    for _ in range(60):
        m = masks.hole_mask(rng, 96, 96)
        assert m.dtype == np.uint8 and set(np.unique(m)) <= {0, 255} and m.any()
        areas.append((m > 0).mean())
    assert max(areas) <= 0.3 + 1e-9 and np.mean(areas) > 0.03


def test_crack_holes_are_thin_branching_networks_within_the_area_limit():
    import cv2

    rng = np.random.default_rng(2)
    thin_share, spans = [], []
    for _ in range(20):
        m = np.zeros((128, 128), np.uint8)
        masks.draw_crack(rng, m)
        if not m.any():
            continue
        # cracks are 1–6 px wide (grown by 1 px): most of a network vanishes under a 7×7 erosion
        thin_share.append(1 - np.count_nonzero(cv2.erode(m, np.ones((7, 7), np.uint8))) / np.count_nonzero(m))
        _, _, stats, _ = cv2.connectedComponentsWithStats(m)
        spans.append(max(max(s[2], s[3]) for s in stats[1:]))
    assert len(thin_share) >= 15 and np.median(thin_share) > 0.8
    assert np.median(spans) > 60  # networks that run across the crop, not specks
    areas = [(masks.hole_mask(rng, 96, 96, kinds=masks.WITH_CRACKS) > 0).mean() for _ in range(40)]
    assert max(areas) <= 0.3 + 1e-9 and min(areas) > 0


def test_thin_focus_makes_half_of_the_holes_thin_only_and_keeps_the_mixes_for_the_rest():
    import cv2

    def thin_only(hole: np.ndarray) -> bool:  # no pixel deeper than 5 px inside: scratches, hairs, dust, crossings
        return cv2.distanceTransform((hole > 0).astype(np.uint8), cv2.DIST_L2, 5).max() <= 5.0

    rng = np.random.default_rng(4)
    holes = [masks.training_hole(rng, 128, 128, "thin-focus") for _ in range(200)]
    assert all(h.any() for h in holes)
    share = np.mean([thin_only(h) for h in holes])
    assert 0.45 < share < 0.75  # half thin-only, plus the mixes that drew only small shapes
    thin_areas = [(h > 0).mean() for h in holes if thin_only(h)]
    assert np.median(thin_areas) < 0.05  # no 5–30 % area target for the thin-only half
    default = [masks.training_hole(rng, 128, 128) for _ in range(100)]
    assert np.mean([thin_only(h) for h in default]) < share - 0.25


def test_the_per_sample_hole_loss_weighs_a_thin_scratch_like_a_stroke():
    gt = torch.zeros(2, 3, 16, 16)
    out = torch.zeros(2, 3, 16, 16)
    mask = torch.zeros(2, 1, 16, 16)
    mask[0, :, 8, 4:12] = 1  # a thin scratch of 8 pixels, each off by 0.5
    out[0, :, 8, 4:12] = 0.5
    mask[1, :, :, :] = 1  # a large hole, filled exactly
    pooled = float(train_inpaint.hole_mse(out, gt, mask))
    per_sample = float(train_inpaint.hole_mse(out, gt, mask, per_sample=True))
    assert pooled < 0.01  # the scratch's error is diluted by the 256 exact pixels of the other sample
    assert per_sample == pytest.approx(0.25 / 2, rel=0.05)  # half of the scratch's own mean error


def test_an_inpaint_run_starts_from_an_exported_onnx_and_trains_on_the_photo_pack(tmp_path, monkeypatch):
    from llmvis_studio.training.archs.inpaint import InpaintNet

    fake_pack(tmp_path, monkeypatch)
    source = InpaintNet(channels=8, out_init=1.0)
    train_inpaint.export_onnx("inpaint", source, tmp_path / "src.onnx")
    res = tiny("inpaint", tmp_path / "run", "--minutes", "0", "--init", str(tmp_path / "src.onnx"))
    for name, tensor in source.state_dict().items():
        assert torch.equal(res["model"].state_dict()[name], tensor), name
    res = tiny(
        "inpaint",
        tmp_path / "run2",
        *("--steps", "2", "--data", "pack+default", "--holes", "with-cracks", "--val-every", "2"),
    )
    # validated on the pack's held-out photos (kodim05, kodim23): thin and stroke holes, with NS alongside
    assert res["steps"] == 2 and set(res["val"]) == {"thin", "thin_ns", "stroke", "stroke_ns"}


def test_benchmark_masks_are_seeded_and_of_the_stated_widths():
    a = masks.benchmark_mask("thin", 120, 160, seed=3)
    assert np.array_equal(a, masks.benchmark_mask("thin", 120, 160, seed=3))
    assert not np.array_equal(a, masks.benchmark_mask("thin", 120, 160, seed=4))
    import cv2

    # thin scratches (≤ 3 px wide) all but vanish under a 5×5 erosion (crossings aside); strokes (≥ 9 px) do not
    k = np.ones((5, 5), np.uint8)
    assert np.count_nonzero(cv2.erode(a, k)) < 0.03 * np.count_nonzero(a)
    b = masks.benchmark_mask("stroke", 120, 160, seed=3)
    assert np.count_nonzero(cv2.erode(b, k)) > 0.3 * np.count_nonzero(b)


def test_defects_are_drawn_where_the_mask_says():
    rng = np.random.default_rng(1)
    clean = np.full((64, 64, 3), 128, np.uint8)
    for _ in range(10):
        damaged, mask = masks.add_defects(rng, clean)
        assert damaged.shape == (64, 64, 3) and mask.shape == (64, 64)
        if mask.any():
            diff = np.abs(damaged - 128 / 255).max(axis=2)
            assert diff[mask > 0].mean() > 3 * diff[mask == 0].mean()


def test_invisible_defects_are_not_labelled():
    clean = np.full((16, 16, 3), 255, np.uint8)
    mask = np.zeros((16, 16), np.uint8)
    mask[4, :] = mask[10, :] = 255
    damaged = clean.astype(np.float32) / 255.0
    damaged[10, :] = 0.2  # a dark scratch shows on white; the light one on row 4 does not
    kept = masks.visible_part(mask, damaged, clean)
    assert not kept[4].any() and (kept[10] == 255).all()


def test_tolerant_scores():
    truth = np.zeros((20, 20), np.uint8)
    truth[10, 2:18] = 255
    shifted = np.roll(truth, 1, axis=0)
    assert train_inpaint.tolerant_prf(shifted, truth) == (1.0, 1.0, 1.0)
    far = np.roll(truth, 3, axis=0)
    assert train_inpaint.tolerant_prf(far, truth)[2] == 0.0


def test_resume_continues_the_step_counter(tmp_path):
    out = tmp_path / "run"
    assert tiny("inpaint", out, "--steps", "4", "--adv-start", "0")["steps"] == 4
    second = tiny("inpaint", out, "--steps", "7", "--resume", "--adv-start", "0")
    assert second["steps"] == 7 and len(second["losses"]) == 3


def test_defaults_pick_the_best_stroke_setting_that_does_not_lose_on_thin_scratches():
    from llmvis_studio.training.inpaint_defaults import pick_setting

    def key(e, r):
        return json.dumps({"classical_within_px": r, "ensemble": e}, sort_keys=True)

    thin = {key(e, r): (30.0 if r else 29.5) for e in (1, 2, 4) for r in (0.0, 2.0)}
    stroke = {key(e, r): 22.0 + 0.01 * e + (0.2 if r == 0.0 else 0.0) for e in (1, 2, 4) for r in (0.0, 2.0)}
    res = {"thin": {**thin, "ns": 30.0}, "stroke": {**stroke, "ns": 21.0}}
    # the ramp-free settings win on strokes but lose on thin scratches; ensembles add < 0.05 dB
    assert pick_setting(res) == ({"ensemble": 1, "classical_within_px": 2.0}, True)
    res["thin"]["ns"] = 31.0  # nothing is fair any more: the best stroke setting is reported as unfair
    assert pick_setting(res) == ({"ensemble": 1, "classical_within_px": 0.0}, False)


def test_a_larger_ensemble_is_taken_only_when_it_adds_enough_over_the_smaller_one():
    from llmvis_studio.training.inpaint_defaults import ENSEMBLE_WORTH_DB, pick_setting, setting_key

    def results(gain_by_size: dict[int, float]) -> dict:
        stroke = {setting_key(e, r): 22.0 + gain_by_size[e] for e in (1, 2, 4, 8) for r in (0.0, 2.0)}
        thin = {setting_key(e, r): 31.0 for e in (1, 2, 4, 8) for r in (0.0, 2.0)}
        return {"thin": {**thin, "ns": 30.0}, "stroke": {**stroke, "ns": 21.0}}

    assert pick_setting(results({1: 0.0, 2: 0.1, 4: 0.2, 8: 0.3}))[0]["ensemble"] == 8
    assert pick_setting(results({1: 0.0, 2: 0.1, 4: 0.2, 8: 0.2 + ENSEMBLE_WORTH_DB / 2}))[0]["ensemble"] == 4
    # two small steps that add up: 2 is not worth it over 1, but 4 is
    assert pick_setting(results({1: 0.0, 2: 0.03, 4: 0.06, 8: 0.07}))[0]["ensemble"] == 4
