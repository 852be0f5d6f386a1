"""Contact sheet of the learned fill on the photo pack's held-out photos: for each photo and hole kind, the 256 px
window holding the most hole pixels, as truth | hole (magenta) | OpenCV NS | each model. PSNR hides blotches,
seams and repeated texture; this is what a person looks at before a fill model ships.

    python benchmarks/inpaint_sheet.py --out models/cards/inpaint-heldout-sheet.jpg [--model new=runs/x/y.onnx ...]

Without --model it shows the manifest's inpaint-gated-ns ("learned"); holes are inpaint_heldout.py's seed 0.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
from _common import emit
from inpaint_heldout import INPAINT_ID, KINDS, engines, fill, hole_of

from llmvis_studio.training import photo_pack

WINDOW = 256
LABEL_HEIGHT = 18


def busiest_window(mask: np.ndarray, size: int = WINDOW) -> tuple[int, int]:
    """Top-left corner of the size × size window with the most hole pixels (the whole image if it is smaller)."""
    h, w = mask.shape
    if h <= size or w <= size:
        return 0, 0
    counts = cv2.boxFilter((mask > 0).astype(np.float32), -1, (size, size), normalize=False, anchor=(0, 0))
    counts = counts[: h - size + 1, : w - size + 1]
    y, x = np.unravel_index(int(np.argmax(counts)), counts.shape)
    return int(y), int(x)


def labelled(tile: np.ndarray, text: str) -> np.ndarray:
    bar = np.full((LABEL_HEIGHT, tile.shape[1], 3), 255, np.uint8)
    cv2.putText(bar, text, (4, LABEL_HEIGHT - 5), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    return np.concatenate([bar, tile], axis=0)


def sheet_row(img: np.ndarray, mask: np.ndarray, outputs: dict[str, np.ndarray], name: str) -> np.ndarray:
    y, x = busiest_window(mask)
    crop = (slice(y, y + WINDOW), slice(x, x + WINDOW))
    shown = img.copy()
    shown[mask > 0] = (255, 0, 255)
    tiles = [labelled(img[crop], f"{name} truth"), labelled(shown[crop], "hole")]
    tiles += [labelled(out[crop], label) for label, out in outputs.items()]
    return np.concatenate(tiles, axis=1)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True, help="image to write (.jpg or .png)")
    ap.add_argument("--model", action="append", default=[], help="label=path.onnx (repeatable)")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    from llmvis_studio.engine import Engine

    ns_engine, models = Engine(threads=a.threads), engines(a.model, a.threads)
    rows = []
    for name, img in photo_pack.load_pack("held-out"):
        for kind in KINDS:
            mask = hole_of(kind, *img.shape[:2], seed=0)
            outputs = {"NS": fill(ns_engine, img, mask, "opencv-ns")}
            outputs |= {label: fill(e, img, mask, INPAINT_ID) for label, e in models.items()}
            rows.append(sheet_row(img, mask, outputs, f"{name} {kind}"))
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(a.out, cv2.cvtColor(np.concatenate(rows, axis=0), cv2.COLOR_RGB2BGR))
    emit({"sheet": a.out, "rows": len(rows), "models": ["NS", *models]})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
