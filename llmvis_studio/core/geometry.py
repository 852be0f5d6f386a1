"""Small value types for rectangles and sizes, and padding to a network's stride."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np


@dataclass(frozen=True)
class Extent:
    width: int
    height: int

    @property
    def pixels(self) -> int:
        return self.width * self.height

    def scaled(self, factor: int) -> Extent:
        return Extent(self.width * factor, self.height * factor)


@dataclass(frozen=True)
class Bounds:
    """A half-open rectangle [x, x+width) × [y, y+height) in pixels."""

    x: int
    y: int
    width: int
    height: int

    @property
    def x2(self) -> int:
        return self.x + self.width

    @property
    def y2(self) -> int:
        return self.y + self.height

    @property
    def is_empty(self) -> bool:
        return self.width <= 0 or self.height <= 0

    @property
    def extent(self) -> Extent:
        return Extent(self.width, self.height)

    @property
    def slices(self) -> tuple[slice, slice]:
        """Row and column slices for numpy indexing: array[bounds.slices]."""
        return slice(self.y, self.y2), slice(self.x, self.x2)

    def expanded(self, margin: int) -> Bounds:
        return Bounds(self.x - margin, self.y - margin, self.width + 2 * margin, self.height + 2 * margin)

    def clipped(self, extent: Extent) -> Bounds:
        x, y = max(0, self.x), max(0, self.y)
        x2, y2 = min(extent.width, self.x2), min(extent.height, self.y2)
        return Bounds(x, y, max(0, x2 - x), max(0, y2 - y))

    def union(self, other: Bounds) -> Bounds:
        if self.is_empty:
            return other
        if other.is_empty:
            return self
        x, y = min(self.x, other.x), min(self.y, other.y)
        return Bounds(x, y, max(self.x2, other.x2) - x, max(self.y2, other.y2) - y)

    def scaled(self, factor: int) -> Bounds:
        return Bounds(self.x * factor, self.y * factor, self.width * factor, self.height * factor)

    def relative_to(self, outer: Bounds) -> Bounds:
        return Bounds(self.x - outer.x, self.y - outer.y, self.width, self.height)

    @staticmethod
    def of_array(array: np.ndarray) -> Bounds:
        return Bounds(0, 0, int(array.shape[1]), int(array.shape[0]))


def nonzero_bounds(mask: np.ndarray) -> Optional[Bounds]:
    """Bounding box of the non-zero pixels of a 2-D mask, or None if it is empty."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return Bounds(int(cols[0]), int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1))


def pad_amount(size: int, stride: int) -> int:
    """How many pixels to add so that `size` becomes a multiple of `stride`."""
    return (-size) % max(1, stride)


def pad_to_stride(image: np.ndarray, stride: int) -> tuple[np.ndarray, int, int]:
    """Reflect-pad an H×W×C array at the bottom/right to a multiple of stride.

    Returns the padded array and the padding added to height and width. Reflection keeps
    edges natural for convolutions; when the image is smaller than the pad, edge mode is used.
    """
    pad_h = pad_amount(image.shape[0], stride)
    pad_w = pad_amount(image.shape[1], stride)
    if pad_h == 0 and pad_w == 0:
        return image, 0, 0
    widths = [(0, pad_h), (0, pad_w)] + [(0, 0)] * (image.ndim - 2)
    if pad_h < image.shape[0] and pad_w < image.shape[1]:
        return np.pad(image, widths, mode="reflect"), pad_h, pad_w
    return np.pad(image, widths, mode="edge"), pad_h, pad_w
