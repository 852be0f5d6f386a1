"""Mask tools (brush, eraser, rectangle, lasso) and whole-mask commands.

Each stroke, rectangle, lasso or command becomes ONE undo step holding only the bounding box
of what changed (core/history.py PatchAtom). Points arrive in scene coordinates, where pixel
i spans [i, i+1); core/mask.py wants pixel-centre coordinates, hence the half-pixel shift.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Optional

import numpy as np
from PySide6.QtCore import QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsPathItem, QGraphicsRectItem, QGraphicsScene

from ...core import mask as maskops
from ...core.geometry import Bounds
from ...core.history import PatchAtom, changed_bounds, patch_atom
from ..document_model import DocumentModel

MIN_BRUSH, MAX_BRUSH = 1, 2000
BRUSH_STEP = 1.25


class BrushSettings(QObject):
    """Brush diameter in image pixels and hardness 0..1, shared by the canvas and the tools panel."""

    changed = Signal()

    def __init__(self, size: int = 40, hardness: float = 0.8, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.size = size
        self.hardness = hardness

    @property
    def radius(self) -> float:
        return self.size / 2.0

    def set_size(self, size: int) -> None:
        size = int(np.clip(size, MIN_BRUSH, MAX_BRUSH))
        if size != self.size:
            self.size = size
            self.changed.emit()

    def set_hardness(self, hardness: float) -> None:
        hardness = float(np.clip(hardness, 0.0, 1.0))
        if hardness != self.hardness:
            self.hardness = hardness
            self.changed.emit()

    def step(self, direction: int) -> None:
        """`]` grows and `[` shrinks by a quarter, always by at least one pixel."""
        target = self.size * BRUSH_STEP if direction > 0 else self.size / BRUSH_STEP
        change = max(1, abs(round(target) - self.size))
        self.set_size(self.size + change * (1 if direction > 0 else -1))


def pixel_centre(point: QPointF) -> tuple[float, float]:
    return point.x() - 0.5, point.y() - 0.5


def push_region_edit(doc: DocumentModel, label: str, region: Bounds, before: np.ndarray) -> bool:
    """Record the part of `region` that differs from `before` (a copy of mask[region]) as one undo step."""
    mask = doc.document.mask
    inner = changed_bounds(before, mask[region.slices])
    if inner is None:
        return False
    bounds = Bounds(region.x + inner.x, region.y + inner.y, inner.width, inner.height)
    atom = PatchAtom(label, "mask", bounds, before[inner.slices].copy(), mask[bounds.slices].copy())
    doc.push_atom(atom)
    return True


def edit_mask_region(doc: DocumentModel, label: str, region: Bounds, edit: Callable[[np.ndarray], object]) -> bool:
    """Run `edit(mask)` that touches only `region`, then record it as one undo step."""
    region = region.clipped(doc.document.extent)
    if region.is_empty:
        return False
    before = doc.document.mask[region.slices].copy()
    edit(doc.document.mask)
    doc.maskChanged.emit(region)
    return push_region_edit(doc, label, region, before)


class Tool:
    """Receives scene points from the canvas while the left button is down."""

    uses_brush = False

    def __init__(self, doc: DocumentModel, scene: QGraphicsScene) -> None:
        self.doc = doc
        self.scene = scene

    def press(self, point: QPointF, subtract: bool) -> None: ...

    def move(self, point: QPointF, subtract: bool) -> None: ...

    def release(self, point: QPointF, subtract: bool) -> None: ...

    def cancel(self) -> None: ...


class BrushTool(Tool):
    """Paints (or, as the eraser, clears) along the mouse path; one undo step per stroke."""

    uses_brush = True

    def __init__(self, doc: DocumentModel, scene: QGraphicsScene, brush: BrushSettings, erase: bool = False) -> None:
        super().__init__(doc, scene)
        self.brush = brush
        self.erase = erase
        self._before: Optional[np.ndarray] = None
        self._mask: Optional[np.ndarray] = None  # the array this stroke paints into
        self._touched = Bounds(0, 0, 0, 0)
        self._last: tuple[float, float] = (0.0, 0.0)

    @property
    def label(self) -> str:
        return "Erase" if self.erase else "Brush stroke"

    def press(self, point: QPointF, subtract: bool) -> None:
        self._mask = self.doc.document.mask
        self._before = self._mask.copy()  # one memcpy per stroke; the undo patch is cut from it
        self._touched = Bounds(0, 0, 0, 0)
        self._last = pixel_centre(point)
        self._paint_to(self._last, subtract)

    def move(self, point: QPointF, subtract: bool) -> None:
        if self._before is not None:
            self._paint_to(pixel_centre(point), subtract)

    def release(self, point: QPointF, subtract: bool) -> None:
        if self._before is None:
            return
        self._paint_to(pixel_centre(point), subtract)
        before, self._before = self._before, None
        if not self._touched.is_empty:
            push_region_edit(self.doc, self.label, self._touched, before[self._touched.slices])

    def cancel(self) -> None:
        still_same_mask = self._mask is self.doc.document.mask  # not after a new file or an upscale
        if self._before is not None and not self._touched.is_empty and still_same_mask:
            self._mask[self._touched.slices] = self._before[self._touched.slices]
            self.doc.maskChanged.emit(self._touched)
        self._before = self._mask = None

    def _paint_to(self, point: tuple[float, float], subtract: bool) -> None:
        erase = self.erase != subtract  # Alt inverts the tool
        touched = maskops.paint_line(self._mask, self._last, point, self.brush.radius, self.brush.hardness, erase=erase)
        self._last = point
        if not touched.is_empty:
            self._touched = self._touched.union(touched)
            self.doc.maskChanged.emit(touched)


def _preview_pen() -> QPen:
    pen = QPen(QColor(255, 255, 255), 0)  # cosmetic
    pen.setStyle(Qt.DashLine)
    return pen


class RectangleTool(Tool):
    """Drag a rectangle; it is added to the mask on release (Alt subtracts)."""

    def __init__(self, doc: DocumentModel, scene: QGraphicsScene) -> None:
        super().__init__(doc, scene)
        self._start: Optional[QPointF] = None
        self._preview = QGraphicsRectItem()
        self._preview.setPen(_preview_pen())
        self._preview.setZValue(5)
        self._preview.setVisible(False)
        scene.addItem(self._preview)

    def press(self, point: QPointF, subtract: bool) -> None:
        self._start = point
        self._preview.setRect(QRectF(point, point))
        self._preview.setVisible(True)

    def move(self, point: QPointF, subtract: bool) -> None:
        if self._start is not None:
            self._preview.setRect(QRectF(self._start, point).normalized())

    def release(self, point: QPointF, subtract: bool) -> None:
        if self._start is None:
            return
        start = self._start
        self.cancel()
        if is_click(start, point):
            return  # a click is not a rectangle: no one-pixel edit, no undo step
        bounds = rectangle_bounds(start, point)
        label = "Subtract rectangle" if subtract else "Rectangle"
        edit_mask_region(self.doc, label, bounds, lambda mask: maskops.fill_rectangle(mask, bounds, erase=subtract))

    def cancel(self) -> None:
        self._start = None
        self._preview.setVisible(False)


def is_click(start: QPointF, end: QPointF) -> bool:
    """The pointer moved less than a pixel both ways: the user clicked rather than dragged."""
    return abs(end.x() - start.x()) < 1.0 and abs(end.y() - start.y()) < 1.0


def rectangle_bounds(start: QPointF, end: QPointF) -> Bounds:
    """Every pixel the dragged rectangle covers, both corner pixels included."""
    x0, x1 = sorted((math.floor(start.x()), math.floor(end.x())))
    y0, y1 = sorted((math.floor(start.y()), math.floor(end.y())))
    return Bounds(x0, y0, x1 - x0 + 1, y1 - y0 + 1)


class LassoTool(Tool):
    """Draw a free outline; its inside is added on release (Alt subtracts)."""

    def __init__(self, doc: DocumentModel, scene: QGraphicsScene) -> None:
        super().__init__(doc, scene)
        self._points: list[QPointF] = []
        self._preview = QGraphicsPathItem()
        self._preview.setPen(_preview_pen())
        self._preview.setZValue(5)
        scene.addItem(self._preview)

    def press(self, point: QPointF, subtract: bool) -> None:
        self._points = [point]
        self._redraw()

    def move(self, point: QPointF, subtract: bool) -> None:
        if self._points:
            self._points.append(point)
            self._redraw()

    def release(self, point: QPointF, subtract: bool) -> None:
        if not self._points:
            return
        points = [pixel_centre(p) for p in self._points + [point]]
        self.cancel()
        if len(points) < 3:
            return
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        region = Bounds(
            math.floor(min(xs)),
            math.floor(min(ys)),
            math.ceil(max(xs)) - math.floor(min(xs)) + 2,
            math.ceil(max(ys)) - math.floor(min(ys)) + 2,
        )
        label = "Subtract lasso" if subtract else "Lasso"
        edit_mask_region(self.doc, label, region, lambda mask: maskops.fill_polygon(mask, points, erase=subtract))

    def cancel(self) -> None:
        self._points = []
        self._redraw()

    def _redraw(self) -> None:
        path = QPainterPath()
        if self._points:
            path.moveTo(self._points[0])
            for point in self._points[1:]:
                path.lineTo(point)
        self._preview.setPath(path)


# --- whole-mask commands --------------------------------------------------------------
def apply_mask_command(doc: DocumentModel, label: str, transform: Callable[[np.ndarray], np.ndarray]) -> bool:
    """Replace the mask by transform(mask), storing only the changed rectangle. False if nothing changed."""
    doc.interrupt_edits()
    mask = doc.document.mask
    new_mask = transform(mask)
    bounds = changed_bounds(mask, new_mask)
    if bounds is None:
        return False
    atom = patch_atom(label, "mask", bounds, mask, new_mask)
    mask[bounds.slices] = new_mask[bounds.slices]
    doc.push_atom(atom)  # the push's redo() notifies the canvas
    return True


def clear_mask(doc: DocumentModel) -> bool:
    return apply_mask_command(doc, "Clear mask", np.zeros_like)


def invert_mask(doc: DocumentModel) -> bool:
    return apply_mask_command(doc, "Invert mask", maskops.inverted)


def grow_mask(doc: DocumentModel, radius: int) -> bool:
    return apply_mask_command(doc, f"Grow mask {radius} px", lambda mask: maskops.grown(mask, radius))


def shrink_mask(doc: DocumentModel, radius: int) -> bool:
    return apply_mask_command(doc, f"Shrink mask {radius} px", lambda mask: maskops.shrunk(mask, radius))


def feather_mask(doc: DocumentModel, radius: int) -> bool:
    return apply_mask_command(doc, f"Feather mask {radius} px", lambda mask: maskops.feathered(mask, radius))


def replace_mask(doc: DocumentModel, new_mask: np.ndarray, label: str = "Import mask") -> bool:
    return apply_mask_command(doc, label, lambda _mask: np.ascontiguousarray(new_mask, dtype=np.uint8))
