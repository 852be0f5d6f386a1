"""Compact PSNR-oriented super-resolution network (×2 / ×4), under 1 M parameters.

head conv → N residual blocks (conv-ReLU-conv, scaled skip) → body conv + global skip → ONE conv to 3·s² channels at
low resolution → PixelShuffle(s), plus a nearest-neighbour copy of the input as the base. All convolutions run at the
input resolution, so the cost per output pixel is small (the speed target is ≥ 1 MP/s of ×4 output on 2 cores).
Input and output: RGB float in [0, 1], NCHW.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ResBlock(nn.Module):
    def __init__(self, ch: int, res_scale: float = 1.0) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(ch, ch, 3, padding=1)
        self.conv2 = nn.Conv2d(ch, ch, 3, padding=1)
        self.res_scale = res_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.relu(self.conv1(x))) * self.res_scale


class CompactSR(nn.Module):
    def __init__(self, scale: int = 4, channels: int = 64, blocks: int = 8, res_scale: float = 1.0) -> None:
        super().__init__()
        if scale not in (2, 3, 4):
            raise ValueError(f"scale must be 2, 3 or 4, got {scale}")
        self.scale = scale
        self.channels = channels
        self.blocks = blocks
        self.head = nn.Conv2d(3, channels, 3, padding=1)
        self.body = nn.Sequential(*[ResBlock(channels, res_scale) for _ in range(blocks)])
        self.body_tail = nn.Conv2d(channels, channels, 3, padding=1)
        self.upsample = nn.Conv2d(channels, 3 * scale * scale, 3, padding=1)
        self.shuffle = nn.PixelShuffle(scale)
        with torch.no_grad():  # start near the nearest-neighbour base, not far from it
            self.upsample.weight.mul_(0.1)
            self.upsample.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = self.head(x)
        feat = feat + self.body_tail(self.body(feat))
        out = self.shuffle(self.upsample(feat))
        base = F.interpolate(x, scale_factor=self.scale, mode="nearest")
        return out + base

    def config(self) -> dict:
        return {"arch": "CompactSR", "scale": self.scale, "channels": self.channels, "blocks": self.blocks}


def load_body_from(model: CompactSR, state: dict) -> list[str]:
    """Copy every tensor whose name and shape match (e.g. a ×4 body into a ×2 net); returns the copied names."""
    own = model.state_dict()
    copied = [k for k, v in state.items() if k in own and own[k].shape == v.shape]
    own.update({k: state[k] for k in copied})
    model.load_state_dict(own)
    return copied


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
