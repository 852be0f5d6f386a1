"""Measures for style transfer on photos (benchmarks/style_detail.py and the stylize tests); numpy + OpenCV only.

- detail_ratio: high-frequency energy of the output's luminance (mean squared difference from its Gaussian
  σ = 1.5 px blur) / the same of the input. 1 = as much fine detail as the photo; the old 1024 px pipeline
  upsampled to 2048 px lost most of it.
- structure: correlation of the output's luminance gradient magnitude with the input's (Sobel, after a σ = 1 px
  blur): are the photo's edges where they were?
- colour_shift: mean CIE76 ΔE between input and output after a σ = 4 px blur (colour and light, not texture).
- seam_ratio: mean luminance gradient across tile cut lines (±2 px) / the same in the bands 8-40 px beside them.
  A tone step at a tile border shows as > 1; 1.0 means the borders look like anywhere else.
- tone_step: mean ΔE between the tiled output and a one-piece run of the same network, after a σ = 16 px blur,
  on the 128 px bands around the cut lines: how far the tiles' tone strays where they meet.
"""

from __future__ import annotations

import cv2
import numpy as np

LUMA = np.array([0.299, 0.587, 0.114], np.float32)


def as_float(rgb: np.ndarray) -> np.ndarray:
    return rgb.astype(np.float32) / (255.0 if rgb.dtype == np.uint8 else 1.0)


def luminance(rgb: np.ndarray) -> np.ndarray:
    return as_float(rgb)[..., :3] @ LUMA


def high_frequency_energy(rgb: np.ndarray, sigma: float = 1.5) -> float:
    y = luminance(rgb)
    return float(np.mean((y - cv2.GaussianBlur(y, (0, 0), sigma)) ** 2))


def detail_ratio(output: np.ndarray, original: np.ndarray) -> float:
    return high_frequency_energy(output) / max(1e-12, high_frequency_energy(original))


def gradient_magnitude(rgb: np.ndarray) -> np.ndarray:
    y = cv2.GaussianBlur(luminance(rgb), (0, 0), 1.0)
    return np.hypot(cv2.Sobel(y, cv2.CV_32F, 1, 0), cv2.Sobel(y, cv2.CV_32F, 0, 1))


def structure(output: np.ndarray, original: np.ndarray) -> float:
    return float(np.corrcoef(gradient_magnitude(output).ravel(), gradient_magnitude(original).ravel())[0, 1])


def lab(rgb: np.ndarray, sigma: float = 0.0) -> np.ndarray:
    image = as_float(rgb)[..., :3]
    if sigma > 0:
        image = cv2.GaussianBlur(image, (0, 0), sigma)
    return cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2Lab)


def colour_shift(output: np.ndarray, original: np.ndarray, sigma: float = 4.0) -> float:
    return float(np.linalg.norm(lab(output, sigma) - lab(original, sigma), axis=2).mean())


def _line_bands(length: int, cuts: list[int], near: int, far: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    on = np.zeros(length, bool)
    beside = np.zeros(length, bool)
    for cut in cuts:
        on[max(0, cut - near) : cut + near] = True
        for sign in (-1, 1):
            a, b = sorted((cut + sign * far[0], cut + sign * far[1]))
            beside[max(0, a) : max(0, b)] = True
    return on, beside & ~on


def seam_ratio(output: np.ndarray, x_cuts: list[int], y_cuts: list[int]) -> float:
    """Gradient across the cut lines (x cuts: horizontal gradient) vs beside them; 1.0 = no seam."""
    y = luminance(output)
    gx = np.abs(np.diff(y, axis=1, append=y[:, -1:]))
    gy = np.abs(np.diff(y, axis=0, append=y[-1:]))
    on_sum = beside_sum = 0.0
    on_n = beside_n = 0
    for gradient, cuts, axis in ((gx, x_cuts, 1), (gy, y_cuts, 0)):
        if not cuts:
            continue
        on, beside = _line_bands(gradient.shape[axis], cuts, 2, (8, 40))
        g = gradient if axis == 1 else gradient.T
        on_sum += float(g[:, on].sum())
        on_n += int(g[:, on].size)
        beside_sum += float(g[:, beside].sum())
        beside_n += int(g[:, beside].size)
    if on_n == 0 or beside_n == 0:
        return 1.0
    return (on_sum / on_n) / max(1e-12, beside_sum / beside_n)


def tone_step(tiled: np.ndarray, one_piece: np.ndarray, x_cuts: list[int], y_cuts: list[int]) -> float:
    """Mean coarse ΔE between a tiled and a one-piece run on the 128 px bands around the cut lines."""
    height, width = tiled.shape[:2]
    band = np.zeros((height, width), bool)
    for cut in x_cuts:
        band[:, max(0, cut - 64) : cut + 64] = True
    for cut in y_cuts:
        band[max(0, cut - 64) : cut + 64] = True
    if not band.any():
        return 0.0
    delta = np.linalg.norm(lab(tiled, 16.0) - lab(one_piece, 16.0), axis=2)
    return float(delta[band].mean())


def one_pass_reference(infer, rgb: np.ndarray, working_size: int = 1024, detail: float = 0.7) -> np.ndarray:
    """The stylize pipeline before issue 15, for comparison: the whole picture through the network at
    `working_size`, upsampled (cubic), plus `detail` × the luminance the downscale lost; the style's colours.
    infer: H×W×3 float piece → stylised piece (style_tiles.network_on). Returns uint8 RGB."""
    rgb = as_float(rgb)[..., :3]
    height, width = rgb.shape[:2]
    scale = min(1.0, working_size / max(height, width))
    small_h, small_w = max(1, round(height * scale)), max(1, round(width * scale))
    small = cv2.resize(rgb, (small_w, small_h), interpolation=cv2.INTER_AREA)
    full = cv2.resize(infer(small), (width, height), interpolation=cv2.INTER_CUBIC)
    base = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
    full += (detail * ((rgb - base) @ LUMA))[..., None]
    return (np.clip(full, 0, 1) * 255 + 0.5).astype(np.uint8)
