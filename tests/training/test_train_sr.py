"""Tiny super-resolution training runs: loss falls, resume continues, export matches torch; the data set."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from PIL import Image

from llmvis_studio.training import data
from llmvis_studio.training.archs.sr import CompactSR, count_parameters, load_body_from

from ._tiny import fixed_batch_loss, onnx_matches_torch, run


def test_loss_falls_and_export_matches_torch(tmp_path):
    res = run(
        "sr",
        tmp_path / "run",
        "--steps",
        "40",
        "--scale",
        "4",
        "--export",
        str(tmp_path / "sr.onnx"),
        "--manifest",
        str(tmp_path / "manifest.json"),
    )
    assert len(res["losses"]) == 40
    before = fixed_batch_loss("sr", run("sr", tmp_path / "init", "--minutes", "0", "--scale", "4")["model"])
    assert fixed_batch_loss("sr", res["model"]) < 0.9 * before
    model = onnx.load(str(tmp_path / "sr.onnx"))
    assert not any(i.data_location == onnx.TensorProto.EXTERNAL for i in model.graph.initializer)
    assert not list(tmp_path.glob("*.data"))
    assert onnx_matches_torch(res["model"], tmp_path / "sr.onnx", (1, 3, 37, 29)) < 1e-4
    entry = json.loads((tmp_path / "manifest.json").read_text())["models"][0]
    assert entry["id"] == "sr-compact-x4" and entry["task"] == "upscale" and entry["scale"] == 4
    assert entry["inputs"][0]["name"] == "image" and entry["outputs"][0]["name"] == "output"
    assert entry["default"] is True and entry["parameters"] == count_parameters(res["model"])


def test_resume_continues_the_step_counter(tmp_path):
    out = tmp_path / "run"
    first = run("sr", out, "--steps", "6", "--scale", "2")
    assert first["steps"] == 6 and (out / "last.pt").exists()
    second = run("sr", out, "--steps", "10", "--scale", "2", "--resume")
    assert second["steps"] == 10
    assert len(second["losses"]) == 4
    assert "resumed from" in (out / "train.log").read_text()


def test_x2_can_start_from_x4_body():
    x4, x2 = CompactSR(4, 16, 2), CompactSR(2, 16, 2)
    copied = load_body_from(x2, x4.state_dict())
    assert "head.weight" in copied and "upsample.weight" not in copied


def test_shipped_size_is_under_a_million_parameters():
    assert count_parameters(CompactSR(4)) < 1_000_000
    assert count_parameters(CompactSR(2)) < 1_000_000


def test_sr_batch_shapes_and_degradation():
    rng = np.random.default_rng(0)
    imgs = [img for _, img in data.load_images("train", names=["skimage/astronaut"])]
    lr, hr = data.sr_batch(rng, imgs, 3, 50, 4)  # patch rounded down to a multiple of the scale
    assert lr.shape == (3, 3, 12, 12) and hr.shape == (3, 3, 48, 48)
    assert lr.dtype == np.float32 and lr.min() >= 0.0 and hr.max() <= 1.0
    hr_u8 = (hr[0].transpose(1, 2, 0) * 255 + 0.5).astype(np.uint8)
    ref = np.asarray(Image.fromarray(hr_u8).resize((12, 12), Image.BICUBIC))
    assert np.abs(lr[0].transpose(1, 2, 0) * 255 - ref).max() < 1.0


def _benchmark_images() -> list[np.ndarray]:
    root = data.benchmark_root() / "sr"
    out = []
    for p in sorted(root.glob("*/*.png")):
        with Image.open(p) as im:
            out.append(np.asarray(im.convert("RGB")))
    return out


def test_no_benchmark_image_in_the_training_set():
    sources = data.list_sources()
    assert sources, "no training images available"
    bench_names = {
        "baby",
        "bird",
        "butterfly",
        "head",
        "woman",
        "baboon",
        "barbara",
        "bridge",
        "coastguard",
        "comic",
        "face",
        "flowers",
        "foreman",
        "lenna",
        "man",
        "monarch",
        "pepper",
        "peppers",
        "ppt3",
        "zebra",
    }
    root = str(data.benchmark_root().resolve())
    for s in sources:
        assert s.name.split("/")[-1].lower() not in bench_names, s.name
        assert "benchmarks" not in s.origin and not s.origin.startswith(root), s.origin
    bench = _benchmark_images()
    if not bench:
        pytest.skip("benchmark images not present")
    bench_sha = set()
    import hashlib

    for p in (data.benchmark_root() / "sr").glob("*/*"):
        bench_sha.add(hashlib.sha256(p.read_bytes()).hexdigest())
    assert not bench_sha & {s.sha256 for s in sources}
    # pixel check: no training image (at full size) equals a benchmark image or contains it at the same place
    thumbs = [np.asarray(Image.fromarray(b).resize((16, 16), Image.BILINEAR)).astype(np.float32) for b in bench]
    for s in sources:
        img = data._prepare(s.loader(), 10_000)
        t = np.asarray(Image.fromarray(img).resize((16, 16), Image.BILINEAR)).astype(np.float32)
        for b, tb in zip(bench, thumbs):
            if img.shape == b.shape:
                assert np.abs(img.astype(np.float32) - b).mean() > 5, s.name
            assert np.abs(t - tb).mean() > 3, s.name


def test_validation_images_are_not_trained_on():
    train_names = {n for n in (s["name"] for s in data.training_manifest() if s["split"] == "train")}
    assert not train_names & set(data.VALIDATION_NAMES)
    assert all(len(s["sha256"]) == 64 for s in data.training_manifest())
