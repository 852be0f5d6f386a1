"""The GAN / VAE trainer's pictures (sample and reconstruction grids, loss curves) and quality statistics."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import numpy as np
import torch

from llmvis_studio.training.archs.gan import (
    Generator,
)
from llmvis_studio.training.gen_core import GRID_COLUMNS, QUALITY_SAMPLES
from llmvis_studio.training.image_folder import ImageFolder

if TYPE_CHECKING:
    from llmvis_studio.training.gen_core import Models

# ---------------------------------------------------------------- pictures


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """N×3×H×W in [-1, 1] → N×H×W×3 uint8."""
    arr = images.detach().float().cpu().clamp(-1, 1).numpy().transpose(0, 2, 3, 1)
    return np.clip(np.rint((arr + 1.0) * 127.5), 0, 255).astype(np.uint8)


def grid(images: np.ndarray, columns: int, pad: int = 2) -> np.ndarray:
    rows = math.ceil(len(images) / columns)
    h, w = images.shape[1:3]
    out = np.full((rows * (h + pad) + pad, columns * (w + pad) + pad, 3), 255, np.uint8)
    for i, image in enumerate(images):
        r, c = divmod(i, columns)
        out[pad + r * (h + pad) : pad + r * (h + pad) + h, pad + c * (w + pad) : pad + c * (w + pad) + w] = image
    return out


def save_png(path: Path, array: np.ndarray) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.png")
    Image.fromarray(array).save(tmp)
    os.replace(tmp, path)


@torch.no_grad()
def sample_grid(sampler: Generator, vectors: torch.Tensor, z_dim: int, path: Path) -> Path:
    rows = min(vectors.shape[0], 8)
    gen = torch.Generator(device="cpu").manual_seed(7)
    z = torch.randn(GRID_COLUMNS, z_dim, generator=gen).repeat(rows, 1).to(vectors.device)
    c = vectors[:rows].repeat_interleave(GRID_COLUMNS, dim=0)
    images = to_uint8(sampler(z, c))
    save_png(path, grid(images, GRID_COLUMNS))
    return path


@torch.no_grad()
def recon_grid(models: Models, data: ImageFolder, vectors: torch.Tensor, path: Path) -> Path:
    """VAE: fixed training crops (odd rows) above their reconstructions (even rows)."""
    x_np, labels = data.batch(np.random.default_rng(5), GRID_COLUMNS * 2)
    x = torch.from_numpy(x_np).to(vectors.device)
    c = vectors[torch.from_numpy(labels).to(vectors.device)]
    encoder, decoder = models.critic.eval(), models.generator.eval()
    mu, _ = encoder(x, c)
    recon = decoder(mu, c)
    encoder.train()
    decoder.train()
    rows = []
    for half in range(2):
        part = slice(half * GRID_COLUMNS, (half + 1) * GRID_COLUMNS)
        rows += [to_uint8(x[part]), to_uint8(recon[part])]
    save_png(path, grid(np.concatenate(rows), GRID_COLUMNS))
    return path


def plot_losses(history: dict[str, list], path: Path, kind: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = history.get("step", [])
    keys = ["D", "G"] if kind == "gan" else ["recon", "KL"]
    fig, ax = plt.subplots(figsize=(7, 3.5), dpi=100)
    for key in keys:
        values = np.asarray(history.get(key, []), np.float64)
        if not len(values):
            continue
        raw = ax.plot(steps, values, alpha=0.25, linewidth=0.8)[0]
        window = max(1, len(values) // 50)
        smooth = np.convolve(values, np.ones(window) / window, mode="valid")
        ax.plot(steps[window - 1 :], smooth, label=key, linewidth=1.5, color=raw.get_color())
    ax.set_xlabel("step")
    ax.set_title(f"{kind.upper()} losses")
    if kind == "vae":
        ax.set_yscale("log")
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    os.replace(tmp, path)


# ---------------------------------------------------------------- quality statistics


def quality_stats(
    samples: np.ndarray,
    reference: np.ndarray,
    seed: int = 0,
    sample_labels: Optional[np.ndarray] = None,
    reference_labels: Optional[np.ndarray] = None,
) -> dict[str, float]:
    """Collapse and noise checks on N×S×S×3 float images in 0..1 (distances are per-pixel RMS).

    - diversity_ratio = mean pairwise distance of the samples / that of the training crops
      (collapse → 0; the tests ask for > 0.2);
    - noise_ratio = mean distance from a sample to its nearest training crop / the same for uniform-noise
      images (noise → 1; the tests ask for < 1);
    - class_match (with labels): how often a sample's nearest training crop has the sample's class;
    - class_diversity_ratio (with labels): mean within-class pairwise distance of the samples / that of the
      training crops (a generator that ignores the noise, one texture per class → 0).
    """

    def flat(a: np.ndarray) -> np.ndarray:
        return a.reshape(len(a), -1).astype(np.float64)

    def pairwise_mean(a: np.ndarray) -> float:
        sq = (a**2).sum(1)
        d2 = np.maximum(sq[:, None] + sq[None, :] - 2 * a @ a.T, 0.0)
        n = len(a)
        return float(np.sqrt(d2 / a.shape[1])[~np.eye(n, dtype=bool)].mean()) if n > 1 else 0.0

    def nearest(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        d2 = np.maximum((a**2).sum(1)[:, None] + (b**2).sum(1)[None, :] - 2 * a @ b.T, 0.0)
        index = d2.argmin(1)
        return np.sqrt(d2[np.arange(len(a)), index] / a.shape[1]), index

    s, r = flat(samples), flat(reference)
    noise = flat(np.random.default_rng(seed).random(samples.shape))
    s_nn, s_idx = nearest(s, r)
    n_nn, _ = nearest(noise, r)
    out = {
        "sample_diversity": pairwise_mean(s),
        "train_diversity": pairwise_mean(r),
        "nearest_train": float(s_nn.mean()),
        "nearest_train_noise": float(n_nn.mean()),
    }
    out["diversity_ratio"] = out["sample_diversity"] / max(out["train_diversity"], 1e-8)
    out["noise_ratio"] = out["nearest_train"] / max(out["nearest_train_noise"], 1e-8)
    if sample_labels is not None and reference_labels is not None:
        out["class_match"] = float((reference_labels[s_idx] == sample_labels).mean())
        within_s, within_r = [], []  # within one class: catches a generator that ignores the noise
        for label in np.unique(sample_labels):
            mine, theirs = s[sample_labels == label], r[reference_labels == label]
            if len(mine) > 1 and len(theirs) > 1:
                within_s.append(pairwise_mean(mine))
                within_r.append(pairwise_mean(theirs))
        if within_s:
            out["class_diversity_ratio"] = float(np.mean(within_s) / max(float(np.mean(within_r)), 1e-8))
    return {k: round(v, 4) for k, v in out.items()}


@torch.no_grad()
def measure_quality(
    sampler: Generator, vectors: torch.Tensor, data: ImageFolder, count: int = QUALITY_SAMPLES, truncation: float = 1.0
) -> dict[str, float]:
    """quality_stats of `count` samples (classes in turn; z scaled by `truncation`, as the generate op does)."""
    gen = torch.Generator(device="cpu").manual_seed(11)
    labels = torch.arange(count) % vectors.shape[0]
    z = (torch.randn(count, sampler.z_dim, generator=gen) * truncation).to(vectors.device)
    samples = to_uint8(sampler(z, vectors[labels.to(vectors.device)])).astype(np.float32) / 255.0
    rng = np.random.default_rng(1234)
    ref, ref_labels = data.batch(rng, max(count, 128))
    reference = (ref.transpose(0, 2, 3, 1) + 1.0) / 2.0
    return quality_stats(samples, reference, sample_labels=labels.numpy(), reference_labels=ref_labels)
