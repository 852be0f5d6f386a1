"""A tiny colourizer run (a few steps on crops of the bundled sample photo): trains, validates, exports ONNX."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import torch
from PIL import Image

from llmvis_studio.files import load_image
from llmvis_studio.paths import sample_image
from llmvis_studio.training import train_colourize as tc
from llmvis_studio.training.archs.colourize import ColourUNet


def photo_folder(root):
    image, _ = load_image(sample_image())
    for folder, names in (
        ("bsds500", ["a.jpg", "b.jpg"]),
        ("kodak24", ["kodim01.png", "kodim21.png"]),
        ("wikimedia", ["001.png"]),
    ):
        (root / folder).mkdir(parents=True)
        for i, name in enumerate(names):
            Image.fromarray(image[i * 60 : i * 60 + 300, i * 40 : i * 40 + 420, :3]).save(root / folder / name)
    return root


def test_simulated_hints_carry_the_mean_colour_of_their_patch():
    rng = np.random.default_rng(0)
    ab = rng.normal(0, 30, (40, 50, 2)).astype(np.float32)
    hints = tc.simulate_hints(rng, ab, 12, sizes=(3,))
    ys, xs = np.nonzero(hints[..., 2])
    assert 0 < len(ys) <= 12 * 9
    y, x = ys[0], xs[0]  # top-left pixel of the first patch found: its 3×3 block has one colour
    assert np.allclose(hints[y, x, :2], hints[y + 1, x + 1, :2])
    assert tc.simulate_hints(rng, ab, 0)[..., 2].sum() == 0


def test_tiny_run_exports_an_onnx_that_matches_torch(tmp_path, monkeypatch):
    monkeypatch.setattr(tc, "PHOTOS", photo_folder(tmp_path / "photos"))
    onnx_path = tmp_path / "colourize.onnx"
    info = tc.train(
        tc.parser().parse_args(
            [
                "--steps",
                "3",
                "--minutes",
                "5",
                "--threads",
                "1",
                "--batch",
                "2",
                "--widths",
                "8",
                "8",
                "8",
                "8",
                "8",
                "--out",
                str(tmp_path / "run"),
                "--export",
                str(onnx_path),
                "--precision",
                "fp32",
                "--val-every",
                "100",
            ]
        )
    )
    assert info["steps"] == 3 and info["held_out"] and np.isfinite(info["val"]["auto"])
    model = ColourUNet((8, 8, 8, 8, 8))
    model.load_state_dict(torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=False)["model"])
    model.eval()
    x = np.random.default_rng(1).random((1, 4, 32, 48)).astype(np.float32)
    got = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"]).run(["ab"], {"input": x})[0]
    with torch.no_grad():
        want = model(torch.from_numpy(x)).numpy()
    assert got.shape == (1, 2, 32, 48) and np.abs(got).max() <= 1.0
    assert np.allclose(got, want, atol=1e-4)
