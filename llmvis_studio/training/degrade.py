"""Realistic degradations for the scan / photo upscaler: the Real-ESRGAN recipe (Wang et al. 2021, "Training
Real-World Blind Super-Resolution with Pure Synthetic Data"), second order, plus what scans of prints add.

    hr (uint8 H×W×3) → [halftone print] → blur → resize → noise → JPEG → [blur → resize → noise] → resize to H/s × W/s
    → JPEG → lr (float32 0..1, 8-bit steps)

- blur: anisotropic Gaussian kernels (rotated), sometimes a 1-D box along one axis: a scanner's softness or a little
  camera shake; applied at the working resolution, like Real-ESRGAN.
- resize: down (most often), up or keep, with area / bilinear / bicubic picked at random.
- noise: Gaussian (colour or grey: film grain, sensor noise) or Poisson (shot noise).
- JPEG: quality 30–95 each time (cv2's encoder, the libjpeg most scanners and phones write with).
- halftone: a printed photo (newspaper, magazine, book) scanned — a rotated dot screen per ink (C, M, Y, K at the
  classic 15°/75°/0°/45°) or one black screen, before any blur.
A share of samples (`clean_share`) is the benchmark's plain bicubic downscale, so the model stays faithful on clean
input (the issue requires Set5 ×4 ≥ bicubic + 1 dB). Every random choice comes from the caller's numpy Generator, so a
seed reproduces a sample.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from PIL import Image

from llmvis_studio.training.data import bicubic_down

RESIZE_MODES = (cv2.INTER_AREA, cv2.INTER_LINEAR, cv2.INTER_CUBIC)
SCREEN_ANGLES = (15.0, 75.0, 0.0, 45.0)  # C, M, Y, K


def gaussian_kernel(rng: np.random.Generator, sigma_range: tuple[float, float], size: int = 0) -> np.ndarray:
    """A normalised, rotated anisotropic Gaussian kernel (odd size, 7..21)."""
    sx, sy = (float(rng.uniform(*sigma_range)) for _ in range(2))
    if rng.random() < 0.5:
        sy = sx  # isotropic half the time
    theta = float(rng.uniform(0, math.pi))
    size = size or int(np.clip(2 * math.ceil(3 * max(sx, sy)) + 1, 7, 21))
    r = size // 2
    y, x = np.mgrid[-r : r + 1, -r : r + 1].astype(np.float64)
    c, s = math.cos(theta), math.sin(theta)
    u, v = c * x + s * y, -s * x + c * y
    k = np.exp(-0.5 * ((u / sx) ** 2 + (v / sy) ** 2))
    return (k / k.sum()).astype(np.float32)


def blur(rng: np.random.Generator, img: np.ndarray, sigma_range: tuple[float, float]) -> np.ndarray:
    out = cv2.filter2D(img, -1, gaussian_kernel(rng, sigma_range), borderType=cv2.BORDER_REFLECT)
    if rng.random() < 0.25:  # scanner softness / slight shake: a short box along one axis
        n = int(rng.integers(2, 5))
        k = (n, 1) if rng.random() < 0.5 else (1, n)
        out = cv2.blur(out, k, borderType=cv2.BORDER_REFLECT)
    return out


def resize(rng: np.random.Generator, img: np.ndarray, factor: float) -> np.ndarray:
    h, w = img.shape[:2]
    size = (max(4, round(w * factor)), max(4, round(h * factor)))
    return cv2.resize(img, size, interpolation=RESIZE_MODES[int(rng.integers(len(RESIZE_MODES)))])


def random_factor(rng: np.random.Generator, up: float, down: float) -> float:
    """Real-ESRGAN's resize choice: up 20 %, down 70 %, keep 10 %."""
    r = rng.random()
    if r < 0.2:
        return float(rng.uniform(1.0, up))
    if r < 0.9:
        return float(rng.uniform(down, 1.0))
    return 1.0


def add_noise(
    rng: np.random.Generator, img: np.ndarray, sigma_range: tuple[float, float], poisson_range: tuple[float, float]
) -> np.ndarray:
    grey = rng.random() < 0.4
    if rng.random() < 0.5:
        sigma = float(rng.uniform(*sigma_range)) / 255.0
        shape = img.shape[:2] + ((1,) if grey else (3,))
        return img + rng.standard_normal(shape, dtype=np.float32) * sigma
    scale = float(rng.uniform(*poisson_range))  # Real-ESRGAN's Poisson noise (256 levels), scaled
    base = img.mean(axis=2, keepdims=True) if grey else img
    # Poisson(256·x)/256 − x ≈ N(0, x/256) at these counts; the normal draw is ~10× faster than rng.poisson
    spread = np.sqrt(np.clip(base, 0.0, 1.0) / 256.0)
    return img + rng.standard_normal(base.shape, dtype=np.float32) * spread * scale


def jpeg(rng: np.random.Generator, img: np.ndarray, quality_range: tuple[int, int] = (30, 95)) -> np.ndarray:
    u8 = np.clip(np.rint(img * 255.0), 0, 255).astype(np.uint8)
    q = int(rng.integers(quality_range[0], quality_range[1] + 1))
    _, buf = cv2.imencode(".jpg", cv2.cvtColor(u8, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, q])
    return cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0


def halftone(rng: np.random.Generator, img: np.ndarray) -> np.ndarray:
    """A printed-and-scanned look: per-ink rotated dot screens (or one black screen), cell 3–6 px, soft dots."""
    h, w = img.shape[:2]
    cell = float(rng.uniform(3.0, 6.0))
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)

    def screen(coverage: np.ndarray, angle: float) -> np.ndarray:
        a = math.radians(angle)
        u = (x * math.cos(a) + y * math.sin(a)) / cell
        v = (-x * math.sin(a) + y * math.cos(a)) / cell
        # distance to the nearest dot centre (0 at the centre, ~0.7 at the cell corner) vs the dot's radius
        d = np.hypot(u - np.round(u), v - np.round(v))
        radius = np.sqrt(np.clip(coverage, 0, 1) / math.pi)
        return np.clip((radius - d) * cell + 0.5, 0.0, 1.0)  # anti-aliased dot edge, about one pixel wide

    if rng.random() < 0.35:  # black-and-white print
        grey = img @ np.array([0.299, 0.587, 0.114], np.float32)
        ink = screen(1.0 - grey, SCREEN_ANGLES[3])
        return np.repeat((1.0 - ink)[..., None], 3, axis=2)
    cmy = 1.0 - img
    k = cmy.min(axis=2) * float(rng.uniform(0.3, 0.8))  # some grey component replaced by black ink
    inks = [screen((cmy[..., i] - k) / np.maximum(1.0 - k, 1e-3), SCREEN_ANGLES[i]) for i in range(3)]
    black = screen(k, SCREEN_ANGLES[3])
    rgb = np.stack([1.0 - c for c in inks], axis=2) * (1.0 - black)[..., None]
    return rgb.astype(np.float32)


def degrade(
    rng: np.random.Generator, hr: np.ndarray, scale: int, clean_share: float = 0.25, halftone_share: float = 0.1
) -> np.ndarray:
    """hr uint8 H×W×3 (H, W multiples of scale) → lr float32 (H/s)×(W/s)×3 in 0..1, quantised to 8 bits."""
    h, w = hr.shape[:2]
    if rng.random() < clean_share:
        return bicubic_down(hr, scale).astype(np.float32) / 255.0
    x = hr.astype(np.float32) / 255.0
    if rng.random() < halftone_share:
        x = halftone(rng, x)
    # first order
    if rng.random() < 0.9:
        x = blur(rng, x, (0.2, 3.0))
    x = resize(rng, x, random_factor(rng, 1.5, 0.15))
    x = add_noise(rng, x, (1.0, 30.0), (0.05, 3.0))
    x = jpeg(rng, np.clip(x, 0, 1))
    # second order
    if rng.random() < 0.8:
        if rng.random() < 0.8:
            x = blur(rng, x, (0.2, 1.5))
        x = resize(rng, x, random_factor(rng, 1.2, 0.3))
        x = add_noise(rng, x, (1.0, 25.0), (0.05, 2.5))
    # to the target size, then the final JPEG (Real-ESRGAN also swaps these two at random)
    target = (w // scale, h // scale)
    if rng.random() < 0.5:
        x = cv2.resize(np.clip(x, 0, 1), target, interpolation=RESIZE_MODES[int(rng.integers(3))])
        x = jpeg(rng, x)
    else:
        x = jpeg(rng, np.clip(x, 0, 1))
        x = cv2.resize(x, target, interpolation=RESIZE_MODES[int(rng.integers(3))])
    return np.round(np.clip(x, 0.0, 1.0) * 255.0).astype(np.float32) / 255.0


def old_print(hr: np.ndarray, scale: int, seed: int = 0) -> np.ndarray:
    """A fixed, seeded 'old low-quality photo' for contact sheets: faded, soft, grainy, JPEG'd, then downscaled."""
    rng = np.random.default_rng(seed)
    x = hr.astype(np.float32) / 255.0
    x = 0.08 + 0.82 * x  # faded blacks and whites
    x = cv2.GaussianBlur(x, (0, 0), 1.2)
    x = x + rng.standard_normal(x.shape[:2] + (1,), dtype=np.float32) * 0.03
    x = cv2.resize(np.clip(x, 0, 1), (hr.shape[1] // scale, hr.shape[0] // scale), interpolation=cv2.INTER_AREA)
    return jpeg(np.random.default_rng(seed), x, (45, 45))


def preview(hr: np.ndarray, scale: int, seeds: int = 6) -> Image.Image:
    """A strip of degraded samples of one crop (nearest-upscaled back to the crop's size), for looking at."""
    tiles = [hr]
    for s in range(seeds):
        lr = degrade(np.random.default_rng(s), hr, scale, clean_share=0.0, halftone_share=0.3 if s % 3 == 0 else 0.0)
        tiles.append(cv2.resize(np.rint(lr * 255).astype(np.uint8), hr.shape[1::-1], interpolation=cv2.INTER_NEAREST))
    return Image.fromarray(np.concatenate(tiles, axis=1))
