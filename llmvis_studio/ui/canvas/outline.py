"""The mask's outline as a QPainterPath, drawn by the canvas with a cosmetic black-and-white dashed
pen: one screen pixel wide at any zoom and visible on any colour (the "marching ants" style).

Contours are traced on a copy reduced to at most OUTLINE_SIDE pixels a side, so a 24 MP mask costs a
few milliseconds; a mask of countless specks (a detector's) falls back to the filled overlay.
"""

from __future__ import annotations

import math
from typing import Optional

import cv2
import numpy as np
from PySide6.QtCore import QPointF
from PySide6.QtGui import QPainterPath, QPolygonF

OUTLINE_SIDE = 2048
MAX_OUTLINE_POINTS = 100_000  # beyond this the path costs more to build and draw than it helps
STYLES = {"fill": "Tinted", "outline": "Outline (black and white dashes)", "both": "Tinted with Outline"}


def mask_outline(mask: np.ndarray) -> Optional[QPainterPath]:
    """Closed outlines of the selected (>= 128) area in image coordinates; None when there are too many."""
    step = max(1, math.ceil(max(mask.shape) / OUTLINE_SIDE))
    small = np.ascontiguousarray((mask[::step, ::step] >= 128).astype(np.uint8))
    contours, _ = cv2.findContours(small, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    if sum(len(c) for c in contours) > MAX_OUTLINE_POINTS:
        return None
    path = QPainterPath()
    for contour in contours:
        points = contour.reshape(-1, 2).astype(np.float64) * step + 0.5 * step  # pixel centres
        polygon = QPolygonF([QPointF(x, y) for x, y in points])
        polygon.append(polygon.first())
        path.addPolygon(polygon)
    return path
