"""Conversions between stored pixels (uint8/uint16 RGB[A]) and model tensors (float32 RGB 0..1)."""

from __future__ import annotations

import numpy as np
from numpy.typing import DTypeLike


def max_value(dtype: DTypeLike) -> float:
    return 65535.0 if np.dtype(dtype) == np.uint16 else 255.0


def to_float_rgb(image: np.ndarray) -> np.ndarray:
    """H×W×C integer image → H×W×3 float32 in 0..1 (alpha dropped; callers keep it)."""
    return image[..., :3].astype(np.float32) / max_value(image.dtype)


def from_float_rgb(
    rgb: np.ndarray, like: np.ndarray, alpha: np.ndarray | None = None, reuse_input: bool = False
) -> np.ndarray:
    """float32 0..1 RGB → the dtype of `like`, rounding, with alpha re-attached if `like` had one.

    reuse_input=True scales, rounds and clips `rgb` in place: a 4000×3000 result then needs no
    extra float copies (each would be 144 MB).
    """
    top = max_value(like.dtype)
    work = rgb if reuse_input else rgb.astype(np.float32, copy=True)
    work *= top
    np.rint(work, out=work)
    np.clip(work, 0, top, out=work)
    out = work.astype(like.dtype)
    if like.shape[2] == 4:
        if alpha is None:
            alpha = like[..., 3]
        out = np.concatenate([out, alpha[..., None].astype(like.dtype)], axis=2)
    return out


def blend_inside_mask(original: np.ndarray, edited: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Take `edited` where mask > 0 (weighted by mask/255), `original` elsewhere.

    Pixels where the mask is 0 are copied bit for bit from the original; that promise is tested.
    """
    weight = mask.astype(np.float32)[..., None] / 255.0
    mixed = original.astype(np.float32) * (1.0 - weight) + edited.astype(np.float32) * weight
    out = np.clip(np.rint(mixed), 0, max_value(original.dtype)).astype(original.dtype)
    untouched = mask == 0
    out[untouched] = original[untouched]
    return out


def is_grey(image: np.ndarray) -> bool:
    """Whether the colour channels are identical (a greyscale photo or scan stored as RGB)."""
    rgb = image[..., :3]
    return bool((rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all())


LUMA = np.array([0.299, 0.587, 0.114])  # BT.601, the weights the Y-channel metrics use


def to_grey_like(image: np.ndarray) -> np.ndarray:
    """The image with its colour channels replaced by their luma (alpha kept); grey pixels stay bit-exact.

    Why: a restoration net has three output channels and tints a greyscale scan slightly (and a saved file would
    then no longer be greyscale); the weights sum to 1, so a pixel with R = G = B maps to itself after rounding.
    """
    luma = np.rint(image[..., :3] @ LUMA).astype(image.dtype)
    out = image.copy()
    out[..., 0] = out[..., 1] = out[..., 2] = luma
    return out
