"""Mask painting and editing on a uint8 H×W array (255 = selected).

Painting functions change the mask in place and return the rectangle they touched, so the
caller can record a bounding-box undo patch. OpenCV does the morphology: it is Qt-free and
already a runtime dependency for the classical inpainting.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from .geometry import Bounds, Extent

Point = tuple[float, float]
MIN_DAMAGE_PX = 5  # a calibrated damage detector's marked regions smaller than this are grain (drop_specks)


def brush_stamp(radius: float, hardness: float) -> np.ndarray:
    """A round stamp, 1 inside radius*hardness, falling smoothly to 0 at the radius."""
    r = max(0.5, float(radius))
    size = int(np.ceil(r)) * 2 + 1
    centre = size // 2
    yy, xx = np.mgrid[:size, :size].astype(np.float32)
    distance = np.hypot(xx - centre, yy - centre)
    inner = r * float(np.clip(hardness, 0.0, 1.0))
    if r - inner < 1e-3:
        return (distance <= r).astype(np.float32)
    falloff = np.clip((r - distance) / (r - inner), 0.0, 1.0)
    return (falloff * falloff * (3 - 2 * falloff)).astype(np.float32)  # smoothstep


def _stamp_at(mask: np.ndarray, stamp: np.ndarray, cx: float, cy: float, erase: bool) -> Bounds:
    half = stamp.shape[0] // 2
    x0, y0 = int(round(cx)) - half, int(round(cy)) - half
    area = Bounds(x0, y0, stamp.shape[1], stamp.shape[0])
    clipped = area.clipped(Extent(mask.shape[1], mask.shape[0]))
    if clipped.is_empty:
        return clipped
    local = clipped.relative_to(area)
    values = (stamp[local.slices] * 255.0 + 0.5).astype(np.uint8)
    region = mask[clipped.slices]
    if erase:
        np.minimum(region, 255 - values, out=region)
    else:
        np.maximum(region, values, out=region)
    return clipped


def paint_line(
    mask: np.ndarray, start: Point, end: Point, radius: float, hardness: float, erase: bool = False
) -> Bounds:
    """Stamp along a segment with spacing of a quarter radius; returns the touched rectangle."""
    stamp = brush_stamp(radius, hardness)
    length = float(np.hypot(end[0] - start[0], end[1] - start[1]))
    steps = max(1, int(np.ceil(length / max(0.5, radius / 4.0))))
    touched = Bounds(0, 0, 0, 0)
    for i in range(steps + 1):
        t = i / steps
        x = start[0] + (end[0] - start[0]) * t
        y = start[1] + (end[1] - start[1]) * t
        touched = touched.union(_stamp_at(mask, stamp, x, y, erase))
    return touched


def fill_rectangle(mask: np.ndarray, bounds: Bounds, erase: bool = False) -> Bounds:
    area = bounds.clipped(Extent(mask.shape[1], mask.shape[0]))
    if not area.is_empty:
        mask[area.slices] = 0 if erase else 255
    return area


def fill_polygon(mask: np.ndarray, points: Sequence[Point], erase: bool = False) -> Bounds:
    """Fill a lasso outline (closed automatically)."""
    if len(points) < 3:
        return Bounds(0, 0, 0, 0)
    contour = np.round(np.asarray(points, dtype=np.float64)).astype(np.int32).reshape(-1, 1, 2)
    cv2.fillPoly(mask, [contour], 0 if erase else 255)
    x, y, w, h = cv2.boundingRect(contour)
    return Bounds(x, y, w, h).clipped(Extent(mask.shape[1], mask.shape[0]))


def inverted(mask: np.ndarray) -> np.ndarray:
    return 255 - mask


def _disk(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def grown(mask: np.ndarray, radius: int) -> np.ndarray:
    """Dilate by `radius` pixels (negative shrinks)."""
    if radius == 0:
        return mask.copy()
    if radius < 0:
        return shrunk(mask, -radius)
    return cv2.dilate(mask, _disk(radius))


def shrunk(mask: np.ndarray, radius: int) -> np.ndarray:
    if radius <= 0:
        return grown(mask, -radius)
    return cv2.erode(mask, _disk(radius), borderType=cv2.BORDER_REPLICATE)


def feathered(mask: np.ndarray, radius: float) -> np.ndarray:
    """Soften edges with a Gaussian of about `radius` pixels."""
    if radius <= 0:
        return mask.copy()
    return cv2.GaussianBlur(mask, (0, 0), sigmaX=max(0.3, radius / 2.0), borderType=cv2.BORDER_REPLICATE)


COMBINE_MODES = ("replace", "add", "subtract", "intersect")


def combined(painted: np.ndarray, found: np.ndarray, mode: str) -> np.ndarray:
    """A found mask (select subject, find text) put together with the painted one: replace it, add to it
    (union), subtract from it, or keep only their overlap (intersect). Soft edges combine as max/min."""
    if mode == "replace":
        return found.copy()
    if mode == "add":
        return np.maximum(painted, found)
    if mode == "subtract":
        return np.minimum(painted, 255 - found)
    if mode == "intersect":
        return np.minimum(painted, found)
    raise ValueError(f"unknown mask combination {mode!r}; use one of {', '.join(COMBINE_MODES)}")


def drop_specks(mask: np.ndarray, min_pixels: int = MIN_DAMAGE_PX) -> np.ndarray:
    """Remove marked regions smaller than `min_pixels` (8-connected). Why: on a clean photo the detector's false
    marks are scattered single pixels and pairs on grain and texture; real damage (cracks, scratches, specks of
    dust at scan resolution) covers a few pixels at least. This is the "found nothing" rule: a clean photo ends
    with an empty mask, and restore leaves it unchanged."""
    if not mask.any():
        return mask
    _, labels, stats, _ = cv2.connectedComponentsWithStats((mask > 0).astype(np.uint8), connectivity=8)
    keep = stats[:, cv2.CC_STAT_AREA] >= min_pixels
    keep[0] = False
    return keep[labels].astype(np.uint8) * np.uint8(255)


# A print whose confident marks cover this share of the picture is evidently damaged, and damage there comes in
# networks: the faint parts of a crack (probability well under the threshold) belong to it wherever they touch a
# confident mark. Clean photos stay under the first value (at most ~0.6 % on photos, one line-art wallpaper 1.4 %),
# so they keep the plain threshold, and so do photos with a few thin scratches (~1-2 %: growing there joined false
# marks to the scratches). Chosen on synthetic prints of the detector's held-out photos and on wallpapers it never
# saw (damage-detector card: crack recall 0.63 → 0.87 on heavy prints, thin-scratch F1 0.889 → 0.886).
NETWORK_DENSITY = (0.015, 0.05)  # confident share where the growth starts … where it is full
NETWORK_LOW_FRACTION = 0.15  # at full growth a faint pixel joins above this × the threshold


def network_growth(marks: np.ndarray) -> float:
    """0 (a clean photo, a few scratches) … 1 (an evidently damaged print) from the share of confidently marked
    pixels (any nonzero value of `marks`), on the NETWORK_DENSITY ramp."""
    share = np.count_nonzero(marks) / max(1, marks.size)
    start, full = NETWORK_DENSITY
    return min(max((share - start) / (full - start), 0.0), 1.0)


# Wide damage: the detector sees about 60 px around a pixel and was trained on 128 px crops, so the inside of a torn
# border or corner, or of a large emulsion-loss patch, is blank paper to it: it marks the ragged edge only, and the
# fill then copies the paper back in. Run on the picture shrunk WIDE_SCALE×, the same net marks such regions (on the 19
# held-out synthetic prints, 83 % of the damage wider than 15 px, against 25 % at full size). WIDE_OPEN drops what is
# narrow at that scale (crack networks, which the full-size pass marks better); only coarse values above
# WIDE_CONFIDENT count (at 0.5 it also took in light skies crossed by faint cracks), and below it they are 0, so the
# crack-following hysteresis of damage_mask cannot spread a coarse mark into the doubtful surroundings.
WIDE_SCALE = 4
WIDE_OPEN = 5  # px at the coarse scale (20 px of the picture)
WIDE_CONFIDENT = 0.75


def with_wide_damage(prob: np.ndarray, coarse: np.ndarray, growth: float) -> np.ndarray:
    """The fine probability map with the coarse pass's wide marks merged in (max), weighted by `growth`
    (network_growth of the fine marks: 0 on a clean photo, so it is never changed there). `coarse` is the detector's
    map of the picture shrunk WIDE_SCALE×; the result has prob's size."""
    if growth <= 0.0 or coarse.size == 0:
        return prob
    opened = cv2.morphologyEx(coarse, cv2.MORPH_OPEN, _disk((WIDE_OPEN - 1) // 2))
    wide = cv2.resize(opened, (prob.shape[1], prob.shape[0]), interpolation=cv2.INTER_LINEAR)
    wide[wide <= np.float32(WIDE_CONFIDENT)] = 0.0
    wide *= np.float32(growth)
    return np.maximum(prob, wide, out=prob)


def damage_mask(values: np.ndarray, high: float, min_pixels: int = MIN_DAMAGE_PX) -> np.ndarray:
    """uint8 0/255 mask of the damage in a detector map (probability or uint8 score; `high` in the same units).

    Confident marks (values > high, specks dropped) first; on an evidently damaged picture (see NETWORK_DENSITY)
    the mask then takes in every connected region above a lower threshold that holds a confident mark
    (hysteresis, as in Canny's edge linking), so a crack is marked along its faint stretches too."""
    strong = (values > high).astype(np.uint8) * np.uint8(255)
    if min_pixels > 1:
        strong = drop_specks(strong, min_pixels)
    growth = network_growth(strong)
    if growth <= 0.0:
        return strong
    low = high * (1.0 - growth * (1.0 - NETWORK_LOW_FRACTION))
    count, labels = cv2.connectedComponents((values > low).astype(np.uint8), connectivity=8)
    keep = np.zeros(count, bool)
    keep[np.unique(labels[strong > 0])] = True
    keep[0] = False
    return keep[labels].astype(np.uint8) * np.uint8(255)
