"""The colour hints of an open picture: an RGBA layer of the image's size, colour wished for where alpha > 0.

Numpy only. Kept by the document model (so it is saved with the project) and painted by the Colour hint brush.
On disk it is stored sparse (one row per hinted pixel: y, x, r, g, b, a), since hints cover a tiny share of a photo.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

POINT_COLUMNS = 6  # y, x, r, g, b, a


class HintLayer:
    def __init__(self, rgba: Optional[np.ndarray] = None) -> None:
        self.rgba: Optional[np.ndarray] = rgba
        # (y, x, r, g, b) of each dot, for the canvas rings: kept by the brush's undo steps so a new dot never
        # rescans a 12 MP layer on the GUI thread (a project's hints are turned into dots once, when it opens)
        self.dots: list[tuple[int, int, int, int, int]] = []

    def ensure(self, height: int, width: int) -> np.ndarray:
        if self.rgba is None or self.rgba.shape[:2] != (height, width):
            self.rgba = np.zeros((height, width, 4), np.uint8)
        return self.rgba

    def is_empty(self) -> bool:
        return self.rgba is None or not self.rgba[..., 3].any()

    def matches(self, shape: tuple[int, ...]) -> bool:
        return self.rgba is not None and self.rgba.shape[:2] == tuple(shape[:2])


def to_points(rgba: np.ndarray) -> np.ndarray:
    """H×W×4 uint8 → N×6 uint32 rows (y, x, r, g, b, a) of the hinted pixels, in raster order."""
    ys, xs = np.nonzero(rgba[..., 3])
    return np.concatenate([ys[:, None], xs[:, None], rgba[ys, xs].astype(np.int64)], axis=1).astype(np.uint32)


def from_points(points: np.ndarray, height: int, width: int) -> np.ndarray:
    """N×6 rows → H×W×4 uint8 layer. ValueError names what is wrong (a file may be hostile)."""
    if points.ndim != 2 or points.shape[1] != POINT_COLUMNS:
        raise ValueError(f"hint points must be N×{POINT_COLUMNS}, not {points.shape}")
    if points.size and (points[:, 0].max() >= height or points[:, 1].max() >= width):
        raise ValueError("a hint point lies outside the image")
    if points.size and points[:, 2:].max() > 255:
        raise ValueError("a hint colour is outside 0..255")
    rgba = np.zeros((height, width, 4), np.uint8)
    rgba[points[:, 0].astype(np.intp), points[:, 1].astype(np.intp)] = points[:, 2:].astype(np.uint8)
    return rgba
