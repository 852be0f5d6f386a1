"""Restore's fill and tone, crop by crop: only the parts of a scan that hold damage are worked on, in parallel.

A crack network marks a few to 15 % of a 12-MP scan. Filling the whole picture at once (one cv2.inpaint over the
mask's bounding box, then the tone step over every pixel in float) took about 20 s of the 41 s a 4000×3000 restore
needed. Here the mask is cut into TILE-px cells; each cell that holds damage shrinks to the bounding box of its damage,
gets MARGIN px of context, and is filled (Navier–Stokes) and toned on its own, on the engine's threads (OpenCV and
NumPy release the GIL). Only damaged pixels of the cell are written: every other pixel is a copy of the original.

Why the result matches one whole-image pass: Navier–Stokes fills a pixel from pixels within its radius (2 px here)
that are known or already filled, so a change at the crop's edge reaches in only a few radii through a hole; the tone
step's finest blur (σ 3 px) reaches 12 px. MARGIN is well beyond both; only holes wider than about 24 px, whose
middle takes its colour from the coarser blurs, can differ slightly (tests/engine/test_restore_speed.py).

Tone: the fill's luminance is kept, its colour is replaced by the colour of the hole's surroundings (normalised
convolution of the chroma), so a greyscale or sepia print stays in its tone and a fill cannot paint blue or orange
blotches; an exactly grey image stays exactly grey (decided on the whole image, not per crop).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Optional

import cv2
import numpy as np

from ...core.geometry import Bounds, Extent, nonzero_bounds
from ...core.pixels import max_value, to_float_rgb
from . import inpaint_classical
from .base import ProgressLike

TILE = 768  # px: cell side; a 4000×3000 scan gives 20 cells, enough to keep two threads busy
MARGIN = 48  # px of context around each cell's damage (see the module docstring)
Tile = tuple[Bounds, Bounds]  # (context read, core written)


def hole_tiles(hole: np.ndarray, tile: int = TILE, margin: int = MARGIN) -> list[Tile]:
    """(context, core) per grid cell that holds hole pixels: the core is the bounding box of the cell's hole pixels,
    the context adds `margin` px (clipped to the image)."""
    h, w = hole.shape
    extent = Extent(w, h)
    out: list[Tile] = []
    for y in range(0, h, tile):
        for x in range(0, w, tile):
            found = nonzero_bounds(hole[y : y + tile, x : x + tile])
            if found is None:
                continue
            core = Bounds(x + found.x, y + found.y, found.width, found.height)
            out.append((core.expanded(margin).clipped(extent), core))
    return out


def is_grey_rgb(image: np.ndarray) -> bool:
    rgb = image[..., :3]
    return bool(np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 1], rgb[..., 2]))


def _normalised_blur(values: np.ndarray, known: np.ndarray, sigma: float, shrink: int) -> tuple:
    """Σ(w·v)/Σw of a Gaussian of `sigma` px, computed at 1/shrink resolution (chroma is smooth; a large crop
    must not pay for a 300-px kernel). Returns (estimate H×W×2, weight H×W)."""
    h, w = known.shape
    if shrink > 1:
        size = (max(1, w // shrink), max(1, h // shrink))
        v = cv2.resize(values * known[..., None], size, interpolation=cv2.INTER_AREA)
        k = cv2.resize(known, size, interpolation=cv2.INTER_AREA)
        num = cv2.GaussianBlur(v, (0, 0), sigma / shrink)
        den = cv2.GaussianBlur(k, (0, 0), sigma / shrink)
        num = cv2.resize(num, (w, h), interpolation=cv2.INTER_LINEAR)
        den = cv2.resize(den, (w, h), interpolation=cv2.INTER_LINEAR)
    else:
        num = cv2.GaussianBlur(values * known[..., None], (0, 0), sigma)
        den = cv2.GaussianBlur(known, (0, 0), sigma)
    return num / np.maximum(den, 1e-6)[..., None], den


def surrounding_chroma(chroma: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """Fill each hole pixel's chroma (H×W×2) from the known pixels around it: normalised Gaussian convolution at a
    fine scale, then coarser ones where the fine one sees no known pixel, the mean chroma where none does."""
    known = (~hole).astype(np.float32)
    filled = chroma.copy()
    if not known.any():
        return np.zeros_like(chroma)
    remaining = hole.copy()
    for sigma, shrink in ((3.0, 1), (12.0, 4), (48.0, 8)):
        estimate, weight = _normalised_blur(chroma, known, sigma, shrink)
        ok = remaining & (weight > 1e-3)
        filled[ok] = estimate[ok]
        remaining &= ~ok
        if not remaining.any():
            break
    if remaining.any():
        filled[remaining] = chroma[~hole].mean(axis=0)
    return filled


def toned(original: np.ndarray, filled: np.ndarray, hole: np.ndarray, grey: bool) -> np.ndarray:
    """One crop: the fill's luminance with the surroundings' chroma, in the original's dtype (H×W×3). Only hole pixels
    are converted; the rest of the crop is the original (the surroundings are only read, for their chroma)."""
    top = max_value(original.dtype)
    fill = filled[..., :3][hole].astype(np.float32) / np.float32(top)  # N×3, the hole's pixels in order
    if grey:
        rgb = np.repeat(fill.mean(axis=1, keepdims=True), 3, axis=1)
    else:
        around = cv2.cvtColor(to_float_rgb(original), cv2.COLOR_RGB2YCrCb)[..., 1:]
        ycc = cv2.cvtColor(fill[:, None, :], cv2.COLOR_RGB2YCrCb)[:, 0]
        ycc[:, 1:] = surrounding_chroma(around, hole)[hole]
        rgb = np.clip(cv2.cvtColor(ycc[:, None, :], cv2.COLOR_YCrCb2RGB)[:, 0], 0, 1)
    out = np.array(original[..., :3])
    out[hole] = np.clip(np.rint(rgb * np.float32(top)), 0, top).astype(original.dtype)
    return out


def _paste(result: np.ndarray, crop: np.ndarray, hole: np.ndarray, context: Bounds, core: Bounds) -> None:
    """Write the crop's hole pixels that lie in `core` into `result` (colour channels only; alpha stays)."""
    inner = core.relative_to(context).slices
    selected = hole[inner]
    target = result[core.slices]
    target[..., :3][selected] = crop[inner][selected]


def run_tiles(
    work: Callable[[Bounds, Bounds], None], tiles: list[Tile], threads: int, progress: Optional[ProgressLike]
) -> None:
    """work(context, core) for every tile, on `threads` threads; progress and cancellation on the calling thread."""
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress.check()
            progress.set(done / len(tiles))

    if threads <= 1 or len(tiles) <= 1:
        for context, core in tiles:
            work(context, core)
            tick()
        return
    pool = ThreadPoolExecutor(max_workers=threads)
    try:
        for future in as_completed([pool.submit(work, context, core) for context, core in tiles]):
            future.result()
            tick()
    finally:  # on cancel or error: drop the tiles not started, wait for the running ones
        pool.shutdown(wait=True, cancel_futures=True)


def tone_by_crops(
    original: np.ndarray,
    mask: np.ndarray,
    fill: Callable[[Bounds, np.ndarray], np.ndarray],
    threads: int,
    progress: Optional[ProgressLike],
    tile: int,
) -> np.ndarray:
    """`fill(context, hole_in_context)` → the crop's filled RGB, then toned and pasted, crop by crop around the damage;
    pixels outside the mask stay bit-exact (an empty mask returns `original` itself)."""
    hole = mask > 0
    if not hole.any():
        return original
    grey = is_grey_rgb(original)
    result = original.copy()

    def work(context: Bounds, core: Bounds) -> None:
        here = hole[context.slices]
        _paste(result, toned(original[context.slices], fill(context, here), here, grey), here, context, core)

    run_tiles(work, hole_tiles(hole, tile), threads, progress)
    return result


def keep_tone(
    original: np.ndarray, filled: np.ndarray, mask: np.ndarray, threads: int = 1, progress=None, tile: int = TILE
) -> np.ndarray:
    """The fill's luminance with the surroundings' chroma inside the mask; outside the mask the original, bit-exact."""
    return tone_by_crops(original, mask, lambda context, _: filled[context.slices][..., :3], threads, progress, tile)


def fill_and_tone(
    original: np.ndarray, mask: np.ndarray, method: int, radius: int, threads: int = 1, progress=None, tile: int = TILE
) -> np.ndarray:
    """Classical fill (cv2 `method`, `radius`) and tone, crop by crop; pixels outside the mask stay bit-exact."""

    def fill(context: Bounds, here: np.ndarray) -> np.ndarray:
        return inpaint_classical.fill(original[context.slices][..., :3], here.astype(np.uint8) * 255, method, radius)

    return tone_by_crops(original, mask, fill, threads, progress, tile)
