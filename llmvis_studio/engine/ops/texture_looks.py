"""Which learned look of a class a fill uses: the ones whose grain suits the photo around the mask come first.

A texture class holds several looks (one per training source: rippled or glassy water, sharp or soft grass), and
their fine detail differs by up to 100× (some game textures are soft). Picked at random, a soft look in a sharp
photo reads as a blur, and a sharp one in a soft photo as noise. So the fill paints a small preview of each look
of the prompt's main class and ranks them by how far their grain (log mean squared Laplacian of luminance) is
from the grain of the ring of photo pixels around the mask; variation k of a request takes the k-th best look.
Colour is not compared: ranking by colour turned water grey-brown next to a dirt road, and the Lab fit already
moves light and cast towards the photo.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Optional

import cv2
import numpy as np

PREVIEW = 64  # px a side of each look's preview: a few structure cells, a few ms a look
MIN_RING = 64  # ring pixels needed to judge the surroundings at all


def grain(rgb: np.ndarray, where: Optional[np.ndarray] = None) -> float:
    """log mean squared Laplacian of luminance (0..100) of a float RGB image in 0..1, over `where` when given
    (luminance, not L*: a 1 MP Lab conversion cost 0.2 s, and the ranking only compares like with like)."""
    luminance = np.ascontiguousarray(rgb, np.float32) @ np.array([29.9, 58.7, 11.4], np.float32)
    lap = cv2.Laplacian(luminance, cv2.CV_32F)
    energy = lap[where] if where is not None else lap
    return float(np.log(np.mean(energy * energy) + 1e-3))


def ranked_looks(
    looks: int, paint_look: Callable[[int], np.ndarray], photo_rgb: np.ndarray, ring: np.ndarray
) -> Optional[list[int]]:
    """Look indices, best-fitting first, or None when there is nothing to choose (one look, too small a ring).
    paint_look(i) → a PREVIEW-sized float RGB texture of look i; photo_rgb: float RGB 0..1; ring: bool mask."""
    if looks < 2 or int(ring.sum()) < MIN_RING:
        return None
    target = grain(photo_rgb, ring)
    distances = [abs(grain(paint_look(i)) - target) for i in range(looks)]
    return [int(i) for i in np.argsort(distances, kind="stable")]
