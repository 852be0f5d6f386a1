"""Learned inpainting: the classical (Navier–Stokes) fill corrected by a trained network.

Large photos are never run whole: each connected masked region (regions closer than the margin are merged) is cut
out with `working_margin` pixels of context, padded to the model's stride, filled and pasted back. Only masked
pixels are written (weighted by the mask's own soft edge, so a feathered brush blends in); every pixel where the
mask is 0 is copied bit for bit. Colour matching (on by default, parameter `color_match`) pulls a region whose mean
colour drifts from the classical fill's by more than a small tolerance back toward it, so a fill can not shift the
colour of a scan.

Parameters: `color_match` (default on), `ensemble` (1/2/4/8: average over flips / rotations; default from the
manifest entry), `classical_within_px` (default from the manifest entry, else 0): hole pixels this close to the hole's
edge keep the classical fill and the network's correction ramps in over the next pixel — a 1–3 px scratch is fixed by
its neighbours, where Navier–Stokes is hard to beat and a correction mostly adds noise; `chroma_guard` (default on: the fill's chroma stays within what the
hole's surroundings allow, and toned content keeps its tone; see chroma_guard.py), `feather` (px, default 0: ramp the paste weight up inside the mask's edge — for loose hand-painted
masks; a mask that hugs a defect must not let it show through), `margin` (context px).

The model takes `image`, `mask` (1 = fill) and `fill` (NCHW float 0..1) and returns the completed image.
"""

from __future__ import annotations

import math
from typing import Optional, TypeVar

import cv2
import numpy as np

from ...catalog import ModelSpec
from ...core.geometry import Bounds, Extent, pad_to_stride
from ...core.pixels import blend_inside_mask, from_float_rgb, max_value
from ...core.requests import EditRequest
from ..session import LoadedModel, short_provider, translate_ort_error
from ..tiling import run_tiled
from . import chroma_guard, inpaint_classical
from .base import OpContext, OpOutput, ProgressLike
from .params import InpaintParams, request_params

T = TypeVar("T")

DEFAULT_MARGIN = 48
COARSE = 8  # region planning runs on an 8× max-pooled mask: fast on 12-megapixel photos
MAX_CROP_SIDE = 1536  # larger regions go through the tiler
CELL = 256  # core size when a sprawling region is cut up
COLOUR_TOLERANCE = 0.02  # mean drift (0..1) the network may make before colour matching steps in


def plan_regions(hole: np.ndarray, margin: int) -> tuple[list[tuple[Bounds, Bounds, int]], np.ndarray]:
    """(context, core, label) triples and a coarse label map: every hole pixel is owned by exactly one triple
    (see `owned`: inside its core and in its region); its context adds ≥ `margin` px around it.

    Holes closer than about 2·margin share one region (a connected part of the dilated mask). A compact region is
    one crop (core = context). A sprawling one (a long scratch across the photo, whose bounding box would be mostly
    empty) is cut into CELL-sized cores, keeping only cells that hold hole pixels, so the work follows the hole's
    area, not its bounding box. Planning runs on an 8× max-pooled copy of the mask (fast on 12-megapixel photos)."""
    h, w = hole.shape
    ph, pw = math.ceil(h / COARSE), math.ceil(w / COARSE)
    padded = np.zeros((ph * COARSE, pw * COARSE), bool)
    padded[:h, :w] = hole
    coarse = np.asarray(padded.reshape(ph, COARSE, pw, COARSE).any(axis=(1, 3)), np.uint8)
    r = max(1, math.ceil(margin / COARSE))
    grown = cv2.dilate(coarse, cv2.getStructuringElement(cv2.MORPH_RECT, (2 * r + 1, 2 * r + 1)))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(grown, connectivity=8)
    extent = Extent(w, h)
    out: list[tuple[Bounds, Bounds, int]] = []
    cell = CELL // COARSE
    for i in range(1, count):
        x, y, bw, bh, area = (int(v) for v in stats[i, :5])
        whole = Bounds(x * COARSE, y * COARSE, bw * COARSE, bh * COARSE).clipped(extent)
        if max(whole.width, whole.height) <= 2 * CELL or area >= 0.35 * bw * bh:
            out.append((whole, whole, i))
            continue
        holes_here = (labels[y : y + bh, x : x + bw] == i) & (coarse[y : y + bh, x : x + bw] > 0)
        for cy in range(0, bh, cell):
            for cx in range(0, bw, cell):
                if holes_here[cy : cy + cell, cx : cx + cell].any():
                    core = Bounds((x + cx) * COARSE, (y + cy) * COARSE, cell * COARSE, cell * COARSE).clipped(extent)
                    out.append((core.expanded(margin).clipped(extent), core, i))
    return [r for r in out if not r[1].is_empty], labels


def owned(labels: np.ndarray, core: Bounds, label: int) -> np.ndarray:
    """Which pixels of `core` belong to region `label` (bounding boxes of regions may overlap)."""
    rows = np.arange(core.y, core.y2) // COARSE
    cols = np.arange(core.x, core.x2) // COARSE
    return labels[np.ix_(rows, cols)] == label


def _run_model(model: LoadedModel, image: np.ndarray, mask: np.ndarray, fill: np.ndarray) -> np.ndarray:
    """One pass: H×W×3 float image and fill, H×W float mask (already padded) → H×W×3 float."""

    def chw(a: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(a.transpose(2, 0, 1)[None], dtype=np.float32)

    feeds = {"image": chw(image), "mask": np.ascontiguousarray(mask[None, None], dtype=np.float32), "fill": chw(fill)}
    try:
        out = model.session.run(None, feeds)[0]
    except Exception as exc:
        raise translate_ort_error(exc) from exc
    return out[0].transpose(1, 2, 0)


# self-ensemble: the model's result averaged over these flips / 90° rotations (k quarter turns, mirror)
ENSEMBLES = {
    1: ((0, False),),
    2: ((0, False), (0, True)),
    4: ((0, False), (0, True), (2, False), (2, True)),
    8: tuple((k, f) for k in range(4) for f in (False, True)),
}
DEFAULT_ENSEMBLE = 1


def _forward(a: np.ndarray, k: int, flip: bool) -> np.ndarray:
    a = np.rot90(a, k)
    return a[:, ::-1] if flip else a


def _inverse(a: np.ndarray, k: int, flip: bool) -> np.ndarray:
    if flip:
        a = a[:, ::-1]
    return np.rot90(a, -k)


def correction_weight(hole: np.ndarray, classical_within_px: float) -> np.ndarray:
    """Per-pixel share of the network's correction: 0 within `classical_within_px` of the hole's edge, rising to 1
    one pixel further in (all ones when the distance is 0)."""
    if classical_within_px <= 0:
        return np.ones(hole.shape, np.float32)
    # the crop's own border is no edge of the hole: pad by repeating it
    inside = np.pad(hole.astype(np.uint8), 1, mode="edge")
    distance = cv2.distanceTransform(inside, cv2.DIST_L2, 3)[1:-1, 1:-1]
    return np.clip(distance - classical_within_px, 0.0, 1.0).astype(np.float32)


def fill_region(
    model: LoadedModel,
    rgb: np.ndarray,
    hole: np.ndarray,
    stride: int,
    classical: int,
    colour_match: bool = True,
    ensemble: int = DEFAULT_ENSEMBLE,
    classical_within_px: float = 0.0,
    guard_chroma: bool = True,
) -> np.ndarray:
    """Inpaint one crop. rgb: H×W×3 uint8/uint16, hole: H×W bool → H×W×3 float32 0..1 (hole pixels filled)."""
    top = max_value(rgb.dtype)
    hole_u8 = hole.astype(np.uint8) * 255
    fill = inpaint_classical.fill(rgb, hole_u8, classical).astype(np.float32) / top
    image = rgb.astype(np.float32) / top
    m = hole.astype(np.float32)
    h, w = hole.shape
    stack = np.concatenate([image, m[..., None], fill], axis=2)
    transforms = ENSEMBLES.get(int(ensemble), ENSEMBLES[1])
    out = np.zeros((h, w, 3), np.float32)
    for k, flip in transforms:
        view = np.ascontiguousarray(_forward(stack, k, flip))
        vh, vw = view.shape[:2]
        if max(vh, vw) <= MAX_CROP_SIDE:
            padded, _, _ = pad_to_stride(view, stride)
            res = _run_model(model, padded[..., :3], padded[..., 3], padded[..., 4:])[:vh, :vw]
        else:  # a huge region: the tiler blends overlapping passes

            def infer(patch: np.ndarray) -> np.ndarray:
                r = _run_model(model, patch[..., :3], patch[..., 3], patch[..., 4:])
                return np.concatenate([r, np.zeros(r.shape[:2] + (4,), np.float32)], axis=2)

            res = run_tiled(view, infer, tile=MAX_CROP_SIDE, overlap=DEFAULT_MARGIN, stride=stride)[..., :3]
        out += _inverse(res, k, flip)
    out /= len(transforms)
    weight = correction_weight(hole, classical_within_px)[..., None]
    out = np.clip(fill + weight * (out - fill), 0.0, 1.0)
    if colour_match and hole.any():
        out = match_colour(out, fill, hole)
    if guard_chroma:
        out = chroma_guard.guard(out, fill, image, hole)
    return out


def match_colour(
    out: np.ndarray, reference: np.ndarray, hole: np.ndarray, tolerance: float = COLOUR_TOLERANCE
) -> np.ndarray:
    """Shift each separate hole's mean colour back toward the classical fill's where it drifted by more than
    `tolerance` (soft threshold: small, local corrections by the network are kept)."""
    count, labels = cv2.connectedComponents(hole.astype(np.uint8), connectivity=8)
    out = out.copy()
    for i in range(1, count):
        sel = labels == i
        drift = reference[sel].mean(axis=0) - out[sel].mean(axis=0)
        shift = np.sign(drift) * np.maximum(np.abs(drift) - tolerance, 0.0)
        if np.any(shift != 0):
            out[sel] = np.clip(out[sel] + shift, 0.0, 1.0)
    return out


def feathered_inside(mask: np.ndarray, radius: float) -> np.ndarray:
    """Mask weights that ramp up over `radius` px inside the mask's edge (never outside it): the outermost masked
    pixels keep part of the original. Off by default: a mask that hugs a defect would let the defect show through."""
    inside = (mask > 0).astype(np.uint8)
    # the crop's own border is not an edge of the mask: pad by repeating it
    distance = cv2.distanceTransform(np.pad(inside, 1, mode="edge"), cv2.DIST_L2, 3)[1:-1, 1:-1]
    ramp = np.clip(distance / (radius + 1.0), 0.0, 1.0)
    return np.where(inside > 0, np.maximum(1.0, mask * ramp), 0).astype(np.uint8)


def _given(value: Optional[T], default: T) -> T:
    return default if value is None else value


def run(context: OpContext, request: EditRequest, spec: ModelSpec, progress: ProgressLike) -> OpOutput:
    mask, bounds = inpaint_classical.require_mask(request)
    model = context.open_model(spec, request.device)
    params = request_params(request, InpaintParams)
    margin = _given(params.margin, _given(spec.settings.working_margin, DEFAULT_MARGIN))
    colour_match = params.color_match
    ensemble = _given(params.ensemble, _given(spec.settings.ensemble, DEFAULT_ENSEMBLE))
    classical_within_px = _given(params.classical_within_px, _given(spec.settings.classical_within_px, 0.0))
    feather = params.feather
    guard_chroma = params.chroma_guard
    classical = inpaint_classical.METHODS.get(spec.settings.classical_fill, cv2.INPAINT_NS)
    hole_all = mask > 0
    regions, labels = plan_regions(hole_all, margin)
    result = request.image.copy()
    for index, (crop, core, label) in enumerate(regions):
        progress.check()
        progress.set(index / max(1, len(regions)), "Filling")
        image_crop = request.image[crop.slices]
        filled = fill_region(
            model,
            image_crop[..., :3],
            hole_all[crop.slices],
            spec.stride,
            classical,
            colour_match,
            ensemble,
            classical_within_px,
            guard_chroma,
        )
        inner = core.relative_to(crop)
        edited = from_float_rgb(filled[inner.slices], request.image[core.slices], reuse_input=True)
        weights = mask[core.slices]
        if feather > 0:  # measured on the whole context, so a cell's own edges are no mask edges
            weights = feathered_inside(mask[crop.slices], feather)[inner.slices]
        paste = np.where(owned(labels, core, label), weights, 0).astype(np.uint8)
        result[core.slices] = blend_inside_mask(request.image[core.slices], edited, paste)
    progress.set(1.0)
    return OpOutput(image=result, provider=short_provider(model.provider), changed=bounds)
