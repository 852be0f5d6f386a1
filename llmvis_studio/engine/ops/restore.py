"""Restore = detect scratches and dust, then inpaint them, in one job.

The detector's mask is grown by `grow` px (default 1: the soft halo of a scratch) and handed to the default
inpainting model (the learned one when installed, else the classical fill), or to params["inpaint_model"].
Pixels outside the grown mask are never changed.
"""
from __future__ import annotations

import cv2
import numpy as np

from ...catalog import ModelSpec
from ...core.requests import EditRequest
from .base import OpContext, OpOutput, ProgressLike
from . import detect_scratches, inpaint_classical, inpaint_learned


def run(context: OpContext, request: EditRequest, spec: ModelSpec, progress: ProgressLike) -> OpOutput:
    mask, provider = detect_scratches.detect(context, request, spec, progress.span(0.0, 0.6))
    grow = int(request.params.get("grow", 1))
    if grow > 0 and mask.any():
        mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1)))
    if request.mask is not None:  # a painted mask limits where defects are looked for
        mask = np.where(request.mask > 0, mask, 0).astype(np.uint8)
    if not mask.any():
        progress.set(1.0)
        return OpOutput(image=request.image, provider=provider, changed=None,
                        notes=("No scratches or dust found; the image is unchanged.",))
    wanted = request.params.get("inpaint_model")
    inpaint_spec = context.catalog.get(str(wanted)) if wanted else context.catalog.default_for("inpaint")
    sub = EditRequest(op="inpaint", image=request.image, mask=mask, model_id=inpaint_spec.id, device=request.device)
    fill = inpaint_classical.run if inpaint_spec.builtin else inpaint_learned.run
    out = fill(context, sub, inpaint_spec, progress.span(0.6, 1.0))
    marked = int(np.count_nonzero(mask))
    note = f"Restored {marked} pixels ({100.0 * marked / mask.size:.2f} %) with {inpaint_spec.name}."
    return OpOutput(image=out.image, provider=f"{provider}+{out.provider}", changed=out.changed,
                    notes=out.notes + (note,))
