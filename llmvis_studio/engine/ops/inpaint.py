"""The inpaint op: one entry point for every inpainting model (the engine and restore both call it)."""

from __future__ import annotations

from ...catalog import ModelSpec
from ...core.requests import EditRequest
from . import inpaint_classical, inpaint_learned, remove_object
from .base import OpContext, OpOutput, ProgressLike


def run(context: OpContext, request: EditRequest, spec: ModelSpec, progress: ProgressLike) -> OpOutput:
    """Learned (ONNX) models, the patch-based object remover or OpenCV's classical fills, by the model."""
    if not spec.builtin:
        return inpaint_learned.run(context, request, spec, progress)
    if spec.id == remove_object.MODEL_ID:
        return remove_object.run(context, request, spec, progress)
    return inpaint_classical.run(context, request, spec, progress)
