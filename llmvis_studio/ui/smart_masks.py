"""Mask ▸ Select Subject, Find Text, Remove Background, and how a found mask meets the painted one.

Kept out of main_window.py: `add_smart_mask_actions(window, menu)` adds the actions and returns the
controller that owns them. Select Subject and Find Text run on the worker like any job; the JobController
puts the found mask into the mask layer as one undo step, combined with the painted mask as chosen under
"Found Masks" (replace, add, subtract, intersect); Grow / Shrink / Feather then work on the result.
Remove Background makes the image RGBA (one undo step; save as PNG, TIFF or WebP to keep the transparency).
"""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QObject, Slot
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QMenu

from ..core.mask import COMBINE_MODES
from .editor import submit_op

# op → (menu text, the model task it needs, what to say when no model is installed)
SMART_OPS = {
    "select-subject": (
        "Select Subject",
        "select-subject",
        "No subject model is installed (models/u2netp-subject.onnx).",
    ),
    "detect-text": (
        "Find Text (Captions, Date Stamps)",
        "detect-text",
        "No text detector is installed (models/ppocrv4-text-det.onnx).",
    ),
    "remove-background": (
        "Remove Background",
        "select-subject",
        "No subject model is installed (models/u2netp-subject.onnx).",
    ),
}
COMBINE_TEXT = {
    "replace": "Replace the Mask",
    "add": "Add to the Mask",
    "subtract": "Subtract from the Mask",
    "intersect": "Intersect with the Mask",
}


class SmartMasks(QObject):
    """The smart-mask actions of one main window (its document, jobs, device choice and status bar)."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.actions: dict[str, QAction] = {}
        self.combine_actions: dict[str, QAction] = {}
        self.combine_group = QActionGroup(self)

    @property
    def combine_mode(self) -> str:
        checked = self.combine_group.checkedAction()
        return checked.property("combine") if checked is not None else "replace"

    def set_combine_mode(self, mode: str) -> None:
        self.combine_actions[mode].setChecked(True)

    def populate(self, menu: QMenu) -> None:
        menu.addSeparator()
        for op in ("select-subject", "detect-text"):
            self.actions[op] = self._add(menu, op)
        found = menu.addMenu("Found Masks")
        for mode in COMBINE_MODES:
            action = QAction(COMBINE_TEXT[mode], self)
            action.setCheckable(True)
            action.setProperty("combine", mode)
            action.setChecked(mode == "replace")
            self.combine_group.addAction(action)
            found.addAction(action)
            self.combine_actions[mode] = action
        self.actions["remove-background"] = self._add(menu, "remove-background")

    def _add(self, menu: QMenu, op: str) -> QAction:
        action = QAction(SMART_OPS[op][0], self)
        action.setProperty("smart_op", op)
        action.triggered.connect(self.on_action)
        menu.addAction(action)
        return action

    @Slot()
    def on_action(self) -> None:
        action = self.sender()
        if isinstance(action, QAction):
            self.run(str(action.property("smart_op")))

    def run(self, op: str) -> Optional[int]:
        """Submit the op on the current image; None when nothing was started (no model, busy, bad input)."""
        window = self.window
        _, task, missing = SMART_OPS[op]
        if not window.catalog.for_task(task):
            window.show_status(missing)
            return None
        params = {"combine": self.combine_mode} if op != "remove-background" else {}
        return submit_op(window, op, params)


def add_smart_mask_actions(window, menu: QMenu) -> SmartMasks:
    controller = SmartMasks(window)
    controller.populate(menu)
    return controller
