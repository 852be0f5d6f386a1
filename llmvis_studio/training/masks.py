"""Synthetic holes and film defects, made on the fly (numpy + OpenCV only; no torch here, so the benchmark and the
tests can use the very same generators).

Inpainting holes (uint8 H×W, 255 = hole):
- thin scratches: 1–3 px polylines, long and nearly straight (film scratches),
- dust specks: small irregular blobs 1–7 px,
- hairs: thin curly curves,
- brush strokes: 9–21 px wide polylines with round caps (what a user paints),
- blobs: irregular filled shapes,
- crack networks: the branching emulsion cracks of old prints (print_damage.py), 1 px grown, as `restore` masks them.
`hole_mask` mixes them up to a target area (≤ ~30 %).

Defects for the scratch/dust detector (`add_defects`): the same shapes drawn INTO a clean photo as light or dark
marks with soft edges and partial opacity, plus creases (a light/dark line pair) — and film grain / mild noise over the
whole picture as a distractor that must not be detected. Returns the damaged image and the defect mask (only where
the mark visibly changed the photo).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from llmvis_studio.training import print_damage

KINDS = ("thin", "dust", "hair", "stroke", "blob", "crack")


def _polyline(rng: np.random.Generator, h: int, w: int, length: float, bend: float, steps: int) -> np.ndarray:
    x, y = rng.uniform(0, w), rng.uniform(0, h)
    angle = rng.uniform(0, 2 * math.pi)
    pts = [(x, y)]
    seg = length / steps
    for _ in range(steps):
        angle += rng.normal(0, bend)
        x += seg * math.cos(angle)
        y += seg * math.sin(angle)
        pts.append((x, y))
    return np.round(np.array(pts)).astype(np.int32).reshape(-1, 1, 2)


def draw_thin(rng: np.random.Generator, mask: np.ndarray, width: int | None = None) -> None:
    h, w = mask.shape
    t = int(width if width is not None else rng.integers(1, 4))
    length = rng.uniform(0.3, 1.2) * max(h, w)
    cv2.polylines(mask, [_polyline(rng, h, w, length, 0.04, 8)], False, 255, thickness=t, lineType=cv2.LINE_8)


def draw_hair(rng: np.random.Generator, mask: np.ndarray) -> None:
    h, w = mask.shape
    t = int(rng.integers(1, 3))
    length = rng.uniform(0.1, 0.4) * max(h, w)
    cv2.polylines(mask, [_polyline(rng, h, w, length, 0.5, 16)], False, 255, thickness=t, lineType=cv2.LINE_8)


def draw_dust(rng: np.random.Generator, mask: np.ndarray, count: int | None = None) -> None:
    h, w = mask.shape
    for _ in range(int(count if count is not None else rng.integers(3, 15))):
        cx, cy = int(rng.integers(0, w)), int(rng.integers(0, h))
        r = float(rng.uniform(0.5, 3.5))
        if r < 1.0:
            mask[cy, cx] = 255
            continue
        n = int(rng.integers(5, 9))
        ang = np.sort(rng.uniform(0, 2 * math.pi, n))
        rad = r * rng.uniform(0.6, 1.3, n)
        pts = np.stack([cx + rad * np.cos(ang), cy + rad * np.sin(ang)], 1)
        cv2.fillPoly(mask, [np.round(pts).astype(np.int32).reshape(-1, 1, 2)], 255)


def draw_stroke(rng: np.random.Generator, mask: np.ndarray, width: int | None = None) -> None:
    h, w = mask.shape
    t = int(width if width is not None else rng.integers(9, 22))
    length = rng.uniform(0.2, 0.7) * max(h, w)
    cv2.polylines(
        mask,
        [_polyline(rng, h, w, length, 0.35, int(rng.integers(2, 6)))],
        False,
        255,
        thickness=t,
        lineType=cv2.LINE_8,
    )


def draw_blob(rng: np.random.Generator, mask: np.ndarray) -> None:
    h, w = mask.shape
    cx, cy = rng.uniform(0, w), rng.uniform(0, h)
    r = rng.uniform(0.04, 0.14) * min(h, w)
    n = int(rng.integers(6, 12))
    ang = np.sort(rng.uniform(0, 2 * math.pi, n))
    rad = r * rng.uniform(0.5, 1.4, n)
    pts = np.stack([cx + rad * np.cos(ang), cy + rad * np.sin(ang)], 1)
    cv2.fillPoly(mask, [np.round(pts).astype(np.int32).reshape(-1, 1, 2)], 255)


def draw_crack(rng: np.random.Generator, mask: np.ndarray) -> None:
    """A crack network of an old print, grown by 1 px as restore grows the detector's marks (issue 12: a fill that
    only saw single scratches copies the unmarked crack fragments next to a dense network's holes inwards)."""
    h, w = mask.shape
    crack = print_damage.crack_alpha(rng, h, w) > 0.35
    grown = cv2.dilate(crack.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    mask[grown] = 255


_DRAW = {
    "thin": draw_thin,
    "dust": draw_dust,
    "hair": draw_hair,
    "stroke": draw_stroke,
    "blob": draw_blob,
    "crack": draw_crack,
}
# sampling weights of the kinds for training (strokes and thin scratches are what the benchmark measures); the shipped
# fill's first run was trained without cracks, `train_inpaint --holes with-cracks` adds them (tried in a photo-pack
# fine-tune that did not beat those weights: see its card)
TRAIN_WEIGHTS = {"thin": 0.25, "dust": 0.08, "hair": 0.07, "stroke": 0.5, "blob": 0.1}
WITH_CRACKS = {"thin": 0.25, "dust": 0.05, "hair": 0.05, "stroke": 0.45, "blob": 0.08, "crack": 0.12}


def hole_mask(
    rng: np.random.Generator, h: int, w: int, max_area: float = 0.3, kinds: dict[str, float] | None = None
) -> np.ndarray:
    """A training hole: one to a few shapes of randomly chosen kinds, area ≤ max_area (never empty)."""
    kinds = kinds or TRAIN_WEIGHTS
    names = list(kinds)
    p = np.array([kinds[k] for k in names], dtype=np.float64)
    p /= p.sum()
    target = rng.uniform(0.05, max_area)
    mask = np.zeros((h, w), np.uint8)
    for _ in range(8):
        kind = names[int(rng.choice(len(names), p=p))]
        trial = mask.copy()
        _DRAW[kind](rng, trial)
        if mask.any() and (trial > 0).mean() > max_area:
            break
        mask = trial
        if (mask > 0).mean() >= target:
            break
    if not mask.any():
        mask[h // 2, w // 2] = 255
    return mask


def thin_only_mask(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Isolated thin damage, as the benchmark's `thin` holes and a print's scratches are: 1–4 scratches 1–3 px wide,
    sometimes a hair or dust, with no area target (1–5 % of a 128 px crop). In hole_mask's mixes a scratch shares its
    crop with 5–30 % of strokes and blobs, whose pixels outweigh its own in a pooled loss."""
    mask = np.zeros((h, w), np.uint8)
    for _ in range(int(rng.integers(1, 5))):
        draw_thin(rng, mask)
    if rng.random() < 0.3:
        draw_hair(rng, mask)
    if rng.random() < 0.3:
        draw_dust(rng, mask)
    return mask


# `train_inpaint --holes`: default / with-cracks draw hole_mask's mixes; thin-focus makes half of the holes thin-only
HOLE_REGIMES = ("default", "with-cracks", "thin-focus")


def training_hole(rng: np.random.Generator, h: int, w: int, regime: str = "default") -> np.ndarray:
    if regime == "thin-focus" and rng.random() < 0.5:
        return thin_only_mask(rng, h, w)
    return hole_mask(rng, h, w, kinds=WITH_CRACKS if regime == "with-cracks" else TRAIN_WEIGHTS)


def benchmark_mask(kind: str, h: int, w: int, seed: int) -> np.ndarray:
    """The fixed, seeded masks of the benchmark: `thin` = 6 scratches 1–3 px; `stroke` = 4 brush strokes 9–21 px."""
    rng = np.random.default_rng(seed)
    mask = np.zeros((h, w), np.uint8)
    if kind == "thin":
        for _ in range(6):
            draw_thin(rng, mask)
    elif kind == "stroke":
        for _ in range(4):
            draw_stroke(rng, mask)
    else:
        raise ValueError(kind)
    return mask


# ----------------------------------------------------------------------------------------------------------------
# defects for the detector


def _paint(img: np.ndarray, shape: np.ndarray, rng: np.random.Generator, light: bool, strength: float) -> np.ndarray:
    """Blend a light or dark mark into float img (H×W×3, 0..1) along `shape` (uint8 mask) with soft edges."""
    a = shape.astype(np.float32) / 255.0
    if rng.random() < 0.6:
        a = cv2.GaussianBlur(a, (0, 0), float(rng.uniform(0.3, 0.8)))
        a = np.clip(a * 1.3, 0, 1)
    a = a * strength
    if light:
        target = rng.uniform(0.85, 1.0) * np.ones(3, np.float32)
    else:
        target = rng.uniform(0.0, 0.15) * np.ones(3, np.float32)
    if rng.random() < 0.2:  # slightly tinted (emulsion damage)
        target = np.clip(target + rng.normal(0, 0.05, 3).astype(np.float32), 0, 1)
    return img * (1 - a[..., None]) + target[None, None, :] * a[..., None]


def render_scratch(
    img: np.ndarray, rng: np.random.Generator, light: bool, strength: float, width: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """One thin scratch (1–3 px) drawn into float img; returns (img, its mask)."""
    shape = np.zeros(img.shape[:2], np.uint8)
    draw_thin(rng, shape, width)
    return _paint(img, shape, rng, light, strength), shape


def add_grain(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Film grain / sensor noise: a distractor, never part of the mask."""
    sigma = float(rng.uniform(0.005, 0.05))
    n = rng.standard_normal(img.shape[:2] + (1,)).astype(np.float32)
    if rng.random() < 0.5:
        n = cv2.GaussianBlur(n[..., 0], (0, 0), float(rng.uniform(0.5, 1.2)))[..., None] * 2.0
    n = n * sigma + rng.standard_normal(img.shape).astype(np.float32) * sigma * 0.3
    return img + n


def add_defects(rng: np.random.Generator, clean: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """uint8 H×W×3 clean crop → (damaged float32 H×W×3 in 0..1, uint8 mask 255 = defect)."""
    h, w = clean.shape[:2]
    img = clean.astype(np.float32) / 255.0
    mask = np.zeros((h, w), np.uint8)
    if rng.random() < 0.1:  # some crops stay clean (plus grain): the detector must say "nothing"
        n_marks = 0
    else:
        n_marks = int(rng.integers(1, 7))
    for _ in range(n_marks):
        r = rng.random()
        shape = np.zeros((h, w), np.uint8)
        if r < 0.45:
            draw_thin(rng, shape)
        elif r < 0.65:
            draw_dust(rng, shape, int(rng.integers(2, 10)))
        elif r < 0.85:
            draw_hair(rng, shape)
        else:  # crease: a line with a light and a dark side
            pts = _polyline(rng, h, w, rng.uniform(0.4, 1.2) * max(h, w), 0.08, 8)
            cv2.polylines(shape, [pts], False, 255, thickness=int(rng.integers(1, 3)))
            other = np.zeros_like(shape)
            cv2.polylines(other, [pts + np.array([[[1, 1]]], np.int32)], False, 255, thickness=1)
            img = _paint(img, other, rng, rng.random() < 0.5, float(rng.uniform(0.3, 0.8)))
            shape = np.maximum(shape, other)
        strength = float(rng.uniform(0.35, 1.0))
        img = _paint(img, shape, rng, bool(rng.random() < 0.5), strength)
        mask = np.maximum(mask, shape)
    mask = visible_part(mask, img, clean)
    if rng.random() < 0.7:
        img = add_grain(img, rng)
    img = np.clip(img, 0.0, 1.0)
    if rng.random() < 0.7:
        img = np.round(img * 255.0) / 255.0
    return img.astype(np.float32), mask


def visible_part(
    mask: np.ndarray, damaged: np.ndarray, clean_u8: np.ndarray, min_change: float = 6 / 255
) -> np.ndarray:
    """Keep only the mask pixels whose colour the defect really changed: a light scratch over white sky is invisible,
    and labelling it anyway teaches the detector to mark lines it cannot see (false positives elsewhere)."""
    change = np.abs(damaged - clean_u8.astype(np.float32) / 255.0).max(axis=2)
    return np.where(change >= min_change, mask, 0).astype(np.uint8)
