"""DamageNet: the print-damage detector (v2 of the scratch detector).

Why this shape: a 4000×3000 scan must be checked in a few seconds on two cores, and crack networks, torn corners and
emulsion-loss patches need context (tens of px) while 1 px cracks need full resolution. The image is folded 2×2 into
channels (pixel-unshuffle: no detail lost), the U-Net works at 1/2, 1/4 and 1/8 with dilations, and the output is
unfolded back (pixel-shuffle) to a full-resolution map. About a fifth of ScratchNet's work per pixel.

ONNX: input `image` (RGB 0..1, NCHW), output `mask` (1 channel, calibrated probability of damage). Stride 8.
`calibration` (a, b) is baked into the export: p = sigmoid(a · logit + b).
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


def _conv(cin: int, cout: int, stride: int = 1, dilation: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride, padding=dilation, dilation=dilation)


class DamageNet(nn.Module):
    STRIDE = 8

    def __init__(self, channels: int = 16) -> None:
        super().__init__()
        c = self.c = channels
        act = nn.LeakyReLU(0.1)
        self.f0 = nn.Sequential(_conv(12, c), act, _conv(c, c), act)  # 1/2
        self.f1 = nn.Sequential(_conv(c, 2 * c, 2), act, _conv(2 * c, 2 * c, dilation=2), act)  # 1/4
        self.f2 = nn.Sequential(
            _conv(2 * c, 2 * c, 2), act, _conv(2 * c, 2 * c, dilation=2), act, _conv(2 * c, 2 * c, dilation=4), act
        )  # 1/8
        self.g1 = nn.Sequential(_conv(4 * c, 2 * c), act)
        self.g0 = nn.Sequential(_conv(3 * c, c), act, _conv(c, 4))
        self.register_buffer("calibration", torch.tensor([1.0, 0.0]))

    def config(self) -> dict:
        return {"arch": "DamageNet", "channels": self.c}

    def logits(self, image: torch.Tensor) -> torch.Tensor:
        x = F.pixel_unshuffle(image * 2 - 1, 2)
        f0 = self.f0(x)
        f1 = self.f1(f0)
        f2 = self.f2(f1)
        g1 = self.g1(torch.cat([F.interpolate(f2, size=f1.shape[-2:], mode="nearest"), f1], 1))
        g0 = self.g0(torch.cat([F.interpolate(g1, size=f0.shape[-2:], mode="nearest"), f0], 1))
        return F.pixel_shuffle(g0, 2)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        a, b = self.calibration[0], self.calibration[1]
        return torch.sigmoid(self.logits(image) * a + b)


class CalibratedScratchNet(nn.Module):
    """The old detector's network (archs.inpaint.ScratchNet: full-resolution convs, 1/2 and 1/4 with dilations,
    stride 4) with the same baked calibration as DamageNet. Why: it can start from scratch-detector's weights, which
    already find thin scratches (F1 0.91 on the held-out photos), and learn print cracks on top; DamageNet has to
    learn thin scratches from nothing, which a shared 2-core CPU cannot give it in one training window."""

    STRIDE = 4

    def __init__(self, channels: int = 16) -> None:
        super().__init__()
        from .inpaint import ScratchNet

        self.net = ScratchNet(channels)
        self.c = channels
        self.register_buffer("calibration", torch.tensor([1.0, 0.0]))

    def config(self) -> dict:
        return {"arch": "CalibratedScratchNet", "channels": self.c}

    def logits(self, image: torch.Tensor) -> torch.Tensor:
        return self.net.logits(image)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        a, b = self.calibration[0], self.calibration[1]
        return torch.sigmoid(self.logits(image) * a + b)

    def load_onnx(self, path: str) -> None:
        """Weights from an exported ScratchNet ONNX file (initialiser names are the module's parameter names) or from
        an exported CalibratedScratchNet (the same names under `net.`; its baked calibration is not taken: the
        fine-tuned net is calibrated again after training)."""
        import onnx
        from onnx import numpy_helper

        weights = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in onnx.load(path).graph.initializer}
        self.net.load_state_dict(
            {k: weights[k] if k in weights else weights[f"net.{k}"] for k in self.net.state_dict()}
        )


ARCHS = {"DamageNet": DamageNet, "CalibratedScratchNet": CalibratedScratchNet}


def build(config: dict) -> nn.Module:
    return ARCHS[config.get("arch", "DamageNet")](channels=config.get("channels", 16))
