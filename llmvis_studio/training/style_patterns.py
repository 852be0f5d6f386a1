"""Procedural style images for the named style presets (numpy + OpenCV, fixed seeds).

Made here from code rather than taken from paintings, so the presets carry no third-party
rights (CC0 by construction) and are reproducible bit for bit. Each function returns a 256×256
RGB uint8 image, the size the Magenta style predictor expects; only its 100-d style vector is
stored (models/style-presets.json).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

SIZE = 256


@dataclass(frozen=True)
class PresetSpec:
    name: str
    description: str
    aliases: tuple[str, ...]
    make: Callable[[np.random.Generator], np.ndarray]
    seed: int
    # Share of the preset's style vector; the rest is the photo's own style vector (Magenta's style
    # interpolation). Hard-edged synthetic patterns overwhelm a photo at 1.0; chosen by eye.
    mix: float = 1.0
    # The preset's default colours mode in the stylize op: "keep" (the photo's colours and light; a pastel
    # watercolour palette turned grass cream and the sky pink) or "style" (the palette is the point).
    colours: str = "style"


def _rgb(hexes: str) -> np.ndarray:
    return np.array([[int(h[i : i + 2], 16) for i in (0, 2, 4)] for h in hexes.split()], np.float32)


def _smooth_noise(rng: np.random.Generator, cells: int, size: int = SIZE) -> np.ndarray:
    """Low-frequency noise in 0..1: random values on a coarse grid, cubic upsampled."""
    coarse = rng.random((cells, cells)).astype(np.float32)
    field = cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC)
    return (field - field.min()) / max(1e-6, float(field.max() - field.min()))


def _paper(rng: np.random.Generator, tint: str = "f4efe1", grain: float = 6.0) -> np.ndarray:
    base = np.ones((SIZE, SIZE, 3), np.float32) * _rgb(tint)[0]
    fibres = cv2.GaussianBlur(rng.normal(0, 1, (SIZE, SIZE)).astype(np.float32), (0, 0), 0.8)
    return base + grain * fibres[..., None]


def _voronoi(rng: np.random.Generator, spacing: int) -> tuple[np.ndarray, np.ndarray]:
    """Cell index per pixel and a boundary mask, from jittered grid seeds."""
    grid = np.arange(spacing // 2, SIZE + spacing, spacing)
    points = np.array([(x, y) for y in grid for x in grid], np.float32)
    points += rng.uniform(-spacing * 0.4, spacing * 0.4, points.shape).astype(np.float32)
    yy, xx = np.mgrid[:SIZE, :SIZE].astype(np.float32)
    distance = (xx[..., None] - points[:, 0]) ** 2 + (yy[..., None] - points[:, 1]) ** 2
    cells = np.argmin(distance, axis=2)
    edges = np.zeros((SIZE, SIZE), bool)
    edges[:, 1:] |= cells[:, 1:] != cells[:, :-1]
    edges[1:, :] |= cells[1:, :] != cells[:-1, :]
    return cells, edges


def watercolour(rng: np.random.Generator) -> np.ndarray:
    image = _paper(rng, "f7f3ea", 4.0) / 255.0
    palette = _rgb("6fa8dc e69ab8 f6d36b 8cc79a b39ddb f4a261") / 255.0
    for _ in range(14):
        mask = np.zeros((SIZE, SIZE), np.float32)
        centre = rng.uniform(0, SIZE, 2)
        radius = rng.uniform(25, 80)
        angles = np.sort(rng.uniform(0, 2 * np.pi, 9))
        radii = radius * rng.uniform(0.6, 1.3, 9)
        polygon = np.stack([centre[0] + radii * np.cos(angles), centre[1] + radii * np.sin(angles)], 1)
        cv2.fillPoly(mask, [polygon.astype(np.int32)], 1.0)
        soft = cv2.GaussianBlur(mask, (0, 0), rng.uniform(3, 8))
        rim = np.clip(soft - cv2.GaussianBlur(soft, (0, 0), 4), 0, 1) * 1.5  # pigment pools at the edge
        density = np.clip(0.6 * soft + rim, 0, 1)[..., None]
        colour = palette[rng.integers(len(palette))]
        image = image * (1 - density * (1 - colour))  # multiply: translucent layers
    return np.clip(image * 255, 0, 255).astype(np.uint8)


def starry_swirls(rng: np.random.Generator) -> np.ndarray:
    yy, xx = np.mgrid[:SIZE, :SIZE].astype(np.float32)
    angle = np.zeros((SIZE, SIZE), np.float32)
    for _ in range(5):  # a few vortices bend a flowing field
        cx, cy = rng.uniform(0, SIZE, 2)
        r2 = (xx - cx) ** 2 + (yy - cy) ** 2
        angle += rng.choice([-1, 1]) * np.exp(-r2 / (2 * rng.uniform(25, 60) ** 2)) * 3.0
    angle += 0.4 * np.sin(yy / 23.0)
    dx, dy = np.cos(angle), np.sin(angle)
    noise = rng.random((SIZE, SIZE)).astype(np.float32)
    streaks, x, y = noise.copy(), xx.copy(), yy.copy()
    for _ in range(14):  # line integral convolution: smear the noise along the flow
        x = np.clip(x + cv2.remap(dx, x, y, cv2.INTER_LINEAR), 0, SIZE - 1)
        y = np.clip(y + cv2.remap(dy, x, y, cv2.INTER_LINEAR), 0, SIZE - 1)
        streaks += cv2.remap(noise, x, y, cv2.INTER_LINEAR)
    streaks = (streaks - streaks.min()) / (streaks.max() - streaks.min())
    tone = np.clip(0.55 * streaks + 0.45 * _smooth_noise(rng, 4), 0, 1)
    palette = _rgb("0b1d51 1f4e9c 3f7cc8 86b7e8 f2d16b fff4b0") / 255.0
    position = tone * (len(palette) - 1)
    low = np.floor(position).astype(int).clip(0, len(palette) - 2)
    t = (position - low)[..., None]
    image = palette[low] * (1 - t) + palette[low + 1] * t
    return np.clip(image * 255, 0, 255).astype(np.uint8)


def mosaic(rng: np.random.Generator) -> np.ndarray:
    cells, edges = _voronoi(rng, 12)
    palette = _rgb("c0392b e67e22 f1c40f 27ae60 2980b9 8e44ad ecf0f1 16a085")
    colours = palette[rng.integers(len(palette), size=cells.max() + 1)]
    colours = np.clip(colours + rng.normal(0, 12, colours.shape), 0, 255)
    image = colours[cells]
    grout = cv2.dilate(edges.astype(np.uint8), np.ones((2, 2), np.uint8)) > 0
    image[grout] = _rgb("4a4a4a")[0]
    return np.clip(image, 0, 255).astype(np.uint8)


def pencil_sketch(rng: np.random.Generator) -> np.ndarray:
    image = np.ascontiguousarray(_paper(rng, "fbfbf8", 3.0)[..., 0])
    darkness = _smooth_noise(rng, 5)
    for _ in range(2600):
        x, y = rng.uniform(0, SIZE, 2)
        if rng.random() > darkness[int(y), int(x)] ** 1.5:
            continue
        angle = rng.choice([0.6, 0.75, 2.3]) + rng.normal(0, 0.06)
        length = rng.uniform(6, 18)
        end = (int(x + length * np.cos(angle)), int(y + length * np.sin(angle)))
        cv2.line(image, (int(x), int(y)), end, float(rng.uniform(60, 150)), 1, cv2.LINE_AA)
    for _ in range(6):  # a few contour lines
        points = np.cumsum(rng.normal(0, 6, (30, 2)), axis=0) + rng.uniform(40, 216, 2)
        cv2.polylines(image, [points.astype(np.int32)], False, 40.0, 1, cv2.LINE_AA)
    return np.repeat(np.clip(image, 0, 255).astype(np.uint8)[..., None], 3, axis=2)


def ink_wash(rng: np.random.Generator) -> np.ndarray:
    image = _paper(rng, "efe8d8", 5.0)
    wash = np.zeros((SIZE, SIZE), np.float32)
    for _ in range(5):
        cv2.circle(wash, tuple(int(v) for v in rng.uniform(0, SIZE, 2)), int(rng.uniform(20, 60)), 1.0, -1)
    wash = cv2.GaussianBlur(wash, (0, 0), 12) * 0.35
    ink = np.zeros((SIZE, SIZE), np.float32)
    for _ in range(7):  # bold brush strokes of varying width
        start = rng.uniform(0, SIZE, 2)
        direction = rng.uniform(0, 2 * np.pi)
        for step in range(40):
            direction += rng.normal(0, 0.12)
            width = max(1, int(12 * np.sin(np.pi * step / 40) * rng.uniform(0.6, 1.0)))
            end = start + 5 * np.array([np.cos(direction), np.sin(direction)])
            cv2.line(ink, tuple(start.astype(int)), tuple(end.astype(int)), 1.0, width, cv2.LINE_AA)
            start = end
    for _ in range(40):  # splatter
        cv2.circle(ink, tuple(int(v) for v in rng.uniform(0, SIZE, 2)), int(rng.integers(1, 3)), 1.0, -1)
    darkness = np.clip(np.maximum(wash, cv2.GaussianBlur(ink, (0, 0), 0.7)), 0, 1)[..., None]
    image = image * (1 - darkness) + 20 * darkness
    return np.clip(image, 0, 255).astype(np.uint8)


def pop_art(rng: np.random.Generator) -> np.ndarray:
    palette = _rgb("ffde00 e4002b 0057b8 ff4fa3 00b2a9")
    image = np.zeros((SIZE, SIZE, 3), np.float32)
    outline = np.zeros((SIZE, SIZE), np.uint8)
    bands = np.sort(rng.choice(np.arange(32, SIZE - 32, 16), 3, replace=False))
    edges_x = [0, *bands, SIZE]
    for i in range(len(edges_x) - 1):
        image[:, edges_x[i] : edges_x[i + 1]] = palette[i % len(palette)]
    for _ in range(5):
        centre = tuple(int(v) for v in rng.uniform(30, 226, 2))
        radius = int(rng.uniform(18, 45))
        cv2.circle(image, centre, radius, tuple(float(c) for c in palette[rng.integers(len(palette))]), -1)
        cv2.circle(outline, centre, radius, 255, 4)
    yy, xx = np.mgrid[:SIZE, :SIZE]
    cell = 8
    radius = 1.2 + 2.6 * _smooth_noise(rng, 3)  # halftone dots growing across the picture
    dots = ((xx % cell - cell / 2) ** 2 + (yy % cell - cell / 2) ** 2) < radius**2
    image[dots] *= 0.25
    for x in edges_x[1:-1]:
        outline[:, max(0, x - 2) : x + 2] = 255
    image[outline > 0] = 0
    return np.clip(image, 0, 255).astype(np.uint8)


def stained_glass(rng: np.random.Generator) -> np.ndarray:
    cells, edges = _voronoi(rng, 36)
    palette = _rgb("9b111e 0f52ba 50c878 ffbf00 9966cc e0115f 1ca9c9")
    colours = palette[rng.integers(len(palette), size=cells.max() + 1)]
    image = colours[cells]
    light = 0.65 + 0.5 * _smooth_noise(rng, 6)[..., None]  # light shining through unevenly
    image = image * light
    lead = cv2.dilate(edges.astype(np.uint8), np.ones((4, 4), np.uint8)) > 0
    image[lead] = 15
    return np.clip(image, 0, 255).astype(np.uint8)


def neon(rng: np.random.Generator) -> np.ndarray:
    glow = np.zeros((SIZE, SIZE, 3), np.float32)
    palette = _rgb("ff2fd6 00f0ff 9d4dff ff8a00")
    xs = np.arange(SIZE)
    for i in range(7):
        colour = palette[i % len(palette)]
        layer = np.zeros((SIZE, SIZE), np.float32)
        if rng.random() < 0.5:
            ys = SIZE / 2 + rng.uniform(40, 110) * np.sin(xs / rng.uniform(18, 45) + rng.uniform(0, 6))
            cv2.polylines(layer, [np.stack([xs, ys], 1).astype(np.int32)], False, 1.0, 2, cv2.LINE_AA)
        else:
            cv2.circle(
                layer, tuple(int(v) for v in rng.uniform(40, 216, 2)), int(rng.uniform(20, 70)), 1.0, 2, cv2.LINE_AA
            )
        halo = cv2.GaussianBlur(layer, (0, 0), 6) * 3.0 + cv2.GaussianBlur(layer, (0, 0), 2) * 1.5
        glow += (halo[..., None] * colour) + layer[..., None] * 255
    image = 8 + glow
    return np.clip(image, 0, 255).astype(np.uint8)


def cubist(rng: np.random.Generator) -> np.ndarray:
    palette = _rgb("8b6f47 c2a878 5e6b73 a0522d 6b705c d8c3a5 3e3a36")
    image = np.ones((SIZE, SIZE, 3), np.float32) * palette[0]
    yy, xx = np.mgrid[:SIZE, :SIZE].astype(np.float32)
    for _ in range(45):
        points = rng.uniform(-30, SIZE + 30, (rng.integers(3, 5), 2)).astype(np.int32)
        mask = np.zeros((SIZE, SIZE), np.uint8)
        cv2.fillPoly(mask, [cv2.convexHull(points)], 1)
        direction = rng.normal(0, 1, 2)
        shade = 0.8 + 0.35 * ((xx * direction[0] + yy * direction[1]) / (SIZE * np.abs(direction).sum()) + 0.5)
        colour = palette[rng.integers(len(palette))]
        image[mask > 0] = (colour * shade[..., None])[mask > 0]
        edge = cv2.morphologyEx(mask, cv2.MORPH_GRADIENT, np.ones((2, 2), np.uint8))
        image[edge > 0] = 35
    return np.clip(image, 0, 255).astype(np.uint8)


def pointillism(rng: np.random.Generator) -> np.ndarray:
    image = np.ones((SIZE, SIZE, 3), np.float32) * 245
    sky, grass, sun = _rgb("4f8fe6 3a9d4f f2c230")
    horizon = 110 + 30 * _smooth_noise(rng, 3)[0]
    glow = _smooth_noise(rng, 4)
    for _ in range(9000):
        x, y = rng.uniform(0, SIZE, 2)
        base = sky if y < horizon[int(x)] else grass
        if glow[int(y), int(x)] > 0.75 and rng.random() < 0.6:
            base = sun
        colour = np.clip(base + rng.normal(0, 45, 3), 0, 255)  # pure, varied dabs
        cv2.circle(image, (int(x), int(y)), int(rng.integers(2, 4)), tuple(float(c) for c in colour), -1, cv2.LINE_AA)
    return np.clip(image, 0, 255).astype(np.uint8)


def woodcut(rng: np.random.Generator) -> np.ndarray:
    yy, xx = np.mgrid[:SIZE, :SIZE].astype(np.float32)
    shape = _smooth_noise(rng, 4)
    phase = yy / 5.0 + 6.0 * _smooth_noise(rng, 3) + 2.0 * np.sin(xx / 30.0)
    ridge = 0.5 + 0.5 * np.sin(phase * 2 * np.pi / 2.2)
    ink = ridge < shape  # carved lines get thicker where the picture is darker
    ink |= np.abs(shape - 0.5) < 0.012  # a bold contour
    image = np.where(ink[..., None], _rgb("1a1410")[0], _rgb("efe4cc")[0])
    return image.astype(np.uint8)


PRESETS: tuple[PresetSpec, ...] = (
    PresetSpec(
        "watercolour",
        "Watercolour painting: soft translucent washes of colour bleeding into textured paper, pastel and airy.",
        ("watercolor", "water colour", "water color", "aquarelle"),
        watercolour,
        11,
        colours="keep",
    ),
    PresetSpec(
        "starry-swirls",
        "Swirling thick oil-paint brush strokes in deep blue and yellow, like Van Gogh's "
        "Starry Night; post-impressionist oil painting.",
        ("van gogh", "starry night", "swirls", "swirly", "oil painting", "impasto"),
        starry_swirls,
        12,
    ),
    PresetSpec(
        "mosaic",
        "Mosaic: small square coloured stone and glass tiles set in grey grout, like a Roman floor.",
        ("mosaic", "tiles", "tiled"),
        mosaic,
        13,
    ),
    PresetSpec(
        "pencil-sketch",
        "Pencil sketch: grey graphite hatching and line drawing on white paper, monochrome hand-drawn look.",
        ("pencil", "sketch", "graphite", "pencil drawing"),
        pencil_sketch,
        14,
    ),
    PresetSpec(
        "ink-wash",
        "Ink wash painting: bold black Japanese sumi-e brush strokes and grey washes on rice paper, monochrome.",
        ("ink", "sumi e", "sumie", "ink painting", "calligraphy"),
        ink_wash,
        15,
    ),
    PresetSpec(
        "pop-art",
        "Pop art: flat bright primary colours, halftone comic-book dots and thick black outlines, "
        "like Warhol or Lichtenstein.",
        ("pop art", "popart", "comic", "comic book", "warhol", "lichtenstein", "halftone"),
        pop_art,
        16,
        0.45,
    ),
    PresetSpec(
        "stained-glass",
        "Stained glass window: jewel-coloured glass panes joined by thick black lead lines, like a cathedral window.",
        ("stained glass", "church window", "cathedral window"),
        stained_glass,
        17,
    ),
    PresetSpec(
        "neon",
        "Neon glow: bright glowing pink, cyan and purple light lines on a dark background, synthwave.",
        ("neon", "synthwave", "glowing lines", "cyberpunk"),
        neon,
        18,
        0.55,
    ),
    PresetSpec(
        "cubist",
        "Cubism: fragmented geometric planes and angular shapes in muted earthy browns and greys, "
        "like Picasso or Braque.",
        ("cubism", "cubist", "picasso", "braque"),
        cubist,
        19,
    ),
    PresetSpec(
        "pointillism",
        "Pointillism: dense small dots of pure colour, like Seurat's impressionist paintings.",
        ("pointillism", "pointillist", "seurat", "dots", "dotted"),
        pointillism,
        20,
        0.7,
    ),
    PresetSpec(
        "woodcut",
        "Woodcut print: bold black carved lines on cream paper, like a linocut or engraving.",
        ("woodcut", "linocut", "engraving", "woodblock", "wood block"),
        woodcut,
        21,
        0.55,
    ),
)


def render(preset: PresetSpec) -> np.ndarray:
    image = preset.make(np.random.default_rng(preset.seed))
    assert image.shape == (SIZE, SIZE, 3) and image.dtype == np.uint8, preset.name
    return image
