"""Quantised ab colours for the colourizer's classification head (Zhang, Isola & Efros 2016, "Colorful Image
Colorization").

Why classes: regression on ab averages the plausible colours of an object (a car may be red or blue) into brown, and
a 1 M-parameter net trained for minutes learns that average for almost everything. As a distribution over colour
bins, the net can say "blue or green" without paying for it; a class-rebalanced cross-entropy (rare, saturated bins
weighted up) keeps it from ignoring skies and foliage; the annealed mean (softmax at temperature T < 1, then the mean
bin colour) decodes a vivid but spatially coherent ab. The decode is part of the exported ONNX graph
(archs/colourize.AnnealedColourizer), so the engine still gets ab out.

Bins: a 10×10 grid over a*, b* ∈ [−110, 110] (centres at −105 … 105), kept where the training photos have any pixels.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F

GRID = 10.0
AB_RANGE = 110.0
SIGMA = 5.0  # prior smoothing Gaussian (Lab units), as in the paper
REBALANCE = 0.5  # λ: rarity weight = 1 / ((1 − λ)·prior + λ/Q)
TEMPERATURE = 0.38  # the paper's annealed mean


def grid_centres() -> np.ndarray:
    side = np.arange(-AB_RANGE + GRID / 2, AB_RANGE, GRID, dtype=np.float32)
    a, b = np.meshgrid(side, side, indexing="ij")
    return np.stack([a.ravel(), b.ravel()], 1)


def grid_index(ab: np.ndarray) -> np.ndarray:
    """Index into grid_centres() of each ab (…×2, Lab units)."""
    n = int(round(2 * AB_RANGE / GRID))
    ij = np.clip(((ab + AB_RANGE) / GRID).astype(np.int64), 0, n - 1)
    return ij[..., 0] * n + ij[..., 1]


def fit_bins(images_lab_ab: list[np.ndarray], min_share: float = 1e-6) -> tuple[np.ndarray, np.ndarray]:
    """(centres Q×2, prior Q) from the training photos' ab: the grid bins that occur, and their smoothed shares."""
    counts = np.zeros(len(grid_centres()), np.float64)
    for ab in images_lab_ab:
        counts += np.bincount(grid_index(ab.reshape(-1, 2)).ravel(), minlength=counts.size)
    share = counts / counts.sum()
    keep = share > min_share
    n = int(round(2 * AB_RANGE / GRID))
    smooth = cv2.GaussianBlur(share.reshape(n, n), (0, 0), SIGMA / GRID).ravel()  # the paper's σ = 5 smoothing
    prior = smooth[keep] / smooth[keep].sum()
    return grid_centres()[keep], prior.astype(np.float32)


def rarity_weights(prior: np.ndarray, rebalance: float = REBALANCE) -> np.ndarray:
    """Per-bin loss weight, normalised so the prior-weighted mean weight is 1."""
    w = 1.0 / ((1.0 - rebalance) * prior + rebalance / prior.size)
    return (w / (prior * w).sum()).astype(np.float32)


def grid_to_bin(centres: np.ndarray) -> np.ndarray:
    """For every grid cell, the index of the nearest kept bin (a cell the training photos never hit borrows one)."""
    grid = grid_centres()
    return np.argmin(((grid[:, None] - centres[None]) ** 2).sum(-1), axis=1)


def bilinear_targets(ab: torch.Tensor, lookup: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """ab (N, 2, H, W) in Lab units → (bin indices N×4×H×W, weights N×4×H×W): each colour shared bilinearly among
    the four grid centres around it (the soft encoding of the paper, at O(4) per pixel instead of a search over all
    bins); lookup = grid_to_bin()."""
    n_side = int(round(2 * AB_RANGE / GRID))
    pos = ((ab + AB_RANGE) / GRID - 0.5).clamp(0, n_side - 1 - 1e-4)  # in grid-centre units
    lo = pos.floor()
    frac = pos - lo
    lo = lo.long()
    indices, weights = [], []
    for da in (0, 1):
        for db in (0, 1):
            ia, ib = lo[:, 0] + da, lo[:, 1] + db
            wa = frac[:, 0] if da else 1 - frac[:, 0]
            wb = frac[:, 1] if db else 1 - frac[:, 1]
            indices.append(lookup[ia * n_side + ib])
            weights.append(wa * wb)
    return torch.stack(indices, 1), torch.stack(weights, 1)


def rebalanced_cross_entropy(
    logits: torch.Tensor, ab: torch.Tensor, lookup: torch.Tensor, weights: torch.Tensor
) -> torch.Tensor:
    """Class-rebalanced cross-entropy of logits (N, Q, h, w) against ab (N, 2, H, W) in Lab units (pooled to h×w);
    each pixel weighted by the rarity of its colour's nearest bin."""
    if ab.shape[-2:] != logits.shape[-2:]:
        ab = F.adaptive_avg_pool2d(ab, logits.shape[-2:])
    index, share = bilinear_targets(ab, lookup)
    log_p = torch.gather(F.log_softmax(logits, dim=1), 1, index)
    per_pixel = -(share * log_p).sum(1)
    nearest = torch.gather(index, 1, share.argmax(1, keepdim=True))[:, 0]
    return (per_pixel * weights[nearest]).mean()


def annealed_mean(logits: torch.Tensor, centres: torch.Tensor, temperature: float) -> torch.Tensor:
    """(N, Q, h, w) logits → (N, 2, h, w) ab in Lab units: the mean bin colour under softmax(logits / T)."""
    p = torch.softmax(logits / temperature, dim=1)
    return torch.einsum("nqhw,qc->nchw", p, centres)
