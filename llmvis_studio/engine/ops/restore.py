"""Restore = detect damage (cracks, scratches, dust, tears), then fill it, in one job.

1. The detector's probability map is thresholded at the request's sensitivity (see detect_scratches).
2. The mask is sized to the damage: it grows into neighbouring pixels that are still fairly likely damage
   (probability above half the threshold: the soft edge of a crack), then by `grow` px (default 1: the halo).
3. The default inpainting model (learned fill, else the classical fill) or params["inpaint_model"] fills it.
   A crack network marks tens of thousands of pixels spread over the whole print, and the learned fill works on
   every region with a 48 px margin: on a 1-megapixel print with 69 k crack pixels it took 197 s against 5 s for
   Navier–Stokes (2 shared cores). Past LEARNED_MAX_PIXELS "auto" therefore uses Navier–Stokes (what the learned
   fill corrects, and very strong on 1–6 px cracks) and the note says so. params["fill"]: "auto" (default),
   "learned", "classical".
4. Tone: the fill's luminance is kept, its colour is replaced by the colour of the hole's surroundings
   (normalised convolution of the chroma), so a greyscale or sepia print stays in its tone and a fill cannot
   paint blue or orange blotches; an exactly grey image stays exactly grey.
Pixels outside the final mask are never changed. If nothing is found, the image is returned unchanged and says so.
"""

from __future__ import annotations

import cv2
import numpy as np

from ...catalog import ModelSpec
from ...core.errors import InputError
from ...core.pixels import from_float_rgb, to_float_rgb
from ...core.requests import EditRequest
from . import detect_scratches, inpaint
from .base import OpContext, OpOutput, ProgressLike
from .params import RestoreParams, request_params

HALO_FRACTION = 0.5  # neighbours with probability above this × threshold belong to the damage
HALO_STEPS = 2
LEARNED_MAX_PIXELS = 20_000  # above this many marked pixels "auto" uses the classical fill (time, see below)
CLASSICAL_RADIUS = 3  # px of context per step for cv2.inpaint: 1–6 px cracks need little, and cost grows with r²


def size_to_damage(mask: np.ndarray, prob: np.ndarray, threshold: float, grow: int) -> np.ndarray:
    """Grow the thresholded mask into its likely-damage neighbourhood (geodesic), then by `grow` px."""
    if not mask.any():
        return mask
    likely = (prob > threshold * HALO_FRACTION).astype(np.uint8)
    k3 = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
    out = mask
    for _ in range(HALO_STEPS):
        out = np.maximum(out, cv2.dilate(out, k3) * likely)
    if grow > 0:
        out = cv2.dilate(out, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1)))
    return out


def _is_grey(rgb: np.ndarray) -> bool:
    return bool(np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 1], rgb[..., 2]))


def _normalised_blur(values: np.ndarray, known: np.ndarray, sigma: float, shrink: int) -> tuple:
    """Σ(w·v)/Σw of a Gaussian of `sigma` px, computed at 1/shrink resolution (chroma is smooth; a 12-MP scan
    must not pay for a 300-px kernel). Returns (estimate H×W×2, weight H×W)."""
    h, w = known.shape
    if shrink > 1:
        size = (max(1, w // shrink), max(1, h // shrink))
        v = cv2.resize(values * known[..., None], size, interpolation=cv2.INTER_AREA)
        k = cv2.resize(known, size, interpolation=cv2.INTER_AREA)
        num = cv2.GaussianBlur(v, (0, 0), sigma / shrink)
        den = cv2.GaussianBlur(k, (0, 0), sigma / shrink)
        num = cv2.resize(num, (w, h), interpolation=cv2.INTER_LINEAR)
        den = cv2.resize(den, (w, h), interpolation=cv2.INTER_LINEAR)
    else:
        num = cv2.GaussianBlur(values * known[..., None], (0, 0), sigma)
        den = cv2.GaussianBlur(known, (0, 0), sigma)
    return num / np.maximum(den, 1e-6)[..., None], den


def surrounding_chroma(chroma: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """Fill each hole pixel's chroma (H×W×2) from the known pixels around it: normalised Gaussian convolution at a
    fine scale, then coarser ones where the fine one sees no known pixel, the mean chroma where none does."""
    known = (~hole).astype(np.float32)
    filled = chroma.copy()
    if not known.any():
        return np.zeros_like(chroma)
    remaining = hole.copy()
    for sigma, shrink in ((3.0, 1), (12.0, 4), (48.0, 8)):
        estimate, weight = _normalised_blur(chroma, known, sigma, shrink)
        ok = remaining & (weight > 1e-3)
        filled[ok] = estimate[ok]
        remaining &= ~ok
        if not remaining.any():
            break
    if remaining.any():
        filled[remaining] = chroma[~hole].mean(axis=0)
    return filled


def keep_tone(original: np.ndarray, filled: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The fill's luminance with the surroundings' chroma inside the mask; outside the mask the original, bit-exact."""
    hole = mask > 0
    if not hole.any():
        return original
    src, out = to_float_rgb(original), to_float_rgb(filled)
    if _is_grey(original[..., :3]):
        luma = out.mean(axis=2, keepdims=True)
        toned = np.repeat(luma, 3, axis=2)
    else:
        ycc_src = cv2.cvtColor(src, cv2.COLOR_RGB2YCrCb)
        ycc_out = cv2.cvtColor(out, cv2.COLOR_RGB2YCrCb)
        ycc_out[..., 1:] = surrounding_chroma(ycc_src[..., 1:], hole)
        toned = np.clip(cv2.cvtColor(ycc_out, cv2.COLOR_YCrCb2RGB), 0, 1)
    result = from_float_rgb(toned, original, reuse_input=True)
    result[~hole] = original[~hole]
    return result


def choose_fill(context: OpContext, params: RestoreParams, marked: int) -> ModelSpec:
    if params.inpaint_model:
        return context.catalog.get(params.inpaint_model)
    how = params.fill
    if how not in ("auto", "learned", "classical"):
        raise InputError(f"fill must be auto, learned or classical, not {how!r}.")
    default = context.catalog.default_for("inpaint")
    if how == "classical" or (how == "auto" and not default.builtin and marked > LEARNED_MAX_PIXELS):
        return context.catalog.get("opencv-ns")
    return default


def run(context: OpContext, request: EditRequest, spec: ModelSpec, progress: ProgressLike) -> OpOutput:
    mask, prob, threshold, provider = detect_scratches.detect_with_probability(
        context, request, spec, progress.span(0.0, 0.6)
    )
    params = request_params(request, RestoreParams)
    mask = size_to_damage(mask, prob, threshold, params.grow)
    del prob
    if request.mask is not None:  # a painted mask limits where defects are looked for
        mask = np.where(request.mask > 0, mask, 0).astype(np.uint8)
    if not mask.any():
        progress.set(1.0)
        return OpOutput(
            image=request.image,
            provider=provider,
            changed=None,
            notes=("No damage found (no cracks, scratches or dust); the image is unchanged.",),
        )
    inpaint_spec = choose_fill(context, params, int(np.count_nonzero(mask)))
    fill_params = {"radius": CLASSICAL_RADIUS} if inpaint_spec.builtin else {}
    sub = EditRequest(
        op="inpaint",
        image=request.image,
        mask=mask,
        model_id=inpaint_spec.id,
        params=fill_params,
        device=request.device,
    )
    progress.set(0.6, "Filling")
    out = inpaint.run(context, sub, inpaint_spec, progress.span(0.6, 0.97))
    filled, fill_notes, fill_provider = out.image, out.notes, out.provider
    image = keep_tone(request.image, filled, mask)
    progress.set(1.0)
    marked = int(np.count_nonzero(mask))
    note = f"Restored {marked} pixels ({100.0 * marked / mask.size:.2f} %) with {inpaint_spec.name}."
    return OpOutput(image=image, provider=f"{provider}+{fill_provider}", changed=None, notes=fill_notes + (note,))
