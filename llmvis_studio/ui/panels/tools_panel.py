"""The tools dock: mask tool choice, brush size/hardness, overlay opacity, mask commands and the
scratch finder's sensitivity (its mask is shown for review before anything is filled)."""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QEvent, Qt, Signal, Slot
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QButtonGroup,
    QDockWidget,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..canvas.tools import MAX_BRUSH, MIN_BRUSH, BrushSettings
from ..icons import tool_icon

TOOL_NAMES = ("brush", "eraser", "rectangle", "lasso")
MASK_COMMANDS = ("clear", "invert", "grow", "shrink", "feather")
DEFAULT_SENSITIVITY = 50  # percent; the engine maps it to the detector's threshold


class ToolsPanel(QDockWidget):
    toolChosen = Signal(str)
    opacityChanged = Signal(float)
    maskCommand = Signal(str, int)  # command name, radius in pixels
    findScratches = Signal()  # run the scratch detector into the mask (for review)

    def __init__(self, brush: BrushSettings, parent: Optional[QWidget] = None) -> None:
        super().__init__("Mask", parent)
        self.setObjectName("toolsPanel")
        self.brush = brush
        self.tool_buttons: dict[str, QPushButton] = {}
        self.command_buttons: dict[str, QPushButton] = {}
        column = QVBoxLayout()
        column.addWidget(self._tool_group())
        column.addLayout(self._brush_form())
        column.addWidget(self._command_group())
        column.addWidget(self._scratch_group())
        column.addStretch(1)
        body = QWidget()
        body.setLayout(column)
        self.setWidget(body)
        brush.changed.connect(self.on_brush_changed)

    def _tool_group(self) -> QGroupBox:
        box = QGroupBox("Tool")
        grid = QGridLayout(box)
        self._group = QButtonGroup(self)
        self._group.setExclusive(True)
        for index, name in enumerate(TOOL_NAMES):
            button = QPushButton(name.capitalize())
            button.setCheckable(True)
            button.setObjectName(name)
            self._group.addButton(button, index)
            grid.addWidget(button, index // 2, index % 2)
            self.tool_buttons[name] = button
        self.tool_buttons["brush"].setChecked(True)
        self.refresh_icons()
        self._group.idClicked.connect(self.on_tool_clicked)
        return box

    def _brush_form(self) -> QFormLayout:
        self.size_spin = QSpinBox()
        self.size_spin.setRange(MIN_BRUSH, MAX_BRUSH)
        self.size_spin.setSuffix(" px")
        self.size_spin.setValue(self.brush.size)
        self.size_spin.setToolTip("Brush diameter; [ and ] shrink and grow it")
        self.hardness_slider = _percent_slider(int(self.brush.hardness * 100))
        self.opacity_slider = _percent_slider(50)
        self.size_spin.valueChanged.connect(self.brush.set_size)
        self.hardness_slider.valueChanged.connect(self.on_hardness_moved)
        self.opacity_slider.valueChanged.connect(self.on_opacity_moved)
        form = QFormLayout()
        form.addRow("Size", self.size_spin)
        form.addRow("Hardness", self.hardness_slider)
        form.addRow("Overlay", self.opacity_slider)
        return form

    def _command_group(self) -> QGroupBox:
        box = QGroupBox("Mask")
        grid = QGridLayout(box)
        for index, name in enumerate(MASK_COMMANDS):
            button = QPushButton(name.capitalize())
            button.setObjectName(name)
            button.clicked.connect(self.on_command_clicked)
            grid.addWidget(button, index // 3, index % 3)
            self.command_buttons[name] = button
        self.radius_spin = QSpinBox()
        self.radius_spin.setRange(1, 500)
        self.radius_spin.setValue(8)
        self.radius_spin.setSuffix(" px")
        self.radius_spin.setToolTip("Radius for grow, shrink and feather")
        grid.addWidget(self.radius_spin, 2, 0, 1, 3)
        return box

    def _scratch_group(self) -> QGroupBox:
        box = QGroupBox("Scratches and dust")
        form = QFormLayout(box)
        self.sensitivity_slider = _percent_slider(DEFAULT_SENSITIVITY)
        self.sensitivity_slider.setRange(10, 90)
        self.sensitivity_slider.setToolTip("Higher finds fainter marks (and more false ones)")
        self.find_button = QPushButton("Find and Mask")
        self.find_button.setToolTip("Mark scratches and dust in the mask; check it, then Run a fill")
        self.find_button.clicked.connect(self.findScratches)
        form.addRow("Sensitivity", self.sensitivity_slider)
        form.addRow(self.find_button)
        return box

    def radius(self) -> int:
        """Pixels for grow, shrink and feather."""
        return int(self.radius_spin.value())

    def detection_sensitivity(self) -> float:
        """0..1: the engine turns it into each detector's own threshold (1 − sensitivity on a calibrated one; on the
        logit scale around an uncalibrated one's manifest threshold), so the slider means the same for every model."""
        return round(self.sensitivity_slider.value() / 100.0, 2)

    def refresh_icons(self) -> None:
        """Tool icons in the palette's text colour (redrawn when the theme changes)."""
        colour = self.palette().color(QPalette.ButtonText)
        for name, button in self.tool_buttons.items():
            button.setIcon(tool_icon(name, colour))

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt name)
        if event.type() == QEvent.PaletteChange and self.tool_buttons:
            self.refresh_icons()
        super().changeEvent(event)

    def choose_tool(self, name: str) -> None:
        self.tool_buttons[name].setChecked(True)
        self.toolChosen.emit(name)

    @Slot(int)
    def on_tool_clicked(self, index: int) -> None:
        self.toolChosen.emit(TOOL_NAMES[index])

    @Slot()
    def on_command_clicked(self) -> None:
        self.maskCommand.emit(self.sender().objectName(), self.radius())

    @Slot(int)
    def on_hardness_moved(self, percent: int) -> None:
        self.brush.set_hardness(percent / 100.0)

    @Slot(int)
    def on_opacity_moved(self, percent: int) -> None:
        self.opacityChanged.emit(percent / 100.0)

    @Slot()
    def on_brush_changed(self) -> None:
        if self.size_spin.value() != self.brush.size:
            self.size_spin.setValue(self.brush.size)


def _percent_slider(value: int) -> QSlider:
    slider = QSlider(Qt.Horizontal)
    slider.setRange(0, 100)
    slider.setValue(value)
    return slider
