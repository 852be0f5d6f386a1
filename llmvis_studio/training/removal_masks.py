"""Object-shaped holes and the scores of a fill, shared by benchmarks/object_removal.py and the tests (numpy +
OpenCV only, like masks.py).

Masks: `blob` (a smooth random star-shaped outline) and `silhouette` (a standing figure: head, torso, arms, legs,
randomly posed), scaled so the hole covers the asked fraction of the image.

Scores (8-bit RGB output vs the original photo):
- hole PSNR over the RGB values of hole pixels;
- texture ratio: mean gradient magnitude (Sobel on grey) inside the hole (its 2-px edge band excluded) divided by
  the mean in a ring around it (RING px wide, starting 2 px out);
- seam ratio: median gradient magnitude on the band straddling the hole's edge (2 px each side) divided by the ring's
  median; for reference the same ratio is computed on the original photo (a seam-free fill would score about that).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

RING = 16


def _blob(h: int, w: int, rng: np.random.Generator, scale: float) -> np.ndarray:
    cy, cx = rng.uniform(0.3, 0.7) * h, rng.uniform(0.3, 0.7) * w
    theta = np.linspace(0, 2 * math.pi, 180, endpoint=False)
    radius = np.ones_like(theta)
    for k in range(2, 6):
        radius += rng.uniform(0, 0.35 / k * 2) * np.cos(k * theta + rng.uniform(0, 2 * math.pi))
    aspect = rng.uniform(0.6, 1.6)
    pts = np.stack([cx + scale * radius * np.cos(theta) * aspect, cy + scale * radius * np.sin(theta) / aspect], 1)
    mask = np.zeros((h, w), np.uint8)
    cv2.fillPoly(mask, [np.round(pts).astype(np.int32)], 255)
    return mask


def _silhouette(h: int, w: int, rng: np.random.Generator, scale: float) -> np.ndarray:
    """A person-like figure `scale` px from hips to shoulders."""
    mask = np.zeros((h, w), np.uint8)
    cx, cy = rng.uniform(0.35, 0.65) * w, rng.uniform(0.4, 0.6) * h
    s = scale

    def p(x: float, y: float) -> tuple[int, int]:
        return int(round(cx + x * s)), int(round(cy + y * s))

    shoulder, hip = (0, -0.5), (0, 0.5)
    cv2.ellipse(mask, p(0, -0.95), (max(1, int(0.22 * s)), max(1, int(0.27 * s))), 0, 0, 360, 255, -1)
    cv2.line(mask, p(*shoulder), p(*hip), 255, max(2, int(0.55 * s)))
    for side in (-1, 1):
        hand = (side * rng.uniform(0.3, 0.9), rng.uniform(0.0, 0.6))
        elbow = (side * rng.uniform(0.3, 0.5), rng.uniform(-0.3, 0.1))
        cv2.line(mask, p(side * 0.25, -0.4), p(*elbow), 255, max(2, int(0.16 * s)))
        cv2.line(mask, p(*elbow), p(*hand), 255, max(2, int(0.14 * s)))
        knee = (side * rng.uniform(0.1, 0.35), 1.1)
        foot = (side * rng.uniform(0.1, 0.5), 1.75)
        cv2.line(mask, p(side * 0.15, 0.5), p(*knee), 255, max(2, int(0.22 * s)))
        cv2.line(mask, p(*knee), p(*foot), 255, max(2, int(0.18 * s)))
    return mask


SHAPES = {"blob": _blob, "silhouette": _silhouette}


def object_mask(kind: str, h: int, w: int, fraction: float, seed: int) -> np.ndarray:
    """H×W uint8 (255 = hole) of the given kind covering about `fraction` of the image."""
    draw = SHAPES[kind]
    scale = 0.2 * min(h, w)
    mask = draw(h, w, np.random.default_rng(seed), scale)
    for _ in range(6):  # the same random shape (same seed), rescaled until its area fits
        area = max(float((mask > 0).mean()), 1e-6)
        scale *= math.sqrt(fraction / area)
        mask = draw(h, w, np.random.default_rng(seed), scale)
    return mask


def _gradient(image: np.ndarray) -> np.ndarray:
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    gx = cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3)
    return np.sqrt(gx * gx + gy * gy)


def _bands(hole: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    h8 = hole.astype(np.uint8)
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    inner = cv2.erode(h8, k) > 0
    near = cv2.dilate(h8, k) > 0
    ring = (cv2.dilate(h8, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * RING + 5,) * 2)) > 0) & ~near
    seam = near & ~inner
    return inner, ring, seam


def scores(out: np.ndarray, truth: np.ndarray, hole: np.ndarray) -> dict[str, float]:
    d = out[hole].astype(np.float64) - truth[hole].astype(np.float64)
    psnr = 10 * math.log10(255.0**2 / max(float(np.mean(d**2)), 1e-12))
    inner, ring, seam = _bands(hole)
    g = _gradient(out)
    g_truth = _gradient(truth)
    ring_mean = max(float(g[ring].mean()), 1e-6)
    return {
        "psnr": psnr,
        "texture": float(g[inner].mean()) / ring_mean,
        "seam": float(np.median(g[seam])) / max(float(np.median(g[ring])), 1e-6),
        "seam_original": float(np.median(g_truth[seam])) / max(float(np.median(g_truth[ring])), 1e-6),
    }
