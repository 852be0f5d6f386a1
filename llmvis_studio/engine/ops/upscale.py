"""Super-resolution through any `upscale` model in the catalog (Real-ESRGAN, our own nets)."""

from __future__ import annotations

import cv2
import numpy as np

from ...catalog import ModelSpec
from ...core.errors import InputError
from ...core.pixels import from_float_rgb, to_float_rgb
from ...core.requests import EditRequest
from ..session import short_provider
from ..tiling import run_tiled, tile_for_budget
from .base import OpContext, OpOutput, ProgressLike, nchw_runner
from .params import UpscaleParams, request_params

MAX_OUTPUT_PIXELS = 400_000_000


def requested_scale(request: EditRequest, spec: ModelSpec) -> int:
    wanted = request_params(request, UpscaleParams).scale
    scale = spec.scale if wanted is None else wanted
    if scale not in (2, 3, 4, 8):
        raise InputError(f"Scale must be 2, 3, 4 or 8, not {scale}.")
    return scale


def with_border(rgb: np.ndarray, pad: int) -> np.ndarray:
    """Reflect-pad all sides, as Real-ESRGAN does, so edges see image-like context, not zeros."""
    return np.pad(rgb, ((pad, pad), (pad, pad), (0, 0)), mode="reflect") if pad > 0 else rgb


def without_border(out: np.ndarray, pad: int) -> np.ndarray:
    return out[pad : out.shape[0] - pad, pad : out.shape[1] - pad] if pad > 0 else out


def run(context: OpContext, request: EditRequest, spec: ModelSpec, progress: ProgressLike) -> OpOutput:
    scale = requested_scale(request, spec)
    height, width = request.image.shape[:2]
    if height * width * scale * scale > MAX_OUTPUT_PIXELS:
        raise InputError(f"A ×{scale} result of {width}×{height} would be too large to hold in memory.")
    model = context.open_model(spec, request.device)
    tile = request.tile
    if tile is None:
        tile = tile_for_budget(context.memory_budget, spec.memory_bytes_per_input_pixel, spec.stride)
    border = max(0, min(spec.pre_pad, height - 1, width - 1))  # reflect needs a wider image
    rgb = with_border(to_float_rgb(request.image), border)
    out = run_tiled(
        rgb,
        nchw_runner(model),
        scale=spec.scale,
        tile=tile if spec.tile_supported else 0,
        overlap=spec.tile_min_overlap,
        stride=spec.stride,
        progress=progress.span(0.0, 0.98),
    )
    out = without_border(out, border * spec.scale)
    notes: tuple[str, ...] = ()
    if scale != spec.scale:
        out = cv2.resize(out, (width * scale, height * scale), interpolation=cv2.INTER_AREA)
        notes = (f"{spec.name} is a ×{spec.scale} model; its result was resized to ×{scale}.",)
    alpha = None
    if request.image.shape[2] == 4:
        alpha = cv2.resize(request.image[..., 3], (width * scale, height * scale), interpolation=cv2.INTER_CUBIC)
    image = from_float_rgb(out, request.image, alpha, reuse_input=True)  # out is ours: no copies
    progress.set(1.0)
    return OpOutput(image=image, provider=short_provider(model.provider), notes=notes)
