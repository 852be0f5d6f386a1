"""Remove object: large holes filled with copied texture (PatchMatch) on the learned fill's smooth colours.

Diffusion and the learned net (an NS fill plus a correction) are right about a hole's colours and blurry inside it;
the exemplar pass (`patchmatch.synthesize`) copies real texture but its colours wander (measured on held-out
photos: about 1 dB below Navier–Stokes alone). So the result is split by frequency:

    fill = GaussianBlur(learned, SMOOTH_SIGMA) + DETAIL_GAIN · (exemplar − GaussianBlur(exemplar, SMOOTH_SIGMA))

the learned fill's low frequencies (its colour matching included) plus the exemplar's high frequencies. The detail
ramps in over the first pixels inside the hole's edge (no seam of copied edges), and holes no thicker than a brush
stroke (`THICK_RADIUS`) keep the learned fill alone: diffusion is hard to beat on scratches.

Tuned on 12 wikimedia training photos (512 px, a blob and a silhouette of 10 % each): σ = 2 px, gain 1.0 gave
texture 0.71–0.80 of the ring at NS + 0.03…0.34 dB (the learned fill alone: NS + 0.9…1.15 dB, texture 0.23–0.26; the
exemplar alone: NS − 1.1…1.3 dB, texture 0.75–0.87). Feeding the exemplar fill to the net in place of NS was worse:
NS − 0.4 dB at texture 0.35.

Large holes run the learned net on a copy shrunk so the hole's box is at most BASE_SIDE px: only its smooth part is
used, and a 12-megapixel photo then needs seconds, not minutes. Without an installed learned model the base is
OpenCV Navier–Stokes.

Request fields: `mask` (the hole), `sample_from` (optional H×W mask: where texture may be copied from; default: the
surroundings of the hole, see `patchmatch.work_box`). With a sample-from area the copied content keeps its own
colours too (the user chose what the hole should show); the learned base then only meets the hole's edge. Pixels where the mask is 0 are copied bit for bit.
"""

from __future__ import annotations

from typing import Optional

import cv2
import numpy as np

from ...catalog import Catalog, ModelSpec
from ...core.errors import InputError
from ...core.geometry import Bounds
from ...core.pixels import blend_inside_mask, from_float_rgb, max_value
from ...core.requests import EditRequest
from ..session import short_provider
from . import inpaint_classical, inpaint_learned, patchmatch
from .base import OpContext, OpOutput, ProgressLike

MODEL_ID = "remove-object"
SMOOTH_SIGMA = 2.0  # px: below this scale the colours come from the learned fill, above from the copied texture
DETAIL_GAIN = 1.0  # tuned on 12 wikimedia training photos (see the module doc)
# px inside the hole's edge: copied detail ramps in from 0 to full over this span. On 20 training-photo holes
# (384 px): 1–3 px gave NS + 0.47 dB, texture 0.75, seam 1.02; 2–5 px NS + 0.58 dB, texture 0.72, seam 0.91;
# 2–6 px NS + 0.62 dB, texture 0.70, seam 0.90
EDGE_RAMP = (2.0, 5.0)
THICK_RADIUS = 12.0  # px: a hole whose inscribed circle is smaller than this is a scratch or a stroke
BASE_SIDE = 640  # px: the learned base runs on a copy shrunk until the hole's box fits
NS_CHROMA = True
PAINT_MARGIN = 12  # px around the hole's box: room for the σ = 2 blurs (3σ) so the crop's border never matters


def thick_parts(hole: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distance of each hole pixel to the hole's edge, which hole pixels belong to a part thicker than a stroke)."""
    inside = hole.astype(np.uint8)
    distance = cv2.distanceTransform(np.pad(inside, 1), cv2.DIST_L2, 3)[1:-1, 1:-1]
    count, labels = cv2.connectedComponents(inside, connectivity=8)
    deepest = np.zeros(count, np.float32)
    np.maximum.at(deepest, labels[hole], distance[hole])
    return distance, (deepest >= THICK_RADIUS)[labels] & hole


def is_large(mask: np.ndarray) -> bool:
    """Whether any part of the mask is thicker than a brush stroke (auto method: patch fill, else learned)."""
    hole = mask > 0
    if not hole.any():
        return False
    inside = np.pad(hole.astype(np.uint8), 1)
    return float(cv2.distanceTransform(inside, cv2.DIST_L2, 3).max()) >= THICK_RADIUS


def learned_spec(catalog: Catalog) -> Optional[ModelSpec]:
    """The installed learned inpainting model (the default one first), or None."""
    specs = [s for s in catalog.for_task("inpaint") if not s.builtin]
    specs.sort(key=lambda s: not s.default)
    return specs[0] if specs else None


def base_factor(hole_box: np.ndarray) -> int:
    """How much the learned base is shrunk: until the hole's box (this array's shape) fits BASE_SIDE."""
    return max(1, int(np.ceil(max(hole_box.shape) / BASE_SIDE)))


def smooth_base(
    context: OpContext, request: EditRequest, spec: Optional[ModelSpec], rgb: np.ndarray, hole: np.ndarray, factor: int
) -> tuple[np.ndarray, str]:
    """The learned (or NS) fill of an H×W×3 crop as float32 0..1, computed on a copy shrunk `factor` times."""
    h, w = hole.shape
    small_rgb, small_hole = rgb, hole
    if factor > 1:
        size = (max(1, round(w / factor)), max(1, round(h / factor)))
        small_rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        small_hole = cv2.resize(hole.astype(np.uint8), size, interpolation=cv2.INTER_AREA) > 0
        small_hole |= cv2.resize(hole.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
    ns = inpaint_classical.fill(small_rgb, small_hole.astype(np.uint8) * 255, cv2.INPAINT_NS)
    ns = ns.astype(np.float32) / max_value(rgb.dtype)
    base: np.ndarray
    if spec is None:
        base, provider = ns, "CPU (OpenCV)"
    else:
        model = context.open_model(spec, request.device)
        classical = inpaint_classical.METHODS.get(spec.settings.classical_fill, cv2.INPAINT_NS)
        base = inpaint_learned.fill_region(model, small_rgb, small_hole, spec.stride, classical)
        provider = short_provider(model.provider)
        if NS_CHROMA:
            base = with_chroma_of(base, ns)
    if factor > 1:
        base = cv2.resize(base, (w, h), interpolation=cv2.INTER_CUBIC)
    known = rgb.astype(np.float32) / max_value(rgb.dtype)
    base[~hole] = known[~hole]  # the smooth base must meet the untouched pixels exactly
    return base, provider


def with_chroma_of(image: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """`image`'s luminance with `reference`'s colour (RGB minus luma): the net can paint colour blotches (blue
    patches on a grey photo); diffusion only spreads the colours the hole's edge has."""
    weights = np.array([0.299, 0.587, 0.114], np.float32)
    return np.clip((image @ weights)[..., None] + reference - (reference @ weights)[..., None], 0.0, 1.0)


def combine(base: np.ndarray, exemplar: np.ndarray, hole: np.ndarray, keep_colours: bool = False) -> np.ndarray:
    """Low frequencies of `base`, high frequencies of `exemplar` (weighted in from the hole's edge); float 0..1.
    keep_colours: the exemplar's own low frequencies too (a chosen sample-from area decides what the hole shows;
    the base still meets the hole's edge)."""
    distance, thick = thick_parts(hole)
    lo, hi = EDGE_RAMP
    share = (np.clip((distance - lo) / (hi - lo), 0.0, 1.0) * thick)[..., None]  # 0: the base as it is
    smooth = cv2.GaussianBlur(exemplar if keep_colours else base, (0, 0), SMOOTH_SIGMA)
    detail = exemplar - cv2.GaussianBlur(exemplar, (0, 0), SMOOTH_SIGMA)
    return np.clip(base + share * (smooth - base + DETAIL_GAIN * detail), 0.0, 1.0)


def sample_region(request: EditRequest) -> Optional[np.ndarray]:
    if request.sample_from is None:
        return None
    region = request.sample_from > 0
    if not (region & (request.mask == 0)).any():
        raise InputError("The sample-from area lies inside the hole: paint where the fill may copy from.")
    return region


def run(context: OpContext, request: EditRequest, spec: ModelSpec, progress: ProgressLike) -> OpOutput:
    mask, bounds = inpaint_classical.require_mask(request)
    extent = Bounds.of_array(request.image).extent
    hole_all = mask > 0
    source = sample_region(request)
    rows, cols = patchmatch.work_box(hole_all, source)  # where the synthesis looks for texture
    work = Bounds(cols.start, rows.start, cols.stop - cols.start, rows.stop - rows.start)
    paint = bounds.expanded(PAINT_MARGIN).clipped(extent)  # the hole's box (inside `work`): where pixels change
    factor = base_factor(hole_all[bounds.slices])
    context_box = bounds.expanded(inpaint_learned.DEFAULT_MARGIN * factor).clipped(extent)
    refine = learned_spec(context.catalog)
    notes: tuple[str, ...] = ()
    progress.set(0.02, "Filling colours")
    base, provider = smooth_base(
        context, request, refine, request.image[context_box.slices][..., :3], hole_all[context_box.slices], factor
    )
    base = base[paint.relative_to(context_box).slices]
    hole = hole_all[paint.slices]
    progress.check()
    try:
        crop_rgb = request.image[rows, cols, :3]
        crop_hole = hole_all[rows, cols]
        exemplar = patchmatch.synthesize(
            crop_rgb.astype(np.float32) / max_value(crop_rgb.dtype),
            crop_hole,
            ~crop_hole if source is None else source[rows, cols],
            progress.span(0.15, 0.97),
        )
        filled = combine(base, exemplar[paint.relative_to(work).slices], hole, keep_colours=source is not None)
    except patchmatch.NoSource:
        filled = base
        notes = ("The area to copy texture from is too small; the hole was filled smoothly instead.",)
    edited = from_float_rgb(filled, request.image[paint.slices], reuse_input=True)
    result = request.image.copy()
    result[paint.slices] = blend_inside_mask(request.image[paint.slices], edited, mask[paint.slices])
    progress.set(1.0)
    return OpOutput(image=result, provider=provider, changed=bounds, notes=notes)
