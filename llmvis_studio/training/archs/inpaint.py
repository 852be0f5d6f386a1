"""Inpainting generator (classical fill + learned correction), its PatchGAN critic, and the scratch detector.

InpaintNet inputs (ONNX: `image`, `mask`, `fill`, NCHW float32 0..1): the photo (hole content ignored), the hole
mask (1 = fill) and the OpenCV Navier–Stokes fill of the hole. The net sees the composite (photo outside the hole,
classical fill inside) and the mask, and predicts a correction that is added inside the hole only:

    output = image·(1 − m) + (fill + Δ)·m

A full-resolution path (two 3×3 convs) keeps 1–3 px scratches intact; a gated-convolution U-Net (3 × stride 2,
dilated gated residual blocks at 1/8) supplies context. Stride 8: pad inputs to a multiple of 8. The last layer starts
at 0.1× its default init (starting at exactly zero learned nothing in an earlier experiment, DESIGN §9).
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


class GatedConv(nn.Module):
    """DeepFill v2 gated convolution: features · sigmoid(gate)."""

    def __init__(self, cin: int, cout: int, stride: int = 1, dilation: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, 2 * cout, 3, stride, padding=dilation, dilation=dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f, g = self.conv(x).chunk(2, dim=1)
        return F.leaky_relu(f, 0.2) * torch.sigmoid(g)


class GatedRes(nn.Module):
    def __init__(self, c: int, dilation: int) -> None:
        super().__init__()
        self.a = GatedConv(c, c, dilation=dilation)
        self.b = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.b(self.a(x))


def _up(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, size=like.shape[-2:], mode="nearest")


class InpaintNet(nn.Module):
    STRIDE = 8

    def __init__(self, channels: int = 32, dilations: tuple[int, ...] = (1, 2, 4, 8, 1), out_init: float = 0.1) -> None:
        super().__init__()
        c = channels
        self.c = c
        self.dilations = tuple(dilations)
        self.full = nn.Sequential(
            nn.Conv2d(4, c, 3, padding=1), nn.LeakyReLU(0.2), nn.Conv2d(c, c, 3, padding=1), nn.LeakyReLU(0.2)
        )
        self.d1 = GatedConv(c, 2 * c, stride=2)  # 1/2
        self.d2 = GatedConv(2 * c, 3 * c, stride=2)  # 1/4
        self.d3 = GatedConv(3 * c, 4 * c, stride=2)  # 1/8
        self.mid = nn.Sequential(*[GatedRes(4 * c, d) for d in self.dilations])
        self.u2 = nn.Sequential(nn.Conv2d(4 * c + 3 * c, 3 * c, 3, padding=1), nn.LeakyReLU(0.2))
        self.u1 = nn.Sequential(nn.Conv2d(3 * c + 2 * c, 2 * c, 3, padding=1), nn.LeakyReLU(0.2))
        self.u0 = nn.Sequential(nn.Conv2d(2 * c + c, c, 3, padding=1), nn.LeakyReLU(0.2))
        self.out = nn.Conv2d(c, 3, 3, padding=1)
        with torch.no_grad():
            self.out.weight.mul_(out_init)
            self.out.bias.zero_()

    def config(self) -> dict:
        return {"arch": "InpaintNet", "channels": self.c, "dilations": list(self.dilations)}

    def forward(self, image: torch.Tensor, mask: torch.Tensor, fill: torch.Tensor) -> torch.Tensor:
        keep = 1.0 - mask
        comp = image * keep + fill * mask
        x = torch.cat([comp * 2.0 - 1.0, mask], dim=1)
        f0 = self.full(x)
        f1 = self.d1(f0)
        f2 = self.d2(f1)
        f3 = self.mid(self.d3(f2))
        g2 = self.u2(torch.cat([_up(f3, f2), f2], 1))
        g1 = self.u1(torch.cat([_up(g2, f1), f1], 1))
        g0 = self.u0(torch.cat([_up(g1, f0), f0], 1))
        delta = self.out(g0)
        return image * keep + (fill + delta) * mask


class PatchCritic(nn.Module):
    """A small PatchGAN (70-px-ish receptive field) with spectral norm; input: RGB + mask."""

    def __init__(self, channels: int = 32) -> None:
        super().__init__()
        sn = nn.utils.spectral_norm
        c = channels
        self.net = nn.Sequential(
            sn(nn.Conv2d(4, c, 4, 2, 1)),
            nn.LeakyReLU(0.2),
            sn(nn.Conv2d(c, 2 * c, 4, 2, 1)),
            nn.LeakyReLU(0.2),
            sn(nn.Conv2d(2 * c, 4 * c, 4, 2, 1)),
            nn.LeakyReLU(0.2),
            sn(nn.Conv2d(4 * c, 4 * c, 3, 1, 1)),
            nn.LeakyReLU(0.2),
            sn(nn.Conv2d(4 * c, 1, 3, 1, 1)),
        )

    def forward(self, rgb: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([rgb * 2 - 1, mask], 1))


class ScratchNet(nn.Module):
    """Scratch / dust segmentation: a small U-Net (full res 2 convs, 1/2, 1/4 with dilations), sigmoid output.

    ONNX: input `image` (RGB 0..1), output `mask` (1 channel, probability of a defect). Stride 4."""

    STRIDE = 4

    def __init__(self, channels: int = 16, widths: tuple[int, int, int] | None = None) -> None:
        """widths: channels at full, 1/2 and 1/4 resolution (default channels, 2·channels, 4·channels). A narrower
        student (e.g. 8, 24, 48, trained by train_damage --widths) keeps multiples of 8: onnxruntime's AVX2 convolutions work in
        blocks of 8 channels, so 11 channels would cost as much as 16."""
        super().__init__()
        c = channels
        self.c = c
        self.widths = tuple(widths) if widths else (c, 2 * c, 4 * c)
        w0, w1, w2 = self.widths
        act = nn.LeakyReLU(0.1)
        self.f0 = nn.Sequential(nn.Conv2d(3, w0, 3, padding=1), act, nn.Conv2d(w0, w0, 3, padding=1), act)
        self.f1 = nn.Sequential(nn.Conv2d(w0, w1, 3, 2, 1), act, nn.Conv2d(w1, w1, 3, padding=1), act)
        self.f2 = nn.Sequential(
            nn.Conv2d(w1, w2, 3, 2, 1),
            act,
            nn.Conv2d(w2, w2, 3, padding=2, dilation=2),
            act,
            nn.Conv2d(w2, w2, 3, padding=4, dilation=4),
            act,
        )
        self.g1 = nn.Sequential(nn.Conv2d(w2 + w1, w1, 3, padding=1), act)
        self.g0 = nn.Sequential(nn.Conv2d(w1 + w0, w0, 3, padding=1), act, nn.Conv2d(w0, 1, 3, padding=1))

    def config(self) -> dict:
        config = {"arch": "ScratchNet", "channels": self.c}
        if self.widths != (self.c, 2 * self.c, 4 * self.c):
            config["widths"] = list(self.widths)
        return config

    def logits(self, image: torch.Tensor) -> torch.Tensor:
        x = image * 2 - 1
        f0 = self.f0(x)
        f1 = self.f1(f0)
        f2 = self.f2(f1)
        g1 = self.g1(torch.cat([_up(f2, f1), f1], 1))
        return self.g0(torch.cat([_up(g1, f0), f0], 1))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.logits(image))
