"""Exemplar hole filling: multi-scale PatchMatch with EM voting, vectorised numpy (no model, no compiled code).

The hole is filled with patches copied from a `source` region (Wexler, Shechtman & Irani 2007, "Space-time
completion"; nearest-neighbour search by PatchMatch, Barnes et al. 2009). Coarse to fine: the pyramid is halved until
the hole is small, the coarsest level starts from a diffusion fill and iterates search + voting; each finer level
starts from the coarser nearest-neighbour field (offsets doubled), votes once, and refines with a few cheap passes
(a big finest level only votes). At the end each hole pixel copies its own match's centre (SHARP_FINISH): voting
averages overlapping patches and softened texture to 0.6 of its surroundings; copying keeps about 0.87.

Why it is fast enough in numpy: a 7×7×3 patch is compared through an 8-number descriptor (6 PCA components of the
luminance patch, 6 small filters, plus the patch's mean chroma), so testing a candidate match for every hole pixel at
once is one gather of 8 floats per pixel. Propagation is Jacobi-style (all pixels at once from their 4 neighbours' matches, with jump
steps at the coarsest level so a good match spreads far), random search halves its radius as in PatchMatch.

`progress.check()` runs between passes, so a cancel stops a 12-megapixel fill within a fraction of a second.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import cv2
import numpy as np

PATCH = 7
RADIUS = PATCH // 2
LUMA_FEATURES = 6
FEATURES = LUMA_FEATURES + 2
CHROMA_WEIGHT = float(PATCH)  # a patch mean counts for its PATCH² pixels: √49 on the distance's scale
COARSEST_HOLE_SIDE = 40  # the pyramid is halved until the hole's bounding box is about this small
DIRECTIONS = ((0, 1), (0, -1), (1, 0), (-1, 0))
SHARP_FINISH = True
REFINE_FINEST_BELOW = 150_000  # hole pixels; a bigger finest level only votes (refining it changed nothing measurable)
CONTEXT = 0.5  # default sample-from area: the hole's box grown by half its larger side
VOTE_ALL_BELOW = 60_000  # hole pixels; larger levels vote with every other patch


class NoSource(ValueError):
    """The sample-from region has no room for a single patch."""


@dataclass
class Field:
    """Nearest-neighbour field over the target pixels (hole dilated by the patch radius), in flat indices."""

    targets: np.ndarray  # (n,) flat index of each target pixel
    lookup: np.ndarray  # (h·w,) target number of a pixel, -1 if none
    match: np.ndarray  # (n,) flat index of the matched source patch centre
    cost: np.ndarray  # (n,) descriptor distance


class Level:
    """One pyramid level: current image, hole, allowed source centres, descriptor basis."""

    def __init__(
        self,
        image: np.ndarray,
        hole: np.ndarray,
        source: np.ndarray,
        rng: np.random.Generator,
        basis: Optional[np.ndarray] = None,
    ) -> None:
        self.image = np.ascontiguousarray(image, dtype=np.float32)
        self.hole = hole
        self.h, self.w = hole.shape
        self.centres = _valid_centres(hole, source)
        self.centre_list = np.flatnonzero(self.centres.ravel())
        if self.centre_list.size == 0:
            raise NoSource("The sample-from region is too small to copy patches from.")
        # patch statistics of photos hardly change with scale: the coarsest level's basis serves all levels
        self.basis = _pca_basis(self.image, self.centre_list, rng) if basis is None else basis
        self._features: Optional[np.ndarray] = None
        self.hole_idx = np.flatnonzero(hole.ravel())
        self.target_features = np.zeros((0, FEATURES), np.float32)

    @property
    def features(self) -> np.ndarray:
        """Computed on first use: a big finest level that only votes never needs them."""
        if self._features is None:
            self._features = _features(self.image, self.basis)
        return self._features

    def refresh_features(self, rows: slice, cols: slice) -> None:
        """Recompute descriptors where the fill changed (rows/cols of the hole's box, plus the patch radius)."""
        y0, y1 = max(0, rows.start - RADIUS), min(self.h, rows.stop + RADIUS)
        x0, x1 = max(0, cols.start - RADIUS), min(self.w, cols.stop + RADIUS)
        part = _features(self.image[y0:y1, x0:x1], self.basis)
        ry0, rx0 = rows.start - y0, cols.start - x0
        self.features[rows, cols] = part[ry0 : ry0 + rows.stop - rows.start, rx0 : rx0 + cols.stop - cols.start]


def _valid_centres(hole: np.ndarray, source: np.ndarray) -> np.ndarray:
    """Patch centres whose whole patch is known and inside the sample-from region."""
    ok = (source & ~hole).astype(np.uint8)
    ok = cv2.erode(ok, np.ones((PATCH, PATCH), np.uint8), borderType=cv2.BORDER_CONSTANT, borderValue=0) > 0
    return ok


def _luma_chroma(image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y = image @ np.array([0.299, 0.587, 0.114], np.float32)
    return y, image[..., 2] - y, image[..., 0] - y


def _pca_basis(image: np.ndarray, centres: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(LUMA_FEATURES, PATCH, PATCH) filters: the main components of luminance patches sampled from the source."""
    w = image.shape[1]
    pick = rng.choice(centres, size=min(3000, centres.size), replace=False)
    ys, xs = np.divmod(pick, w)
    d = np.arange(-RADIUS, RADIUS + 1)
    luma = _luma_chroma(image)[0]
    flat = luma[ys[:, None, None] + d[None, :, None], xs[:, None, None] + d[None, None, :]].reshape(len(pick), -1)
    flat = flat.astype(np.float64) - flat.mean(axis=0)
    if flat.shape[0] < LUMA_FEATURES or not np.any(flat):  # flat grey: any basis works
        return np.eye(PATCH * PATCH)[:LUMA_FEATURES].reshape(LUMA_FEATURES, PATCH, PATCH).astype(np.float32)
    _, vectors = np.linalg.eigh(flat.T @ flat)  # 49×49: cheap
    return vectors[:, ::-1][:, :LUMA_FEATURES].T.reshape(LUMA_FEATURES, PATCH, PATCH).astype(np.float32)


def _features(image: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """H×W×FEATURES descriptors: the pixel's luminance patch projected on the basis (cv2.filter2D correlates),
    plus the patch's mean chroma (weighted like the luminance of the PATCH² pixels it stands for)."""
    luma, cb, cr = _luma_chroma(image)
    planes = [cv2.filter2D(luma, cv2.CV_32F, kernel, borderType=cv2.BORDER_REFLECT) for kernel in basis]
    for chroma in (cb, cr):
        planes.append(cv2.blur(chroma, (PATCH, PATCH), borderType=cv2.BORDER_REFLECT) * CHROMA_WEIGHT)
    return np.stack(planes, axis=-1)


def _targets(hole: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    grown = cv2.dilate(hole.astype(np.uint8), np.ones((PATCH, PATCH), np.uint8)) > 0
    targets = np.flatnonzero(grown.ravel())
    lookup = np.full(hole.size, -1, np.int64)
    lookup[targets] = np.arange(targets.size)
    return targets, lookup


def _cost(level: Level, which: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Descriptor distance between targets number `which` and source centres `candidates` (flat indices)."""
    flat = level.features.reshape(-1, level.features.shape[2])
    diff = level.target_features[which] - np.take(flat, candidates, axis=0)
    return np.einsum("ij,ij->i", diff, diff)


def _all_costs(level: Level, field: Field) -> None:
    """Refresh the cached target descriptors and every current match's cost (after the fill changed)."""
    level.target_features = np.take(level.features.reshape(-1, FEATURES), field.targets, axis=0)
    field.cost = _cost(level, np.arange(field.targets.size), field.match)


def _try(level: Level, field: Field, cand_y: np.ndarray, cand_x: np.ndarray, usable: np.ndarray) -> None:
    """Keep each candidate (source centre) that is usable, allowed and better than the current match."""
    usable &= (cand_y >= 0) & (cand_y < level.h) & (cand_x >= 0) & (cand_x < level.w)
    idx = np.flatnonzero(usable)
    if idx.size == 0:
        return
    cand = cand_y[idx] * level.w + cand_x[idx]
    allowed = level.centres.ravel()[cand]
    idx, cand = idx[allowed], cand[allowed]
    cost = _cost(level, idx, cand)
    better = cost < field.cost[idx]
    field.match[idx[better]] = cand[better]
    field.cost[idx[better]] = cost[better]


def _propagate(level: Level, field: Field, step: int) -> None:
    ty, tx = np.divmod(field.targets, level.w)
    for dy, dx in DIRECTIONS:
        ny, nx = ty + step * dy, tx + step * dx
        inside = (ny >= 0) & (ny < level.h) & (nx >= 0) & (nx < level.w)
        neighbour = np.full(ty.shape, -1, np.int64)
        neighbour[inside] = field.lookup[ny[inside] * level.w + nx[inside]]
        usable = neighbour >= 0
        my, mx = np.divmod(field.match[np.maximum(neighbour, 0)], level.w)
        _try(level, field, my - step * dy, mx - step * dx, usable)


def _random_search(level: Level, field: Field, rng: np.random.Generator, max_radius: int) -> None:
    my, mx = np.divmod(field.match, level.w)
    radius = max_radius
    n = field.match.size
    while radius >= 1:
        cy = my + rng.integers(-radius, radius + 1, n)
        cx = mx + rng.integers(-radius, radius + 1, n)
        _try(level, field, cy, cx, np.ones(n, bool))
        my, mx = np.divmod(field.match, level.w)
        radius //= 2


def _owners(level: Level, field: Field, offsets: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """For each offset d: (flat shift, target number of the patch centred at q − d for every hole pixel q; the
    dummy number n where that centre lies outside the image). Fixed for a level, so computed once."""
    qy, qx = np.divmod(level.hole_idx, level.w)
    out = []
    for dy, dx in offsets:
        py, px = qy - dy, qx - dx
        inside = (py >= 0) & (py < level.h) & (px >= 0) & (px < level.w)
        t = np.full(qy.shape, field.targets.size, np.int32)
        t[inside] = field.lookup[py[inside] * level.w + px[inside]]
        out.append((int(dy * level.w + dx), t))
    return out


def _vote(level: Level, field: Field, owners: list[tuple[int, np.ndarray]]) -> None:
    """Each hole pixel becomes the weighted mean of what the patches covering it copy there (EM step)."""
    sigma2 = max(float(np.percentile(field.cost, 75)), 1e-6)
    weight_of = np.append(np.exp(-field.cost / (2 * sigma2)).astype(np.float32) + 1e-4, np.float32(0))
    match = np.append(field.match, field.match[0])  # the dummy's weight is 0: any valid source does
    acc = np.zeros((level.hole_idx.size, 3), np.float32)
    wsum = np.zeros(level.hole_idx.size, np.float32)
    flat = level.image.reshape(-1, 3)
    for shift, owner in owners:
        wt = weight_of[owner]
        acc += np.take(flat, match[owner] + shift, axis=0) * wt[:, None]
        wsum += wt
    flat[level.hole_idx] = acc / np.maximum(wsum, 1e-8)[:, None]


def _copy_centres(level: Level, field: Field) -> None:
    """Each hole pixel takes the centre pixel of its own match: copied, not averaged, so texture keeps its
    contrast (voting averages 16–49 overlapping patches and softens it)."""
    flat = level.image.reshape(-1, 3)
    flat[level.hole_idx] = np.take(flat, field.match[field.lookup[level.hole_idx]], axis=0)


def _offsets(stride: int) -> np.ndarray:
    d = np.arange(-RADIUS, RADIUS + 1, stride)
    return np.array([(a, b) for a in d for b in d])


def _random_field(level: Level, rng: np.random.Generator) -> Field:
    targets, lookup = _targets(level.hole)
    match = rng.choice(level.centre_list, size=targets.size)
    field = Field(targets, lookup, match, np.zeros(targets.size, np.float32))
    _all_costs(level, field)
    return field


def _upsampled_field(
    level: Level, coarse: Level, coarse_field: Field, rng: np.random.Generator, measure: bool
) -> Field:
    """The coarser field with doubled offsets (targets it does not cover start at random). measure=False: costs
    are inherited from the coarser level instead of measured (for a level that only votes)."""
    targets, lookup = _targets(level.hole)
    field = Field(targets, lookup, rng.choice(level.centre_list, size=targets.size), np.zeros(targets.size, np.float32))
    ty, tx = np.divmod(field.targets, level.w)
    cy = np.minimum(ty // 2, coarse.h - 1)
    cx = np.minimum(tx // 2, coarse.w - 1)
    t = coarse_field.lookup[cy * coarse.w + cx]
    has = t >= 0
    my, mx = np.divmod(coarse_field.match[np.maximum(t, 0)], coarse.w)
    sy = np.clip(2 * my + (ty - 2 * cy), 0, level.h - 1)
    sx = np.clip(2 * mx + (tx - 2 * cx), 0, level.w - 1)
    cand = sy * level.w + sx
    has &= level.centres.ravel()[cand]
    field.match[has] = cand[has]
    if measure:
        _all_costs(level, field)
    else:
        inherited = coarse_field.cost[np.maximum(t, 0)]
        field.cost = np.where(has, inherited, inherited.max(initial=1.0)).astype(np.float32)
    return field


def _hole_box(hole: np.ndarray) -> tuple[slice, slice]:
    ys, xs = np.nonzero(hole)
    return slice(int(ys.min()), int(ys.max()) + 1), slice(int(xs.min()), int(xs.max()) + 1)


def _iterate(
    level: Level,
    field: Field,
    rng: np.random.Generator,
    em_steps: int,
    jumps: tuple[int, ...],
    search_radius: int,
    owners,
    progress,
    start: float,
    end: float,
) -> None:
    box = _hole_box(level.hole)
    for i in range(em_steps):
        progress.check()
        level.refresh_features(*box)
        _all_costs(level, field)
        for step in jumps:
            _propagate(level, field, step)
        progress.check()
        _random_search(level, field, rng, search_radius)
        _vote(level, field, owners)
        progress.set(start + (end - start) * (i + 1) / em_steps, "Synthesising texture")
    progress.set(end, "Synthesising texture")


def _downsample(image: np.ndarray, hole: np.ndarray, source: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    h, w = hole.shape
    size = ((w + 1) // 2, (h + 1) // 2)
    known = (~hole).astype(np.float32)
    # average only known pixels, so the object being removed does not bleed into the coarse level
    weighted = cv2.resize(image * known[..., None], size, interpolation=cv2.INTER_AREA)
    share = cv2.resize(known, size, interpolation=cv2.INTER_AREA)
    small = weighted / np.maximum(share, 1e-6)[..., None]
    small_hole = share < 0.999
    small_source = cv2.resize(source.astype(np.float32), size, interpolation=cv2.INTER_AREA) > 0.999
    return small.astype(np.float32), small_hole, small_source


def work_box(hole: np.ndarray, source: Optional[np.ndarray], context: float = CONTEXT) -> tuple[slice, slice]:
    """The crop the synthesis works in: the hole's box grown by `context` × its larger side (at least 4 patches),
    joined with the sample-from region's box when one is given."""
    rows, cols = _hole_box(hole)
    side = max(rows.stop - rows.start, cols.stop - cols.start)
    grow = max(4 * PATCH, int(context * side)) if source is None else 4 * PATCH
    y0, y1, x0, x1 = rows.start - grow, rows.stop + grow, cols.start - grow, cols.stop + grow
    if source is not None and source.any():
        s_rows, s_cols = _hole_box(source)
        y0, y1 = min(y0, s_rows.start), max(y1, s_rows.stop)
        x0, x1 = min(x0, s_cols.start), max(x1, s_cols.stop)
    h, w = hole.shape
    return slice(max(0, y0), min(h, y1)), slice(max(0, x0), min(w, x1))


def synthesize(
    image: np.ndarray,
    hole: np.ndarray,
    source: Optional[np.ndarray],
    progress,
    seed: int = 0,
    coarsest_side: int = COARSEST_HOLE_SIDE,
) -> np.ndarray:
    """Fill `hole` (H×W bool) of `image` (H×W×3 float32 0..1) with texture copied from `source` (H×W bool; None:
    everything outside the hole within `work_box`). Pixels outside the hole are returned unchanged."""
    box = work_box(hole, source)
    crop_hole = hole[box]
    crop_source = ~crop_hole if source is None else (source[box] & ~crop_hole)
    filled = _synthesize_crop(image[box].astype(np.float32), crop_hole, crop_source, progress, seed, coarsest_side)
    out = image.astype(np.float32)  # a copy
    out[box][crop_hole] = filled[crop_hole]
    return out


def _synthesize_crop(
    image: np.ndarray, hole: np.ndarray, source: np.ndarray, progress, seed: int, coarsest_side: int
) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rows, cols = _hole_box(hole)
    side = max(rows.stop - rows.start, cols.stop - cols.start)
    depth = max(0, math.ceil(math.log2(max(side, 1) / coarsest_side)))
    pyramid = [(image, hole, source)]
    for _ in range(depth):
        small = _downsample(*pyramid[-1])
        if min(small[1].shape) < 4 * PATCH or not small[1].any():
            break
        pyramid.append(small)
    pyramid.reverse()  # coarsest first
    weights = np.array([4.0**i for i in range(len(pyramid))])
    bounds = np.concatenate([[0], np.cumsum(weights) / weights.sum()])
    level = field = None
    for i, (img, hl, src) in enumerate(pyramid):
        work = img.copy()
        if level is None:
            work = _diffusion_start(work, hl)
        else:  # hole starts as the coarser result, enlarged
            up = cv2.resize(level.image, (hl.shape[1], hl.shape[0]), interpolation=cv2.INTER_LINEAR)
            work[hl] = up[hl]
        new = Level(work, hl, src, rng, None if level is None else level.basis)
        finest = i == len(pyramid) - 1
        # big levels vote with every other patch (a quarter of the work, hardly blurrier)
        stride = 1 if new.hole_idx.size < VOTE_ALL_BELOW else 2
        jumps: tuple[int, ...]
        if level is None or field is None:  # the coarsest level
            field = _random_field(new, rng)
            owners = _owners(new, field, _offsets(stride))
            steps, jumps, radius = 6, (8, 4, 2, 1, 1), max(new.h, new.w)
        else:
            # a big finest level only votes: refining it hardly changed the result and cost most of the time
            steps, jumps, radius = (
                (3, (2, 1), 16)
                if not finest
                else ((1, (1,), 4) if new.hole_idx.size < REFINE_FINEST_BELOW else (0, (), 0))
            )
            field = _upsampled_field(new, level, field, rng, measure=steps > 0)
            owners = _owners(new, field, _offsets(stride))
            _vote(new, field, owners)
        _iterate(new, field, rng, steps, jumps, radius, owners, progress, bounds[i], bounds[i + 1])
        level = new
    assert level is not None and field is not None  # the pyramid has at least the full-size level
    if SHARP_FINISH:
        _copy_centres(level, field)
    return level.image


def _diffusion_start(image: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """A smooth first guess for the coarsest level (Telea on 8 bits is plenty at that size)."""
    u8 = np.clip(image * 255 + 0.5, 0, 255).astype(np.uint8)
    filled = cv2.inpaint(u8, hole.astype(np.uint8), 3, cv2.INPAINT_TELEA).astype(np.float32) / 255
    out = image.copy()
    out[hole] = filled[hole]
    return out
