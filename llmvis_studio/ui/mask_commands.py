"""The Mask menu and the mask commands: tools and brush size by key, clear / invert / grow / shrink / feather,
auto-mask and restore jobs, smart masks, Restore Photo, and reusing the last job's mask.

Keyboard access to the tools panel; text fields keep their keys (Qt's shortcut override). Other modules add
their own entries with `add_action` (they keep their own slots; `on_menu` ignores them).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu

from . import damage_dialog
from .canvas.tools import BrushSettings, clear_mask, feather_mask, grow_mask, invert_mask, replace_mask, shrink_mask
from .defects import DefectReview
from .editor import Editor
from .smart_masks import add_smart_mask_actions

TOOL_KEYS = {"brush": "B", "eraser": "E", "rectangle": "R", "lasso": "L"}


class MaskCommands(QObject):
    def __init__(
        self,
        window: Editor,
        menu: QMenu,
        brush: BrushSettings,
        defects: DefectReview,
        open_restore_dialog: Callable[[], object],
    ) -> None:
        super().__init__(menu)
        self.window = window
        self.menu = menu
        self.brush = brush
        self.defects = defects
        self.open_restore_dialog = open_restore_dialog
        self._populate(menu)
        window.tools_panel.maskCommand.connect(self.run)

    def _populate(self, menu: QMenu) -> None:
        for name, key in TOOL_KEYS.items():
            menu.addAction(name.capitalize(), QKeySequence(key)).setData(("tool", name))
        menu.addSeparator()
        menu.addAction("Smaller Brush", QKeySequence("[")).setData(("brush", -1))
        menu.addAction("Larger Brush", QKeySequence("]")).setData(("brush", 1))
        menu.addSeparator()
        for name in ("clear", "invert", "grow", "shrink", "feather"):
            menu.addAction(f"{name.capitalize()} Mask").setData(("command", name))
        menu.addSeparator()
        self.auto_mask_action = menu.addAction("Auto-mask Scratches and Dust")
        self.auto_mask_action.setData(("job", "detect-scratches"))
        self.restore_action = menu.addAction("Remove Scratches and Dust (Restore)")
        self.restore_action.setData(("job", "restore"))
        self.smart_masks = add_smart_mask_actions(self.window, menu)  # select subject, find text, remove background
        self.restore_photo_action = menu.addAction("Restore Photo Step by Step…")
        self.restore_photo_action.setData(("dialog", "restore-photo"))
        menu.addSeparator()
        self.reuse_mask_action = menu.addAction("Reuse the Last Job's Mask")
        self.reuse_mask_action.setData(("command", "reuse"))
        self.damage = damage_dialog.install(self.window, menu)  # Auto-mask Damage (sensitivity)…: its own slot
        menu.triggered.connect(self.on_menu)

    def add_action(self, text: str, slot, shortcut=None) -> QAction:
        """An entry at the end of the menu with its own slot, disabled with the menu while no picture is open."""
        action = QAction(text, self.menu)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        self.menu.addAction(action)
        return action

    @Slot(QAction)
    def on_menu(self, action: QAction) -> None:
        data = action.data()
        if not isinstance(data, (tuple, list)) or len(data) != 2:
            return  # an action another module added with its own slot
        kind, value = data
        if kind == "tool":
            self.window.tools_panel.choose_tool(value)
        elif kind == "brush":
            self.brush.step(value)
        elif kind == "job":
            self.defects.run_job(value)
        elif kind == "dialog":
            self.open_restore_dialog()
        else:
            self.run(value, self.window.tools_panel.radius())

    @Slot(str, int)
    def run(self, name: str, radius: int) -> None:
        """One mask command ("clear", "invert", "grow", "shrink", "feather", "reuse"), one undo step."""
        doc = self.window.doc
        commands = {
            "clear": lambda: clear_mask(doc),
            "invert": lambda: invert_mask(doc),
            "grow": lambda: grow_mask(doc, radius),
            "shrink": lambda: shrink_mask(doc, radius),
            "feather": lambda: feather_mask(doc, radius),
            "reuse": self.reuse_last_mask,
        }
        if not commands[name]():
            self.window.show_status("The mask did not change.")

    def reuse_last_mask(self) -> bool:
        """Bring back the mask the last masked job used (jobs clear the mask when they finish)."""
        mask = self.window.doc.last_job_mask
        if mask is None or mask.shape != self.window.document.mask.shape:
            self.window.show_status("No earlier job mask to reuse for this picture.")
            return True  # said why; no second message
        return replace_mask(self.window.doc, mask, "Reuse last job's mask")
