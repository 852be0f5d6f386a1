"""Pieces of the prompt panel that understand text: what the router understood, the choices when
it is unsure, the stylize controls and the prompt history (keys, combo, QSettings store).

Plain widgets and helpers; the panel owns them and ui/routing.py drives them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Optional

from PySide6.QtCore import QObject, QSettings, Qt, Signal, Slot
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSlider,
    QWidget,
)

from ...core.requests import OPS, PromptRouting
from ..settings import store_first, stored_list

HISTORY_KEY = "prompts/history"
MAX_HISTORY = 50
STYLE_IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.tif *.tiff *.webp *.bmp);;All files (*)"
NOT_AN_EDIT = (
    "That does not look like an edit LLMVis Studio can do. Try e.g. “remove the scratch”, "
    "“make it look like a watercolour” or “upscale ×4”."
)


# ---------------------------------------------------------------- wording


def op_label(op: str) -> str:
    return "Not an edit" if op == "none" else op.replace("-", " ").capitalize()


def percent(score: float) -> str:
    return f"{round(100 * float(score))} %"


def score_of(routing: PromptRouting, op: str) -> float:
    if op == routing.op:
        return routing.confidence
    return dict(routing.alternatives).get(op, 0.0)


def routing_summary(
    routing: PromptRouting, op: Optional[str] = None, style: Optional[str] = None, content: Optional[str] = None
) -> str:
    """ "Understood: Stylize · style “watercolour” · 92 %" (for `op`, the routed op or a picked alternative)."""
    op = op or routing.op
    parts = [op_label(op)]
    if op == "stylize" and (style or routing.style):
        parts.append(f"style “{style or routing.style}”")
    elif op == "generate" and (content or routing.content):
        parts.append(f"“{content or routing.content}”")
    elif op == "upscale" and routing.params.get("scale"):
        parts.append(f"×{routing.params['scale']}")
    if op == routing.op and routing.then:
        parts.append(f"then {op_label(routing.then)}")
    parts.append(percent(score_of(routing, op)))
    return "Understood: " + " · ".join(parts)


def choices_text(routing: PromptRouting) -> str:
    """ "Not sure. Did you mean: Inpaint 41 % · Generate 33 % · Restore 9 %"."""
    listed = " · ".join(f"{op_label(op)} {percent(score)}" for op, score in routing.alternatives)
    return f"Not sure what you mean. Did you mean: {listed}"


def cannot_text(routing: PromptRouting, op: Optional[str] = None) -> str:
    """ "Understood: Restore · 88 % — but no installed model can restore yet, so nothing was run."."""
    op = op or routing.op
    if not in_this_build(op):
        return (
            f"{routing_summary(routing, op)} — but {op_label(op)} is not available in this build, so nothing was run."
        )
    hint = " Train one with Tools ▸ Train Generator…" if op == "generate" else ""
    return (
        f"{routing_summary(routing, op)} — but no installed model can {op.replace('-', ' ')} yet, "
        f"so nothing was run.{hint}"
    )


def in_this_build(op: str) -> bool:
    """The router knows ops this build may not have (they are built separately): those cannot run at all."""
    return op in OPS


def cannot_tooltip(op: str) -> str:
    return (
        f"{op_label(op)} is not available in this build"
        if not in_this_build(op)
        else f"No installed model can {op} yet"
    )


def preset_label(name: str) -> str:
    return name.replace("-", " ").replace("_", " ").capitalize()


# ---------------------------------------------------------------- choices when unsure


class ChoiceBar(QWidget):
    """Up to three buttons, one per alternative op; `chosen(op)` when one is clicked."""

    chosen = Signal(str)

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.buttons: list[QPushButton] = []
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.setVisible(False)

    def show_choices(self, choices: Sequence[tuple[str, float, bool]]) -> None:
        """(op, score, runnable) each; an op no installed model can do is shown disabled."""
        self.clear()
        for op, score, runnable in choices:
            button = QPushButton(f"{op_label(op)} {percent(score)}")
            button.setProperty("op", op)
            button.setEnabled(runnable)
            button.setToolTip(f"Run {op_label(op)}" if runnable else cannot_tooltip(op))
            button.clicked.connect(self.on_clicked)
            self.layout().addWidget(button)
            self.buttons.append(button)
        self.setVisible(bool(self.buttons))

    def clear(self) -> None:
        for button in self.buttons:
            self.layout().removeWidget(button)
            button.deleteLater()
        self.buttons = []
        self.setVisible(False)

    def button_for(self, op: str) -> Optional[QPushButton]:
        return next((b for b in self.buttons if b.property("op") == op), None)

    @Slot()
    def on_clicked(self) -> None:
        button = self.sender()
        if isinstance(button, QPushButton):
            self.chosen.emit(str(button.property("op")))


# ---------------------------------------------------------------- stylize controls


class StyleControls(QWidget):
    """Style (a preset, or any picture via "From image…") and strength 0..1."""

    def __init__(self, presets: Iterable[tuple[str, str]] = (), parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.style_combo = QComboBox()
        self.image_button = QPushButton("From image…")
        self.image_button.setToolTip("Use the style of any picture")
        self.strength_slider = QSlider(Qt.Horizontal)
        self.strength_slider.setRange(0, 100)
        self.strength_slider.setValue(100)
        self.strength_label = QLabel()
        self.set_presets(presets)
        style_row = QHBoxLayout()
        style_row.addWidget(self.style_combo, 1)
        style_row.addWidget(self.image_button)
        strength_row = QHBoxLayout()
        strength_row.addWidget(self.strength_slider, 1)
        strength_row.addWidget(self.strength_label)
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Style", style_row)
        form.addRow("Strength", strength_row)
        self.strength_slider.valueChanged.connect(self.on_strength_changed)
        self.image_button.clicked.connect(self.on_image_clicked)
        self.on_strength_changed(self.strength_slider.value())

    def set_presets(self, presets: Iterable[tuple[str, str]]) -> None:
        self.style_combo.clear()
        for name, description in presets:
            self.style_combo.addItem(preset_label(name), name)
            self.style_combo.setItemData(self.style_combo.count() - 1, description, Qt.ToolTipRole)

    @property
    def style(self) -> Optional[str]:
        return self.style_combo.currentData()

    @property
    def strength(self) -> float:
        return self.strength_slider.value() / 100.0

    def params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"strength": self.strength}
        if self.style:
            params["style"] = self.style
        return params

    def knows(self, name: str) -> bool:
        return self.style_combo.findData(name) >= 0

    def style_label(self) -> str:
        """The chosen style as the list shows it."""
        return self.style_combo.currentText()

    def select_style(self, name: str) -> bool:
        index = self.style_combo.findData(name)
        if index >= 0:
            self.style_combo.setCurrentIndex(index)
        return index >= 0

    def add_style_image(self, path: Path | str) -> None:
        path = str(path)
        index = self.style_combo.findData(path)
        if index < 0:
            self.style_combo.addItem(f"Image: {Path(path).name}", path)
            index = self.style_combo.count() - 1
            self.style_combo.setItemData(index, path, Qt.ToolTipRole)
        self.style_combo.setCurrentIndex(index)

    def ask_style_image(self) -> str:
        """Separate so tests can answer it."""
        path, _ = QFileDialog.getOpenFileName(self, "Style from an image", "", STYLE_IMAGE_FILTER)
        return path

    @Slot()
    def on_image_clicked(self) -> None:
        path = self.ask_style_image()
        if path:
            self.add_style_image(path)

    @Slot(int)
    def on_strength_changed(self, value: int) -> None:
        self.strength_label.setText(f"{value} %")


# ---------------------------------------------------------------- history


class PromptHistory:
    """The last MAX_HISTORY prompts across sessions (QSettings), most recent first."""

    def __init__(self, settings: QSettings) -> None:
        self.settings = settings

    def saved(self) -> list[str]:
        return [item for item in stored_list(self.settings, HISTORY_KEY) if item.strip()]

    def add(self, text: str) -> None:
        text = text.strip()
        if text:
            store_first(self.settings, HISTORY_KEY, text, self.saved(), MAX_HISTORY)

    def clear(self) -> None:
        self.settings.remove(HISTORY_KEY)
        self.settings.sync()

    def merged(self, document_prompts: Sequence[str]) -> list[str]:
        """This document's prompts (newest first), then the saved ones; no repeats."""
        seen: set[str] = set()
        merged = []
        for text in [*reversed(list(document_prompts)), *self.saved()]:
            if text and text not in seen:
                seen.add(text)
                merged.append(text)
        return merged


class PromptEdit(QPlainTextEdit):
    """The prompt box: Enter (and Ctrl+Enter) submits, Shift+Enter makes a new line; Up on the first line and
    Down on the last ask for the previous / next prompt of the history."""

    submitted = Signal()
    historyPrevious = Signal()
    historyNext = Signal()

    def keyPressEvent(self, event) -> None:
        key, modifiers = event.key(), event.modifiers()
        if key in (Qt.Key_Return, Qt.Key_Enter) and not modifiers & Qt.ShiftModifier:
            event.accept()
            self.submitted.emit()
            return
        plain = not modifiers & (Qt.ShiftModifier | Qt.ControlModifier | Qt.AltModifier)
        line = self.textCursor().blockNumber()
        if key == Qt.Key_Up and plain and line == 0:
            event.accept()
            self.historyPrevious.emit()
            return
        if key == Qt.Key_Down and plain and line == self.blockCount() - 1:
            event.accept()
            self.historyNext.emit()
            return
        super().keyPressEvent(event)


class PromptHistoryBox(QObject):
    """Recalls earlier prompts into the prompt box: Up / Down on its first / last line, or the combo.

    A recalled prompt is ordinary text: edit it before running. `submitted` passes on the box's Enter.
    """

    submitted = Signal()
    clearRequested = Signal()
    PLACEHOLDER = "Recent prompts…"
    CLEAR = "Clear saved prompts"

    def __init__(self, editor: PromptEdit, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.editor = editor
        self.items: list[str] = []
        self.index = -1  # -1: the text being typed (the draft), else items[index]
        self.draft = ""
        self.combo = QComboBox()
        self.combo.setToolTip("Earlier prompts of this picture and of past sessions (Up / Down in the box)")
        self.combo.activated.connect(self.on_combo_activated)
        editor.submitted.connect(self.submitted)
        editor.historyPrevious.connect(self.previous)
        editor.historyNext.connect(self.next)
        self.set_items([])

    def set_items(self, items: Sequence[str]) -> None:
        self.items = list(items)
        self.index = -1
        self.combo.clear()
        self.combo.addItem(self.PLACEHOLDER)
        for text in self.items:
            self.combo.addItem(text if len(text) <= 60 else text[:57] + "…", text)
        if self.items:
            self.combo.insertSeparator(self.combo.count())
            self.combo.addItem(self.CLEAR)
        self.combo.setEnabled(bool(self.items))

    def _show(self, text: str) -> None:
        self.editor.setPlainText(text)
        self.editor.moveCursor(QTextCursor.End)

    @Slot()
    def previous(self) -> None:
        if self.index + 1 >= len(self.items):
            return
        if self.index == -1:
            self.draft = self.editor.toPlainText()
        self.index += 1
        self._show(self.items[self.index])

    @Slot()
    def next(self) -> None:
        if self.index < 0:
            return
        self.index -= 1
        self._show(self.draft if self.index < 0 else self.items[self.index])

    @Slot(int)
    def on_combo_activated(self, row: int) -> None:
        text = self.combo.itemData(row)
        if self.combo.itemText(row) == self.CLEAR and text is None:
            self.clearRequested.emit()
        elif isinstance(text, str):
            self.index = self.items.index(text) if text in self.items else -1
            self._show(text)
            self.editor.setFocus()
        self.combo.setCurrentIndex(0)
