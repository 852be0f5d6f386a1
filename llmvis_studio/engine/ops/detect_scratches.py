"""Scratch / dust detection: a segmentation network marks defects; the result is a white-on-black mask.

The op's EditResult.image carries the mask as an H×W×3 uint8 image (255 = defect; all three channels equal), so
it travels through the same worker and CLI paths as other results; the editor puts it into the mask layer
(one undo step) instead of the image. Parameter `threshold` (0..1, default from the manifest, 0.5).
"""
from __future__ import annotations

import numpy as np

from ...catalog import ModelSpec
from ...core.errors import InputError
from ...core.pixels import to_float_rgb
from ...core.requests import EditRequest
from ..session import short_provider
from ..tiling import run_tiled, tile_for_budget
from .base import OpContext, OpOutput, ProgressLike, nchw_runner

DEFAULT_THRESHOLD = 0.5


def threshold_of(request: EditRequest, spec: ModelSpec) -> float:
    value = float(request.params.get("threshold", spec.extra.get("threshold", DEFAULT_THRESHOLD)))
    if not 0.0 < value < 1.0:
        raise InputError(f"The detection threshold must be between 0 and 1, not {value}.")
    return value


def probabilities(context: OpContext, image: np.ndarray, spec: ModelSpec, device: str, tile, progress) -> tuple:
    """Per-pixel defect probability (H×W float32) and the provider that ran."""
    model = context.open_model(spec, device)
    if tile is None:
        tile = tile_for_budget(context.memory_budget, spec.memory_bytes_per_input_pixel, spec.stride)
    out = run_tiled(to_float_rgb(image), nchw_runner(model), scale=1, tile=tile if spec.tile_supported else 0,
                    overlap=spec.tile_min_overlap, stride=spec.stride, progress=progress)
    return out[..., 0], short_provider(model.provider)


def detect(context: OpContext, request: EditRequest, spec: ModelSpec, progress: ProgressLike) -> tuple:
    """(uint8 H×W mask 0/255, provider)."""
    prob, provider = probabilities(context, request.image, spec, request.device, request.tile,
                                   progress.span(0.0, 0.95))
    mask = np.where(prob > threshold_of(request, spec), 255, 0).astype(np.uint8)
    return mask, provider


def run(context: OpContext, request: EditRequest, spec: ModelSpec, progress: ProgressLike) -> OpOutput:
    mask, provider = detect(context, request, spec, progress)
    marked = int(np.count_nonzero(mask))
    progress.set(1.0)
    note = (f"Marked {marked} pixels ({100.0 * marked / mask.size:.2f} %) as scratches or dust."
            if marked else "No scratches or dust found.")
    return OpOutput(image=np.repeat(mask[..., None], 3, axis=2), provider=provider, notes=(note,))
