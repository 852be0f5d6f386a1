"""Tiled inference as pure geometry: plan, run an injected function per tile, blend.

Tiles partition the image into cores; each tile feeds the model its core plus `overlap`
pixels of context on every side that is not the image border. Neighbouring tiles overlap by
2×overlap and are cross-faded there with linear ramps (see ramp_weights), so no seam shows. On OutOfMemory a
tile is split into quarters and the size limit is halved for the rest of the run (the ONNX
counterpart of chaiNNer's auto_split). The output lives in one preallocated array.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Optional, Protocol

import numpy as np

from ..core.errors import OutOfMemory
from ..core.geometry import Bounds, Extent, pad_to_stride

TileFn = Callable[[np.ndarray], np.ndarray]  # H×W×C float32 → (H·s)×(W·s)×C float32
MIN_CORE = 16


class ProgressLike(Protocol):
    def set(self, fraction: float, message: str = "") -> None: ...

    def check(self) -> None: ...


@dataclass(frozen=True)
class Tile:
    core: Bounds  # the pixels this tile is responsible for
    context: Bounds  # what the model sees: core + overlap, clipped to the image


def context_of(core: Bounds, overlap: int, extent: Extent) -> Bounds:
    return core.expanded(overlap).clipped(extent)


def plan_tiles(extent: Extent, tile: int, overlap: int) -> list[Tile]:
    """Cover the image with tiles whose context is at most `tile` pixels on a side."""
    if tile <= 0 or (extent.width <= tile and extent.height <= tile):
        whole = Bounds(0, 0, extent.width, extent.height)
        return [Tile(whole, whole)]
    core_size = max(MIN_CORE, tile - 2 * overlap)
    columns = math.ceil(extent.width / core_size)
    rows = math.ceil(extent.height / core_size)
    xs = _even_cuts(extent.width, columns)
    ys = _even_cuts(extent.height, rows)
    tiles = []
    for y0, y1 in zip(ys[:-1], ys[1:]):
        for x0, x1 in zip(xs[:-1], xs[1:]):
            core = Bounds(x0, y0, x1 - x0, y1 - y0)
            tiles.append(Tile(core, context_of(core, overlap, extent)))
    return tiles


def _even_cuts(length: int, parts: int) -> list[int]:
    """Split [0, length) into `parts` nearly equal spans (no thin leftover tile at the end)."""
    return [round(i * length / parts) for i in range(parts + 1)]


def split_core(core: Bounds) -> list[Bounds]:
    """Quarter a core (halves when one side is already small)."""
    half_w, half_h = core.width // 2, core.height // 2
    xs = (
        [(core.x, half_w), (core.x + half_w, core.width - half_w)]
        if half_w >= MIN_CORE // 2
        else [(core.x, core.width)]
    )
    ys = (
        [(core.y, half_h), (core.y + half_h, core.height - half_h)]
        if half_h >= MIN_CORE // 2
        else [(core.y, core.height)]
    )
    return [Bounds(x, y, w, h) for y, h in ys for x, w in xs]


def ramp_weights(context: Bounds, core: Bounds, extent: Extent, scale: int) -> np.ndarray:
    """Per-pixel blend weights at output resolution.

    Across the 2×overlap band two tiles share, each tile's weight is 0 for the first overlap/2
    pixels from its edge (where it lacks context), then rises linearly to 1; the two ramps
    sum to 1. So a tile only contributes where it saw at least overlap/2 pixels of context,
    and the result equals an untiled run when the network's margin is at most overlap/2.
    A side at the image border keeps weight 1: no other tile covers it.
    """
    height, width = context.height * scale, context.width * scale

    def axis(length: int, lead: int, trail: int, at_start: bool, at_end: bool) -> np.ndarray:
        pos = np.arange(length, dtype=np.float32) + 0.5
        w = np.ones(length, dtype=np.float32)
        if not at_start and lead > 0:
            w = np.minimum(w, (pos - lead * scale / 2) / (lead * scale))
        if not at_end and trail > 0:
            w = np.minimum(w, (length - pos - trail * scale / 2) / (trail * scale))
        return np.clip(w, 1e-6, 1.0)

    wy = axis(height, core.y - context.y, context.y2 - core.y2, context.y == 0, context.y2 == extent.height)
    wx = axis(width, core.x - context.x, context.x2 - core.x2, context.x == 0, context.x2 == extent.width)
    return wy[:, None] * wx[None, :]


class TiledRun:
    """One tiled pass over an image; create, call `run()`, read the result."""

    def __init__(
        self,
        image: np.ndarray,
        infer: TileFn,
        scale: int,
        tile: int,
        overlap: int,
        stride: int = 1,
        progress: Optional[ProgressLike] = None,
        channels: Optional[int] = None,
    ) -> None:
        self.image = image
        self.infer = infer
        self.scale = scale
        self.overlap = overlap
        self.stride = stride
        self.progress = progress
        self.extent = Extent(int(image.shape[1]), int(image.shape[0]))
        whole = max(self.extent.width, self.extent.height) + 2 * overlap
        self.limit = max(tile, 2 * overlap + MIN_CORE) if tile > 0 else whole
        self.splits = 0
        channels = image.shape[2] if channels is None else channels
        self.acc = np.zeros((self.extent.height * scale, self.extent.width * scale, channels), np.float32)
        self.weight = np.zeros(self.acc.shape[:2], np.float32)
        self._done_pixels = 0

    def run(self) -> np.ndarray:
        for tile in plan_tiles(self.extent, self.limit, self.overlap):
            self._process(tile.core)
        np.divide(self.acc, self.weight[..., None], out=self.acc)
        return self.acc

    def _process(self, core: Bounds) -> None:
        context = context_of(core, self.overlap, self.extent)
        parts = split_core(core)
        if max(context.width, context.height) > self.limit and len(parts) > 1:
            for part in parts:
                self._process(part)
            return
        if self.progress is not None:
            self.progress.check()
        try:
            out = self._infer_padded(context)
        except OutOfMemory as error:
            if len(parts) == 1:
                raise OutOfMemory(
                    "Not enough memory even for the smallest tile; close other programs or use a smaller image."
                ) from error
            self.limit = max(MIN_CORE, max(context.width, context.height) // 2)
            self.splits += 1
            for part in parts:
                self._process(part)
            return
        self._accumulate(out, context, core)

    def _infer_padded(self, context: Bounds) -> np.ndarray:
        patch, _, _ = pad_to_stride(self.image[context.slices], self.stride)
        out = self.infer(np.ascontiguousarray(patch))
        return out[: context.height * self.scale, : context.width * self.scale]

    def _accumulate(self, out: np.ndarray, context: Bounds, core: Bounds) -> None:
        weights = ramp_weights(context, core, self.extent, self.scale)
        region = context.scaled(self.scale).slices
        self.acc[region] += out * weights[..., None]
        self.weight[region] += weights
        self._done_pixels += core.width * core.height
        if self.progress is not None:
            self.progress.set(self._done_pixels / max(1, self.extent.pixels))


def run_tiled(
    image: np.ndarray,
    infer: TileFn,
    scale: int = 1,
    tile: int = 0,
    overlap: int = 16,
    stride: int = 1,
    progress: Optional[ProgressLike] = None,
    channels: Optional[int] = None,
) -> np.ndarray:
    """Run `infer` over `image` (H×W×C, usually float32) in tiles and blend; tile=0 means one pass. `channels`: the
    output's channel count when it differs from the input's (a one-channel mask from an RGB image)."""
    return TiledRun(image, infer, scale, tile, overlap, stride, progress, channels).run()


def tile_for_budget(budget_bytes: int, bytes_per_input_pixel: int, stride: int = 1, minimum: int = 64) -> int:
    """The largest square tile whose estimated working memory fits the budget."""
    side = int(math.sqrt(max(1, budget_bytes) / max(1, bytes_per_input_pixel)))
    side -= side % max(1, stride)
    return max(minimum, side)
