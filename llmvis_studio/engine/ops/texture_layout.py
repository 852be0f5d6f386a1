"""Layouts for built materials: brick courses, stone walls and boards, in the generator's own material.

The generator learned from 64 px crops (one or two brick courses), so its "brick wall" was a camouflage of
brick-red and mortar-grey blobs with no courses, its stone wall a grey speckle and its wood planks an orange
mottle: the layout, which is what makes those materials read, is larger than anything it saw whole. Here the
layout is drawn per seed (running-bond courses, a Voronoi wall of irregular stones, boards with staggered ends),
with jittered sizes and displaced, roughened joints so no two units or courses are alike, and the paint supplies
the rest: each unit takes the colour of the paint's smoothed material at a random point (so the generator's
looks set the palette: red or beige bricks, grey or brown stones), the joints take the paint's other material
(or a made-up mortar when the paint has none that differs enough), and the paint's fine detail is kept on both.
Bricks and stones are a little lighter in their middle and cast a short shadow into the joints below and right
of them (light from the upper left); boards' gaps are dark.

Measured with benchmarks/generate_quality.py (AMD EPYC, AVX2): the shipped generator alone scored brick wall
repetition 0.08 and class match 1.0 on its 512 px paint, because the independent classifier sees colour and
gradient statistics, not layout, so the camouflage passed every number. Laid out: repetition 0.37 (≤ 0.43 over
12 seeds; straight, even joints scored up to 0.53, hence ragged_edges), brick class match 0.86, all 16 classes
0.80 (was 0.81). A 1 MP layout costs ~0.5 s on 2 cores (units over HALF_RES_UNIT px are laid out at half size).

Only classes named in LAYOUTS get a layout, when they lead the prompt's mix (layout_strength); the unit size
follows the painted box (UNIT_SCALE of its shorter side, within UNIT_RANGE px), so a small fill still shows
several courses.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Optional

import cv2
import numpy as np

UNIT_SCALE = 0.085  # a brick course (a board's width, 1.25 stone heights) as a share of the box's shorter side
UNIT_RANGE = (16.0, 56.0)  # px: the training photos' courses are ~40 px at the working scale
MIN_SIDE = 24  # px: smaller boxes are painted without a layout
DETAIL_SIGMA = 1 / 6  # of the unit: the paint's detail finer than this stays on top of the layout
JITTER = 0.08  # relative spread of brick courses' heights and bricks' lengths
BOARD_JITTER = 0.15  # relative spread of boards' widths
WARP = 0.05  # of the unit: how far joints wander (low-frequency displacement)
RAGGED_SCALE = 0.1  # of the unit: the length along a joint over which its width varies (ragged_edges)
HALF_RES_UNIT = 32.0  # px: layouts of larger units are computed at half the size
SHADOW = 22.0  # L*: a joint is this much darker where a unit above-left of it shades it
DOME = 8.0  # L*: stones and bricks a little lighter in their middle than at their edges
MORTAR_STEP = 22.0  # L*: a made-up mortar's difference from the units
LIGHT_UNIT = 58.0  # L*: units lighter than this get a darker mortar
MIN_CONTRAST = 12.0  # L*: the least a unit differs from its joints
SPREAD = 1.8  # units' colours spread this much further from their mean than the paint's smoothed colours


@dataclass(frozen=True)
class Layout:
    """Units and joints of a material at one box: `unit` ids per pixel, `edge` px from the unit's border (a joint
    where edge < 0); `dark`: the joints are shadow gaps (boards), not mortar (bricks, stones)."""

    unit: np.ndarray  # int64 H×W
    edge: np.ndarray  # float32 H×W
    dark: bool
    tone: float  # L*: spread of the units' own brightness (stones differ more than bricks)
    ragged: float = 0.0  # of the unit: how much a joint's width varies along it (ragged_edges)


def unit_size(height: int, width: int) -> float:
    return float(np.clip(UNIT_SCALE * min(height, width), *UNIT_RANGE))


def warped_grid(
    height: int, width: int, rng: np.random.Generator, unit: float, warp: float = WARP
) -> tuple[np.ndarray, np.ndarray]:
    """Pixel coordinates displaced by a smooth random field (joints that wander a little, as laid by hand)."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    sigma = max(2.0, unit / 3)
    step = max(1, int(sigma / 2))  # a smooth field: drawn at 1/step of the size, blurred there, upsampled
    small = (max(1, -(-height // step)), max(1, -(-width // step)))
    for grid in (yy, xx):
        noise = cv2.GaussianBlur(rng.standard_normal(small).astype(np.float32), (0, 0), sigma / step)
        field = cv2.resize(noise, (width, height), interpolation=cv2.INTER_LINEAR)
        grid += field * (warp * unit / max(float(field.std()), 1e-6))
    return yy, xx


def ragged_edges(height: int, width: int, rng: np.random.Generator, unit: float, share: float) -> np.ndarray:
    """px to move the units' borders by: a field of `share` of the unit at a tenth of it, so a joint's width
    varies along it as real mortar and worn edges do."""
    noise = rng.standard_normal((height, width)).astype(np.float32)
    field = smoothed(noise, max(1.0, RAGGED_SCALE * unit))
    return field * (share * unit / max(float(field.std()), 1e-6))


def smoothed(image: np.ndarray, sigma: float) -> np.ndarray:
    """A Gaussian blur of σ `sigma` px computed at a reduced size (a 1 MP blur at σ 28 took 0.3 s in full)."""
    step = max(1, int(sigma / 3))
    if step == 1:
        return cv2.GaussianBlur(image, (0, 0), sigma)
    height, width = image.shape[:2]
    small = cv2.resize(image, (max(1, width // step), max(1, height // step)), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigma / step)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR).reshape(image.shape)


def built(name: str, height: int, width: int, rng: np.random.Generator, size: float, luminance: np.ndarray) -> Layout:
    """The class's layout for a box; units larger than HALF_RES_UNIT px are laid out at half the size and
    upsampled (the joints' distance field is smooth; unit ids change only under the joints)."""
    build = LAYOUTS[name]
    factor = 2 if size >= HALF_RES_UNIT else 1
    h, w = -(-height // factor), -(-width // factor)
    if build is boards:
        layout = boards(h, w, rng, size / factor, vertical=grain_runs_vertically(luminance))
    else:
        layout = build(h, w, rng, size / factor)
    if factor == 1:
        return layout
    edge = cv2.resize(layout.edge, (w * factor, h * factor), interpolation=cv2.INTER_LINEAR) * factor
    unit = layout.unit.repeat(factor, axis=0).repeat(factor, axis=1)
    return dataclasses.replace(layout, unit=unit[:height, :width], edge=edge[:height, :width])


def bricks(height: int, width: int, rng: np.random.Generator, course: float) -> Layout:
    """Running bond: courses of jittered height, bricks ~2.7 courses long, each course shifted by half a brick.
    The joints are jittered about a regular grid, not by summing jittered sizes: summed, the errors add up, so
    courses tilt and head joints drift over the ones below within a few bricks."""
    yy, xx = warped_grid(height, width, rng, course, warp=0.03)
    count = int(height / course) + 4
    tops = jittered_grid(count + 1, course, rng) - course
    row = np.clip(np.searchsorted(tops, yy, side="right") - 1, 0, count - 1)
    dist_y = np.minimum(yy - tops[row], tops[row + 1] - yy)
    length = 2.7 * course
    n = int(width / length) + 4
    unit = np.zeros((height, width), np.int64)
    dist_x = np.zeros((height, width), np.float32)
    for r in np.unique(row):
        start = -length * (1.0 + 0.5 * (r % 2) + 0.15 * rng.random())
        edges = start + jittered_grid(n + 1, length, rng)
        sel = row == r
        col = np.clip(np.searchsorted(edges, xx[sel], side="right") - 1, 0, n - 1)
        dist_x[sel] = np.minimum(xx[sel] - edges[col], edges[col + 1] - xx[sel])
        unit[sel] = r * (n + 1) + col
    mortar = 0.08 * course * (1 + 0.3 * rng.random())
    return Layout(unit, (np.minimum(dist_x, dist_y) - mortar).astype(np.float32), dark=False, tone=10.0, ragged=0.03)


def jittered_grid(count: int, spacing: float, rng: np.random.Generator) -> np.ndarray:
    """`count` increasing positions `spacing` apart, each moved by JITTER × spacing (Gaussian, clipped)."""
    moves = np.clip(JITTER * rng.standard_normal(count), -0.3, 0.3)
    return (np.arange(count) + moves) * spacing


def stones(height: int, width: int, rng: np.random.Generator, size: float) -> Layout:
    """A wall of irregular stones: Voronoi cells of jittered seeds on a grid 2 wide to 1 high, each cell's
    stone shrunk by its own mortar width, corners rounded."""
    cell_h = 0.8 * size
    cell_w = 2.0 * cell_h
    gw, gh = int(width / cell_w) + 3, int(height / cell_h) + 3
    jy, jx = np.mgrid[0:gh, 0:gw].astype(np.float32)
    jitter = rng.random((2, gh, gw), dtype=np.float32) - 0.5
    seeds_x = ((jx - 0.5 + 0.95 * jitter[0] + 0.5 * (jy % 2)) * cell_w).astype(np.float32)
    seeds_y = ((jy - 0.5 + 0.8 * jitter[1]) * cell_h).astype(np.float32)
    yy, xx = warped_grid(height, width, rng, size)
    ci = np.clip((xx / cell_w).astype(np.int64) + 1, 1, gw - 2)
    cj = np.clip((yy / cell_h).astype(np.int64) + 1, 1, gh - 2)
    cand_y, cand_x, ids = [], [], []
    for dj in (-1, 0, 1):
        for di in (-1, 0, 1):
            cand_y.append(seeds_y[cj + dj, ci + di])
            cand_x.append(seeds_x[cj + dj, ci + di])
            ids.append((cj + dj) * gw + (ci + di))
    sy, sx, sid = np.stack(cand_y), np.stack(cand_x), np.stack(ids)
    d2 = (sy - yy) ** 2 + (sx - xx) ** 2
    near = np.argmin(d2, axis=0)[None]
    ny, nx = np.take_along_axis(sy, near, 0), np.take_along_axis(sx, near, 0)
    # distance to the bisector with every other seed; the nearest of those is the distance to the cell's border
    separation = np.sqrt((sy - ny) ** 2 + (sx - nx) ** 2)
    to_border = (d2 - np.take_along_axis(d2, near, 0)) / np.maximum(2 * separation, 1e-6)
    to_border[separation < 1e-6] = np.inf
    edge = to_border.min(axis=0)
    unit = np.take_along_axis(sid, near, 0)[0]
    shrink = (0.12 + 0.12 * rng.random(gh * gw)) * cell_h
    # the blur rounds the corners; it stays well under the shrink, or the mortar between stones fills in
    edge = cv2.GaussianBlur((edge - shrink[unit]).astype(np.float32), (0, 0), 0.08 * cell_h)
    return Layout(unit, edge, dark=False, tone=8.0, ragged=0.04)


def boards(height: int, width: int, rng: np.random.Generator, unit: float, vertical: Optional[bool] = None) -> Layout:
    """Boards a unit wide (vertical or horizontal: along the paint's grain, or by the seed), with dark gaps
    between them and staggered butt joints."""
    if vertical is None:
        vertical = bool(rng.random() < 0.5)
    if not vertical:
        height, width = width, height
    yy, xx = warped_grid(height, width, rng, unit, warp=0.015)
    board = unit
    n = int(width / board) + 4
    edges = -board + np.concatenate(
        [[0.0], np.cumsum(board * np.clip(1 + BOARD_JITTER * rng.standard_normal(n), 0.5, 1.5))]
    )
    col = np.clip(np.searchsorted(edges, xx, side="right") - 1, 0, n - 1)
    dist_x = np.minimum(xx - edges[col], edges[col + 1] - xx)
    ids = np.zeros((height, width), np.int64)
    dist_y = np.full((height, width), np.inf, np.float32)
    span = 9.0 * unit
    m = int(height / span) + 3
    for c in np.unique(col):
        cuts = -span * rng.random() + np.concatenate([[0.0], np.cumsum(span * (0.6 + 0.8 * rng.random(m)))])
        sel = col == c
        piece = np.clip(np.searchsorted(cuts, yy[sel], side="right") - 1, 0, m - 1)
        dist_y[sel] = np.minimum(yy[sel] - cuts[piece], cuts[piece + 1] - yy[sel])
        ids[sel] = c * (m + 1) + piece
    gap = max(0.8, 0.045 * unit)
    edge = np.minimum(dist_x, dist_y) - gap
    if not vertical:
        ids, edge = ids.T.copy(), edge.T.copy()
    return Layout(ids, edge.astype(np.float32), dark=True, tone=5.0, ragged=0.01)


LAYOUTS: dict[str, Callable[[int, int, np.random.Generator, float], Layout]] = {
    "brick wall": bricks,
    "stone wall": stones,
    "wood planks": boards,
}


def grain_runs_vertically(luminance: np.ndarray) -> bool:
    """Whether the paint's streaks run up and down (more gradient energy across x than across y): wood's
    boards follow its grain."""
    gx = cv2.Sobel(luminance, cv2.CV_32F, 1, 0)
    gy = cv2.Sobel(luminance, cv2.CV_32F, 0, 1)
    return float(np.mean(gx * gx)) > float(np.mean(gy * gy))


def has_layout(name: str) -> bool:
    return name in LAYOUTS


def to_lab(rgb: np.ndarray) -> np.ndarray:
    """Float RGB 0..1 → OpenCV's float L*a*b* (texture paints and the fill's fit to the photo use these two)."""
    return cv2.cvtColor(np.ascontiguousarray(rgb, np.float32), cv2.COLOR_RGB2Lab)


def from_lab(lab: np.ndarray) -> np.ndarray:
    return np.clip(cv2.cvtColor(np.ascontiguousarray(lab, np.float32), cv2.COLOR_Lab2RGB), 0.0, 1.0)


def two_materials(smooth_lab: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The paint's pixels split into the units' material and the joints' (boolean masks over the flattened
    image): of two_means' clusters in L*a*b*, the more saturated (brick red over mortar grey), or the darker when
    both are about as grey (stones in lighter mortar)."""
    flat = smooth_lab.reshape(-1, 3)
    sample = flat[rng.integers(0, len(flat), min(len(flat), 4096))].astype(np.float32)
    centres = two_means(sample)
    chroma = np.hypot(centres[:, 1], centres[:, 2])
    material = int(np.argmax(chroma)) if abs(chroma[0] - chroma[1]) > 4 else int(np.argmax(centres[:, 0]) ^ 1)
    nearest = np.argmin(((flat[:, None, :] - centres[None]) ** 2).sum(-1), axis=1)
    return nearest == material, nearest != material


def two_means(points: np.ndarray, rounds: int = 12) -> np.ndarray:
    """2×3 centres of 2-means on N×3 points, started from the 10th and 90th percentile along their main axis
    (deterministic: the same paint always splits the same way)."""
    centred = points - points.mean(0)
    axis = np.linalg.svd(centred, full_matrices=False)[2][0]
    along = centred @ axis
    centres = np.stack([points[np.argmin(np.abs(along - np.percentile(along, q)))] for q in (10, 90)])
    for _ in range(rounds):
        nearest = np.argmin(((points[:, None, :] - centres[None]) ** 2).sum(-1), axis=1)
        for k in (0, 1):
            if np.any(nearest == k):
                centres[k] = points[nearest == k].mean(0)
    return centres


def joint_colour(unit_lab: np.ndarray, joint_lab: np.ndarray, dark: bool) -> np.ndarray:
    """The joints' L*a*b*: boards' gaps are the wood in shadow; mortar is the paint's other material, greyed,
    or when that is too close to the units' colour to tell them apart a low-chroma mortar MORTAR_STEP lighter
    than the units (darker than light ones: the shadow the units cast would hide a lighter one)."""
    if dark:
        return unit_lab * np.array([0.45, 0.7, 0.7], np.float32)
    if abs(float(joint_lab[0] - unit_lab[0])) >= 15:
        return joint_lab * np.array([1.0, 0.35, 0.35], np.float32)
    lightness = unit_lab[0] + (MORTAR_STEP if unit_lab[0] <= LIGHT_UNIT else -MORTAR_STEP)
    return np.array([lightness, 0.35 * unit_lab[1], 0.35 * unit_lab[2]], np.float32)


def apply_layout(paint: np.ndarray, name: str, seed: int, strength: float = 1.0) -> np.ndarray:
    """The paint (float RGB 0..1) laid out as the class's units and joints (module doc); unchanged for classes
    without a layout or boxes under MIN_SIDE. `strength` (0..1, layout_strength of the class's share of the
    prompt) mixes the laid-out paint with the paint as it was."""
    height, width = paint.shape[:2]
    if name not in LAYOUTS or min(height, width) < MIN_SIDE or strength <= 0:
        return paint
    rng = np.random.default_rng([seed, 15])
    size = unit_size(height, width)
    lab = to_lab(paint)
    layout = built(name, height, width, rng, size, lab[..., 0])
    smooth = smoothed(lab, size / 2)
    detail = lab - cv2.GaussianBlur(lab, (0, 0), max(1.0, DETAIL_SIGMA * size))
    units_from, joints_from = two_materials(smooth, rng)
    flat = smooth.reshape(-1, 3)
    ids, inverse = np.unique(layout.unit, return_inverse=True)
    pool = np.flatnonzero(units_from) if units_from.any() else np.arange(len(flat))
    mean_unit = flat[pool].mean(0)
    colours = mean_unit + SPREAD * (flat[pool[rng.integers(0, len(pool), len(ids))]] - mean_unit)
    colours[:, 0] += layout.tone * rng.standard_normal(len(ids))
    mean_joint = flat[joints_from].mean(0) if joints_from.any() else mean_unit
    joint = joint_colour(mean_unit, mean_joint, layout.dark)
    # every unit stays on its side of the joints' lightness: a light stone in light mortar is no stone
    side = 1.0 if mean_unit[0] >= joint[0] else -1.0
    colours[:, 0] = joint[0] + side * np.maximum(side * (colours[:, 0] - joint[0]), MIN_CONTRAST)
    colours[:, 0] = np.clip(colours[:, 0], 6.0, 88.0)  # the spread made some cream bricks paper-white
    unit_lab = colours[inverse.reshape(height, width)]
    # joints roughened by the paint's own grain, then a soft 1 px transition
    roughness = detail[..., 0] / max(float(detail[..., 0].std()), 1e-6)
    edge = layout.edge + 0.6 * roughness + ragged_edges(height, width, rng, size, layout.ragged)
    inside = np.clip(0.5 + edge / 1.5, 0.0, 1.0).astype(np.float32)[..., None]
    base = inside * unit_lab + (1 - inside) * joint
    # light from the upper left: the units cast a short shadow into the joints below and right of them
    shift = max(1.0, 0.05 * size)
    cast = cv2.warpAffine(
        inside[..., 0],
        np.array([[1, 0, shift], [0, 1, shift]], np.float32),
        (width, height),
        borderMode=cv2.BORDER_REFLECT,
    )
    shadow = smoothed(cast, shift / 2) * (1 - inside[..., 0])
    # the paint's grain, at half on the mortar; its colour grain too (without it on the units the independent
    # classifier of generate_quality.py took 0.63 of brick crops for brick instead of 0.83, with it cut on the
    # joints only 0.80: kept, though the generator's blue-grey blobs tint some mortar slightly cyan; a stronger
    # grain on the bricks, 1.4×, lowered it to 0.72)
    laid = base + detail * (0.5 + 0.5 * inside)
    if not layout.dark:  # raised units: a slight dome, and their shadow in the joints
        dome = np.clip(layout.edge / (0.25 * size), 0.0, 1.0) - 0.5
        laid[..., 0] += DOME * dome * inside[..., 0] - SHADOW * shadow
    out = from_lab(laid)
    return out if strength >= 1 else strength * out + (1 - strength) * paint


def laid_out(paint: np.ndarray, names: tuple[str, ...], weights: np.ndarray, seed: int) -> np.ndarray:
    """apply_layout for the main class of a prompt's K class weights, at layout_strength of its share."""
    main = int(np.argmax(weights))
    if main >= len(names) or not has_layout(names[main]):
        return paint
    return apply_layout(paint, names[main], seed, layout_strength(float(weights[main])))


def layout_strength(share: float) -> float:
    """How much of the layout a class with this share of the prompt gets: all of it from 0.8 ("fence boards"
    is 77 % wood planks: its boards should not show at 77 % opacity), none below 0.3, linear between."""
    return float(np.clip(2.0 * share - 0.6, 0.0, 1.0))
