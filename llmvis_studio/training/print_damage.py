"""Old-print looks and real-print damage, made on the fly (numpy + OpenCV only, no torch: the benchmark and the tests
use the very same generator).

Why: a detector trained on smooth synthetic film scratches found almost none of the damage on real scanned prints
(issue 12). Real prints carry branching crack networks that follow creases and meet at junctions, mostly light (the
emulsion is gone and the paper base shows: off-white, yellowish or grey), sometimes dark; chipped and torn borders;
emulsion-loss patches; folds with a light ridge and a dark shadow; dust, hairs, fibres and foxing — over greyscale,
sepia or faded colour pictures with grain, halftone dots, JPEG blocks and scanner blur.

    look = old_print_look(rng, photo_u8)            # float32 H×W×3 0..1 + the paper colour
    damaged, mask = add_print_damage(rng, look)     # mask uint8 255 = a pixel the damage visibly changed
    _, scanned, label = scan_pair(rng, look, damaged, mask)  # grain / halftone / blur / JPEG on both; label after it

`make_sample(rng, photo_u8, size)` chains them on a random crop (what the detector trains on).
Labels are the pixels where the damaged scan differs from the clean print scanned with the same texture by at least
MIN_CHANGE (a light crack over white sky, or one blurred away, is not labelled: teaching the net to mark what it
cannot see makes false positives elsewhere).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

MIN_CHANGE = 10 / 255
LUMA = np.array([0.299, 0.587, 0.114], np.float32)


# ----------------------------------------------------------------------------------------------------------------
# old-print looks


def paper_colour(rng: np.random.Generator) -> np.ndarray:
    """The paper base that shows where the emulsion is gone: off-white, slightly yellow or grey."""
    base = float(rng.uniform(0.78, 0.98))
    kind = rng.random()
    if kind < 0.45:  # yellowed
        tint = np.array([1.0, 0.96, 0.86], np.float32) * np.float32(rng.uniform(0.97, 1.03))
    elif kind < 0.75:  # neutral off-white
        tint = np.ones(3, np.float32)
    else:  # grey card
        tint = np.ones(3, np.float32) * np.float32(rng.uniform(0.8, 0.95))
    return np.clip(base * tint, 0, 1).astype(np.float32)


def old_print_look(rng: np.random.Generator, rgb_u8: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A photo → (float32 H×W×3 0..1 in an old-print look, paper colour). Greyscale, sepia or faded colour; faded
    contrast; lifted blacks; sometimes yellowed highlights. 15 % stay plain colour photos (the detector must work on
    modern scans too)."""
    img = rgb_u8.astype(np.float32) / 255.0
    paper = paper_colour(rng)
    r = rng.random()
    if r < 0.15:
        return img, paper
    grey = img @ LUMA
    if r < 0.5:
        out = np.repeat(grey[..., None], 3, axis=2)
    elif r < 0.82:  # sepia / selenium-ish toning: dark tone and light tone per channel
        dark = np.array([0.18, 0.10, 0.04], np.float32) * np.float32(rng.uniform(0.5, 1.5))
        light = np.array([1.0, 0.93, 0.80], np.float32) * np.float32(rng.uniform(0.95, 1.02))
        out = dark + grey[..., None] * (light - dark)
    else:  # faded colour print: cyan dye fades first → warm, low saturation
        sat = float(rng.uniform(0.3, 0.8))
        out = grey[..., None] + sat * (img - grey[..., None])
        out = out * np.array([1.0, 0.95, 0.8], np.float32) + np.array([0.04, 0.02, 0.0], np.float32)
    gamma = float(rng.uniform(0.8, 1.25))
    lo, hi = float(rng.uniform(0.0, 0.18)), float(rng.uniform(0.8, 1.0))
    out = lo + (hi - lo) * np.clip(out, 0, 1) ** gamma
    if rng.random() < 0.3:  # yellowed highlights
        out = out * (1 - 0.15 * out * np.array([0.0, 0.3, 1.0], np.float32))
    return np.clip(out, 0, 1).astype(np.float32), paper


# ----------------------------------------------------------------------------------------------------------------
# shapes (float alpha maps 0..1)


def smooth_noise(rng: np.random.Generator, h: int, w: int, scale: float) -> np.ndarray:
    """Smooth noise in about [-1, 1] with features about `scale` px across."""
    sh, sw = max(2, int(h / scale) + 2), max(2, int(w / scale) + 2)
    n = rng.standard_normal((sh, sw)).astype(np.float32)
    n = cv2.resize(n, (w, h), interpolation=cv2.INTER_CUBIC)
    return np.clip(n / 1.5, -1, 1)


def _jagged(rng: np.random.Generator, skeleton: np.ndarray, amount: float) -> np.ndarray:
    """Displace a line map by a small random field: straight Voronoi edges become jagged cracks."""
    h, w = skeleton.shape
    if amount <= 0:
        return skeleton
    dx = smooth_noise(rng, h, w, float(rng.uniform(4, 12))) * amount
    dy = smooth_noise(rng, h, w, float(rng.uniform(4, 12))) * amount
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(skeleton, gx + dx, gy + dy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def widen(rng: np.random.Generator, skeleton: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """A 1 px line map → a crack whose width varies smoothly between lo and hi px along its length, soft edged."""
    h, w = skeleton.shape
    dist = cv2.distanceTransform((skeleton < 0.5).astype(np.uint8), cv2.DIST_L2, 3)
    half = 0.5 * (lo + (hi - lo) * (0.5 + 0.5 * smooth_noise(rng, h, w, float(rng.uniform(10, 40)))))
    return np.clip(half + 0.5 - dist, 0, 1).astype(np.float32)


def voronoi_cracks(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A fracture network: edges of random Voronoi cells (some cells merged away, so it branches and ends),
    jagged by a displacement field. Returns a 1 px skeleton (float 0/1)."""
    cell = float(rng.uniform(18, 90))
    n = max(3, int(h * w / cell**2))
    seeds = np.full((h, w), 255, np.uint8)
    ys, xs = rng.integers(0, h, n), rng.integers(0, w, n)
    seeds[ys, xs] = 0
    _, labels = cv2.distanceTransformWithLabels(seeds, cv2.DIST_L2, 3, labelType=cv2.DIST_LABEL_PIXEL)
    keep = rng.random(labels.max() + 2) < rng.uniform(0.25, 0.75)  # drop the edges of some cells
    edge = np.zeros((h, w), bool)
    edge[:, 1:] |= (labels[:, 1:] != labels[:, :-1]) & (keep[labels[:, 1:]] | keep[labels[:, :-1]])
    edge[1:, :] |= (labels[1:, :] != labels[:-1, :]) & (keep[labels[1:, :]] | keep[labels[:-1, :]])
    if rng.random() < 0.6:  # only a region of the crop is crazed
        region = smooth_noise(rng, h, w, float(rng.uniform(40, 120))) > rng.uniform(-0.5, 0.3)
        edge &= region
    return _jagged(rng, edge.astype(np.float32), float(rng.uniform(1.0, 4.0)))


def branching_walk(
    rng: np.random.Generator, h: int, w: int, start=None, angle=None, depth: int = 0, out: np.ndarray | None = None
) -> np.ndarray:
    """A crack that runs in nearly straight short segments with sharp kinks and sometimes splits (each branch
    shorter). Real emulsion cracks are brittle fractures: straight-ish runs and angular turns, not curly worms."""
    if out is None:
        out = np.zeros((h, w), np.float32)
    x, y = start if start is not None else (rng.uniform(0, w), rng.uniform(0, h))
    a = angle if angle is not None else rng.uniform(0, 2 * math.pi)
    heading = a  # the crack keeps a general direction; kinks swing around it
    steps = int(rng.uniform(20, 90) / (1 + depth))
    pts = [(x, y)]
    for _ in range(steps):
        a += rng.normal(0, 0.12)
        if rng.random() < 0.12:  # a kink
            a = heading + rng.choice([-1, 1]) * rng.uniform(0.3, 0.9)
        step = rng.uniform(2, 5)
        x, y = x + step * math.cos(a), y + step * math.sin(a)
        pts.append((x, y))
        if depth < 3 and rng.random() < 0.06:
            branching_walk(rng, h, w, (x, y), a + rng.choice([-1, 1]) * rng.uniform(0.6, 1.4), depth + 1, out)
    cv2.polylines(out, [np.round(np.array(pts)).astype(np.int32).reshape(-1, 1, 2)], False, 1.0, 1)
    return out


def crease_line(rng: np.random.Generator, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """A fold: a nearly straight line across the crop (1 px skeleton) and its signed distance (for the shading)."""
    a = rng.uniform(0, math.pi)
    cx, cy = rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h
    nx, ny = -math.sin(a), math.cos(a)
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    bend = smooth_noise(rng, h, w, float(rng.uniform(60, 200))) * rng.uniform(1, 5)
    signed = (gx - cx) * nx + (gy - cy) * ny + bend
    skeleton = (np.abs(signed) < 0.5).astype(np.float32)
    return skeleton, signed


def blob(rng: np.random.Generator, h: int, w: int, diameter: float, cx=None, cy=None) -> np.ndarray:
    """An irregular patch (emulsion loss, foxing spot) about `diameter` px across, soft edged."""
    cx = rng.uniform(0, w) if cx is None else cx
    cy = rng.uniform(0, h) if cy is None else cy
    n = int(rng.integers(7, 16))
    ang = np.sort(rng.uniform(0, 2 * math.pi, n))
    rad = 0.5 * diameter * rng.uniform(0.5, 1.2, n)
    pts = np.stack([cx + rad * np.cos(ang), cy + rad * np.sin(ang)], 1)
    out = np.zeros((h, w), np.float32)
    cv2.fillPoly(out, [np.round(pts).astype(np.int32).reshape(-1, 1, 2)], 1.0)
    if diameter > 6:
        out = np.clip(_jagged(rng, out, min(3.0, diameter / 6)), 0, 1)
    return out


def torn_edge(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A chipped or torn border/corner: everything beyond a ragged line near one side (or across a corner)."""
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    if rng.random() < 0.5:  # along a side
        side = int(rng.integers(0, 4))
        d = [gx, gy, w - 1 - gx, h - 1 - gy][side]
        depth = rng.uniform(3, 0.25 * min(h, w))
    else:  # across a corner
        cx, cy = [(0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1)][int(rng.integers(0, 4))]
        d = (np.abs(gx - cx) + np.abs(gy - cy)) / math.sqrt(2)
        depth = rng.uniform(8, 0.45 * min(h, w))
    rough = smooth_noise(rng, h, w, float(rng.uniform(6, 30))) * rng.uniform(2, 10)
    fine = smooth_noise(rng, h, w, 2.0) * 1.5
    return np.clip(depth + rough + fine - d + 0.5, 0, 1).astype(np.float32)


def hair(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    out = np.zeros((h, w), np.float32)
    x, y, a = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(0, 2 * math.pi)
    pts, curl = [(x, y)], rng.uniform(0.05, 0.4)
    for _ in range(int(rng.integers(10, 40))):
        a += rng.normal(0, curl)
        x, y = x + 3 * math.cos(a), y + 3 * math.sin(a)
        pts.append((x, y))
    cv2.polylines(
        out,
        [np.round(np.array(pts)).astype(np.int32).reshape(-1, 1, 2)],
        False,
        1.0,
        int(rng.integers(1, 3)),
        cv2.LINE_AA,
    )
    return out


def dust(rng: np.random.Generator, h: int, w: int, count: int) -> np.ndarray:
    out = np.zeros((h, w), np.float32)
    for _ in range(count):
        r = float(rng.uniform(0.5, 2.5))
        cv2.circle(out, (int(rng.integers(0, w)), int(rng.integers(0, h))), max(1, round(r)), 1.0, -1)
    return out


# ----------------------------------------------------------------------------------------------------------------
# painting the damage


def _light_colour(rng: np.random.Generator, paper: np.ndarray, h: int, w: int) -> np.ndarray:
    """Paper base with a little texture (bare paper is never perfectly flat)."""
    tex = smooth_noise(rng, h, w, 3.0)[..., None] * 0.03
    return np.clip(paper[None, None, :] * (1 + tex), 0, 1).astype(np.float32)


def _dark_colour(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    level = float(rng.uniform(0.02, 0.25))
    tint = np.array([1.0, 0.92, 0.82], np.float32) if rng.random() < 0.5 else np.ones(3, np.float32)
    return np.broadcast_to(level * tint, (h, w, 3)).astype(np.float32)


def _paint(img: np.ndarray, alpha: np.ndarray, colour: np.ndarray) -> np.ndarray:
    a = alpha[..., None]
    return img * (1 - a) + colour * a


def crack_alpha(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Opacity (0..1) of one crack network over an h×w crop: fracture cells, branching walks or a crease's cracks."""
    kind = rng.random()
    if kind < 0.5:
        skel = voronoi_cracks(rng, h, w)
    elif kind < 0.8:
        skel = np.zeros((h, w), np.float32)
        for _ in range(int(rng.integers(1, 3))):
            branching_walk(rng, h, w, out=skel)
    else:  # cracks following a crease line
        line, _ = crease_line(rng, h, w)
        skel = np.clip(_jagged(rng, line, float(rng.uniform(1, 3))) * 2, 0, 1)
        skel *= smooth_noise(rng, h, w, float(rng.uniform(10, 40))) > -0.4
    skel = _jagged(rng, (skel > 0.3).astype(np.float32), float(rng.uniform(0.0, 0.8)))  # fine-scale raggedness
    wide = rng.random() < 0.2
    alpha = widen(
        rng, (skel > 0.3).astype(np.float32), 1.0, float(rng.uniform(2.5, 6) if wide else rng.uniform(1.2, 2.5))
    )
    # the emulsion is not gone evenly along a crack: some stretches are only partly lifted
    return alpha * (0.75 + 0.25 * smooth_noise(rng, h, w, float(rng.uniform(8, 30))))


def add_print_damage(
    rng: np.random.Generator, img: np.ndarray, paper: np.ndarray, amount: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Damage a float H×W×3 print. Returns (damaged float32, uint8 label 255 = visibly changed by damage).
    `amount` scales how many defects are drawn (0 = none)."""
    h, w = img.shape[:2]
    clean = img
    out = img.copy()
    area = h * w / (160.0 * 160.0)
    drawn = np.zeros((h, w), np.float32)

    def lay(alpha: np.ndarray, light: bool | None = None, strength: float | None = None) -> None:
        nonlocal out, drawn
        light = bool(rng.random() < 0.75) if light is None else light
        s = float(rng.uniform(0.6, 1.0)) if strength is None else strength
        colour = _light_colour(rng, paper, h, w) if light else _dark_colour(rng, h, w)
        a = np.clip(alpha * s, 0, 1)
        out = _paint(out, a, colour)
        drawn = np.maximum(drawn, alpha)

    def times(mean: float) -> int:
        return int(rng.poisson(mean * amount * area))

    for _ in range(times(0.9)):
        lay(crack_alpha(rng, h, w))
    for _ in range(times(0.25)):  # fold: light ridge, dark shadow side, often cracked along it
        line, signed = crease_line(rng, h, w)
        band = float(rng.uniform(2, 8))
        shade = np.exp(-np.abs(signed) / band) * np.sign(signed) * rng.uniform(0.05, 0.18)
        out = np.clip(out * (1 - np.minimum(shade, 0)[..., None]) + np.maximum(shade, 0)[..., None] * 0.8, 0, 1)
        lay(widen(rng, line, 1.0, float(rng.uniform(1.5, 3))), light=True, strength=float(rng.uniform(0.5, 0.9)))
    for _ in range(times(0.5)):  # emulsion loss 5–40 px
        lay(blob(rng, h, w, float(rng.uniform(5, 40))), light=bool(rng.random() < 0.85))
    if rng.random() < 0.12 * amount:
        lay(torn_edge(rng, h, w), light=bool(rng.random() < 0.7), strength=1.0)
    for _ in range(times(0.4)):
        lay(dust(rng, h, w, int(rng.integers(1, 12))))
    for _ in range(times(0.25)):
        lay(hair(rng, h, w), light=bool(rng.random() < 0.4), strength=float(rng.uniform(0.5, 1.0)))
    for _ in range(times(0.15)):  # foxing: soft brown spots
        spot = cv2.GaussianBlur(blob(rng, h, w, float(rng.uniform(2, 10))), (0, 0), 1.0)
        brown = np.broadcast_to(np.array([0.55, 0.38, 0.2], np.float32) * rng.uniform(0.6, 1.1), (h, w, 3))
        out = _paint(out, spot * float(rng.uniform(0.4, 0.8)), brown)
        drawn = np.maximum(drawn, spot)
    change = np.abs(out - clean).max(axis=2)
    label = ((drawn > 0.35) & (change >= MIN_CHANGE)).astype(np.uint8) * 255
    return out.astype(np.float32), label


# ----------------------------------------------------------------------------------------------------------------
# the scan


def scan(rng: np.random.Generator, img: np.ndarray, jpeg: bool = True) -> np.ndarray:
    """Scanner and print texture, applied over the damage: blur, grain or halftone, noise, 8-bit, sometimes JPEG.
    jpeg=False skips the JPEG step but draws the same random numbers (scan_pair's label view)."""
    h, w = img.shape[:2]
    out = img
    if rng.random() < 0.6:
        out = cv2.GaussianBlur(out, (0, 0), float(rng.uniform(0.3, 1.0)))
    r = rng.random()
    if r < 0.55:  # film grain, luminance mostly
        sigma = float(rng.uniform(0.01, 0.06))
        g = rng.standard_normal((h, w)).astype(np.float32)
        if rng.random() < 0.6:
            g = cv2.GaussianBlur(g, (0, 0), float(rng.uniform(0.5, 1.2))) * 2
        out = out + (g * sigma)[..., None]
    elif r < 0.65:  # halftone dots, lightly blurred by the scanner
        period = float(rng.uniform(3, 6))
        gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        a = math.radians(45)
        u, v = gx * math.cos(a) + gy * math.sin(a), -gx * math.sin(a) + gy * math.cos(a)
        screen = 0.25 * (np.cos(2 * math.pi * u / period) + np.cos(2 * math.pi * v / period))
        lum = out @ LUMA
        dots = cv2.GaussianBlur(np.clip((lum - 0.5 - screen * 0.9) * 4 + 0.5, 0, 1), (0, 0), period / 5)
        out = out * (dots / np.maximum(lum, 1e-3))[..., None] * 0.5 + out * 0.5
    out = np.clip(out, 0, 1)
    if rng.random() < 0.35:
        q = int(rng.integers(35, 90))
        if not jpeg:
            return (np.round(out * 255) / 255).astype(np.float32)
        u8 = cv2.cvtColor(np.round(out * 255).astype(np.uint8), cv2.COLOR_RGB2BGR)
        ok, buf = cv2.imencode(".jpg", u8, [cv2.IMWRITE_JPEG_QUALITY, q])
        out = cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB).astype(np.float32) / 255
    return (np.round(out * 255) / 255).astype(np.float32)


def scan_pair(
    rng: np.random.Generator, clean: np.ndarray, damaged: np.ndarray, support: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scan the clean and the damaged print with the very same texture (same seed: same blur, grain, halftone, JPEG)
    → (clean scan, damaged scan, label). The label is what the damage visibly changed AFTER the scan: the pixels where
    the two scans (before JPEG) differ by at least MIN_CHANGE, near where damage was drawn (`support`, grown by the blur). A crack
    blurred away or drowned in JPEG blocks is not labelled; the halo the blur spreads around a crack is."""
    seed = int(rng.integers(1 << 31))
    clean_scan = scan(np.random.default_rng(seed), clean)
    damaged_scan = scan(np.random.default_rng(seed), damaged)
    # the change is measured without the JPEG step: its block noise would turn a faint mark into scattered labels
    change = np.abs(
        scan(np.random.default_rng(seed), damaged, jpeg=False) - scan(np.random.default_rng(seed), clean, jpeg=False)
    ).max(axis=2)
    near = cv2.dilate(support, np.ones((3, 3), np.uint8)) > 0
    label = (near & (change >= MIN_CHANGE)).astype(np.uint8) * 255
    return clean_scan, damaged_scan, label


def make_sample(
    rng: np.random.Generator, photo_u8: np.ndarray, size: int, clean_share: float = 0.15
) -> tuple[np.ndarray, np.ndarray]:
    """A random size×size crop of a photo (at a random scale) as a damaged, scanned old print:
    (float32 H×W×3 0..1, uint8 label 255 = damage visible after the scan). `clean_share` of the samples carry no
    damage at all."""
    h, w = photo_u8.shape[:2]
    src = int(min(h, w, size * rng.uniform(1.0, 2.5)))
    y, x = int(rng.integers(0, h - src + 1)), int(rng.integers(0, w - src + 1))
    crop = photo_u8[y : y + src, x : x + src]
    if src != size:
        crop = cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)
    look, paper = old_print_look(rng, crop)
    amount = 0.0 if rng.random() < clean_share else float(rng.uniform(0.3, 2.0))
    damaged, support = add_print_damage(rng, look, paper, amount)
    _, scanned, label = scan_pair(rng, look, damaged, support)
    return scanned, label
