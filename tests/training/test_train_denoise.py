"""Tiny denoiser training runs: loss falls, resume continues, export matches torch; the degradations."""

from __future__ import annotations

import numpy as np

from llmvis_studio.training import data
from llmvis_studio.training.archs.denoise import CompactDenoise

from ._tiny import fixed_batch_loss, onnx_matches_torch, run


def test_loss_falls_and_export_matches_torch(tmp_path):
    res = run(
        "denoise",
        tmp_path / "run",
        "--steps",
        "150",
        "--export",
        str(tmp_path / "dn.onnx"),
        "--manifest",
        str(tmp_path / "manifest.json"),
    )
    before = fixed_batch_loss("denoise", run("denoise", tmp_path / "init", "--minutes", "0")["model"])
    assert fixed_batch_loss("denoise", res["model"]) < 0.95 * before
    assert onnx_matches_torch(res["model"], tmp_path / "dn.onnx", (1, 3, 38, 30)) < 1e-4
    import json

    entry = json.loads((tmp_path / "manifest.json").read_text())["models"][0]
    assert entry["id"] == "denoise-compact" and entry["task"] == "denoise"
    assert entry["scale"] == 1 and entry["stride"] == 2


def test_resume_continues_the_step_counter(tmp_path):
    out = tmp_path / "run"
    assert run("denoise", out, "--steps", "5")["steps"] == 5
    second = run("denoise", out, "--steps", "8", "--resume")
    assert second["steps"] == 8 and len(second["losses"]) == 3


def test_residual_net_starts_near_identity():
    import torch

    x = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        y = CompactDenoise(16, 2)(x)
    assert y.shape == x.shape and float((y - x).abs().max()) < 0.1


def test_denoise_batch_shapes_and_degradations():
    rng = np.random.default_rng(0)
    imgs = [img for _, img in data.load_images("train", names=["skimage/astronaut"])]
    noisy, clean = data.denoise_batch(rng, imgs, 8, 33)
    assert noisy.shape == clean.shape == (8, 3, 32, 32)
    assert noisy.dtype == np.float32 and noisy.min() >= 0.0 and noisy.max() <= 1.0
    assert np.abs(noisy - clean).mean() > 0.001
    crop = imgs[0][:64, :64]
    outs = [data.degrade_for_denoise(np.random.default_rng(i), crop) for i in range(20)]
    assert all(o.shape == (64, 64, 3) and o.dtype == np.float32 for o in outs)
    errs = [float(np.abs(o - crop / 255.0).mean()) for o in outs]
    assert max(errs) > 0.03  # strong noise occurs
