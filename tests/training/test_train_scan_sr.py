"""The scan / photo upscaler: realistic degradations, a tiny resumable GAN run, export, and the engine using it."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from llmvis_studio.training import degrade, photo_pack, train_scan_sr
from llmvis_studio.training.data import bicubic_down


def photo(h: int = 96, w: int = 128) -> np.ndarray:
    import skimage.data

    return np.ascontiguousarray(skimage.data.astronaut()[100 : 100 + h, 150 : 150 + w])


@pytest.mark.parametrize("scale", [2, 4])
def test_degrade_gives_8_bit_lr_of_the_right_size_and_is_seeded(scale):
    hr = photo()
    for seed in range(6):
        lr = degrade.degrade(np.random.default_rng(seed), hr, scale, halftone_share=0.5)
        assert lr.shape == (96 // scale, 128 // scale, 3) and lr.dtype == np.float32
        assert lr.min() >= 0 and lr.max() <= 1 and np.allclose(lr * 255, np.round(lr * 255), atol=1e-3)
    again = [degrade.degrade(np.random.default_rng(3), hr, scale) for _ in range(2)]
    assert np.array_equal(again[0], again[1])
    clean = degrade.degrade(np.random.default_rng(0), hr, scale, clean_share=1.0)
    assert np.array_equal(np.rint(clean * 255).astype(np.uint8), bicubic_down(hr, scale))


def test_degradations_actually_degrade():
    hr = photo(128, 128)
    rng = np.random.default_rng(1)
    ref = bicubic_down(hr, 4).astype(np.float32) / 255
    diffs = [np.abs(degrade.degrade(rng, hr, 4, clean_share=0.0) - ref).mean() for _ in range(8)]
    assert min(diffs) > 0.004 and np.mean(diffs) > 0.015


def test_halftone_puts_a_dot_screen_on_flat_grey():
    flat = np.full((64, 64, 3), 0.5, np.float32)
    rng = np.random.default_rng(0)
    dots = degrade.halftone(rng, flat)
    assert dots.shape == flat.shape and dots.min() >= 0 and dots.max() <= 1
    assert dots.std() > 0.15 and abs(float(dots.mean()) - 0.5) < 0.25  # dots, not a flat tone; roughly mid-grey


def test_held_out_photos_are_not_in_the_training_split(tmp_path, monkeypatch):
    for i, name in enumerate(["kodim05", "kodim07", "kodim23"]):
        (tmp_path / "kodak24").mkdir(exist_ok=True)
        Image.fromarray(photo(40 + i, 50)).save(tmp_path / "kodak24" / f"{name}.png")
    monkeypatch.setenv("LLMVIS_TRAINING_PHOTOS", str(tmp_path))
    train_names = [n for n, _ in photo_pack.load_pack("train")]
    held = [n for n, _ in photo_pack.load_pack("held-out")]
    assert train_names == ["kodak24/kodim07"] and held == ["kodak24/kodim05", "kodak24/kodim23"]


def test_tiny_run_resumes_exports_and_the_engine_upscales_with_it(tmp_path, monkeypatch):
    import torch

    from llmvis_studio.catalog import load_catalog
    from llmvis_studio.core.requests import EditRequest
    from llmvis_studio.engine import Engine
    from llmvis_studio.training.archs.sr import CompactSR

    pack = tmp_path / "photos" / "wikimedia"
    pack.mkdir(parents=True)
    for i in range(3):
        Image.fromarray(np.roll(photo(120, 120), 17 * i, axis=1)).save(pack / f"{i:03d}.png")
    monkeypatch.setenv("LLMVIS_TRAINING_PHOTOS", str(tmp_path / "photos"))
    torch.manual_seed(0)
    init = tmp_path / "faithful.pt"
    torch.save({"model": CompactSR(4, channels=8, blocks=1).state_dict()}, init)
    models = tmp_path / "models"
    models.mkdir()
    common = [
        "--out",
        str(tmp_path / "run"),
        "--channels",
        "8",
        "--blocks",
        "1",
        "--d-channels",
        "8",
        "--batch",
        "2",
        "--patch",
        "48",
        "--threads",
        "1",
        "--precision",
        "fp32",
        "--val-every",
        "0",
        "--log-every",
        "1",
        "--manifest",
        str(models / "manifest.json"),
        "--export",
        str(models / "sr-scan-x4.onnx"),
    ]
    assert train_scan_sr.main([*common, "--steps", "2", "--init", str(init)]) == 0
    assert train_scan_sr.main([*common, "--steps", "4", "--resume"]) == 0
    state = torch.load(tmp_path / "run" / "last.pt", weights_only=False)
    assert state["step"] == 4 and "discriminator" in state and "opt_d" in state
    entry = json.loads((models / "manifest.json").read_text())["models"][0]
    assert entry["id"] == "sr-scan-x4" and entry["name"].startswith("Scan / photo (realistic)")
    assert entry["default"] is False and entry["metrics"]["train_steps"] == 4

    engine = Engine(catalog=load_catalog(models), threads=1)
    grey = np.repeat(photo(24, 32)[..., :1], 3, axis=2)
    res = engine.run(EditRequest.build("upscale", grey, model_id="sr-scan-x4", params={"scale": 4}))
    assert res.image.shape == (96, 128, 3) and res.model_id == "sr-scan-x4"
    assert (res.image[..., 0] == res.image[..., 1]).all() and (res.image[..., 1] == res.image[..., 2]).all()


def test_a_missing_init_file_is_one_line(tmp_path, capsys):
    assert train_scan_sr.main(["--out", str(tmp_path), "--init", str(tmp_path / "nope.onnx")]) == 1
    assert "no such file" in capsys.readouterr().err


def test_the_shipped_scan_models_are_offered_next_to_the_faithful_ones():
    from pathlib import Path

    from llmvis_studio.catalog import load_catalog

    catalog = load_catalog(Path(__file__).resolve().parents[2] / "models")
    upscalers = [spec.id for spec in catalog.for_task("upscale")]
    for scale in (4, 2):
        scan = catalog.get(f"sr-scan-x{scale}")
        assert scan.name == f"Scan / photo (realistic) ×{scale}" and scan.scale == scale and not scan.default
        assert catalog.default_for("upscale", scale).id != scan.id  # the faithful model stays the default
        catalog.verify(scan)  # file present, sha256 matches
    faithful = max(i for i, mid in enumerate(upscalers) if mid.startswith("sr-compact-"))
    assert upscalers[faithful + 1 : faithful + 3] == ["sr-scan-x4", "sr-scan-x2"]
