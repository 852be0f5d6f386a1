"""Undo atoms: a changed rectangle with its before and after pixels.

A brush stroke or a masked job stores only its bounding box, not a copy of the whole layer.
The Qt undo stack wraps these atoms; they know nothing about Qt.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

from .document import Document
from .geometry import Bounds, nonzero_bounds

Layer = Literal["image", "mask"]


class Atom(Protocol):
    label: str

    def undo(self, document: Document) -> None: ...

    def redo(self, document: Document) -> None: ...

    @property
    def nbytes(self) -> int: ...


def _layer(document: Document, layer: Layer) -> np.ndarray:
    return document.image if layer == "image" else document.mask


@dataclass(frozen=True)
class PatchAtom:
    label: str
    layer: Layer
    bounds: Bounds
    before: np.ndarray
    after: np.ndarray

    def undo(self, document: Document) -> None:
        _layer(document, self.layer)[self.bounds.slices] = self.before

    def redo(self, document: Document) -> None:
        _layer(document, self.layer)[self.bounds.slices] = self.after

    @property
    def nbytes(self) -> int:
        return self.before.nbytes + self.after.nbytes


@dataclass(frozen=True)
class ReplaceImageAtom:
    """For jobs that change the size (upscale): keeps both whole images and masks."""

    label: str
    before_image: np.ndarray
    after_image: np.ndarray
    before_mask: np.ndarray
    after_mask: np.ndarray

    def undo(self, document: Document) -> None:
        document.image = self.before_image.copy()
        document.mask = self.before_mask.copy()

    def redo(self, document: Document) -> None:
        document.image = self.after_image.copy()
        document.mask = self.after_mask.copy()

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.before_image, self.after_image, self.before_mask, self.after_mask))


def patch_atom(
    label: str, layer: Layer, bounds: Bounds, before_layer: np.ndarray, after_layer: np.ndarray
) -> PatchAtom:
    """Cut the changed rectangle out of whole-layer before/after arrays."""
    return PatchAtom(label, layer, bounds, before_layer[bounds.slices].copy(), after_layer[bounds.slices].copy())


def changed_bounds(before: np.ndarray, after: np.ndarray) -> Bounds | None:
    """The smallest rectangle holding every pixel that differs, or None if nothing changed."""
    diff = before != after
    if diff.ndim == 3:
        diff = diff.any(axis=2)
    return nonzero_bounds(diff)
