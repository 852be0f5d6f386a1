"""Image quality metrics shared by training, the benchmarks and the tests (numpy only: no torch, no Qt).

PSNR on the Y channel follows the super-resolution papers (BT.601 luma on the 16–235 scale, border shaved by the
scale), so our figures sit in the same table as theirs (DESIGN §8).
"""

from __future__ import annotations

import math

import numpy as np

MSE_FLOOR = 1e-12  # identical images: a large finite PSNR instead of a division by zero


def psnr_from_mse(mse: float, peak: float = 255.0) -> float:
    return 10 * math.log10(peak**2 / max(float(mse), MSE_FLOOR))


def psnr(a: np.ndarray, b: np.ndarray, peak: float = 255.0) -> float:
    """PSNR over all values of two arrays of the same shape, on the scale of `peak` (255 for 8-bit, 1 for 0..1)."""
    return psnr_from_mse(float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)), peak)


def y_channel(image: np.ndarray) -> np.ndarray:
    """BT.601 luma on the 16–235 scale (float64) of an RGB image: uint8, uint16, or float in 0..1."""
    rgb = image[..., :3].astype(np.float64)
    if image.dtype == np.uint8:
        rgb /= 255.0
    elif image.dtype == np.uint16:
        rgb /= 65535.0
    return 16.0 + 65.481 * rgb[..., 0] + 128.553 * rgb[..., 1] + 24.966 * rgb[..., 2]


def shaved(image: np.ndarray, shave: int) -> np.ndarray:
    return image[shave:-shave, shave:-shave] if shave > 0 else image


def psnr_y(a: np.ndarray, b: np.ndarray, shave: int = 0) -> float:
    """PSNR on the Y channel with `shave` border pixels left out (the SR protocol: shave = the scale)."""
    return psnr(shaved(y_channel(a), shave), shaved(y_channel(b), shave))


def hole_psnr(out: np.ndarray, truth: np.ndarray, hole: np.ndarray) -> float:
    """PSNR over the RGB values inside `hole` only (uint8 arrays, or 0..1 floats); an empty hole scores the floor."""
    peak = 255.0 if truth.dtype == np.uint8 else 1.0
    inside = hole > 0
    d = out.astype(np.float64)[inside] - truth.astype(np.float64)[inside]
    return psnr_from_mse(float(np.mean(d**2)) if d.size else 0.0, peak)


def hole_ssim(out: np.ndarray, truth: np.ndarray, hole: np.ndarray) -> float:
    """Mean SSIM (scikit-image, 8-bit RGB) over the hole's pixels."""
    from skimage.metrics import structural_similarity

    _, ssim_map = structural_similarity(truth, out, channel_axis=2, data_range=255, full=True)
    return float(ssim_map[hole > 0].mean())


def colourfulness(rgb_u8: np.ndarray) -> float:
    """Hasler & Süsstrunk 2003 colourfulness M (0 = grey; ~33 'moderately', ~59 'quite', ~82 'highly' colourful)."""
    r, g, b = (rgb_u8[..., i].astype(np.float64) for i in range(3))
    rg, yb = r - g, 0.5 * (r + g) - b
    return float(math.hypot(rg.std(), yb.std()) + 0.3 * math.hypot(rg.mean(), yb.mean()))


# ------------------------------------------------------------------- colourize evaluation inputs (tune, bench, tests)
def grey_of(rgb: np.ndarray) -> np.ndarray:
    """Chroma removed, CIE luminance kept: the grey a black-and-white print of this photo would have (8 or 16 bit)."""
    from . import lab

    y = lab.luminance(rgb)
    return lab.compose(y, np.ones(y.shape + (3,), np.float32), 65535 if rgb.dtype == np.uint16 else 255)


def dot_hints(original: np.ndarray, count: int, seed: int = 3) -> np.ndarray:
    """RGBA uint8 hint layer: `count` 3×3 dots at random places, each the mean colour of the original under it."""
    rng = np.random.default_rng(seed)
    h, w = original.shape[:2]
    hints = np.zeros((h, w, 4), np.uint8)
    for _ in range(count):
        y, x = int(rng.integers(0, h - 2)), int(rng.integers(0, w - 2))
        hints[y : y + 3, x : x + 3, :3] = np.rint(original[y : y + 3, x : x + 3].reshape(-1, 3).mean(0))
        hints[y : y + 3, x : x + 3, 3] = 255
    return hints
