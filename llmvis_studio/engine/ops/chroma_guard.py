"""Keep a learned fill's colour within what the hole's surroundings allow (CIE L*a*b*, lightness untouched).

Why: the learned correction is trained for PSNR, which barely punishes a chroma error on a small area; on a red barn
door it painted blue and orange blotches, and on a sepia print it can add a tint the print never had. Two cases:

Each connected hole is judged by a ring of known pixels around it (wider for thicker holes):
- Toned ring (greyscale, sepia, cyanotype, a grey sky): its chroma is explained by its lightness alone (a* and b*
  fitted as straight lines of L*, small residual). The fill then takes its chroma from that fit at its own lightness:
  it keeps the tone exactly.
- Colour ring: the ring's chroma is the allowed set (2-unit
  a*b* bins seen at least a few times, so a lone noisy pixel allows nothing). A fill pixel within RADIUS of that set
  keeps its chroma; beyond it, it is pulled onto the set's edge, and the further out it was, the more its chroma is
  replaced by the classical fill's (which is a diffusion of the hole's own border, so it is locally plausible).

Only hole pixels are changed; the caller pastes hole pixels only, so the outside stays bit-exact.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

TONED_RMS = 2.5  # a*b* residual (Lab units) below which the content counts as toned / monochrome
BIN = 2.0  # a*b* bin size of the allowed chroma set
RADIUS = 4.0  # how far (Lab units) a fill's chroma may lie from the nearest allowed chroma
MIN_SHARE = 0.002  # a bin must hold this share of the ring (and ≥ 2 pixels) to count
MAX_SUPPORT = 1024  # most frequent bins kept
MAX_RING = 24  # px: widest ring
MIN_RING = 16  # ring pixels needed to judge a cell
CELL = 24  # px: hole cells judged by their own neighbourhood
REACH_EXTRA = 8  # px of ring beyond the nearest edge that a cell's neighbourhood takes in


def to_lab(rgb: np.ndarray) -> np.ndarray:
    """float32 RGB 0..1 (any shape …×3) → L*a*b* float32."""
    flat = np.ascontiguousarray(rgb.reshape(-1, 1, 3), dtype=np.float32)
    return cv2.cvtColor(np.clip(flat, 0.0, 1.0), cv2.COLOR_RGB2Lab).reshape(rgb.shape)


def to_rgb(lab: np.ndarray) -> np.ndarray:
    flat = np.ascontiguousarray(lab.reshape(-1, 1, 3), dtype=np.float32)
    return np.clip(cv2.cvtColor(flat, cv2.COLOR_Lab2RGB), 0.0, 1.0).reshape(lab.shape)


def tone_fit(lab: np.ndarray) -> tuple[np.ndarray, float]:
    """Least-squares a*, b* = c0 + c1·L* over N×3 samples → (2×2 coefficients, RMS residual of the ab vector)."""
    design = np.stack([np.ones(len(lab)), lab[:, 0]], axis=1).astype(np.float64)
    coef, *_ = np.linalg.lstsq(design, lab[:, 1:].astype(np.float64), rcond=None)
    residual = lab[:, 1:] - design @ coef
    return coef, float(math.sqrt(np.mean(np.sum(residual**2, axis=1))))


def allowed_chroma(ring_ab: np.ndarray) -> np.ndarray:
    """The a*b* bin centres (S×2) seen often enough in the ring."""
    q = np.round(ring_ab / BIN).astype(np.int32)
    bins, counts = np.unique(q, axis=0, return_counts=True)
    keep = counts >= max(2, math.ceil(MIN_SHARE * len(ring_ab)))
    bins, counts = bins[keep], counts[keep]
    if len(bins) > MAX_SUPPORT:
        bins = bins[np.argsort(-counts, kind="stable")[:MAX_SUPPORT]]
    return bins.astype(np.float32) * BIN


def nearest(ab: np.ndarray, support: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each of N a*b* points, the nearest support point and its distance (chunked: N×S stays small)."""
    near = np.empty_like(ab)
    dist = np.empty(len(ab), np.float32)
    chunk = max(1, 4_000_000 // max(1, len(support)))
    for s in range(0, len(ab), chunk):
        d2 = ((ab[s : s + chunk, None, :] - support[None]) ** 2).sum(axis=2)
        j = d2.argmin(axis=1)
        near[s : s + chunk] = support[j]
        dist[s : s + chunk] = np.sqrt(d2[np.arange(len(j)), j])
    return near, dist


def project(ab: np.ndarray, reference_ab: np.ndarray, support: np.ndarray) -> np.ndarray:
    """Chroma within RADIUS of the support stays; beyond, it goes to the edge of the support's RADIUS neighbourhood,
    blended toward `reference_ab` (the classical fill) as the excess grows from 0 to RADIUS."""
    near, dist = nearest(ab, support)
    over = dist > RADIUS
    if not over.any():
        return ab
    out = ab.copy()
    d = dist[over][:, None]
    edge = near[over] + (ab[over] - near[over]) * (RADIUS / d)
    t = np.clip((d - RADIUS) / RADIUS, 0.0, 1.0)
    out[over] = (1.0 - t) * edge + t * reference_ab[over]
    return out


def ring_of(component: np.ndarray, known: np.ndarray) -> tuple[np.ndarray, int]:
    """Known pixels within a band around one hole component (the band widens with the hole's thickness), and how
    far a hole pixel can lie from that band (so a neighbourhood that reaches it is known)."""
    inside = cv2.distanceTransform(np.pad(component.astype(np.uint8), 1), cv2.DIST_L2, 3)[1:-1, 1:-1]
    half = float(inside.max())
    width = int(np.clip(round(1.5 * half), 4, MAX_RING))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * width + 1, 2 * width + 1))
    return (cv2.dilate(component.astype(np.uint8), kernel) > 0) & known, int(math.ceil(half)) + REACH_EXTRA


def guard(out: np.ndarray, reference: np.ndarray, image: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """out: the fill (H×W×3 float 0..1, hole pixels filled); reference: the classical fill; image: the crop (float);
    hole: H×W bool. Returns a copy whose hole pixels have guarded chroma.

    Each connected hole is cut into CELL-sized cells; a cell is judged by the ring pixels near it (within reach of
    its own hole pixels), so a long stroke across a red wall, a green tree and the sky allows green only near the
    tree, not on the open wall."""
    known = ~hole
    if not hole.any() or not known.any():
        return out
    lab_image = to_lab(image)
    lab_out = to_lab(out[hole])
    ref_ab = to_lab(reference[hole])[:, 1:]
    index = np.full(hole.shape, -1, np.int64)
    index[hole] = np.arange(int(hole.sum()))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(hole.astype(np.uint8), connectivity=8)
    h, w = hole.shape
    pad = MAX_RING + 2
    for i in range(1, count):
        x, y, bw, bh = (int(v) for v in stats[i, :4])
        ys, xs = slice(max(0, y - pad), min(h, y + bh + pad)), slice(max(0, x - pad), min(w, x + bw + pad))
        component = labels[ys, xs] == i
        ring, reach = ring_of(component, known[ys, xs])
        lab_here, index_here = lab_image[ys, xs], index[ys, xs]
        whole_ring = None
        for cy in range(0, component.shape[0], CELL):
            for cx in range(0, component.shape[1], CELL):
                cell = component[cy : cy + CELL, cx : cx + CELL]
                if not cell.any():
                    continue
                window = (slice(max(0, cy - reach), cy + CELL + reach), slice(max(0, cx - reach), cx + CELL + reach))
                near = ring[window]
                if near.sum() >= MIN_RING:
                    ring_lab = lab_here[window][near]
                else:
                    whole_ring = lab_here[ring] if whole_ring is None else whole_ring
                    ring_lab = whole_ring
                if len(ring_lab) < MIN_RING:
                    continue
                rows = index_here[cy : cy + CELL, cx : cx + CELL][cell]
                lab_out[rows, 1:] = guarded_chroma(lab_out[rows], ref_ab[rows], ring_lab)
    result = out.copy()
    result[hole] = to_rgb(lab_out)
    return result


def guarded_chroma(lab: np.ndarray, reference_ab: np.ndarray, ring_lab: np.ndarray) -> np.ndarray:
    """N×2 a*b* for N fill pixels (N×3 L*a*b*) given the ring's samples: the ring's tone at the fill's lightness
    when the ring is toned, else the chroma projected onto the ring's allowed set."""
    coef, rms = tone_fit(ring_lab)
    if rms < TONED_RMS:
        lightness = np.clip(lab[:, 0], ring_lab[:, 0].min(), ring_lab[:, 0].max())
        return (np.stack([np.ones(len(lab)), lightness], axis=1) @ coef).astype(np.float32)
    support = allowed_chroma(ring_lab[:, 1:])
    return project(lab[:, 1:], reference_ab, support) if len(support) else lab[:, 1:]
