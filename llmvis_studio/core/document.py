"""The open image, its metadata and its mask."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from .geometry import Extent
from .requests import check_image_array, check_mask_matches


@dataclass
class ImageMetadata:
    format: str = "PNG"  # Pillow format name of the source file
    exif: bytes = b""
    icc_profile: bytes = b""
    dpi: Optional[tuple[float, float]] = None
    grey: bool = False  # the source was greyscale: saved back as grey while R = G = B
    notices: tuple[str, ...] = ()  # things the loader wants the user to know


@dataclass
class Document:
    image: np.ndarray  # H×W×3|4, uint8 or uint16
    mask: np.ndarray = field(default=None)  # type: ignore[arg-type]  # H×W uint8, made in __post_init__
    metadata: ImageMetadata = field(default_factory=ImageMetadata)
    path: Optional[Path] = None
    modified: bool = False

    def __post_init__(self) -> None:
        check_image_array(self.image)
        if self.mask is None:
            self.mask = empty_mask_for(self.image)
        check_mask_matches(self.mask, self.image)

    @property
    def extent(self) -> Extent:
        return Extent(int(self.image.shape[1]), int(self.image.shape[0]))

    @property
    def bit_depth(self) -> int:
        return 16 if self.image.dtype == np.uint16 else 8


def empty_mask_for(image: np.ndarray) -> np.ndarray:
    return np.zeros(image.shape[:2], dtype=np.uint8)
