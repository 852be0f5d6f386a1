"""The canvas: a QGraphicsView showing the image, the mask overlay and before/after.

Before/after is a divider in VIEW coordinates: `split` is a fraction of the viewport's width, so
the divider stays on screen at any zoom; drag it with the mouse (or the toolbar slider).

Scene coordinates are image pixels (pixel i spans [i, i+1)). Mask strokes repaint only their
bounding box: the overlay shares memory with a numpy buffer and only the touched box is
rewritten and invalidated, so painting stays instant on large images.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QTransform
from PySide6.QtWidgets import (
    QGraphicsEllipseItem,
    QGraphicsItem,
    QGraphicsScene,
    QGraphicsView,
    QStyleOptionGraphicsItem,
)

from ...core.geometry import Bounds
from ..document_model import DocumentModel
from .images import DisplayImage, MaskOverlay, contrast_colour, to_display_image
from .outline import mask_outline
from .tools import BrushSettings, Tool

MIN_ZOOM, MAX_ZOOM = 0.01, 64.0
WHEEL_STEP = 1.2
DIVIDER_GRAB_PX = 8  # the divider can be grabbed this far either side of it
DIVIDER_HANDLE_PX = 7
OUTLINE_DELAY_MS = 150  # the outline is traced again this long after the last mask change


class DocumentItem(QGraphicsItem):
    """Paints the image (or the before image left of the divider) and the mask overlay."""

    def __init__(self, doc: DocumentModel) -> None:
        super().__init__()
        self.setFlag(QGraphicsItem.ItemUsesExtendedStyleOption)  # gives paint() the exposed rectangle
        self.doc = doc
        self.show_before = False
        self.split_x: Optional[float] = None  # scene x of the before/after divider (the view sets it)
        self.overlay_choice = "auto"  # a colour name, or "auto": the one that contrasts with the picture
        self.show_fill = True  # the tinted overlay (off in the outline-only style)
        self._auto_colour: Optional[str] = None  # picked once per opened picture
        self._image = DisplayImage(QImage(), np.zeros(0, np.uint8))  # filled by rebuild()
        self._before = self._image
        self._before_source: Optional[np.ndarray] = None
        self.overlay: Optional[MaskOverlay] = None
        self.rebuild()

    def rebuild(self) -> None:
        """Rebuild display images after the image or its size changed."""
        self.prepareGeometryChange()
        document = self.doc.document
        self._image = to_display_image(document.image)
        opacity = self.overlay.opacity if self.overlay else 0.5
        self.overlay = MaskOverlay(document.mask, opacity, self.overlay_colour())
        self.update()

    def overlay_colour(self) -> str:
        if self.overlay_choice != "auto":
            return self.overlay_choice
        if self._auto_colour is None:
            self._auto_colour = contrast_colour(self.doc.document.image)
        return self._auto_colour

    def set_overlay_choice(self, choice: str) -> None:
        self.overlay_choice = choice
        if self.overlay is not None:
            self.overlay.set_colour(self.doc.document.mask, self.overlay_colour())
            self.update()

    def forget_auto_colour(self) -> None:
        """A new picture: "auto" picks its colour afresh."""
        self._auto_colour = None

    def refresh_mask(self, bounds: Bounds) -> None:
        bounds = bounds.clipped(self.doc.document.extent)
        if bounds.is_empty or self.overlay is None:
            return
        self.overlay.update(self.doc.document.mask, bounds)
        self.update(QRectF(bounds.x, bounds.y, bounds.width, bounds.height))

    def set_overlay_opacity(self, opacity: float) -> None:
        if self.overlay is not None:
            self.overlay.set_opacity(self.doc.document.mask, opacity)
            self.update()

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, self._image.qimage.width(), self._image.qimage.height())

    @property
    def qimage(self) -> QImage:
        return self._image.qimage

    def _before_image(self) -> QImage:
        if self._before_source is not self.doc.before_image:  # a new job kept a new "before"
            self._before_source = self.doc.before_image
            self._before = to_display_image(self.doc.before_image)
        return self._before.qimage

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        exposed = option.exposedRect.intersected(self.boundingRect())
        zoom = painter.worldTransform().m11()
        painter.setRenderHint(QPainter.SmoothPixmapTransform, zoom < 1.0)
        if self.show_before:
            self._draw_before(painter, exposed)
        else:
            painter.drawImage(exposed, self._image.qimage, exposed)
            if self.split_x is not None:
                self._draw_split(painter, exposed)
        if self.overlay is not None and not self.show_before and self.show_fill:
            painter.drawImage(exposed, self.overlay.qimage, exposed)

    def _draw_before(self, painter: QPainter, clip: QRectF) -> None:
        before = self._before_image()
        whole = self.boundingRect()
        painter.save()
        painter.setClipRect(clip)
        painter.drawImage(whole, before, QRectF(before.rect()))  # the before image may be smaller (upscale)
        painter.restore()

    def _draw_split(self, painter: QPainter, exposed: QRectF) -> None:
        """The before image left of the divider (the view draws the divider line itself)."""
        left = QRectF(0, 0, max(0.0, self.split_x), self.boundingRect().height()).intersected(exposed)
        if not left.isEmpty():
            self._draw_before(painter, left)


class CanvasView(QGraphicsView):
    zoomChanged = Signal(float)
    beforeShown = Signal(bool)
    splitChanged = Signal(int)  # percent of the view's width left of the divider (0 = off)

    def __init__(self, doc: DocumentModel, brush: BrushSettings, parent=None) -> None:
        super().__init__(parent)
        self.doc = doc
        self.brush = brush
        self.tool: Optional[Tool] = None
        self._space_held = False
        self._pan_from: Optional[QPointF] = None
        self._tool_active = False
        self._pointer_inside = False  # the brush ring shows only while the pointer is over the canvas
        self.split = 0.0  # 0..1 of the viewport width shows the before image; 0 = no divider
        self._dragging_divider = False
        self._fitting = True  # keep the whole picture in view (also while the window resizes) until the user zooms
        self.mask_style = "fill"  # fill | outline | both (see canvas/outline.py)
        self.outline = None  # QPainterPath of the mask's edge in image coordinates, when the style draws one
        self._outline_timer = QTimer(self)
        self._outline_timer.setSingleShot(True)
        self._outline_timer.setInterval(OUTLINE_DELAY_MS)
        self._outline_timer.timeout.connect(self.trace_outline)
        self.setScene(QGraphicsScene(self))
        self.item = DocumentItem(doc)
        self.scene().addItem(self.item)
        self.cursor_ring = self._make_cursor_ring()
        self._configure()
        self._sync_scene_rect()
        doc.maskChanged.connect(self.on_mask_changed)
        doc.imageChanged.connect(self.on_image_changed)
        doc.documentReplaced.connect(self.on_document_replaced)
        doc.interrupted.connect(self.cancel_tool)
        brush.changed.connect(self.on_brush_changed)

    def _configure(self) -> None:
        self.setTransformationAnchor(QGraphicsView.NoAnchor)  # zoom anchoring is done by hand
        self.setResizeAnchor(QGraphicsView.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.MinimalViewportUpdate)
        self.setBackgroundBrush(QColor(48, 48, 48))
        self.setMouseTracking(True)
        self.setAcceptDrops(False)  # file drops go to the main window
        self.viewport().setAcceptDrops(False)
        self.setFocusPolicy(Qt.StrongFocus)

    def _make_cursor_ring(self) -> QGraphicsEllipseItem:
        ring = QGraphicsEllipseItem()
        ring.setPen(QPen(QColor(255, 255, 255), 0))
        ring.setZValue(10)
        ring.setVisible(False)
        self.scene().addItem(ring)
        return ring

    def _sync_scene_rect(self) -> None:
        rect = self.item.boundingRect()
        self.scene().setSceneRect(rect)
        self.setSceneRect(rect)

    # --- document changes ------------------------------------------------------------
    @Slot(object)
    def on_mask_changed(self, bounds: Bounds) -> None:
        self.item.refresh_mask(bounds)
        if self.mask_style != "fill":
            self._outline_timer.start()

    def set_overlay_opacity(self, opacity: float) -> None:
        self.item.set_overlay_opacity(opacity)

    def set_overlay_choice(self, choice: str) -> None:
        """The mask overlay's colour: a name from OVERLAY_COLOURS, or "auto" (stands out from the picture)."""
        self.item.set_overlay_choice(choice)

    def set_mask_style(self, style: str) -> None:
        self.mask_style = style if style in ("fill", "outline", "both") else "fill"
        self.trace_outline()

    @Slot()
    def trace_outline(self) -> None:
        """Trace the outline now (the timer calls this after mask edits settle)."""
        self.outline = mask_outline(self.doc.document.mask) if self.mask_style != "fill" else None
        too_many = self.mask_style != "fill" and self.outline is None
        self.item.show_fill = self.mask_style != "outline" or too_many  # countless specks: tint instead
        self.item.update()
        self.viewport().update()

    @Slot()
    def on_image_changed(self) -> None:
        old_size = self.item.boundingRect().size()
        self.item.rebuild()
        self._sync_scene_rect()
        if self.item.boundingRect().size() != old_size:
            self.fit()  # e.g. after an upscale: show the whole new picture

    @Slot()
    def on_document_replaced(self) -> None:
        self.cancel_tool()  # the brush restores nothing into a mask that is not the one it painted
        self.item.forget_auto_colour()
        self.outline = None
        self.set_show_before(False)
        self.set_split_percent(0)
        self.on_image_changed()
        self.fit()

    @Slot()
    def on_brush_changed(self) -> None:
        self._update_cursor_ring(self.cursor_ring.rect().center())

    # --- zoom ------------------------------------------------------------------------
    @property
    def zoom(self) -> float:
        return self.transform().m11()

    def set_zoom(self, zoom: float, anchor: Optional[QPointF] = None) -> None:
        """Zoom keeping the scene point under `anchor` (viewport pixels) in place."""
        zoom = float(np.clip(zoom, MIN_ZOOM, MAX_ZOOM))
        self._fitting = False
        anchor = anchor if anchor is not None else QPointF(self.viewport().rect().center())
        scene_point = self._to_scene(anchor)
        self.setTransform(QTransform.fromScale(zoom, zoom))
        drift = self.viewportTransform().map(scene_point) - anchor
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() + round(drift.x()))
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() + round(drift.y()))
        self.zoomChanged.emit(self.zoom)

    @Slot()
    def fit(self) -> None:
        self._fitting = True
        self.fitInView(self.item.boundingRect(), Qt.KeepAspectRatio)
        self.zoomChanged.emit(self.zoom)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._fitting:  # e.g. first shown after the welcome page, when the fit saw a hidden, tiny view
            self.fit()

    @Slot()
    def actual_size(self) -> None:
        self.set_zoom(1.0)

    def wheelEvent(self, event) -> None:
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.set_zoom(self.zoom * WHEEL_STEP**steps, event.position())
        event.accept()

    # --- before / after --------------------------------------------------------------
    def set_show_before(self, shown: bool) -> None:
        if shown != self.item.show_before:
            self.item.show_before = shown
            self.item.update()
            self.beforeShown.emit(shown)

    @Slot(int)
    def set_split_percent(self, percent: int) -> None:
        self.set_split(max(0, min(100, percent)) / 100.0)

    def set_split(self, fraction: float) -> None:
        fraction = float(np.clip(fraction, 0.0, 1.0))
        if fraction != self.split:
            self.split = fraction
            self.viewport().update()
            self.splitChanged.emit(round(fraction * 100))

    def divider_view_x(self) -> Optional[float]:
        """Where the divider is, in viewport pixels (None when before/after is off)."""
        return self.split * self.viewport().width() if self.split > 0.0 else None

    def _near_divider(self, position: QPointF) -> bool:
        x = self.divider_view_x()
        return x is not None and abs(position.x() - x) <= DIVIDER_GRAB_PX

    def paintEvent(self, event) -> None:
        x = self.divider_view_x()
        self.item.split_x = None if x is None else self.mapToScene(QPoint(round(x), 0)).x()
        super().paintEvent(event)

    def scrollContentsBy(self, dx: int, dy: int) -> None:
        super().scrollContentsBy(dx, dy)
        if self.split > 0.0:  # the divider stays put while the picture moves under it
            self.viewport().update()

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        if self.outline is not None and not self.item.show_before:
            self._draw_outline(painter)
        x = self.divider_view_x()
        if x is None:
            return
        painter.save()
        painter.resetTransform()  # viewport pixels
        height = self.viewport().height()
        painter.setPen(QPen(QColor(0, 0, 0, 160), 3))
        painter.drawLine(QPointF(x, 0), QPointF(x, height))
        painter.setPen(QPen(QColor(255, 255, 255), 1))
        painter.drawLine(QPointF(x, 0), QPointF(x, height))
        painter.setBrush(QColor(255, 255, 255))
        painter.drawEllipse(QPointF(x, height / 2), DIVIDER_HANDLE_PX, DIVIDER_HANDLE_PX)
        painter.restore()

    def _draw_outline(self, painter: QPainter) -> None:
        painter.save()
        painter.setBrush(Qt.NoBrush)
        painter.setPen(QPen(QColor(0, 0, 0), 0))  # cosmetic: one screen pixel at any zoom
        painter.drawPath(self.outline)
        dashes = QPen(QColor(255, 255, 255), 0)
        dashes.setDashPattern([4, 4])
        painter.setPen(dashes)
        painter.drawPath(self.outline)
        painter.restore()

    # --- input -----------------------------------------------------------------------
    def _to_scene(self, position: QPointF) -> QPointF:
        return self.viewportTransform().inverted()[0].map(QPointF(position))

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.LeftButton and self._near_divider(event.position()):
            self._dragging_divider = True  # the divider wins over the mask tool right next to it
            event.accept()
            return
        wants_pan = event.button() == Qt.MiddleButton or (event.button() == Qt.LeftButton and self._space_held)
        if wants_pan:
            self._pan_from = event.position()
            self.viewport().setCursor(Qt.ClosedHandCursor)
        elif event.button() == Qt.LeftButton and self.tool is not None:
            self._tool_active = True
            self.tool.press(self._to_scene(event.position()), _subtracting(event))
        event.accept()

    def mouseMoveEvent(self, event) -> None:
        point = self._to_scene(event.position())
        self._pointer_inside = True
        self._update_cursor_ring(point)
        if self._dragging_divider:
            self.set_split(max(0.01, event.position().x() / max(1, self.viewport().width())))
        elif self._pan_from is not None:
            delta = event.position() - self._pan_from
            self._pan_from = event.position()
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - round(delta.x()))
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - round(delta.y()))
        elif self._tool_active and self.tool is not None:
            self.tool.move(point, _subtracting(event))
        else:
            near = self._near_divider(event.position())
            self._show_divider_cursor(near)
            if near:
                self.cursor_ring.setVisible(False)  # here a press drags the divider, not the brush
        event.accept()

    def _show_divider_cursor(self, near: bool) -> None:
        if near:
            self.viewport().setCursor(Qt.SplitHCursor)
        else:
            self.viewport().unsetCursor()

    def mouseReleaseEvent(self, event) -> None:
        if self._dragging_divider and event.button() == Qt.LeftButton:
            self._dragging_divider = False
        elif self._pan_from is not None and event.button() in (Qt.MiddleButton, Qt.LeftButton):
            self._pan_from = None
            self.viewport().unsetCursor()
        elif event.button() == Qt.LeftButton and self._tool_active and self.tool is not None:
            self._tool_active = False
            self.tool.release(self._to_scene(event.position()), _subtracting(event))
        event.accept()

    @Slot()
    def cancel_tool(self) -> bool:
        """Abandon an unfinished stroke (its pixels are restored); True if there was one."""
        if not self._tool_active or self.tool is None:
            return False
        self._tool_active = False
        self.tool.cancel()
        return True

    def set_tool(self, tool: Optional[Tool]) -> None:
        self.cancel_tool()
        self.tool = tool
        self._update_cursor_ring(self.cursor_ring.rect().center())

    def _update_cursor_ring(self, point: QPointF) -> None:
        shows_ring = (
            self._pointer_inside and self.tool is not None and self.tool.uses_brush and not self._dragging_divider
        )
        self.cursor_ring.setVisible(shows_ring)
        if shows_ring:
            radius = self.brush.radius
            self.cursor_ring.setRect(point.x() - radius, point.y() - radius, 2 * radius, 2 * radius)

    def leaveEvent(self, event) -> None:
        self._pointer_inside = False
        self.cursor_ring.setVisible(False)
        super().leaveEvent(event)

    def keyPressEvent(self, event) -> None:
        if self._handle_key(event, pressed=True):
            event.accept()
        else:
            super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:
        if self._handle_key(event, pressed=False):
            event.accept()
        else:
            super().keyReleaseEvent(event)

    def _handle_key(self, event, pressed: bool) -> bool:
        key = event.key()
        if key == Qt.Key_Space:
            if not event.isAutoRepeat():
                self._space_held = pressed
            return True
        if key == Qt.Key_Backslash:
            if not event.isAutoRepeat():
                self.set_show_before(pressed)
            return True
        if key in (Qt.Key_BracketLeft, Qt.Key_BracketRight):
            if pressed:
                self.brush.step(1 if key == Qt.Key_BracketRight else -1)
            return True
        return False

    def focusOutEvent(self, event) -> None:
        self._space_held = False  # the key release goes elsewhere once focus leaves
        self.set_show_before(False)
        super().focusOutEvent(event)


def _subtracting(event) -> bool:
    return bool(event.modifiers() & Qt.AltModifier)
