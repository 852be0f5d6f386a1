"""An image folder for the generators: sub-folder names are the classes; bad files are skipped and counted.

    DATA/sky/*.png, DATA/water/*.jpg, ...   → classes "sky", "water"
    DATA/*.png (no sub-folders)             → one class named after DATA

Every readable image becomes RGB uint8 (greyscale is repeated to three channels, alpha is composited
over white), is resized so its shorter side is a little larger than the training size (mixed sizes are
fine) and kept in memory; batches are random crops at the training size with horizontal flips.
Unreadable files (not images, truncated, empty) are skipped and listed in the summary.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from llmvis_studio.core.errors import InputError

CROP_MARGIN = 1.125  # shorter side after resizing = size × this, so random crops shift a little
MAX_IMAGES_PER_CLASS = 5000


@dataclass
class FolderSummary:
    root: str
    classes: list[str]
    counts: dict[str, int]
    skipped: list[dict[str, str]] = field(default_factory=list)  # {"file", "reason"}
    converted: dict[str, int] = field(default_factory=dict)  # e.g. {"greyscale": 3, "alpha": 1, "resized": 10}
    notes: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "root": self.root,
            "classes": self.classes,
            "counts": self.counts,
            "images": self.total,
            "skipped": len(self.skipped),
            "skipped_files": self.skipped[:50],
            "converted": self.converted,
            "notes": self.notes,
        }

    def lines(self) -> list[str]:
        per_class = ", ".join(f"{name} {self.counts[name]}" for name in self.classes)
        out = [f"{self.total} images in {len(self.classes)} class(es): {per_class}"]
        if self.skipped:
            shown = "; ".join(f"{s['file']} ({s['reason']})" for s in self.skipped[:5])
            more = f" and {len(self.skipped) - 5} more" if len(self.skipped) > 5 else ""
            out.append(f"skipped {len(self.skipped)} unreadable file(s): {shown}{more}")
        changed = ", ".join(f"{k} {v}" for k, v in self.converted.items() if v)
        if changed:
            out.append(f"converted: {changed}")
        out.extend(self.notes)
        return out


def _to_rgb(image: Image.Image, converted: dict[str, int]) -> Image.Image:
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        converted["alpha"] = converted.get("alpha", 0) + 1
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if image.mode in ("L", "1", "I", "I;16", "F"):
        converted["greyscale"] = converted.get("greyscale", 0) + 1
        if image.mode in ("I", "I;16", "F"):  # 16-bit/float greyscale: scale to 8 bits
            arr = np.asarray(image, np.float64)
            top = 65535.0 if arr.max() > 255 else 255.0
            image = Image.fromarray(np.clip(arr / top * 255.0, 0, 255).astype(np.uint8))
        return image.convert("RGB")
    return image.convert("RGB")


def load_image_file(path: Path, size: int, converted: dict[str, int]) -> np.ndarray:
    """RGB uint8 with its shorter side = size × CROP_MARGIN (rounded up). Raises on unreadable files."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with Image.open(path) as opened:
            opened.load()
            image = _to_rgb(opened, converted)
    short = int(np.ceil(size * CROP_MARGIN))
    width, height = image.size
    if width < 1 or height < 1:
        raise ValueError("empty image")
    factor = short / min(width, height)
    if abs(factor - 1.0) > 1e-6:
        converted["resized"] = converted.get("resized", 0) + 1
        new = (max(short, int(round(width * factor))), max(short, int(round(height * factor))))
        image = image.resize(new, Image.Resampling.LANCZOS if factor < 1 else Image.Resampling.BICUBIC)
    return np.asarray(image, np.uint8)


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


def class_groups(root: Path) -> tuple[list[tuple[str, list[Path]]], int]:
    """([(class name, its files)], files ignored): each non-empty sub-folder is a class; without sub-folders the
    files lying in `root` are one class named after it (then none are ignored). Groups may hold no files."""
    subfolders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    groups = [(p.name, _files(p)) for p in subfolders if _files(p)]
    loose = _files(root)
    if not groups:
        return [(root.resolve().name or "images", loose)], 0
    return groups, len(loose)


class ImageFolder:
    """Images per class in memory; `batch()` gives N×3×S×S float32 in [-1, 1] and class indices."""

    def __init__(self, root: str | Path, size: int) -> None:
        root = Path(root)
        if not root.is_dir():
            raise InputError(f"The data folder {root} does not exist or is not a folder.")
        self.size = size
        groups, ignored = class_groups(root)
        notes: list[str] = []
        if ignored:
            notes.append(
                f"{ignored} file(s) directly in {root.name} were ignored: with sub-folders, each sub-folder is a class"
            )
        if not any(files for _, files in groups):
            raise InputError(f"No images found in {root}: put images in it, or one sub-folder of images per class.")
        converted: dict[str, int] = {}
        self.images: list[list[np.ndarray]] = []
        names, counts, skipped = [], {}, []
        for name, files in groups:
            loaded = []
            for path in files[:MAX_IMAGES_PER_CLASS]:
                try:
                    loaded.append(load_image_file(path, size, converted))
                except (
                    OSError,
                    UnidentifiedImageError,
                    ValueError,
                    SyntaxError,
                    Image.DecompressionBombError,
                    Image.DecompressionBombWarning,
                ) as exc:
                    reason = "not an image" if isinstance(exc, UnidentifiedImageError) else type(exc).__name__
                    skipped.append({"file": str(path.relative_to(root)), "reason": reason})
            if len(files) > MAX_IMAGES_PER_CLASS:
                notes.append(f"class {name}: only the first {MAX_IMAGES_PER_CLASS} of {len(files)} files are used")
            if loaded:
                names.append(name)
                counts[name] = len(loaded)
                self.images.append(loaded)
            else:
                notes.append(f"class {name} has no readable images and was left out")
        if not names:
            raise InputError(
                f"None of the {len(skipped)} file(s) in {root} could be read as images "
                "(PNG, JPEG, WebP, BMP, TIFF, ...)."
            )
        total = sum(counts.values())
        if total == 1:
            notes.append("only one image: the model can at best learn crops of it")
        elif total < 8:
            notes.append(f"only {total} images: expect the model to copy them rather than vary")
        self.summary = FolderSummary(str(root), names, counts, skipped, converted, notes)

    @property
    def classes(self) -> list[str]:
        return self.summary.classes

    def batch(self, rng: np.random.Generator, count: int) -> tuple[np.ndarray, np.ndarray]:
        """Balanced over classes: a random class, a random image of it, a random crop, a random flip."""
        size = self.size
        labels = rng.integers(0, len(self.images), size=count)
        out = np.empty((count, size, size, 3), np.uint8)
        for i, label in enumerate(labels):
            pool = self.images[label]
            image = pool[int(rng.integers(0, len(pool)))]
            y = int(rng.integers(0, image.shape[0] - size + 1))
            x = int(rng.integers(0, image.shape[1] - size + 1))
            crop = image[y : y + size, x : x + size]
            out[i] = crop[:, ::-1] if rng.random() < 0.5 else crop
        tensor = out.transpose(0, 3, 1, 2).astype(np.float32) / 127.5 - 1.0
        return np.ascontiguousarray(tensor), labels.astype(np.int64)

    def reference_set(self, count: int, seed: int = 1234) -> np.ndarray:
        """A fixed set of training crops (N×S×S×3 float 0..1) for the quality statistics."""
        x, _ = self.batch(np.random.default_rng(seed), count)
        return (x.transpose(0, 2, 3, 1) + 1.0) / 2.0
