"""How well the fill's target grain predicts the grain of real content in photos (texture_looks.RING_PULL).

    python benchmarks/look_grain_check.py --data runs/texture-data

For regions of real grass, sky, clouds, water and sand in the training pack's photos (none from the benchmark
photo wikimedia/039.png, none a texture_data source region), a box is masked inside the region (the ring around
it is the same material) and the same box moved half out of it (half the ring is something else). The target
grain = class grain + pull × (ring grain − class grain) is compared with the grain of the region's real content
(texture_looks.grain, at the photo's own resolution, where a fill paints). Prints the mean absolute error per
pull; its last line is JSON.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
from _common import ROOT, emit

from llmvis_studio.core.geometry import nonzero_bounds
from llmvis_studio.engine.ops.texture_fill import fill_area, ring_mask
from llmvis_studio.engine.ops.texture_looks import grain
from llmvis_studio.training.texture_data import TextureSet
from llmvis_studio.training.texture_export import class_grains

PHOTOS = ROOT.parent / "shared" / "training" / "photos"
CASES = [  # (class, photo, region x0, y0, x1, y1 as fractions): chosen by eye, no objects in the region
    ("grass", "bsds500/train-28096.jpg", (0.05, 0.45, 0.95, 0.95)),
    ("grass", "bsds500/train-207056.jpg", (0.0, 0.05, 0.45, 0.95)),
    ("grass", "bsds500/train-113009.jpg", (0.0, 0.8, 1.0, 1.0)),
    ("grass", "bsds500/test-220003.jpg", (0.0, 0.82, 0.5, 1.0)),
    ("grass", "kodak24/kodim19.png", (0.12, 0.84, 1, 1)),
    ("grass", "kodak24/kodim22.png", (0.0, 0.86, 1, 0.99)),
    ("sky", "wikimedia/021.png", (0.3, 0.0, 1.0, 0.2)),
    ("sky", "kodak24/kodim20.png", (0.05, 0.02, 0.95, 0.3)),
    ("clouds", "kodak24/kodim19.png", (0.0, 0.0, 0.45, 0.35)),
    ("storm clouds", "kodak24/kodim22.png", (0.3, 0.0, 0.75, 0.12)),
    ("water", "kodak24/kodim12.png", (0.0, 0.25, 0.25, 0.6)),
    ("water", "kodak24/kodim22.png", (0.62, 0.64, 0.95, 0.78)),
    ("sand", "kodak24/kodim12.png", (0.65, 0.5, 1.0, 1.0)),
    ("sand", "wikimedia/018.png", (0.3, 0.8, 0.7, 1.0)),
]
PULLS = (0.0, 0.25, 0.5, 0.6, 0.7, 0.75, 0.8, 0.9, 1.0)


def ring_grain(rgb: np.ndarray, hole: np.ndarray) -> float:
    """The ring the fill would judge: fill_area's width around the mask's box."""
    bounds = nonzero_bounds(hole.astype(np.uint8))
    _, width = fill_area(rgb, bounds)
    return grain(rgb, ring_mask(hole, width))


def masks(shape: tuple[int, ...], box: tuple[float, float, float, float]) -> tuple[np.ndarray, ...]:
    """(the region, a box inside it, the same box moved half out of it: up, or down at the top of the photo)."""
    h, w = shape[:2]
    x0, y0, x1, y1 = int(box[0] * w), int(box[1] * h), int(box[2] * w), int(box[3] * h)
    bw, bh = (x1 - x0) // 2, (y1 - y0) // 2
    region, inside, straddle = (np.zeros((h, w), bool) for _ in range(3))
    region[y0:y1, x0:x1] = True
    inside[y0 + bh // 2 : y0 + bh // 2 + bh, x0 + bw // 2 : x0 + bw // 2 + bw] = True
    sy = y0 - bh // 2 if y0 - bh // 2 >= 0 else y1 - bh // 2
    straddle[max(0, sy) : min(h, sy + bh), x0 + bw // 2 : x0 + bw // 2 + bw] = True
    return region, inside, straddle


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="texture_data cache (training crops)")
    args = parser.parse_args()
    data = TextureSet.load(args.data)
    classes = dict(zip(data.names, class_grains(data, 64)))
    errors: dict[str, list] = {"inside": [], "straddle": []}
    for name, path, box in CASES:
        rgb = cv2.cvtColor(cv2.imread(str(PHOTOS / path)), cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0
        region, inside, straddle = masks(rgb.shape, box)
        truth = grain(rgb, region)
        for kind, hole in (("inside", inside), ("straddle", straddle)):
            ring = ring_grain(rgb, hole)
            errors[kind].append([abs(classes[name] + p * (ring - classes[name]) - truth) for p in PULLS])
            print(f"{name:12s} {path:26s} {kind:8s} class {classes[name]:.2f} ring {ring:.2f} truth {truth:.2f}")
    result = {kind: dict(zip(map(str, PULLS), np.round(np.mean(e, 0), 2).tolist())) for kind, e in errors.items()}
    both = errors["inside"] + errors["straddle"]
    result["both"] = dict(zip(map(str, PULLS), np.round(np.mean(both, 0), 2).tolist()))
    emit(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
