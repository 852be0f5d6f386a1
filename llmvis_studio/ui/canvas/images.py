"""numpy arrays → QImages for display, and the mask overlay updated region by region.

Both QImages wrap numpy buffers (no copy) in 32-bit formats the raster painter draws directly;
the owner keeps the buffer alive next to the QImage.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PySide6.QtGui import QImage

from ...core.geometry import Bounds

OVERLAY_COLOURS = {  # name → RGB; "auto" picks the one that stands out most from the picture
    "red": (255, 0, 0),
    "green": (0, 220, 0),
    "blue": (0, 90, 255),
    "magenta": (255, 0, 255),
    "cyan": (0, 230, 230),
    "yellow": (255, 230, 0),
}
CONTRAST_SAMPLES = 64  # the picture is sampled on about this many points per side
CONTRAST_PERCENTILE = 10  # judge a colour by the picture's closest tenth, so a red subject rules out red


def contrast_colour(image: np.ndarray) -> str:
    """The overlay colour farthest from most of the picture (e.g. not red on a red subject)."""
    pixels = display_bytes(image)
    step = max(1, max(pixels.shape[:2]) // CONTRAST_SAMPLES)
    sample = pixels[::step, ::step, :3].reshape(-1, 3).astype(np.float32)
    rank = len(sample) * CONTRAST_PERCENTILE // 100
    scores = {}
    for name, rgb in OVERLAY_COLOURS.items():
        distance = np.sqrt(((sample - np.array(rgb, np.float32)) ** 2).sum(axis=1))
        scores[name] = float(np.partition(distance, rank)[rank])  # a percentile without np.percentile's cost
    return max(scores, key=scores.get)


def overlay_lut(rgb: tuple[int, int, int], opacity: float) -> np.ndarray:
    """Mask value (0..255) → premultiplied ARGB32 pixel of colour `rgb` at alpha value * opacity."""
    alpha = np.rint(np.arange(256) * opacity).astype(np.uint32)
    red, green, blue = (np.rint(alpha * (c / 255.0)).astype(np.uint32) for c in rgb)
    return (alpha << 24) | (red << 16) | (green << 8) | blue


def display_bytes(image: np.ndarray) -> np.ndarray:
    """8-bit view of an image for the screen: uint16 shows its high byte."""
    if image.dtype == np.uint16:
        return (image >> 8).astype(np.uint8)
    return image


@dataclass
class DisplayImage:
    qimage: QImage
    pixels: np.ndarray  # the buffer qimage reads; must live as long as it


def to_display_image(image: np.ndarray) -> DisplayImage:
    """BGRA bytes are ARGB32 on little-endian machines; OpenCV converts a 4000×3000 image in ms."""
    pixels = display_bytes(image)
    height, width, channels = pixels.shape
    if channels == 3:
        bgra = cv2.cvtColor(np.ascontiguousarray(pixels), cv2.COLOR_RGB2BGRA)
        return DisplayImage(QImage(bgra.data, width, height, width * 4, QImage.Format_RGB32), bgra)
    rgba = np.ascontiguousarray(pixels)
    wrapped = QImage(rgba.data, width, height, width * 4, QImage.Format_RGBA8888)
    return DisplayImage(wrapped.convertToFormat(QImage.Format_ARGB32_Premultiplied), rgba)  # the copy owns itself


class MaskOverlay:
    """A premultiplied ARGB32 image sharing memory with a numpy buffer, so a stroke rewrites only its box."""

    def __init__(self, mask: np.ndarray, opacity: float = 0.5, colour: str = "red") -> None:
        height, width = mask.shape
        self.buffer = np.zeros((height, width), dtype=np.uint32)
        self.qimage = QImage(self.buffer.data, width, height, width * 4, QImage.Format_ARGB32_Premultiplied)
        self.opacity = -1.0
        self.colour = colour if colour in OVERLAY_COLOURS else "red"
        self.set_opacity(mask, opacity)

    def set_colour(self, mask: np.ndarray, colour: str) -> None:
        if colour in OVERLAY_COLOURS and colour != self.colour:
            self.colour = colour
            self._lut = overlay_lut(OVERLAY_COLOURS[colour], self.opacity)
            self.update(mask, Bounds.of_array(mask))

    def update(self, mask: np.ndarray, bounds: Bounds) -> None:
        self.buffer[bounds.slices] = self._lut[mask[bounds.slices]]

    def set_opacity(self, mask: np.ndarray, opacity: float) -> None:
        opacity = float(np.clip(opacity, 0.0, 1.0))
        if opacity == self.opacity:
            return
        self.opacity = opacity
        self._lut = overlay_lut(OVERLAY_COLOURS[self.colour], opacity)  # mask value → overlay pixel
        self.update(mask, Bounds.of_array(mask))
