"""Which learned look of a class a fill uses: those whose grain suits the class and the photo and whose colour
is typical of the class come first.

A texture class holds several looks (one per training source: rippled or glassy water, sharp or soft grass), and
their fine detail differs by up to 100× (some game textures are soft). Picked at random, a soft look in a sharp
photo reads as a blur, and a sharp one in a soft photo as noise. So the fill paints a small preview of each look
of the prompt's main class and ranks them by how far their grain (log mean squared Laplacian of luminance) is
from a target grain; variation k of a request takes the k-th best look.

The target starts from the class's own typical grain (measured on its real training crops at export time and
stored in the manifest) and moves RING_PULL of the way towards the grain of the ring of photo pixels around the
mask. Why not the ring alone: the ring is whatever surrounds the mask, often another material (the painted
metal of a locomotive next to a patch of grass), so ranking by it alone picked a soft look of a sharp class.
Why not the class alone: the ring does tell how sharp this photo is (its resolution, focus, noise), and a
fill should sit in it. RING_PULL was checked on 14 regions of real grass, sky, clouds, water and sand in the
training pack's photos (not the benchmark's): with the mask inside the region the ring predicts the real
content's grain best (mean error 0.32 at pull 1, 1.40 at pull 0), with the mask straddling the region's edge
(half the ring another material) a pull of 0.8 does (0.65 vs 0.71 at pull 1, 0.88 at 0.5); over both, 0.9
does (0.50, vs 0.51 at 1 and 0.52 at 0.8; benchmarks/look_grain_check.py). 0.8 also made a brick fill on the
sample photo take a look whose mortar lines broke the seam bar, so 0.9: photos are often softer than a class's
textures and the ring gets most of the say; the class keeps a tenth, which decides between looks of similar
grain and keeps a ring of smooth metal or sky from choosing the flattest look of a textured class.
Manifests from before the class grain keep the ring-only ranking.

Colour: a look's distance adds COLOUR_WEIGHT × the L*a*b* distance of its preview's mean colour from the class's
typical colour (the mean colour of its real training crops, recorded in the manifest next to the grain). Why: a
class's looks come from different sources, and one can be an outlier in colour with a fitting grain: picked by
grain alone, a grass fill on a locomotive photo took the dry brown airfield lawn (kodim20) and a water fill the
dark brownish water of kodim16 (issue 15's must-show). Why the class's colour and not the ring's: the ring is often
another material, and ranking by its colour turned water grey-brown next to a dirt road. Why 0.03: on the real
regions of look_grain_check (benchmarks/look_colour_check.py: the picked look vs the real content under the mask,
colour after the fit's cast and grain, each as a fraction of a random look's error), no weight beats grain alone
(0.74), 0.01-0.03 cost 0.02 (0.76; colour error 16.8 ΔE either way, grain error 0.81 vs 0.76), 0.04 and more cost
0.05-0.15 (grain error 0.87-1.25): there the ring is the material, and the prior only has to break near ties
against outliers, so the largest weight within 0.02 of grain alone. L* counts fully (LIGHTNESS_WEIGHT): with a*b*
alone, 0.03 still took kodim16's dark water there, and a near tie between two brick looks flipped to one whose
contrast broke the seam bar on the sample photo. Manifests without class colours rank by grain alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Optional

import cv2
import numpy as np

PREVIEW = 64  # px a side of each look's preview: a few structure cells, a few ms a look
MIN_RING = 64  # ring pixels needed to judge the surroundings at all
RING_PULL = 0.9  # how far the target moves from the class's grain towards the ring's (see the module doc)
LIGHTNESS_WEIGHT = 1.0  # how much L* counts next to a*b* in a look's colour distance (module doc)
COLOUR_WEIGHT = 0.03  # grain units per L*a*b* unit of a look's distance from its class's typical colour (module doc)


def energy(rgb: np.ndarray, where: Optional[np.ndarray] = None) -> float:
    """Mean squared Laplacian of luminance (0..100) of a float RGB image in 0..1, over `where` when given
    (luminance, not L*: a 1 MP Lab conversion cost 0.2 s, and the ranking only compares like with like)."""
    luminance = np.ascontiguousarray(rgb, np.float32) @ np.array([29.9, 58.7, 11.4], np.float32)
    lap = cv2.Laplacian(luminance, cv2.CV_32F)
    values = lap[where] if where is not None else lap
    return float(np.mean(values * values))


def grain(rgb: np.ndarray, where: Optional[np.ndarray] = None) -> float:
    """log of `energy`: the grain the looks are ranked by."""
    return float(np.log(energy(rgb, where) + 1e-3))


def colour(rgb: np.ndarray) -> np.ndarray:
    """Mean CIE L*a*b* of a float RGB image in 0..1 (a 64 px preview: well under a millisecond)."""
    lab = cv2.cvtColor(np.ascontiguousarray(rgb, np.float32), cv2.COLOR_RGB2Lab)
    return lab.reshape(-1, 3).mean(0)


def target_grain(ring_grain: float, class_grain: Optional[float]) -> float:
    """The grain a look should have: the class's, RING_PULL of the way towards the ring's (the ring's alone
    when the manifest does not know the class's)."""
    if class_grain is None:
        return ring_grain
    return class_grain + RING_PULL * (ring_grain - class_grain)


def rank(
    grains: list[float],
    colours: list[np.ndarray],
    target: float,
    class_colour: Optional[np.ndarray] = None,
    weight: Optional[float] = None,
) -> list[int]:
    """Look indices by |grain − target| + weight × the L*a*b* distance (L* × LIGHTNESS_WEIGHT) of the look's mean
    colour from the class's typical colour (grain alone without a class colour); weight None: COLOUR_WEIGHT.
    Ties keep the looks' order."""
    weight = COLOUR_WEIGHT if weight is None else weight
    distances = np.abs(np.asarray(grains, np.float64) - target)
    if class_colour is not None and len(colours):
        scale = np.array([LIGHTNESS_WEIGHT, 1.0, 1.0])
        delta = (np.asarray(colours, np.float64) - np.asarray(class_colour, np.float64)) * scale
        distances = distances + weight * np.sqrt((delta * delta).sum(1))
    return [int(i) for i in np.argsort(distances, kind="stable")]


def ranked_looks(
    looks: int,
    paint_look: Callable[[int], np.ndarray],
    photo_rgb: np.ndarray,
    ring: np.ndarray,
    class_grain: Optional[float] = None,
    class_colour: Optional[np.ndarray] = None,
) -> Optional[list[int]]:
    """Look indices, best-fitting first, or None when there is nothing to choose (one look, too small a ring).
    paint_look(i) → a PREVIEW-sized float RGB texture of look i; photo_rgb: float RGB 0..1; ring: bool mask;
    class_grain, class_colour: the class's typical grain and mean L*a*b* from the manifest (None: not recorded;
    without a grain the ring alone sets the target, without a colour the grain alone ranks)."""
    if looks < 2 or int(ring.sum()) < MIN_RING:
        return None
    target = target_grain(grain(photo_rgb, ring), class_grain)
    previews = [paint_look(i) for i in range(looks)]
    colours = [colour(p) for p in previews] if class_colour is not None else []
    return rank([grain(p) for p in previews], colours, target, class_colour)
