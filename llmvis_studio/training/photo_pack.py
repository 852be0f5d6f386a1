"""The shared training photo pack (../shared/training/photos: BSDS500 train+test, Kodak24, Wikimedia Commons) as
uint8 arrays, with a few whole photos held out for validation and contact sheets (never trained on).

Licences (see ../shared/training/README.md): BSDS500 — Corel images distributed for research by UC Berkeley;
Kodak24 — released by Eastman Kodak for unrestricted use; Wikimedia — per file in photos/wikimedia/SOURCES.md
(mostly CC-BY / CC-BY-SA / public domain, attribution required). ../shared/benchmarks is never read here.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image

FOLDERS = ("bsds500", "kodak24", "wikimedia")
SUFFIXES = (".jpg", ".jpeg", ".png")
# whole photos held out: validation crops and the model card's before/after sheets
HELD_OUT = ("kodak24/kodim23", "kodak24/kodim05", "wikimedia/047", "wikimedia/048", "wikimedia/049")
MAX_SIDE = 1280


def pack_root() -> Path:
    env = os.environ.get("LLMVIS_TRAINING_PHOTOS")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2].parent / "shared" / "training" / "photos"


def photo_names(root: Path | None = None) -> list[tuple[str, Path]]:
    """("folder/stem", path) for every photo of the pack, in a fixed order."""
    root = root or pack_root()
    out = []
    for folder in FOLDERS:
        d = root / folder
        if d.is_dir():
            out += [(f"{folder}/{p.stem}", p) for p in sorted(d.iterdir()) if p.suffix.lower() in SUFFIXES]
    return out


def load_photo(path: Path, max_side: int = MAX_SIDE) -> np.ndarray:
    with Image.open(path) as im:
        im = im.convert("RGB")
        if max(im.size) > max_side:
            f = max_side / max(im.size)
            im = im.resize((round(im.width * f), round(im.height * f)), Image.BICUBIC)
        return np.ascontiguousarray(np.asarray(im))


def load_pack(split: str = "train", limit: int = 0, root: Path | None = None) -> list[tuple[str, np.ndarray]]:
    """Decode the "train" or "held-out" photos (limit > 0: only the first `limit`, for tiny runs)."""
    names = [(n, p) for n, p in photo_names(root) if (n in HELD_OUT) == (split == "held-out")]
    if limit:
        names = names[:limit]
    if not names:
        raise SystemExit(f"no {split} photos under {root or pack_root()} (see ../shared/training/README.md)")
    return [(n, load_photo(p)) for n, p in names]
