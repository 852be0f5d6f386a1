"""A resolution-free, text-conditioned texture GAN (the Spatial GAN family: Jetchev et al. 2016, PSGAN 2017).

Generator: a spatial noise field z (N×Z×h×w) → 16h×16w RGB. Fully convolutional (no dense layer over space,
reflect padding, no normalisation over space), so one network paints any size: a 64 px training crop or a
1000×1000 fill. Every convolution is modulated (FiLM) by an embedding of the conditioning vector c (the text
embedding of a class name, or a prompt's mix of them), so prompt mixes interpolate between classes.

Discriminator: a spectrally normalised patch critic with a projection term (Miyato & Koyama 2018) that scores
every ~60 px patch against c, and an auxiliary class head (AC-GAN, Odena et al. 2017) trained on real crops only:
the generator is pushed towards what tells the classes apart (grass blades vs leaves, plank lines vs rock).

TextureStats: a fixed random convolutional feature net; the generator matches the Gram matrices of its features
with those of a real crop of the same class (Ustyuzhaninov et al. 2017: random filters carry texture
statistics). It makes class colour and grain converge in the few thousand steps a CPU allows; the adversarial
term keeps the result sharp.
"""

from __future__ import annotations

import math
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import spectral_norm

DEFAULT_WIDTHS = (64, 64, 48, 32)  # channels at 1/16, 1/8, 1/4 and 1/2 of the output size
DOWNSAMPLE = 2 ** len(DEFAULT_WIDTHS)  # output pixels per cell of the structure field z


def conv3(cin: int, cout: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, padding=1, padding_mode="reflect")


class FiLM(nn.Module):
    """Per-channel scale and shift from the class embedding; starts as the identity."""

    def __init__(self, e_dim: int, channels: int) -> None:
        super().__init__()
        self.linear = nn.Linear(e_dim, 2 * channels)
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    def forward(self, x: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        gamma, beta = self.linear(e)[:, :, None, None].chunk(2, dim=1)
        return x * (1.0 + gamma) + beta


class ConvFiLM(nn.Module):
    def __init__(self, cin: int, cout: int, e_dim: int) -> None:
        super().__init__()
        self.conv, self.film = conv3(cin, cout), FiLM(e_dim, cout)

    def forward(self, x: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(self.film(self.conv(x), e), 0.2)


class TextureGenerator(nn.Module):
    """z (N×Z×h×w, the structure) + noise (N×4×16h×16w, the grain: one map per finer scale) + c → N×3×16h×16w.

    Per-scale noise maps with learned per-channel strengths (as in StyleGAN) give fine grain from the first
    steps; the coarse field z decides where clouds, stones and planks go."""

    NOISE_MAPS = 4  # at 1/8, 1/4, 1/2 and full resolution
    FINE = 8  # channels at full resolution

    def __init__(
        self, c_dim: int = 384, z_channels: int = 16, e_dim: int = 64, widths: tuple[int, ...] = DEFAULT_WIDTHS
    ) -> None:
        super().__init__()
        if len(widths) != len(DEFAULT_WIDTHS):
            raise ValueError(f"widths: {len(DEFAULT_WIDTHS)} channel counts, one per scale")
        self.c_dim, self.z_channels, self.e_dim, self.widths = c_dim, z_channels, e_dim, tuple(widths)
        self.embed = nn.Sequential(nn.Linear(c_dim, 2 * e_dim), nn.LeakyReLU(0.2), nn.Linear(2 * e_dim, e_dim))
        stages, cin = [], z_channels
        for cout in widths:
            stages.append(nn.ModuleList([ConvFiLM(cin, cout, e_dim), ConvFiLM(cout, cout, e_dim)]))
            cin = cout
        self.stages = nn.ModuleList(stages)
        # per-class grain: how much of each noise map a channel takes depends on the class (a sky wants none)
        self.noise_strength = nn.ModuleList([_strength(e_dim, w) for w in widths[:-1]] + [_strength(e_dim, self.FINE)])
        # full size: squeeze to a few channels first (a 32-channel full-size tensor made a 1 MP fill memory-bound),
        # then a 3×3 convolution on nearest-upsampled features (no checkerboard)
        self.squeeze = nn.Conv2d(widths[-1], self.FINE, 1)
        self.to_rgb = conv3(self.FINE, 3)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                # He init for leaky ReLU: PyTorch's default shrinks the signal ~3× a layer and the field was lost
                nn.init.kaiming_normal_(module.weight, a=0.2, nonlinearity="leaky_relu")
                nn.init.zeros_(module.bias)
        with torch.no_grad():  # start near mid-grey, far from tanh's flat ends
            self.to_rgb.weight.mul_(0.1)

    def config(self) -> dict:
        return {"c_dim": self.c_dim, "z_channels": self.z_channels, "e_dim": self.e_dim, "widths": list(self.widths)}

    def forward(self, z: torch.Tensor, noise: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """z: N×Z×h×w, noise: N×4×16h×16w, c: N×c_dim → N×3×16h×16w in [-1, 1]."""
        e = self.embed(c)
        x = z
        for index, (first, second) in enumerate(self.stages):
            if index:
                x = F.interpolate(x, scale_factor=2.0, mode="nearest")
                x = x + self.noise_strength[index - 1](e)[:, :, None, None] * _noise_at(noise, index - 1, x)
            x = second(first(x, e), e)
        x = F.interpolate(self.squeeze(x), scale_factor=2.0, mode="nearest")
        x = x + self.noise_strength[-1](e)[:, :, None, None] * noise[:, -1:]
        return torch.tanh(self.to_rgb(x))


def _strength(e_dim: int, channels: int) -> nn.Linear:
    """Class embedding → per-channel noise strength, starting at 0.1 for every class."""
    linear = nn.Linear(e_dim, channels)
    nn.init.zeros_(linear.weight)
    nn.init.constant_(linear.bias, 0.1)
    return linear


def _noise_at(noise: torch.Tensor, index: int, like: torch.Tensor) -> torch.Tensor:
    """Noise map `index` averaged down to like's size, rescaled to unit variance."""
    factor = noise.shape[-1] // like.shape[-1]
    return F.avg_pool2d(noise[:, index : index + 1], factor) * factor


class ExportWrapper(nn.Module):
    """What the ONNX file holds: the same net with its output in 0..1."""

    def __init__(self, generator: TextureGenerator) -> None:
        super().__init__()
        self.generator = generator

    def forward(self, z: torch.Tensor, noise: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        return (self.generator(z, noise, c) + 1.0) * 0.5


class PatchCritic(nn.Module):
    """Per-patch hinge scores (N×1×h/8×w/8) with a projection of c; with `classes` > 0 also class logits."""

    def __init__(self, c_dim: int = 384, widths: tuple[int, ...] = (16, 32, 64, 96), classes: int = 0) -> None:
        super().__init__()
        w0, w1, w2, w3 = widths
        self.body = nn.Sequential(
            spectral_norm(nn.Conv2d(3, w0, 3, padding=1)),
            nn.LeakyReLU(0.2),
            spectral_norm(nn.Conv2d(w0, w1, 4, stride=2, padding=1)),
            nn.LeakyReLU(0.2),
            spectral_norm(nn.Conv2d(w1, w2, 4, stride=2, padding=1)),
            nn.LeakyReLU(0.2),
            spectral_norm(nn.Conv2d(w2, w3, 4, stride=2, padding=1)),
            nn.LeakyReLU(0.2),
            spectral_norm(nn.Conv2d(w3, w3, 3, padding=1)),
            nn.LeakyReLU(0.2),
        )
        self.score = spectral_norm(nn.Conv2d(w3, 1, 1))
        self.project = spectral_norm(nn.Linear(c_dim, w3))
        # not spectrally normalised: a 1-Lipschitz head cannot make confident logits, and it only sees real crops
        self.classify = nn.Linear(w3, classes) if classes else None

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        return self.score_and_logits(x, c)[0]

    def score_and_logits(self, x: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
        """(patch scores, N×classes logits of the auxiliary head or None): one pass through the body."""
        h = self.body(x)
        score = self.score(h) + (h * self.project(c)[:, :, None, None]).sum(dim=1, keepdim=True)
        return score, None if self.classify is None else self.classify(h.mean(dim=(2, 3)))


class TextureStats(nn.Module):
    """Fixed random features at four scales; grams(x) lists per-sample colour moments and Gram matrices.

    Small on purpose (about 3.4 k multiply-adds per pixel): the generator is trained on two shared CPU cores.
    """

    def __init__(self, seed: int = 1234, widths: tuple[int, ...] = (16, 32, 64, 64)) -> None:
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        cin = 3
        for index, cout in enumerate(widths):
            weight = torch.randn((cout, cin, 3, 3), generator=gen) * (2.0 / (cin * 9)) ** 0.5
            self.register_buffer(f"w{index}", weight)
            cin = cout
        self.layers = len(widths)

    def grams(self, x: torch.Tensor) -> list[torch.Tensor]:
        """x: N×3×H×W in 0..1 → [colour mean, colour covariance, then per feature scale its mean and covariance].
        Centred: raw Gram matrices of ReLU features are dominated by their means, and the texture got lost."""
        out = [x.mean(dim=(2, 3)), _covariance(x), _fine_energy(x), oriented_energy(x)]
        h = x
        for index in range(self.layers):
            if index:
                h = F.avg_pool2d(h, 2)
            h = F.relu(F.conv2d(h, getattr(self, f"w{index}"), padding=1))
            out += [h.mean(dim=(2, 3)), _covariance(h)]
        return out

    @torch.no_grad()
    def targets(self, crops_per_mode: list[torch.Tensor]) -> list[torch.Tensor]:
        """Per mode (a look of a class) the mean of each statistic over its real crops (M×... per statistic): what
        the generator matches. Matching the mean is what matching a random real crop converges to, with less noise."""
        per_mode = []
        for crops in crops_per_mode:
            stats = self.grams(crops)
            means = [g.mean(dim=0) for g in stats]
            # energies: the log of the mean energy (not the mean log, which a few flat crops pull far down)
            for index in LOG_STATS:
                means[index] = torch.logsumexp(stats[index], dim=0) - math.log(len(crops))
            per_mode.append(means)
        return [torch.stack(column) for column in zip(*per_mode)]

    def loss(self, fake: torch.Tensor, labels: torch.Tensor, targets: list[torch.Tensor]) -> torch.Tensor:
        """Relative error per class and statistic: a smooth sky's small grain counts as much as a brick wall's
        large one (normalised over all classes, the flat classes' errors vanished and they came out grainy)."""
        total = fake.new_zeros(())
        for index, (stat, target) in enumerate(zip(self.grams(fake), targets)):
            wanted = target[labels]
            if index in LOG_STATS:  # already logarithmic: an e-fold error in grain costs 1
                total = total + (stat - wanted).pow(2).mean()
                continue
            dims = tuple(range(1, wanted.ndim))
            scale = wanted.pow(2).mean(dim=dims) + 1e-3 * target.pow(2).mean()
            total = total + ((stat - wanted).pow(2).mean(dim=dims) / scale).mean()
        return total


FINE_ENERGY, ORIENTED_ENERGY = 2, 3  # positions of _fine_energy and oriented_energy in TextureStats.grams
LOG_STATS = (FINE_ENERGY, ORIENTED_ENERGY)
LAPLACE = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])


def _fine_energy(x: torch.Tensor) -> torch.Tensor:
    """log of the mean squared Laplacian per colour channel at full and half size: the pixel-level grain.
    Random 3×3 features hardly see white noise, so without this a sky came out as grainy as gravel."""
    out = []
    for level in range(2):
        if level:
            x = F.avg_pool2d(x, 2)
        kernel = LAPLACE.to(x)[None, None].repeat(x.shape[1], 1, 1, 1)
        lap = F.conv2d(x, kernel, groups=x.shape[1])
        out.append(torch.log(lap.pow(2).mean(dim=(2, 3)) + 1e-6))
    return torch.cat(out, dim=1)


# derivatives along 0°, 90°, 45° and 135° (2×2 differences: no blur of their own)
ORIENTED = torch.tensor(
    [
        [[0.0, 0.0], [-1.0, 1.0]],
        [[0.0, -1.0], [0.0, 1.0]],
        [[-1.0, 0.0], [0.0, 1.0]],
        [[0.0, -1.0], [1.0, 0.0]],
    ]
)
ORIENTED_SCALES = 4  # full, 1/2, 1/4, 1/8 size


def oriented_energy(x: torch.Tensor) -> torch.Tensor:
    """log mean squared derivative of luminance along four directions at four scales (N×16): the layout a
    steerable pyramid sees (plank lines, brick courses, wave crests are oriented; rock and foliage are not).
    The random features' covariances carry it only weakly, and isotropic blobs came out for every class."""
    y = (x * torch.tensor([0.299, 0.587, 0.114]).to(x)[None, :, None, None]).sum(dim=1, keepdim=True)
    kernel = ORIENTED.to(x)[:, None]
    out = []
    for level in range(ORIENTED_SCALES):
        if level:
            y = F.avg_pool2d(y, 2)
        # floor 1e-4: below it a texture is flat in that direction, and log's slope 1/(energy + floor) on a flat
        # sky blew the first long run up (stats loss 0.5 → 300 in 50 steps)
        out.append(torch.log(F.conv2d(y, kernel).pow(2).mean(dim=(2, 3)) + 1e-4))
    return torch.cat(out, dim=1)


def _covariance(h: torch.Tensor) -> torch.Tensor:
    n, c = h.shape[:2]
    flat = h.reshape(n, c, -1)
    flat = flat - flat.mean(dim=2, keepdim=True)
    return flat @ flat.transpose(1, 2) / flat.shape[-1]


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
