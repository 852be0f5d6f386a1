"""Undo / Redo act on the document whatever widget has focus.

Qt gives Ctrl+Z to a focused text field first (the ShortcutOverride event), so after typing a
prompt and pressing Enter, Ctrl+Z undid the typing instead of the edit. Here a text field keeps
Ctrl+Z / Ctrl+Shift+Z only while it has text edits of its own to undo or redo; otherwise the
key goes on to the window's Undo / Redo actions. The prompt panel clears its text undo history
when a job is submitted, so Ctrl+Z right after Run undoes the job.
"""
from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QAbstractSpinBox, QComboBox, QLineEdit, QPlainTextEdit, QTextEdit, QWidget

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


def route_undo_to_document(root: QWidget) -> DocumentUndoFilter:
    """Install the filter on every text field under `root` (call again for widgets added later)."""
    undo_filter = getattr(root, "_document_undo_filter", None) or DocumentUndoFilter(root)
    root._document_undo_filter = undo_filter
    for kind in TEXT_WIDGETS:  # asking per type keeps Python from wrapping every child widget
        for widget in root.findChildren(kind):
            widget.installEventFilter(undo_filter)
    return undo_filter
