"""Compact U-Net colourizer: greyscale L + sparse colour hints in, chroma (ab of CIE Lab) out.

Input  (N, 4, H, W) float32: L*/100 in [0, 1]; hint a*/110 and b*/110 (zero where no hint); hint mask {0, 1}.
Output (N, 2, H, W) float32: a*/110, b*/110 (tanh, so always inside [-1, 1]).
H and W must be multiples of 16 (four 2× downsamplings); the engine pads.

Why this shape: colour is low-frequency, so the net runs at a reduced working size (≈256 px) and the engine upsamples
the chroma and recombines it with the original full-resolution L. Four levels give a 16× downsampled bottleneck; a
global-average branch (as Iizuka et al. 2016) feeds the whole scene's gist back to every position, which a small
receptive field alone cannot see. The hint inputs enter at full working resolution and again (pooled) at every level
so a single 1-pixel hint reaches the coarse layers that spread it over its region.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

STRIDE = 16
AB_SCALE = 110.0


def _conv(cin: int, cout: int, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=dilation, dilation=dilation), nn.LeakyReLU(0.1, inplace=True))


class Block(nn.Module):
    def __init__(self, cin: int, cout: int, dilation: int = 1) -> None:
        super().__init__()
        self.a = _conv(cin, cout)
        self.b = _conv(cout, cout, dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b(self.a(x))


class ColourUNet(nn.Module):
    def __init__(self, widths: tuple[int, ...] = (16, 32, 64, 128, 192), bins: int = 0) -> None:
        super().__init__()
        self.widths = tuple(widths)
        self.bins = bins
        w = self.widths
        self.enc = nn.ModuleList()
        cin = 4
        for i, c in enumerate(w):
            # every level after the first also sees the pooled hints (3 channels)
            self.enc.append(Block(cin + (3 if i else 0), c, dilation=2 if i == len(w) - 1 else 1))
            cin = c
        self.global_fc = nn.Sequential(nn.Linear(w[-1], w[-1]), nn.LeakyReLU(0.1, inplace=True))
        self.fuse = _conv(2 * w[-1], w[-1])
        self.dec = nn.ModuleList()
        for i in range(len(w) - 1, 0, -1):
            self.dec.append(Block(w[i] + w[i - 1], w[i - 1]))
        self.out = nn.Conv2d(w[0], 2, 3, padding=1)
        if bins:  # colour-class logits at half the working size (colour is low-frequency; 4× cheaper)
            self.classes = nn.Sequential(
                nn.Conv2d(w[1], 64, 1), nn.LeakyReLU(0.1, inplace=True), nn.Conv2d(64, bins, 1)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_all(x)[0]

    def forward_all(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(regressed ab / AB_SCALE (N, 2, H, W), colour-class logits (N, bins, H/2, W/2) or None without bins)."""
        hints = x[:, 1:4]
        skips = []
        h = x
        for i, block in enumerate(self.enc):
            if i:
                h = F.avg_pool2d(h, 2)
                hints = _pool_hints(hints)
                h = torch.cat([h, hints], 1)
            h = block(h)
            skips.append(h)
        gist = self.global_fc(h.mean(dim=(2, 3)))
        h = self.fuse(torch.cat([h, gist[:, :, None, None].expand_as(h)], 1))
        logits = None
        for i, (block, skip) in enumerate(zip(self.dec, reversed(skips[:-1]))):
            h = F.interpolate(h, scale_factor=2.0, mode="bilinear", align_corners=False)
            h = block(torch.cat([h, skip], 1))
            if self.bins and i == len(self.dec) - 2:
                logits = self.classes(h)
        return torch.tanh(self.out(h)), logits

    def config(self) -> dict:
        return {"arch": "ColourUNet", "widths": list(self.widths), "bins": self.bins}


class AnnealedColourizer(nn.Module):
    """What ships: the ColourUNet with its colour-class decode inside the graph, so the engine still gets ab out.

    ab = mix · annealed mean of the class logits (upsampled 2×) + (1 − mix) · the regressed ab, / AB_SCALE.
    flip: also run the mirrored image and average the two answers (where they disagree the colour is uncertain, and
    the average is the safer guess; twice the net's cost, which is small at the working size)."""

    def __init__(
        self, net: ColourUNet, centres: torch.Tensor, temperature: float, mix: float = 1.0, flip: bool = False
    ) -> None:
        super().__init__()
        self.net = net
        self.register_buffer("centres", centres.float() / AB_SCALE)
        self.temperature = temperature
        self.mix = mix
        self.flip = flip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.flip:
            return self.decode(x)
        both = self.decode(torch.cat([x, torch.flip(x, dims=[3])], 0))
        n = x.shape[0]
        return 0.5 * (both[:n] + torch.flip(both[n:], dims=[3]))

    def decode(self, x: torch.Tensor) -> torch.Tensor:
        regressed, logits = self.net.forward_all(x)
        if logits is None or self.mix == 0:
            return regressed
        p = torch.softmax(logits / self.temperature, dim=1)
        annealed = torch.einsum("nqhw,qc->nchw", p, self.centres)
        annealed = F.interpolate(annealed, size=regressed.shape[-2:], mode="bilinear", align_corners=False)
        return self.mix * annealed + (1.0 - self.mix) * regressed


def _pool_hints(hints: torch.Tensor) -> torch.Tensor:
    """2× downsampling of (a, b, mask) that keeps a lone hint pixel: mask = max, colour = mask-weighted mean."""
    ab, mask = hints[:, :2], hints[:, 2:3]
    weight = F.avg_pool2d(mask, 2)
    ab_mean = F.avg_pool2d(ab * mask, 2) / weight.clamp_min(1e-6)
    return torch.cat([ab_mean * (weight > 0).to(ab.dtype), F.max_pool2d(mask, 2)], 1)
