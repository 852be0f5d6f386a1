"""Classical inpainting (OpenCV Telea / Navier-Stokes): the fast choice, no model file.

Works on a crop around the mask with a margin, so a few small holes in a large photo stay
fast, and writes back only masked pixels: everything else is bit-exact.
"""

from __future__ import annotations

import cv2
import numpy as np

from ...catalog import ModelSpec
from ...core.errors import InputError
from ...core.geometry import Bounds, nonzero_bounds
from ...core.pixels import blend_inside_mask
from ...core.requests import EditRequest
from .base import OpContext, OpOutput, ProgressLike
from .params import InpaintParams, request_params

METHODS = {"opencv-telea": cv2.INPAINT_TELEA, "opencv-ns": cv2.INPAINT_NS}
RADIUS = 5


def require_mask(request: EditRequest) -> tuple[np.ndarray, Bounds]:
    """The request's mask and the bounds of its painted pixels; an InputError when there is nothing to fill."""
    if request.mask is None:
        raise InputError("Paint a mask first: inpainting fills the masked area.")
    bounds = nonzero_bounds(request.mask)
    if bounds is None:
        raise InputError("The mask is empty: paint over what should be filled.")
    return request.mask, bounds


def fill(rgb: np.ndarray, hole: np.ndarray, method: int, radius: int = RADIUS) -> np.ndarray:
    """Inpaint an H×W×3 uint8/uint16 crop; OpenCV takes 16-bit only one channel at a time."""
    if rgb.dtype == np.uint8:
        return cv2.inpaint(np.ascontiguousarray(rgb), hole, radius, method)
    channels = [cv2.inpaint(np.ascontiguousarray(rgb[..., c]), hole, radius, method) for c in range(rgb.shape[2])]
    return np.stack(channels, axis=2)


def run(context: OpContext, request: EditRequest, spec: ModelSpec, progress: ProgressLike) -> OpOutput:
    mask, bounds = require_mask(request)
    wanted = request_params(request, InpaintParams).radius
    radius = RADIUS if wanted is None else wanted
    margin = 4 * radius + 8
    crop = bounds.expanded(margin).clipped(Bounds.of_array(request.image).extent)
    image_crop = request.image[crop.slices]
    mask_crop = mask[crop.slices]
    hole = np.where(mask_crop > 0, 255, 0).astype(np.uint8)
    progress.set(0.1, "Filling")
    filled = fill(image_crop[..., :3], hole, METHODS[spec.id], radius)
    if image_crop.shape[2] == 4:
        filled = np.concatenate([filled, image_crop[..., 3:]], axis=2)
    result = request.image.copy()
    result[crop.slices] = blend_inside_mask(image_crop, filled, mask_crop)
    progress.set(1.0)
    return OpOutput(image=result, provider="CPU (OpenCV)", changed=bounds)
