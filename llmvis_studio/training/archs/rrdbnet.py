"""RRDBNet, the ESRGAN / Real-ESRGAN generator (Wang et al. 2018, 2021).

Module names follow the published checkpoints (conv_first, body.N.rdbK.convM, conv_body,
conv_up1, conv_up2, conv_hr, conv_last) so an official state dict would load too. Input and
output are RGB in [0, 1], NCHW; the output is not clamped (callers clip when they quantise).
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import nn
from torch.nn import functional as F

LEAKY_SLOPE = 0.2
RESIDUAL_SCALE = 0.2


def _conv3x3(in_ch: int, out_ch: int) -> nn.Conv2d:
    return nn.Conv2d(in_ch, out_ch, kernel_size=3, padding=1)


def _lrelu(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, LEAKY_SLOPE)


class ResidualDenseBlock(nn.Module):
    """Five densely connected convs; each sees the block input and all earlier outputs."""

    def __init__(self, num_feat: int = 64, num_grow_ch: int = 32) -> None:
        super().__init__()
        self.conv1 = _conv3x3(num_feat, num_grow_ch)
        self.conv2 = _conv3x3(num_feat + num_grow_ch, num_grow_ch)
        self.conv3 = _conv3x3(num_feat + 2 * num_grow_ch, num_grow_ch)
        self.conv4 = _conv3x3(num_feat + 3 * num_grow_ch, num_grow_ch)
        self.conv5 = _conv3x3(num_feat + 4 * num_grow_ch, num_feat)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for conv in (self.conv1, self.conv2, self.conv3, self.conv4):
            features.append(_lrelu(conv(torch.cat(features, dim=1))))
        return x + RESIDUAL_SCALE * self.conv5(torch.cat(features, dim=1))


class RRDB(nn.Module):
    """Residual-in-residual dense block: three dense blocks inside one scaled skip."""

    def __init__(self, num_feat: int = 64, num_grow_ch: int = 32) -> None:
        super().__init__()
        self.rdb1 = ResidualDenseBlock(num_feat, num_grow_ch)
        self.rdb2 = ResidualDenseBlock(num_feat, num_grow_ch)
        self.rdb3 = ResidualDenseBlock(num_feat, num_grow_ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + RESIDUAL_SCALE * self.rdb3(self.rdb2(self.rdb1(x)))


class RRDBNet(nn.Module):
    """The x4 generator: features at input size, two nearest x2 upsamplings, then RGB."""

    scale = 4

    def __init__(
        self, num_in_ch: int = 3, num_out_ch: int = 3, num_feat: int = 64, num_block: int = 23, num_grow_ch: int = 32
    ) -> None:
        super().__init__()
        self.conv_first = _conv3x3(num_in_ch, num_feat)
        self.body = nn.Sequential(*(RRDB(num_feat, num_grow_ch) for _ in range(num_block)))
        self.conv_body = _conv3x3(num_feat, num_feat)
        self.conv_up1 = _conv3x3(num_feat, num_feat)
        self.conv_up2 = _conv3x3(num_feat, num_feat)
        self.conv_hr = _conv3x3(num_feat, num_feat)
        self.conv_last = _conv3x3(num_feat, num_out_ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = self.conv_first(x)
        feat = feat + self.conv_body(self.body(feat))
        feat = _lrelu(self.conv_up1(F.interpolate(feat, scale_factor=2, mode="nearest")))
        feat = _lrelu(self.conv_up2(F.interpolate(feat, scale_factor=2, mode="nearest")))
        return self.conv_last(_lrelu(self.conv_hr(feat)))

    def convs_in_order(self) -> Iterator[tuple[str, nn.Conv2d, float | None]]:
        """Every conv in execution order, with the LeakyReLU slope that follows it (or None).

        Converters pair this with another framework's conv list; the slope lets them check the
        pairing against that framework's fused activations.
        """
        for name, module in self.named_modules():
            if isinstance(module, nn.Conv2d):
                yield name, module, _slope_after(name)


def _slope_after(name: str) -> float | None:
    leaf = name.rsplit(".", 1)[-1]
    followed_by_lrelu = leaf in {"conv1", "conv2", "conv3", "conv4", "conv_up1", "conv_up2", "conv_hr"}
    return LEAKY_SLOPE if followed_by_lrelu else None
