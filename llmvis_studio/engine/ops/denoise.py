"""Same-size image-to-image models (the blind denoiser / JPEG cleanup).

With a mask the result is blended in only where the mask is set; without one the whole image
is processed. Tiled like super-resolution, padded to the model's stride.
"""

from __future__ import annotations

from ...catalog import ModelSpec
from ...core.geometry import nonzero_bounds
from ...core.pixels import blend_inside_mask, from_float_rgb, to_float_rgb
from ...core.requests import EditRequest
from ..session import short_provider
from ..tiling import run_tiled, tile_for_budget
from .base import OpContext, OpOutput, ProgressLike, nchw_runner


def run(context: OpContext, request: EditRequest, spec: ModelSpec, progress: ProgressLike) -> OpOutput:
    model = context.open_model(spec, request.device)
    tile = request.tile
    if tile is None:
        tile = tile_for_budget(context.memory_budget, spec.memory_bytes_per_input_pixel, spec.stride)
    out = run_tiled(
        to_float_rgb(request.image),
        nchw_runner(model),
        scale=1,
        tile=tile if spec.tile_supported else 0,
        overlap=spec.tile_min_overlap,
        stride=spec.stride,
        progress=progress.span(0.0, 0.98),
    )
    result = from_float_rgb(out, request.image, reuse_input=True)
    changed = None
    if request.mask is not None and request.mask.any():
        result = blend_inside_mask(request.image, result, request.mask)
        changed = nonzero_bounds(request.mask)
    progress.set(1.0)
    return OpOutput(image=result, provider=short_provider(model.provider), changed=changed)
