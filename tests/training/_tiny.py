"""Shared helpers for the tiny training runs (a few steps on small crops of scikit-image photos)."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import torch

from llmvis_studio.training import train

TINY_IMAGES = "skimage/astronaut,skimage/coffee,skimage/chelsea"


def run(kind: str, out, *extra: str) -> dict:
    argv = [
        kind,
        "--out",
        str(out),
        "--batch",
        "4",
        "--channels",
        "16",
        "--lr",
        "2e-3",
        "--warmup",
        "1",
        "--val-every",
        "0",
        "--log-every",
        "5",
        "--images",
        TINY_IMAGES,
        "--threads",
        "1",
        *extra,
    ]
    argv += ["--blocks", "2", "--patch", "48"] if kind == "sr" else ["--blocks", "2", "--patch", "32"]
    args = train.parser().parse_args(argv)
    del args.kind
    return train.train(kind, args)


def fixed_batch_loss(kind: str, model: torch.nn.Module, scale: int = 4) -> float:
    """L1 loss of `model` on one fixed batch of 32 crops (independent of the training batches)."""
    from llmvis_studio.training import data

    rng = np.random.default_rng(123)
    images = [img for _, img in data.load_images("train", names=TINY_IMAGES.split(","))]
    if kind == "sr":
        x, y = data.sr_batch(rng, images, 32, 48, scale)
    else:
        x, y = data.denoise_batch(rng, images, 32, 32)
    with torch.no_grad():
        return float((model.eval()(torch.from_numpy(x)) - torch.from_numpy(y)).abs().mean())


def onnx_matches_torch(model: torch.nn.Module, path, shape: tuple[int, ...]) -> float:
    ort.set_default_logger_severity(3)
    x = np.random.default_rng(0).random(shape, dtype=np.float32)
    with torch.no_grad():
        ref = model.eval().float()(torch.from_numpy(x)).numpy()
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in sess.get_inputs()] == ["image"]
    assert [o.name for o in sess.get_outputs()] == ["output"]
    got = sess.run(["output"], {"image": x})[0]
    assert got.shape == ref.shape
    return float(np.abs(got - ref).max())


def fake_pack(root, monkeypatch) -> None:
    """Three small Kodak-named photos (kodim05 and kodim23 are held out) cut from a real photo."""
    import skimage.data
    from PIL import Image

    src = skimage.data.astronaut()
    (root / "kodak24").mkdir()
    for i, name in enumerate(["kodim05", "kodim07", "kodim23"]):
        Image.fromarray(src[40 * i : 40 * i + 200, 60:260]).save(root / "kodak24" / f"{name}.png")
    monkeypatch.setenv("LLMVIS_TRAINING_PHOTOS", str(root))
