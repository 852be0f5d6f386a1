"""Select subject and remove background: U²-Net-p finds the salient subject, a guided filter fits its edge.

The network sees the whole photo squashed to 320×320, prepared as rembg does (divide by the image's maximum,
ImageNet mean/std; output min-max normalised). Its coarse mask is then refined against the photo at full
resolution with a colour guided filter, so hair-thin gaps and feather tips follow the real edges, and a
contrast curve keeps the transition 1–3 px wide.

select-subject returns the mask as an H×W×3 uint8 image (255 = subject), like detect-scratches, so the
editor can put it into the mask layer; remove-background returns the image with that mask as its alpha
channel (same bit depth; an existing alpha is multiplied).
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
from numpy.typing import DTypeLike

from ...catalog import ModelSpec
from ...core.errors import InputError
from ...core.pixels import max_value
from ...core.requests import EditRequest
from ..session import short_provider
from .base import OpContext, OpOutput, ProgressLike
from .guided_filter import fast_guided_filter

NET_SIZE = 320
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)
FILTER_SIZE = 1024  # long side at which the guided filter's coefficients are fitted
FILTER_RADIUS = 8  # at FILTER_SIZE: about two pixels of the 320² network mask
FILTER_EPS = 2e-3  # (0..1 guide) lower follows weaker photo edges
EDGE_GAIN = 3.0  # contrast of the refined alpha around 0.5: a 1–3 px soft edge instead of a blur

Infer = Callable[[np.ndarray], np.ndarray]


def small_rgb(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The photo's RGB at `size` (width, height), float32 0..1: resized in its own integer type first."""
    rgb = np.ascontiguousarray(image[..., :3])
    shrink = size[0] <= rgb.shape[1] and size[1] <= rgb.shape[0]
    if size != (rgb.shape[1], rgb.shape[0]):
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)
    return rgb.astype(np.float32) * np.float32(1.0 / max_value(image.dtype))


def net_input(image: np.ndarray) -> np.ndarray:
    """The photo → 1×3×320×320 as rembg prepares it (320² squash, /max, then ImageNet mean/std)."""
    small = small_rgb(image, (NET_SIZE, NET_SIZE))
    small = small / max(float(small.max()), 1e-6)
    return np.ascontiguousarray(((small - MEAN) / STD).transpose(2, 0, 1)[None], dtype=np.float32)


def net_probability(infer: Infer, image: np.ndarray) -> np.ndarray:
    """The network's 320×320 mask, min-max normalised to 0..1 (as rembg does)."""
    pred = np.asarray(infer(net_input(image)), dtype=np.float32).reshape(NET_SIZE, NET_SIZE)
    low, high = float(pred.min()), float(pred.max())
    return (pred - low) / (high - low) if high - low > 1e-6 else np.zeros_like(pred)


def raw_probability(infer: Infer, image: np.ndarray) -> np.ndarray:
    """Unrefined: the network mask resized to the image (what rembg's own mask is, for comparison)."""
    height, width = image.shape[:2]
    return cv2.resize(net_probability(infer, image), (width, height), interpolation=cv2.INTER_LINEAR)


def _filter_shape(height: int, width: int) -> tuple[int, int]:
    scale = min(1.0, FILTER_SIZE / max(height, width))
    return max(1, round(width * scale)), max(1, round(height * scale))


def refined_probability(infer: Infer, image: np.ndarray, progress: ProgressLike) -> np.ndarray:
    """H×W float32, about 0..1: the network mask with its edge fitted to the photo at full resolution."""
    height, width = image.shape[:2]
    progress.set(0.05, "Finding the subject")
    coarse = net_probability(infer, image)
    progress.check()
    progress.set(0.6, "Refining the edge")
    size = _filter_shape(height, width)
    coarse_small = cv2.resize(coarse, size, interpolation=cv2.INTER_LINEAR)
    radius = max(2, round(FILTER_RADIUS * max(size) / FILTER_SIZE))
    return fast_guided_filter(
        image, small_rgb(image, size), coarse_small, radius, FILTER_EPS, guide_scale=1.0 / max_value(image.dtype)
    )


def alpha_of(probability: np.ndarray, dtype: DTypeLike) -> np.ndarray:
    """The edge contrast curve, clipped and rounded to uint8/uint16 in one saturating pass."""
    top = max_value(dtype)
    depth = cv2.CV_16U if np.dtype(dtype) == np.uint16 else cv2.CV_8U
    return cv2.addWeighted(probability, EDGE_GAIN * top, probability, 0.0, (0.5 - 0.5 * EDGE_GAIN) * top, dtype=depth)


def _probability(context: OpContext, request: EditRequest, spec: ModelSpec, progress: ProgressLike) -> tuple:
    if min(request.image.shape[:2]) < 8:
        raise InputError("The image is too small to find a subject in (at least 8×8 pixels).")
    model = context.open_model(spec, request.device)
    return refined_probability(model.run, request.image, progress), short_provider(model.provider)


def _note(alpha: np.ndarray) -> str:
    share = float(np.count_nonzero(alpha >= 128)) / alpha.size
    if share == 0.0:
        return "No subject found."
    return f"Selected the subject ({100.0 * share:.1f} % of the image)."


def run_select(context: OpContext, request: EditRequest, spec: ModelSpec, progress: ProgressLike) -> OpOutput:
    probability, provider = _probability(context, request, spec, progress)
    mask = alpha_of(probability, np.uint8)
    progress.set(1.0)
    return OpOutput(image=cv2.merge([mask, mask, mask]), provider=provider, notes=(_note(mask),))


def run_remove_background(
    context: OpContext, request: EditRequest, spec: ModelSpec, progress: ProgressLike
) -> OpOutput:
    probability, provider = _probability(context, request, spec, progress)
    image = request.image
    alpha = alpha_of(probability, image.dtype)
    note = _note(alpha if image.dtype == np.uint8 else (alpha >> 8).astype(np.uint8))
    if image.shape[2] == 4:  # keep what was already transparent
        alpha = cv2.multiply(alpha, image[..., 3].copy(), scale=1.0 / max_value(image.dtype))
    out = cv2.merge([*cv2.split(np.ascontiguousarray(image[..., :3])), alpha])
    progress.set(1.0)
    return OpOutput(image=out, provider=provider, notes=(note + " The background is now transparent.",))
