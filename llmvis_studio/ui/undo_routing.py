"""Undo / Redo act on the document whatever widget has focus.

Qt gives Ctrl+Z to a focused text field first (the ShortcutOverride event), so after typing a
prompt and pressing Enter, Ctrl+Z undid the typing instead of the edit. Here a text field keeps
Ctrl+Z / Ctrl+Shift+Z only while it has text edits of its own to undo or redo; otherwise the
key goes on to the window's Undo / Redo actions. The prompt panel clears its text undo history
when a job is submitted, so Ctrl+Z right after Run undoes the job.
"""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QEvent, QObject, Slot
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QAbstractSpinBox, QApplication, QComboBox, QLineEdit, QPlainTextEdit, QTextEdit, QWidget

TEXT_WIDGETS = (QLineEdit, QPlainTextEdit, QTextEdit, QAbstractSpinBox, QComboBox)


def _line_edit(widget: QWidget) -> Optional[QLineEdit]:
    if isinstance(widget, QLineEdit):
        return widget
    if isinstance(widget, (QAbstractSpinBox, QComboBox)):
        return widget.findChild(QLineEdit)
    return None


def has_own_history(widget: QWidget, redo: bool) -> bool:
    """Does this text field have a text edit of its own to undo (or redo)?"""
    if isinstance(widget, (QPlainTextEdit, QTextEdit)):
        document = widget.document()
        return document.isRedoAvailable() if redo else document.isUndoAvailable()
    edit = _line_edit(widget)
    if edit is None or edit.isReadOnly():
        return False
    return edit.isRedoAvailable() if redo else edit.isUndoAvailable()


class DocumentUndoFilter(QObject):
    """Installed on a window's text fields; lets Undo / Redo through unless the field has its own."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt name)
        if event.type() != QEvent.ShortcutOverride or not isinstance(watched, QWidget):
            return False
        is_undo = event.matches(QKeySequence.Undo)
        is_redo = event.matches(QKeySequence.Redo)
        if not (is_undo or is_redo) or has_own_history(watched, redo=is_redo):
            return False
        event.ignore()  # not overridden: the window's shortcut fires
        return True


class FocusedFieldWatcher(QObject):
    """Filters only the text field that has focus (a filter on every field would run Python for each of
    their paint and layout events)."""

    def __init__(self, root: QWidget) -> None:
        super().__init__(root)
        self.root = root
        self.undo_filter = DocumentUndoFilter(self)
        self.watched: Optional[QWidget] = None
        QApplication.instance().focusChanged.connect(self.on_focus_changed)

    @Slot(QWidget, QWidget)
    def on_focus_changed(self, _old: Optional[QWidget], new: Optional[QWidget]) -> None:
        if self.watched is not None:
            self.watched.removeEventFilter(self.undo_filter)
            self.watched = None
        if new is not None and isinstance(new, TEXT_WIDGETS) and self.root.isAncestorOf(new):
            new.installEventFilter(self.undo_filter)
            self.watched = new


def route_undo_to_document(root: QWidget) -> FocusedFieldWatcher:
    """Undo / Redo reach the document from any text field under `root` that has nothing of its own to undo."""
    return FocusedFieldWatcher(root)
