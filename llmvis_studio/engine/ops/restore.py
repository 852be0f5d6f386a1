"""Restore = detect damage (cracks, scratches, dust, tears), then fill it, in one job.

1. The detector's probability map is thresholded at the request's sensitivity (see detect_scratches).
2. The mask is sized to the damage: it grows into neighbouring pixels that are still fairly likely damage
   (probability above half the threshold: the soft edge of a crack), then by `grow` px (default 1: the halo).
3. The default inpainting model (learned fill, else the classical fill) or params["inpaint_model"] fills it.
   A crack network over a whole scan can mark hundreds of thousands of pixels; past LEARNED_MAX_PIXELS the
   learned fill would take minutes, so the Navier–Stokes fill (what the learned fill corrects, and very strong on
   1–6 px cracks) does it instead and the note says so. params["fill"]: "auto" (default), "learned", "classical".
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
from .base import OpContext, OpOutput, ProgressLike
from . import detect_scratches, inpaint_classical, inpaint_learned

HALO_FRACTION = 0.5  # neighbours with probability above this × threshold belong to the damage
HALO_STEPS = 2
LEARNED_MAX_PIXELS = 200_000  # above this many marked pixels "auto" uses the classical fill (time)


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


def surrounding_chroma(chroma: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """Fill each hole pixel's chroma (H×W×2) from the known pixels around it: normalised Gaussian convolution at a
    fine and a coarse scale, the image's mean chroma where even the coarse scale sees nothing."""
    known = (~hole).astype(np.float32)
    filled = chroma.copy()
    if not known.any():
        return np.zeros_like(chroma)
    remaining = hole.copy()
    for sigma in (3.0, 12.0, 48.0):
        weight = cv2.GaussianBlur(known, (0, 0), sigma)
        ok = remaining & (weight > 1e-3)
        if ok.any():
            for c in range(2):
                num = cv2.GaussianBlur(chroma[..., c] * known, (0, 0), sigma)
                filled[..., c][ok] = num[ok] / weight[ok]
        remaining &= ~ok
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


def choose_fill(context: OpContext, request: EditRequest, marked: int) -> ModelSpec:
    wanted = request.params.get("inpaint_model")
    if wanted:
        return context.catalog.get(str(wanted))
    how = str(request.params.get("fill", "auto"))
    if how not in ("auto", "learned", "classical"):
        raise InputError(f"fill must be auto, learned or classical, not {how!r}.")
    default = context.catalog.default_for("inpaint")
    if how == "classical" or (how == "auto" and not default.builtin and marked > LEARNED_MAX_PIXELS):
        return context.catalog.get("opencv-ns")
    return default


def run(context: OpContext, request: EditRequest, spec: ModelSpec, progress: ProgressLike) -> OpOutput:
    mask, prob, threshold, provider = detect_scratches.detect_with_probability(context, request, spec,
                                                                               progress.span(0.0, 0.6))
    mask = size_to_damage(mask, prob, threshold, int(request.params.get("grow", 1)))
    del prob
    if request.mask is not None:  # a painted mask limits where defects are looked for
        mask = np.where(request.mask > 0, mask, 0).astype(np.uint8)
    if not mask.any():
        progress.set(1.0)
        return OpOutput(image=request.image, provider=provider, changed=None,
                        notes=("No damage found (no cracks, scratches or dust); the image is unchanged.",))
    inpaint_spec = choose_fill(context, request, int(np.count_nonzero(mask)))
    sub = EditRequest(op="inpaint", image=request.image, mask=mask, model_id=inpaint_spec.id, device=request.device)
    fill = inpaint_classical.run if inpaint_spec.builtin else inpaint_learned.run
    out = fill(context, sub, inpaint_spec, progress.span(0.6, 0.97))
    image = keep_tone(request.image, out.image, mask)
    progress.set(1.0)
    marked = int(np.count_nonzero(mask))
    note = f"Restored {marked} pixels ({100.0 * marked / mask.size:.2f} %) with {inpaint_spec.name}."
    return OpOutput(image=image, provider=f"{provider}+{out.provider}", changed=out.changed,
                    notes=out.notes + (note,))
