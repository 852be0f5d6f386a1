"""numpy arrays → QImages for display, and the red mask overlay updated region by region.

Both QImages wrap numpy buffers (no copy) in 32-bit formats the raster painter draws directly;
the owner keeps the buffer alive next to the QImage.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PySide6.QtGui import QImage

from ...core.geometry import Bounds

RED_AND_ALPHA = 0x01010000  # premultiplied ARGB32: alpha a and red a, so a * this is pure red at a


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
    """A red premultiplied ARGB32 image sharing memory with a numpy buffer, so a stroke rewrites only its box."""

    def __init__(self, mask: np.ndarray, opacity: float = 0.5) -> None:
        height, width = mask.shape
        self.buffer = np.zeros((height, width), dtype=np.uint32)
        self.qimage = QImage(self.buffer.data, width, height, width * 4, QImage.Format_ARGB32_Premultiplied)
        self.opacity = -1.0
        self.set_opacity(mask, opacity)

    def update(self, mask: np.ndarray, bounds: Bounds) -> None:
        self.buffer[bounds.slices] = self._lut[mask[bounds.slices]]

    def set_opacity(self, mask: np.ndarray, opacity: float) -> None:
        opacity = float(np.clip(opacity, 0.0, 1.0))
        if opacity == self.opacity:
            return
        self.opacity = opacity
        alpha = np.rint(np.arange(256) * opacity).astype(np.uint32)
        self._lut = alpha * np.uint32(RED_AND_ALPHA)  # mask value → overlay pixel
        self.update(mask, Bounds.of_array(mask))
