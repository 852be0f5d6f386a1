"""CIE L*a*b* (D65, sRGB primaries and transfer curve) for the colourizer (numpy, plus cv2 for speed).

Why our own and not cv2.cvtColor: recombining predicted chroma with the original luminance must keep that luminance
exactly, also for 16-bit scans (cv2's Lab works on 8-bit or float only, and its gamut clipping moves L). Here
luminance Y is kept as the invariant: a colour is built in linear RGB as Y·(1,1,1) + t·d with luminance(d) = 0, and the
gamut is met by shrinking t per pixel, which never changes Y (so L* = 116·f(Y) − 16 never changes either).
"""

from __future__ import annotations

import cv2
import numpy as np

# sRGB (linear) → XYZ, D65; and back
M_RGB2XYZ = np.array(
    [[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750], [0.0193339, 0.1191920, 0.9503041]]
)
M_XYZ2RGB = np.linalg.inv(M_RGB2XYZ)
WHITE = M_RGB2XYZ.sum(axis=1)  # XYZ of RGB (1,1,1): the D65 white point (Yn = 1)
LUMA_WEIGHTS = M_RGB2XYZ[1]
_EPS, _KAPPA = 216 / 24389, 24389 / 27
_ENCODE_BITS = 20  # linear → sRGB look-up steps for 16-bit output (8-bit output uses 2**16: exact for 8-bit codes)


def srgb_to_linear(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(v: np.ndarray) -> np.ndarray:
    v = np.clip(np.asarray(v, dtype=np.float64), 0.0, 1.0)
    return np.where(v <= 0.0031308, v * 12.92, 1.055 * v ** (1 / 2.4) - 0.055)


def decode_lut(dtype: np.dtype) -> np.ndarray:
    """Linear value of every code of an 8- or 16-bit channel (float32)."""
    top = 65535 if np.dtype(dtype) == np.uint16 else 255
    return srgb_to_linear(np.arange(top + 1) / top).astype(np.float32)


_ENCODE_CACHE: dict[tuple[int, int], np.ndarray] = {}


def encode_lut(top: int, bits: int = _ENCODE_BITS) -> np.ndarray:
    """Integer code (0..top) for each of 2**bits evenly spaced linear values (index = rint(linear · (2**bits − 1)))."""
    if (top, bits) not in _ENCODE_CACHE:
        grid = np.linspace(0.0, 1.0, 1 << bits)
        codes = np.rint(linear_to_srgb(grid) * top)
        _ENCODE_CACHE[(top, bits)] = codes.astype(np.uint16 if top > 255 else np.uint8)
    return _ENCODE_CACHE[(top, bits)]


def f_lab(t: np.ndarray) -> np.ndarray:
    return np.where(t > _EPS, np.cbrt(t), (_KAPPA * t + 16) / 116)


def f_lab_inverse(f: np.ndarray) -> np.ndarray:
    return np.where(f**3 > _EPS, f**3, (116 * f - 16) / _KAPPA)


def luminance(rgb: np.ndarray) -> np.ndarray:
    """Relative luminance Y (0..1, float32) of an 8/16-bit RGB image, through a decode look-up table."""
    lut = decode_lut(rgb.dtype)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    if np.array_equal(r, g) and np.array_equal(g, b):
        return lut[r]
    w = LUMA_WEIGHTS.astype(np.float32)
    return lut[r] * w[0] + lut[g] * w[1] + lut[b] * w[2]


def lightness(y: np.ndarray) -> np.ndarray:
    """L* (0..100) from luminance Y."""
    return (116 * f_lab(y) - 16).astype(np.float32)


def luminance_from_lightness(lightness_: np.ndarray | float) -> np.ndarray:
    return f_lab_inverse((np.asarray(lightness_, dtype=np.float64) + 16) / 116).astype(np.float32)


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """H×W×3 uint8/uint16 sRGB (or float 0..1) → float32 L*a*b*."""
    if rgb.dtype in (np.uint8, np.uint16):
        lin = decode_lut(rgb.dtype)[rgb[..., :3]]
    else:
        lin = srgb_to_linear(rgb[..., :3])
    xyz = lin @ M_RGB2XYZ.T.astype(np.float32) / WHITE.astype(np.float32)
    f = f_lab(xyz)
    out = np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)
    return out.astype(np.float32)


def chroma_ratio(lightness_: np.ndarray, ab: np.ndarray) -> np.ndarray:
    """Working-size L* (H×W) + a*b* (H×W×2) → H×W×3 float32 ratio c = linear RGB / Y, with luminance(c) = 1.

    The colour is shrunk toward grey per pixel until no channel is negative; shrinking along the offset from grey
    keeps luminance(c) = 1 (the offset has zero luminance).
    """
    fy = (lightness_.astype(np.float64) + 16) / 116
    y = f_lab_inverse(fy)
    x = f_lab_inverse(fy + ab[..., 0] / 500) * WHITE[0]
    z = f_lab_inverse(fy - ab[..., 1] / 200) * WHITE[2]
    rgb = np.stack([x, y, z], axis=-1) @ M_XYZ2RGB.T
    grey = np.maximum(y, 1e-6)[..., None]
    ratio = rgb / grey
    offset = ratio - 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        limit = np.where(offset < 0, 1.0 / -offset, np.inf).min(axis=-1)
    ratio = 1.0 + offset * np.clip(limit, 0.0, 1.0)[..., None]
    ratio[y < 1e-6] = 1.0
    return ratio.astype(np.float32)


def compose(y: np.ndarray, ratio: np.ndarray, top: int, colour_weight: np.ndarray | None = None) -> np.ndarray:
    """Full-size luminance Y (H×W) × colour ratio (H×W×3, luminance 1) → H×W×3 integer sRGB, codes 0..top.

    `ratio` is used as scratch space (overwritten). colour_weight (H×W, 0..1) blends each pixel's ratio toward grey
    (1, 1, 1). Y is kept: where a channel would pass 1, the colour is shrunk toward grey (which keeps luminance) until
    it fits. A ratio of (1, 1, 1) gives back grey pixels bit for bit.
    """
    out = ratio  # cv2 for the 12 MP × 3 elementwise passes: multi-threaded SIMD, ~3× numpy's
    if colour_weight is None:
        cv2.multiply(out, cv2.merge([y, y, y]), dst=out)
    else:  # y·(1 + w·(r − 1)) = (y·w)·r + y·(1 − w)
        yw = y * colour_weight
        cv2.multiply(out, cv2.merge([yw, yw, yw]), dst=out)
        base = y - yw
        cv2.add(out, cv2.merge([base, base, base]), dst=out)
    over = cv2.reduce(out.reshape(-1, 3), 1, cv2.REDUCE_MAX).reshape(y.shape) > 1.0
    if over.any():  # usually a few bright, saturated pixels: fix only those
        yo, oo = y[over][:, None], out[over]
        ro = oo / np.maximum(yo, 1e-12)
        excess = yo * (ro.max(axis=-1, keepdims=True) - 1.0)
        t = np.clip((1.0 - yo) / np.maximum(excess, 1e-12), 0.0, 1.0)
        out[over] = yo * (1.0 + t * (ro - 1.0))
    np.clip(out, 0.0, 1.0, out=out)
    bits = 16 if top <= 255 else _ENCODE_BITS
    out *= np.float32((1 << bits) - 1)
    out += np.float32(0.5)  # + truncation = rounding (all values are ≥ 0)
    index = out.astype(np.uint16 if bits <= 16 else np.uint32)
    return encode_lut(top, bits)[index]
