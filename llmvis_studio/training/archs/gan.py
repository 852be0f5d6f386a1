"""Conditional generators for `train gan` / `train vae` (DCGAN lineage, modern stabilisers).

- Generator: z ⊕ proj(c) → 4×4 → (nearest ×2, conv 3×3, conditional BatchNorm, ReLU) × log2(S/4) → conv → tanh.
  `c` is a text embedding (e.g. 384-d); `proj` is a learned linear layer; conditional BatchNorm takes its
  gain and bias from proj(c), so the class steers every stage.
- Discriminator: spectral-normalised convs (3×3, then 4×4 stride 2) with LeakyReLU, a minibatch-std channel,
  global sum pooling,
  and a projection head: D(x, c) = w·h + <embed(c), h> (Miyato & Koyama 2018).
- VAE: a conv encoder q(z | x, c) and the generator above as the decoder p(x | z, c).

Everything works in [-1, 1]; `ExportWrapper` maps the output to 0..1 for ONNX.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import spectral_norm

SIZES = (32, 64, 128)


def stages_for(size: int) -> int:
    if size not in SIZES:
        raise ValueError(f"image size must be one of {SIZES}, not {size}")
    return int(math.log2(size // 4))


def _widths(width: int, stages: int) -> list[int]:
    """Channels at 4×4, 8×8, ... , S×S: halving from 4·width (or 8·width for 128 px) to width."""
    top = width * min(8, 2 ** (stages - 1))
    return [max(width, top // (2**i)) for i in range(stages + 1)]


class ClassStandardiser(nn.Module):
    """c → (c − centre) · scale, fixed from the training classes' text embeddings (buffers, exported with the net).

    Text embeddings of two class names are close (cosine 0.3–0.6), so the part that tells the classes apart is small
    next to what they share, and the class signal reached the generator far weaker than the noise z: class control
    came late or never. Centring on the classes' mean and scaling their spread to 1 makes every class difference
    unit-sized from step 0. It is affine, so a softmax mix of class vectors (how `generate` blends prompts) maps to
    the same mix of standardised vectors."""

    def __init__(self, c_dim: int) -> None:
        super().__init__()
        self.register_buffer("centre", torch.zeros(c_dim))
        self.register_buffer("scale", torch.ones(()))

    @torch.no_grad()
    def fit(self, vectors: torch.Tensor) -> None:
        centre = vectors.float().mean(dim=0)
        spread = (vectors.float() - centre).norm(dim=1).mean()
        self.centre.copy_(centre)
        # one class has no spread: then keep the raw embedding's scale
        self.scale.fill_(1.0 / float(spread) if len(vectors) > 1 and float(spread) > 1e-6 else 1.0)
        if len(vectors) <= 1:
            self.centre.zero_()

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs) -> None:
        # runs saved before the standardiser existed were trained on raw embeddings: identity is their exact match
        state_dict.setdefault(prefix + "centre", torch.zeros_like(self.centre))
        state_dict.setdefault(prefix + "scale", torch.ones_like(self.scale))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def forward(self, c: torch.Tensor) -> torch.Tensor:
        return (c - self.centre) * self.scale


class ConditionalBatchNorm(nn.Module):
    def __init__(self, channels: int, emb_dim: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(channels)  # its own affine frozen at 1/0 (explicit weights export
        self.norm.weight.requires_grad_(False)  # to ONNX with a dynamic batch; affine=False does not)
        self.norm.bias.requires_grad_(False)
        self.gain = nn.Linear(emb_dim, channels)
        self.bias = nn.Linear(emb_dim, channels)
        for layer in (self.gain, self.bias):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        gain = 1.0 + self.gain(emb)[:, :, None, None]
        return self.norm(x) * gain + self.bias(emb)[:, :, None, None]


class UpBlock(nn.Module):
    def __init__(self, cin: int, cout: int, emb_dim: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1)
        self.norm = ConditionalBatchNorm(cout, emb_dim)

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        return F.relu(self.norm(self.conv(x), emb))


class Generator(nn.Module):
    def __init__(self, size: int = 32, z_dim: int = 128, c_dim: int = 384, emb_dim: int = 128, width: int = 64) -> None:
        super().__init__()
        self.size, self.z_dim, self.c_dim, self.emb_dim, self.width = size, z_dim, c_dim, emb_dim, width
        stages = stages_for(size)
        widths = _widths(width, stages)
        self.standardise = ClassStandardiser(c_dim)
        self.project = nn.Linear(c_dim, emb_dim)  # the learned text-embedding projection
        self.stem = nn.Linear(z_dim + emb_dim, 4 * 4 * widths[0])
        self.top = widths[0]
        self.stem_norm = ConditionalBatchNorm(widths[0], emb_dim)
        self.blocks = nn.ModuleList(UpBlock(widths[i], widths[i + 1], emb_dim) for i in range(stages))
        self.to_rgb = nn.Conv2d(widths[-1], 3, 3, padding=1)

    def config(self) -> dict:
        return {
            "size": self.size,
            "z_dim": self.z_dim,
            "c_dim": self.c_dim,
            "emb_dim": self.emb_dim,
            "width": self.width,
        }

    def forward(self, z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        emb = self.project(self.standardise(c))
        # a known channel count (not -1) keeps the exported BatchNorm's shape inferable in ONNX
        x = self.stem(torch.cat([z, emb], dim=1)).view(-1, self.top, 4, 4)
        x = F.relu(self.stem_norm(x, emb))
        for block in self.blocks:
            x = block(x, emb)
        return torch.tanh(self.to_rgb(x))


def _sn_conv(cin: int, cout: int, kernel: int, stride: int) -> nn.Module:
    return spectral_norm(nn.Conv2d(cin, cout, kernel, stride=stride, padding=(kernel - 1) // 2 if stride == 1 else 1))


def minibatch_std(x: torch.Tensor, group: int = 4) -> torch.Tensor:
    """Append one channel: the mean standard deviation of the features over groups of `group` samples."""
    n, c, h, w = x.shape
    g = min(group, n)
    while n % g:
        g -= 1
    y = x.float().view(g, -1, c, h, w)
    y = (y - y.mean(0, keepdim=True)).pow(2).mean(0).add(1e-8).sqrt().mean(dim=(1, 2, 3), keepdim=True)
    return torch.cat([x, y.repeat(g, 1, h, w).to(x.dtype)], dim=1)


class Discriminator(nn.Module):
    def __init__(self, size: int = 32, c_dim: int = 384, width: int = 64, mbstd: bool = True) -> None:
        super().__init__()
        self.size, self.c_dim, self.width, self.mbstd = size, c_dim, width, mbstd
        stages = stages_for(size)
        widths = list(reversed(_widths(width, stages)))  # S×S … 4×4
        layers: list[nn.Module] = [_sn_conv(3, widths[0], 3, 1), nn.LeakyReLU(0.1)]
        for i in range(stages):
            layers += [
                _sn_conv(widths[i], widths[i], 3, 1),
                nn.LeakyReLU(0.1),
                _sn_conv(widths[i], widths[i + 1], 4, 2),
                nn.LeakyReLU(0.1),
            ]
        self.body = nn.Sequential(*layers)
        # the last conv also sees the minibatch standard deviation (ProGAN): a collapsed batch looks different
        self.head = nn.Sequential(_sn_conv(widths[-1] + int(mbstd), widths[-1], 3, 1), nn.LeakyReLU(0.1))
        self.linear = spectral_norm(nn.Linear(widths[-1], 1))
        self.standardise = ClassStandardiser(c_dim)
        self.embed = spectral_norm(nn.Linear(c_dim, widths[-1], bias=False))  # projection of the text embedding

    def config(self) -> dict:
        return {"size": self.size, "c_dim": self.c_dim, "width": self.width, "mbstd": self.mbstd}

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        features = self.body(x)
        h = self.head(minibatch_std(features) if self.mbstd else features).sum(dim=(2, 3))
        return self.linear(h).squeeze(1) + (self.embed(self.standardise(c)) * h).sum(dim=1)


class Encoder(nn.Module):
    """q(z | x, c) for the VAE: strided convs, the class embedding added before the heads."""

    def __init__(self, size: int = 32, z_dim: int = 64, c_dim: int = 384, emb_dim: int = 128, width: int = 64) -> None:
        super().__init__()
        stages = stages_for(size)
        widths = list(reversed(_widths(width, stages)))
        layers: list[nn.Module] = [nn.Conv2d(3, widths[0], 3, padding=1), nn.LeakyReLU(0.1)]
        for i in range(stages):
            layers += [
                nn.Conv2d(widths[i], widths[i + 1], 4, stride=2, padding=1),
                nn.BatchNorm2d(widths[i + 1]),
                nn.LeakyReLU(0.1),
            ]
        self.body = nn.Sequential(*layers)
        features = widths[-1] * 16
        self.standardise = ClassStandardiser(c_dim)
        self.project = nn.Linear(c_dim, emb_dim)
        self.head = nn.Linear(features + emb_dim, 2 * z_dim)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.body(x).flatten(1)
        mu, logvar = self.head(torch.cat([h, self.project(self.standardise(c))], dim=1)).chunk(2, dim=1)
        return mu, logvar.clamp(-10.0, 10.0)


class ExportWrapper(nn.Module):
    """(z, c) → N×3×S×S RGB in 0..1: what the ONNX file computes."""

    def __init__(self, generator: Generator) -> None:
        super().__init__()
        self.generator = generator

    def forward(self, z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        return (self.generator(z, c) * 0.5 + 0.5).clamp(0.0, 1.0)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
