"""Fast colour guided filter (He, Sun & Tang 2010/2015): carries a coarse mask onto the photo's own edges.

The linear coefficients are fitted at a reduced size and applied with the full-resolution guide, so the
result follows edges at full resolution while the box filters run on a few hundred thousand pixels only.
(cv2.ximgproc is not part of opencv-python-headless; this is a handful of box filters.)
"""

from __future__ import annotations

import cv2
import numpy as np


def _box(array: np.ndarray, radius: int) -> np.ndarray:
    return cv2.boxFilter(array, -1, (2 * radius + 1, 2 * radius + 1), normalize=True, borderType=cv2.BORDER_REFLECT)


def coefficients(guide: np.ndarray, source: np.ndarray, radius: int, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel (a, b) of q = a·I + b for an H×W×3 float32 guide and an H×W float32 source, box-averaged."""
    mean_i = _box(guide, radius)
    mean_p = _box(source, radius)
    cov_ip = _box(guide * source[..., None], radius) - mean_i * mean_p[..., None]
    # the 3×3 covariance of the guide in each window (+ eps on the diagonal), inverted by cofactors
    var = {}
    for i, j in ((0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2)):
        var[i, j] = _box(guide[..., i] * guide[..., j], radius) - mean_i[..., i] * mean_i[..., j]
    rr, rg, rb = var[0, 0] + eps, var[0, 1], var[0, 2]
    gg, gb, bb = var[1, 1] + eps, var[1, 2], var[2, 2] + eps
    inv = [
        gg * bb - gb * gb,
        gb * rb - rg * bb,
        rg * gb - gg * rb,
        rr * bb - rb * rb,
        rg * rb - rr * gb,
        rr * gg - rg * rg,
    ]
    det = rr * inv[0] + rg * inv[1] + rb * inv[2]
    i_rr, i_rg, i_rb, i_gg, i_gb, i_bb = (x / det for x in inv)
    c0, c1, c2 = cov_ip[..., 0], cov_ip[..., 1], cov_ip[..., 2]
    a = np.stack(
        [i_rr * c0 + i_rg * c1 + i_rb * c2, i_rg * c0 + i_gg * c1 + i_gb * c2, i_rb * c0 + i_gb * c1 + i_bb * c2],
        axis=2,
    ).astype(np.float32)
    b = (mean_p - (a * mean_i).sum(axis=2)).astype(np.float32)
    return _box(a, radius), _box(b, radius)


def fast_guided_filter(
    guide_full: np.ndarray,
    guide_small: np.ndarray,
    source_small: np.ndarray,
    radius: int,
    eps: float,
    guide_scale: float = 1.0,
) -> np.ndarray:
    """Fit on (guide_small, source_small), apply at guide_full's size; returns H×W float32 (not clipped).

    guide_small is H'×W'×3 float32 0..1; guide_full is H×W×3 either float32 0..1 (guide_scale 1) or the photo's
    own integer pixels with guide_scale = 1/max: a 12 MP photo is never converted to float as a whole
    (that copy alone cost more than the filter)."""
    a, b = coefficients(guide_small, source_small, radius, eps)
    height, width = guide_full.shape[:2]
    full_size = a.shape[:2] != (height, width)
    out = cv2.resize(b, (width, height), interpolation=cv2.INTER_LINEAR) if full_size else b
    channels = cv2.split(np.ascontiguousarray(guide_full[..., :3]))
    for index, channel in enumerate(channels):
        a_channel = np.ascontiguousarray(a[..., index]) * np.float32(guide_scale)
        if full_size:
            a_channel = cv2.resize(a_channel, (width, height), interpolation=cv2.INTER_LINEAR)
        out += cv2.multiply(a_channel, channel, dtype=cv2.CV_32F)
    return out
