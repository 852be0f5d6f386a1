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

from typing import Callable

import cv2
import numpy as np

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


def float_rgb(image: np.ndarray) -> np.ndarray:
    return image[..., :3].astype(np.float32) * (1.0 / max_value(image.dtype))


def net_input(rgb: np.ndarray) -> np.ndarray:
    """H×W×3 float32 0..1 → 1×3×320×320 as rembg prepares it (/max, then ImageNet mean/std)."""
    shrink = rgb.shape[0] > NET_SIZE and rgb.shape[1] > NET_SIZE
    small = cv2.resize(rgb, (NET_SIZE, NET_SIZE), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)
    small = small / max(float(small.max()), 1e-6)
    return np.ascontiguousarray(((small - MEAN) / STD).transpose(2, 0, 1)[None], dtype=np.float32)


def net_probability(infer: Infer, rgb: np.ndarray) -> np.ndarray:
    """The network's 320×320 mask, min-max normalised to 0..1 (as rembg does)."""
    pred = np.asarray(infer(net_input(rgb)), dtype=np.float32).reshape(NET_SIZE, NET_SIZE)
    low, high = float(pred.min()), float(pred.max())
    return (pred - low) / (high - low) if high - low > 1e-6 else np.zeros_like(pred)


def raw_probability(infer: Infer, image: np.ndarray) -> np.ndarray:
    """Unrefined: the network mask resized to the image (what rembg's own mask is, for comparison)."""
    rgb = float_rgb(image)
    return cv2.resize(net_probability(infer, rgb), (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_LINEAR)


def _filter_shape(height: int, width: int) -> tuple[int, int]:
    scale = min(1.0, FILTER_SIZE / max(height, width))
    return max(1, round(width * scale)), max(1, round(height * scale))


def subject_alpha(infer: Infer, image: np.ndarray, progress: ProgressLike) -> np.ndarray:
    """H×W float32 alpha 0..1: the network mask with its edge refined at full resolution."""
    rgb = float_rgb(image)
    height, width = rgb.shape[:2]
    progress.set(0.05, "Finding the subject")
    coarse = net_probability(infer, rgb)
    progress.check()
    progress.set(0.6, "Refining the edge")
    size = _filter_shape(height, width)
    guide_small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA) if size != (width, height) else rgb
    coarse_small = cv2.resize(coarse, size, interpolation=cv2.INTER_LINEAR)
    radius = max(2, round(FILTER_RADIUS * max(size) / FILTER_SIZE))
    refined = fast_guided_filter(rgb, guide_small, coarse_small, radius, FILTER_EPS)
    refined -= 0.5
    refined *= EDGE_GAIN
    refined += 0.5
    np.clip(refined, 0.0, 1.0, out=refined)
    return refined


def _alpha(context: OpContext, request: EditRequest, spec: ModelSpec, progress: ProgressLike) -> tuple:
    if min(request.image.shape[:2]) < 8:
        raise InputError("The image is too small to find a subject in (at least 8×8 pixels).")
    model = context.open_model(spec, request.device)
    alpha = subject_alpha(model.run, request.image, progress)
    return alpha, short_provider(model.provider)


def _note(alpha: np.ndarray) -> str:
    share = float(np.count_nonzero(alpha >= 0.5)) / alpha.size
    if share == 0.0:
        return "No subject found."
    return f"Selected the subject ({100.0 * share:.1f} % of the image)."


def run_select(context: OpContext, request: EditRequest, spec: ModelSpec, progress: ProgressLike) -> OpOutput:
    alpha, provider = _alpha(context, request, spec, progress)
    mask = np.rint(alpha * 255.0).astype(np.uint8)
    progress.set(1.0)
    return OpOutput(image=np.repeat(mask[..., None], 3, axis=2), provider=provider, notes=(_note(alpha),))


def run_remove_background(context: OpContext, request: EditRequest, spec: ModelSpec,
                          progress: ProgressLike) -> OpOutput:
    alpha, provider = _alpha(context, request, spec, progress)
    image = request.image
    top = max_value(image.dtype)
    if image.shape[2] == 4:  # keep what was already transparent
        alpha = alpha * (image[..., 3].astype(np.float32) / top)
    channel = np.rint(alpha * top).astype(image.dtype)
    out = np.concatenate([image[..., :3], channel[..., None]], axis=2)
    progress.set(1.0)
    return OpOutput(image=out, provider=provider, notes=(_note(alpha) + " The background is now transparent.",))
