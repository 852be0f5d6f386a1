"""`train sr|denoise --data`: the photo pack's train split feeds training, its held-out photos only validation;
`--init` takes an exported ONNX file's weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from llmvis_studio.training import data_mix, train
from llmvis_studio.training.archs.sr import CompactSR

from ._tiny import TINY_IMAGES, fake_pack, run


def test_pack_train_split_and_held_out_validation(tmp_path, monkeypatch):
    fake_pack(tmp_path, monkeypatch)
    names = [n for n, _ in data_mix.training_images("pack")]
    assert names == ["pack/kodak24/kodim07"]
    mixed = [n for n, _ in data_mix.training_images("pack+default", names=TINY_IMAGES.split(","))]
    assert mixed == ["pack/kodak24/kodim07", *TINY_IMAGES.split(",")]
    crops = data_mix.validation_crops("pack+default", size=64, per_image=2)
    again = data_mix.validation_crops("pack", size=64, per_image=2)
    assert len(crops) == 4 and all(c.shape == (64, 64, 3) for c in crops)
    assert all(np.array_equal(a, b) for a, b in zip(crops, again, strict=True))  # fixed crops, reproducible
    with pytest.raises(SystemExit, match="--data must be one of"):
        data_mix.training_images("everything")


def test_init_from_onnx_copies_every_weight_and_a_pack_run_trains(tmp_path, monkeypatch):
    fake_pack(tmp_path, monkeypatch)
    source = CompactSR(4, 16, 2)
    torch.nn.init.normal_(source.upsample.weight, std=0.05)
    train.export_onnx(source, tmp_path / "src.onnx", (16, 16))
    res = run("sr", tmp_path / "run", "--minutes", "0", "--scale", "4", "--init", str(tmp_path / "src.onnx"))
    for name, tensor in source.state_dict().items():
        assert torch.equal(res["model"].state_dict()[name], tensor), name
    res = run(
        "sr",
        tmp_path / "run2",
        "--steps",
        "3",
        "--scale",
        "4",
        "--data",
        "pack+default",
        "--val-every",
        "3",
        "--precision",
        "fp32",
    )
    log = (tmp_path / "run2" / "train.log").read_text()
    assert res["steps"] == 3 and np.isfinite(res["val_psnr"])
    assert "4 training images, 6 validation crops" in log  # 1 pack photo + 3 defaults; kodim05/23 × 3 crops
