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
   paint blue or orange blotches; an exactly grey image stays exactly grey. Steps 3–4 run crop by crop around the
   damage on the engine's threads (restore_fill).
Pixels outside the final mask are never changed. If nothing is found, the image is returned unchanged and says so.
"""

from __future__ import annotations

import cv2
import numpy as np

from ...catalog import ModelSpec
from ...core.errors import InputError
from ...core.requests import EditRequest
from . import detect_scratches, inpaint, inpaint_classical
from .base import OpContext, OpOutput, ProgressLike
from .params import RestoreParams, request_params
from .restore_fill import fill_and_tone, keep_tone

HALO_FRACTION = 0.5  # neighbours with probability above this × threshold belong to the damage
HALO_STEPS = 2
LEARNED_MAX_PIXELS = 20_000  # above this many marked pixels "auto" uses the classical fill (time, see below)
# px of context per step for cv2.inpaint: 1–6 px cracks need little, and cost grows with r² (3 px removed 0.007 more
# of the crack contrast on synthetic prints for 1.3× the fill time, which a 12-MP scan could not afford)
CLASSICAL_RADIUS = 2


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
    image, fill_notes, fill_provider = fill(context, request, mask, inpaint_spec, progress.span(0.6, 1.0))
    progress.set(1.0)
    marked = int(np.count_nonzero(mask))
    note = f"Restored {marked} pixels ({100.0 * marked / mask.size:.2f} %) with {inpaint_spec.name}."
    return OpOutput(image=image, provider=devices(provider, fill_provider), changed=None, notes=fill_notes + (note,))


def devices(*providers: str) -> str:
    """Where the job ran, each device once ("CPU", "CUDA+CPU"): the detector and the fill each report theirs, and
    "CPU+CPU (OpenCV)" told the user nothing more than "CPU"."""
    seen: list[str] = []
    for provider in providers:
        device = provider.split()[0] if provider.strip() else provider
        if device and device not in seen:
            seen.append(device)
    return "+".join(seen)


def fill(context: OpContext, request: EditRequest, mask: np.ndarray, spec: ModelSpec, progress: ProgressLike) -> tuple:
    """(filled and toned image, notes, provider). A classical fill runs crop by crop on the engine's threads together
    with the tone step (restore_fill); another fill runs as the inpaint op, then the tone step."""
    progress.set(0.0, "Filling")
    if spec.id in inpaint_classical.METHODS:
        method = inpaint_classical.METHODS[spec.id]
        image = fill_and_tone(request.image, mask, method, CLASSICAL_RADIUS, context.threads, progress)
        return image, (), "CPU (OpenCV)"
    fill_params = {"radius": CLASSICAL_RADIUS} if spec.builtin else {}
    sub = EditRequest(
        op="inpaint", image=request.image, mask=mask, model_id=spec.id, params=fill_params, device=request.device
    )
    out = inpaint.run(context, sub, spec, progress.span(0.0, 0.9))
    return keep_tone(request.image, out.image, mask, context.threads), out.notes, out.provider
