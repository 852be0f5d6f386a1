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


def test_colour_classes_encode_bilinearly_and_the_annealed_mean_sharpens_toward_the_mode():
    import torch

    from llmvis_studio.training import colour_bins

    centres = colour_bins.grid_centres()
    lookup = torch.from_numpy(colour_bins.grid_to_bin(centres))
    ab = torch.tensor([[[[20.0]], [[-40.0]]]])  # halfway between the centres (15, −45), (25, −35), …
    index, share = colour_bins.bilinear_targets(ab, lookup)
    assert torch.allclose(share.sum(1), torch.ones(1, 1, 1)) and torch.allclose(share, torch.full_like(share, 0.25))
    decoded = (share[0, :, 0, 0, None] * torch.from_numpy(centres)[index[0, :, 0, 0]]).sum(0)
    assert torch.allclose(decoded, torch.tensor([20.0, -40.0]))  # the soft target's mean is the colour itself
    logits = torch.zeros(1, len(centres), 1, 1)
    logits[0, 10], logits[0, 300] = 2.0, 1.5  # two modes, the first a bit likelier
    mean = colour_bins.annealed_mean(logits, torch.from_numpy(centres), 1.0)[0, :, 0, 0]
    annealed = colour_bins.annealed_mean(logits, torch.from_numpy(centres), 0.1)[0, :, 0, 0]
    mode = torch.from_numpy(centres[10])
    assert (annealed - mode).norm() < 1.0 < (mean - mode).norm()
    prior = np.array([0.7, 0.2, 0.1], np.float32)
    weights = colour_bins.rarity_weights(prior)
    assert abs((prior * weights).sum() - 1.0) < 1e-5 and weights[2] > weights[1] > weights[0]


def test_tiny_class_run_ships_its_annealed_decode_inside_the_onnx(tmp_path, monkeypatch):
    from llmvis_studio.training.archs.colourize import AnnealedColourizer

    monkeypatch.setattr(tc, "PHOTOS", photo_folder(tmp_path / "photos"))
    onnx_path = tmp_path / "colourize.onnx"
    args = ["--steps", "2", "--threads", "1", "--batch", "2", "--widths", "8", "8", "8", "8", "8", "--bins"]
    args += ["--out", str(tmp_path / "run"), "--export", str(onnx_path), "--precision", "fp32", "--val-every", "100"]
    info = tc.train(tc.parser().parse_args(args))
    assert info["config"]["bins"] > 20 and np.isfinite(info["val"]["auto"])
    state = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=False)
    net = ColourUNet((8, 8, 8, 8, 8), bins=info["config"]["bins"])
    net.load_state_dict(state["model"])
    model = AnnealedColourizer(net, state["bins"]["centres"], 0.38).eval()
    x = np.random.default_rng(1).random((1, 4, 32, 48)).astype(np.float32)
    got = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"]).run(["ab"], {"input": x})[0]
    with torch.no_grad():
        want = model(torch.from_numpy(x)).numpy()
        regressed = net(torch.from_numpy(x)).numpy()
    assert got.shape == (1, 2, 32, 48) and np.abs(got).max() <= 1.0
    assert np.allclose(got, want, atol=1e-4) and not np.allclose(got, regressed, atol=1e-3)


def test_flip_averaged_decode_is_mirror_symmetric_and_exports(tmp_path):
    from llmvis_studio.training import colour_bins
    from llmvis_studio.training.archs.colourize import AnnealedColourizer

    torch.manual_seed(0)
    centres = torch.from_numpy(colour_bins.grid_centres()[::3])
    net = ColourUNet((8, 8, 8, 8, 8), bins=len(centres))
    model = AnnealedColourizer(net, centres, 0.38, mix=0.5, flip=True).eval()
    x = torch.from_numpy(np.random.default_rng(2).random((1, 4, 32, 48)).astype(np.float32))
    with torch.no_grad():
        out, mirrored = model(x), model(torch.flip(x, dims=[3]))
        plain = AnnealedColourizer(net, centres, 0.38, mix=0.5).eval()(x)
    assert torch.allclose(torch.flip(mirrored, dims=[3]), out, atol=1e-6) and not torch.allclose(out, plain, atol=1e-4)
    tc.export_onnx(model, tmp_path / "flip.onnx")
    session = ort.InferenceSession(str(tmp_path / "flip.onnx"), providers=["CPUExecutionProvider"])
    assert np.allclose(session.run(["ab"], {"input": x.numpy()})[0], out.numpy(), atol=1e-4)
