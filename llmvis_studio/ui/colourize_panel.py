"""Colourize in the editor: a Colour menu, a small panel (strength, hint colour, hint brush) and the hint layer.

main_window.py calls `install_colourize(self)` once (one hook line). The hint layer is an RGBA array of the image's
size (colour where alpha > 0), painted with the Colour hint brush: each click puts a dot of the chosen colour; every dot
is one undo step on the document's undo stack and shows as a small ring on the canvas. Colourize builds one frozen
request (op "colourize", strength, a copy of the hint layer) and submits it like any other job; the result comes back
as one undo step. The model only reads luminance, so re-running after adding hints works on the coloured result too.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
from PySide6.QtCore import QPointF, Qt, Slot
from PySide6.QtGui import QAction, QColor, QPen, QUndoCommand
from PySide6.QtWidgets import (QColorDialog, QDockWidget, QGraphicsEllipseItem, QHBoxLayout, QLabel, QPushButton,
                               QSlider, QVBoxLayout, QWidget)

from ..core.errors import StudioError
from ..core.requests import EditRequest
from .canvas.tools import Tool
from .editor import build_op_request

DOT = 3            # hint dot side in image pixels (what the model was trained with)
MARKER_RADIUS = 5  # ring shown on the canvas, scene pixels


class HintLayer:
    """The hint colours (H×W×4 uint8, colour where alpha > 0) for the open image."""

    def __init__(self) -> None:
        self.rgba: Optional[np.ndarray] = None

    def ensure(self, height: int, width: int) -> np.ndarray:
        if self.rgba is None or self.rgba.shape[:2] != (height, width):
            self.rgba = np.zeros((height, width, 4), np.uint8)
        return self.rgba

    def is_empty(self) -> bool:
        return self.rgba is None or not self.rgba[..., 3].any()


class HintDotCommand(QUndoCommand):
    """One hint dot: redo paints it (and shows its ring), undo puts the previous pixels back."""

    def __init__(self, panel: "ColourizePanel", y: int, x: int, colour: QColor) -> None:
        super().__init__("Colour hint")
        self.panel, self.y, self.x = panel, y, x
        self.rgba = np.array([colour.red(), colour.green(), colour.blue(), 255], np.uint8)
        layer = panel.hints.rgba
        self.before = layer[self._slices()].copy()
        self.marker: Optional[QGraphicsEllipseItem] = None
        self.colour = QColor(colour)

    def _slices(self) -> tuple[slice, slice]:
        h, w = self.panel.hints.rgba.shape[:2]
        return slice(max(0, self.y - DOT // 2), min(h, self.y + DOT // 2 + 1)), \
            slice(max(0, self.x - DOT // 2), min(w, self.x + DOT // 2 + 1))

    def redo(self) -> None:
        self.panel.hints.rgba[self._slices()] = self.rgba
        self.marker = self.panel.add_marker(self.x + 0.5, self.y + 0.5, self.colour)

    def undo(self) -> None:
        self.panel.hints.rgba[self._slices()] = self.before
        self.panel.remove_marker(self.marker)
        self.marker = None


class HintBrushTool(Tool):
    """Canvas tool: a click puts one hint dot of the panel's colour."""

    def __init__(self, panel: "ColourizePanel") -> None:
        super().__init__(panel.window.doc, panel.window.canvas.scene())
        self.panel = panel

    def press(self, point: QPointF, subtract: bool) -> None:
        self.panel.add_dot(int(point.y()), int(point.x()))


class ColourizePanel(QDockWidget):
    def __init__(self, window) -> None:
        super().__init__("Colourize", window)
        self.setObjectName("colourize-panel")
        self.window = window
        self.hints = HintLayer()
        self.colour = QColor(200, 60, 50)
        self.markers: list[QGraphicsEllipseItem] = []
        self.tool = HintBrushTool(self)
        body = QWidget(self)
        layout = QVBoxLayout(body)
        row = QHBoxLayout()
        row.addWidget(QLabel("Strength"))
        self.strength_slider = QSlider(Qt.Horizontal)
        self.strength_slider.setRange(0, 100)
        self.strength_slider.setValue(100)
        row.addWidget(self.strength_slider)
        layout.addLayout(row)
        self.colour_button = QPushButton("Hint colour…")
        self.colour_button.clicked.connect(self.on_pick_colour)
        self.brush_button = QPushButton("Colour hint brush")
        self.brush_button.setCheckable(True)
        self.brush_button.toggled.connect(self.on_brush_toggled)
        self.clear_button = QPushButton("Clear hints")
        self.clear_button.clicked.connect(self.on_clear)
        self.run_button = QPushButton("Colourize")
        self.run_button.clicked.connect(self.on_run)
        for widget in (self.colour_button, self.brush_button, self.clear_button, self.run_button):
            layout.addWidget(widget)
        layout.addStretch(1)
        self.setWidget(body)
        self._show_colour()
        window.doc.documentReplaced.connect(self.on_document_replaced)

    # --- hint layer --------------------------------------------------------------------
    def add_dot(self, y: int, x: int) -> bool:
        image = self.window.document.image
        if not (0 <= y < image.shape[0] and 0 <= x < image.shape[1]):
            return False
        self.hints.ensure(*image.shape[:2])
        self.window.doc.undo_stack.push(HintDotCommand(self, y, x, self.colour))
        return True

    def add_marker(self, x: float, y: float, colour: QColor) -> QGraphicsEllipseItem:
        r = MARKER_RADIUS
        item = QGraphicsEllipseItem(x - r, y - r, 2 * r, 2 * r)
        item.setPen(QPen(Qt.black, 0))
        item.setBrush(colour)
        item.setZValue(50)
        self.window.canvas.scene().addItem(item)
        self.markers.append(item)
        return item

    def remove_marker(self, item: Optional[QGraphicsEllipseItem]) -> None:
        if item is not None and item in self.markers:
            self.markers.remove(item)
            self.window.canvas.scene().removeItem(item)

    @Slot()
    def on_clear(self) -> None:
        """Clearing is not undoable by design: it drops the whole hint layer (the dots' own steps stay harmless)."""
        if self.hints.rgba is not None:
            self.hints.rgba[:] = 0
        for item in list(self.markers):
            self.remove_marker(item)

    @Slot()
    def on_document_replaced(self) -> None:
        self.on_clear()
        self.hints.rgba = None

    # --- controls ----------------------------------------------------------------------
    def _show_colour(self) -> None:
        self.colour_button.setStyleSheet(f"background-color: {self.colour.name()}")

    @Slot()
    def on_pick_colour(self) -> None:
        chosen = QColorDialog.getColor(self.colour, self, "Hint colour")
        if chosen.isValid():
            self.set_colour(chosen)

    def set_colour(self, colour: QColor) -> None:
        self.colour = QColor(colour)
        self._show_colour()

    @Slot(bool)
    def on_brush_toggled(self, on: bool) -> None:
        self.window.canvas.set_tool(self.tool if on else self.window.tools["brush"])

    def build_request(self) -> EditRequest:
        image = self.window.document.image
        params: dict = {"strength": self.strength_slider.value() / 100.0}
        if not self.hints.is_empty() and self.hints.rgba.shape[:2] == image.shape[:2]:
            params["hints"] = self.hints.rgba.copy()
        return build_op_request(self.window, "colourize", params)

    @Slot()
    def on_run(self) -> Optional[int]:
        try:
            request = self.build_request()
        except StudioError as error:
            self.window.show_error("Cannot start the job", error)
            return None
        return self.window.jobs.submit(request)


def install_colourize(window) -> ColourizePanel:
    """Add the Colour menu and the (hidden until asked for) Colourize panel to the main window."""
    panel = ColourizePanel(window)
    window.addDockWidget(Qt.RightDockWidgetArea, panel)
    panel.hide()
    menu = window.menuBar().addMenu("&Colour")
    action = QAction("&Colourize…", window)
    action.triggered.connect(panel.show)
    action.triggered.connect(panel.raise_)
    menu.addAction(action)
    window.colourize_panel = panel
    window.colourize_action = action
    return panel
