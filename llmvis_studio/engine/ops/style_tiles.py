"""Style transfer that keeps a large photo's detail: a tiled stroke pass, one tone pass, the photo's light.

Why: the transfer network at 1024 px, upsampled to 2048, looked blurred, and its instance normalisation makes
every tile it sees pick its own tone. So the picture goes through the network twice:
  - the stroke pass, tiled at `detail_size` (the photo's own size up to 2048 px by default), with feathered
    overlaps (engine/tiling.py): strokes and edges at (near) full resolution;
  - the tone pass, the whole picture at `working_size` (1024 px) in one piece: colours and light seen with
    one set of statistics.
The stroke pass keeps only what is finer than `tone_sigma`; everything coarser comes from the tone pass, so tile
borders (a low-frequency tone step) cannot show. Above `detail_size` the result is upsampled and the photo's own
finer luminance detail is added back, weighted by `detail`.

`keep_photo_look` (colours = keep) takes the photo's a/b and its light at a large scale in Lab: the style then
brings strokes and texture but not a pastel wash (a watercolour left grass cream and the sky pink).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Optional

import cv2
import numpy as np

from ..tiling import run_tiled
from .base import ProgressLike

# px on a side of what the network sees per tile (context included): ~0.3 GB peak on CPU; 1536 px tiles
# (~0.6 GB) were no faster on a 2048×1538 photo (the network's time follows the pixels)
TILE = 1024
OVERLAP = 64  # px of context on each inner side; neighbours cross-fade over 2 × OVERLAP
MULTIPLE = 4  # the transfer network downsamples twice by 2
BORDER = 16  # reflect margin around each piece: the network's own border is weak
DETAIL_SIGMA_DIVISOR = 768.0  # detail_sigma = long side / this (2.7 px at 2048): benchmarks/style_detail.py
LUMA = np.array([0.299, 0.587, 0.114], np.float32)

TransferRun = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (1×H×W×3 content, style vector) → 1×H×W×3


def scaled_shape(height: int, width: int, long_side: int) -> tuple[int, int]:
    """(h, w) with the long side at most `long_side` (never enlarged)."""
    scale = min(1.0, long_side / max(height, width))
    return max(1, round(height * scale)), max(1, round(width * scale))


def pad_for_network(image: np.ndarray) -> tuple[np.ndarray, int, int]:
    """Reflect-pad by BORDER and up to a multiple of 4; returns (padded, top, left)."""
    height, width = image.shape[:2]
    extra_h = (-(height + 2 * BORDER)) % MULTIPLE
    extra_w = (-(width + 2 * BORDER)) % MULTIPLE
    pads = ((BORDER, BORDER + extra_h), (BORDER, BORDER + extra_w), (0, 0))
    if min(height, width) > BORDER + MULTIPLE:
        return np.pad(image, pads, mode="reflect"), BORDER, BORDER
    return np.pad(image, pads, mode="edge"), BORDER, BORDER


def network_on(transfer_run: TransferRun, vector: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """H×W×3 float piece → stylised H×W×3 piece (padded for the network, then cropped back)."""

    def infer(piece: np.ndarray) -> np.ndarray:
        padded, top, left = pad_for_network(piece)
        out = transfer_run(np.ascontiguousarray(padded[None], dtype=np.float32), vector)[0]
        return out[top : top + piece.shape[0], left : left + piece.shape[1]]

    return infer


def resized(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    if image.shape[:2] == shape:
        return image
    shrinking = shape[0] < image.shape[0]
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC
    return cv2.resize(image, (shape[1], shape[0]), interpolation=interpolation)


def tone_sigma(shape: tuple[int, int]) -> float:
    """Gaussian σ (px) below which the stroke pass rules: 16 px at 2048 px, wide enough to hide a tile's tone."""
    return max(4.0, max(shape) / 128.0)


def detail_sigma(shape: tuple[int, int]) -> float:
    """Gaussian σ (px) of the photo detail carried over the style: 2.7 px at 2048 px, 1.3 px at 1024 px."""
    return max(0.5, max(shape) / DETAIL_SIGMA_DIVISOR)


def stylize_detailed(
    transfer_run: TransferRun,
    rgb: np.ndarray,
    vector: np.ndarray,
    working_size: int,
    detail_size: int,
    detail: float,
    progress: Optional[ProgressLike] = None,
) -> np.ndarray:
    """Full-size float RGB 0..1 → stylised full-size float RGB 0..1 (see the module docstring)."""
    height, width = rgb.shape[:2]
    infer = network_on(transfer_run, vector)
    stroke_shape = scaled_shape(height, width, max(detail_size, working_size))
    tone_shape = scaled_shape(height, width, working_size)
    stroke_input = resized(rgb, stroke_shape)
    if progress is not None:
        progress.set(0.05, "Stylising")
    tone = infer(resized(stroke_input, tone_shape))
    if stroke_shape == tone_shape:
        styled = tone
    else:
        span = progress.span(0.15, 0.85) if progress is not None else None
        strokes = run_tiled(stroke_input, infer, tile=TILE, overlap=OVERLAP, stride=1, progress=span)
        low = cv2.GaussianBlur(resized(tone, stroke_shape) - strokes, (0, 0), tone_sigma(stroke_shape))
        styled = strokes + low
    if progress is not None:
        progress.set(0.9, "Restoring detail")
    full = resized(styled, (height, width))
    if detail > 0:
        # The photo's luminance detail finer than the network draws (σ = detail_sigma at the stroke scale), and
        # above the stroke pass's size what it never saw: the photo minus its own blurred stroke-size copy.
        stroke_base = cv2.GaussianBlur(stroke_input, (0, 0), detail_sigma(stroke_shape))
        full += (detail * ((rgb - resized(stroke_base, (height, width))) @ LUMA))[..., None]
    return np.clip(full, 0, 1, out=full)


def keep_photo_look(styled: np.ndarray, original: np.ndarray) -> np.ndarray:
    """The style on luminance only, with the photo's light: Lab a/b from the photo, and the lightness's coarse
    layout (coarser than 1/64 of the long side) from the photo too; the style keeps the strokes and texture."""
    styled_lab = cv2.cvtColor(np.ascontiguousarray(styled, np.float32), cv2.COLOR_RGB2Lab)
    original_lab = cv2.cvtColor(np.ascontiguousarray(original, np.float32), cv2.COLOR_RGB2Lab)
    sigma = max(2.0, max(styled.shape[:2]) / 64.0)
    lightness = styled_lab[..., 0]
    coarse_change = cv2.GaussianBlur(original_lab[..., 0] - lightness, (0, 0), sigma)
    styled_lab[..., 0] = np.clip(lightness + coarse_change, 0.0, 100.0)
    styled_lab[..., 1:] = original_lab[..., 1:]
    return np.clip(cv2.cvtColor(styled_lab, cv2.COLOR_Lab2RGB), 0.0, 1.0)
