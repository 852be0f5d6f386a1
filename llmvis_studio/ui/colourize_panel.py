"""Colourize in the editor: a Colour menu, a small panel (strength, hint colour, hint brush) and the hint layer.

main_window.py calls `install_colourize(self)` once (one hook line). The hint layer (core/hint_layer.py, kept by the
document model and saved in the project file) is an RGBA array of the image's size (colour where alpha > 0), painted
with the Colour hint brush: each click puts a dot of the chosen colour; every dot, and Clear, is one undo step on the
document's undo stack; each dot shows as a small ring on the canvas. Colourize builds one frozen request (op
"colourize", strength, a copy of the hint layer) and submits it like any other job; the result comes back as one undo
step. After that, with Live checked, hint and strength changes re-run it on the worker (ui/colourize_live.py).
"""

from __future__ import annotations

from typing import Optional

import cv2
import numpy as np
from PySide6.QtCore import QPointF, Qt, Slot
from PySide6.QtGui import QAction, QColor, QPen, QUndoCommand
from PySide6.QtWidgets import (
    QCheckBox,
    QColorDialog,
    QDockWidget,
    QGraphicsEllipseItem,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from ..core.errors import StudioError
from ..core.hint_layer import HintLayer, to_points
from ..core.requests import EditRequest
from .canvas.tools import Tool
from .colourize_live import LiveColourize

DOT = 3  # hint dot side in image pixels (what the model was trained with)
MARKER_RADIUS = 5  # ring shown on the canvas, scene pixels
MAX_MARKERS = 2000  # rings drawn at most (a long stroke of dots would otherwise flood the scene)


class HintDotCommand(QUndoCommand):
    """One hint dot: redo paints it, undo puts the previous pixels back."""

    def __init__(self, panel: ColourizePanel, y: int, x: int, colour: QColor) -> None:
        super().__init__("Colour hint")
        self.panel, self.y, self.x = panel, y, x
        self.rgba = np.array([colour.red(), colour.green(), colour.blue(), 255], np.uint8)
        self.before = panel.hints.rgba[self._slices()].copy()
        self.dot = (y, x, colour.red(), colour.green(), colour.blue())

    def _slices(self) -> tuple[slice, slice]:
        h, w = self.panel.hints.rgba.shape[:2]
        return slice(max(0, self.y - DOT // 2), min(h, self.y + DOT // 2 + 1)), slice(
            max(0, self.x - DOT // 2), min(w, self.x + DOT // 2 + 1)
        )

    def redo(self) -> None:
        self.panel.hints.rgba[self._slices()] = self.rgba
        self.panel.hints.dots.append(self.dot)
        self.panel.hints_changed()

    def undo(self) -> None:
        self.panel.hints.rgba[self._slices()] = self.before
        dots = self.panel.hints.dots
        if self.dot in dots:
            del dots[len(dots) - 1 - dots[::-1].index(self.dot)]  # the newest copy of this dot
        self.panel.hints_changed()


class ClearHintsCommand(QUndoCommand):
    """Clear all hints as one undo step (the hinted pixels are kept sparse for the undo)."""

    def __init__(self, panel: ColourizePanel) -> None:
        super().__init__("Clear colour hints")
        self.panel = panel
        self.points = to_points(panel.hints.rgba)
        self.dots = list(panel.hints.dots)

    def redo(self) -> None:
        rgba = self.panel.hints.rgba
        rgba[self.points[:, 0].astype(np.intp), self.points[:, 1].astype(np.intp)] = 0
        self.panel.hints.dots = []
        self.panel.hints_changed()

    def undo(self) -> None:
        rgba = self.panel.hints.rgba
        rgba[self.points[:, 0].astype(np.intp), self.points[:, 1].astype(np.intp)] = self.points[:, 2:]
        self.panel.hints.dots = list(self.dots)
        self.panel.hints_changed()


class HintBrushTool(Tool):
    """Canvas tool: a click puts one hint dot of the panel's colour."""

    def __init__(self, panel: ColourizePanel) -> None:
        super().__init__(panel.window.doc, panel.window.canvas.scene())
        self.panel = panel

    def press(self, point: QPointF, subtract: bool) -> None:
        self.panel.add_dot(int(point.y()), int(point.x()))


class ColourizePanel(QDockWidget):
    def __init__(self, window) -> None:
        super().__init__("Colourize", window)
        self.setObjectName("colourize-panel")
        self.window = window
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
        self.live_box = QCheckBox("Live: re-run when hints or strength change")
        self.live_box.setChecked(True)
        layout.addWidget(self.live_box)
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
        self.live = LiveColourize(self)
        self.live_box.toggled.connect(self.on_live_toggled)
        self.strength_slider.valueChanged.connect(self.on_strength_changed)
        window.doc.documentReplaced.connect(self.on_document_replaced)

    @property
    def hints(self) -> HintLayer:
        """The document model's hint layer (saved with the project)."""
        return self.window.doc.hints

    # --- hint layer --------------------------------------------------------------------
    def add_dot(self, y: int, x: int) -> bool:
        image = self.window.document.image
        if not (0 <= y < image.shape[0] and 0 <= x < image.shape[1]):
            return False
        self.hints.ensure(*image.shape[:2])
        self.window.doc.push_command(HintDotCommand(self, y, x, self.colour))
        return True

    def hints_changed(self) -> None:
        self.refresh_markers()
        self.live.changed()

    def refresh_markers(self) -> None:
        """One ring per hint dot, in the dot's colour (from the layer's dot list: no scan of the layer)."""
        for item in list(self.markers):
            self.remove_marker(item)
        for y, x, r, g, b in self.hints.dots[-MAX_MARKERS:]:
            self.add_marker(x + 0.5, y + 0.5, QColor(r, g, b))

    def dots_from_layer(self) -> None:
        """A layer that came from a file: its dots are its connected hinted areas (one scan, when it opens)."""
        rgba = self.hints.rgba
        self.hints.dots = []
        if rgba is None or not rgba[..., 3].any():
            return
        count, _, stats, centres = cv2.connectedComponentsWithStats((rgba[..., 3] > 0).astype(np.uint8), 8)
        for label in range(1, count):
            cx, cy = centres[label]
            top, left = int(stats[label, cv2.CC_STAT_TOP]), int(stats[label, cv2.CC_STAT_LEFT])
            r, g, b = (int(v) for v in rgba[top, left, :3])
            self.hints.dots.append((int(round(cy)), int(round(cx)), r, g, b))

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
        """All hints go, as one undo step."""
        if not self.hints.is_empty():
            self.window.doc.push_command(ClearHintsCommand(self))

    @Slot()
    def on_document_replaced(self) -> None:
        """A new picture (or a project with its own hints): show the rings of the hints it brought."""
        self.dots_from_layer()
        self.refresh_markers()

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

    @Slot(int)
    def on_strength_changed(self, _value: int) -> None:
        self.live.changed()

    @Slot(bool)
    def on_live_toggled(self, on: bool) -> None:
        self.live.enabled = on

    def build_request(self, image: Optional[np.ndarray] = None) -> Optional[EditRequest]:
        """The frozen colourize request (hints copied now); None, with a message, when it cannot be built."""
        image = self.window.document.image if image is None else image
        params: dict = {"strength": self.strength_slider.value() / 100.0}
        if not self.hints.is_empty() and self.hints.matches(image.shape):
            params["hints"] = self.hints.rgba.copy()
        try:
            return EditRequest.build("colourize", image, params=params, device=self.window.prompt_panel.device())
        except StudioError as error:
            self.window.show_error("Cannot start the job", error)
            return None

    @Slot()
    def on_run(self) -> Optional[int]:
        """Colourize now; from then on (Live checked) hint and strength changes re-run it."""
        return self.live.start()


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
