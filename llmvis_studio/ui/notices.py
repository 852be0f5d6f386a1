"""core.notify → the window: every notice (a worker failure, a failed autosave, training) arrives on the GUI
thread as `noticed` and becomes a status-bar note or, when it asks for one, a dialog.

The hub calls subscribers in the reporting thread; emitting a signal of this GUI-thread QObject from there is
queued by Qt, so the window's @Slot always runs on the GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Optional

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from ..core.notify import Notice, hub
from ..worker.emit import safe_emit


class NoticeBridge(QObject):
    noticed = Signal(object)  # Notice

    def __init__(self, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self._unsubscribe: Optional[Callable[[], None]] = hub.subscribe(self._forward)

    def _forward(self, notice: Notice) -> None:  # any thread
        try:
            safe_emit(self.noticed, notice)
        except RuntimeError:  # the window (and this bridge with it) is gone
            self.close()

    def close(self) -> None:
        """Stop listening (the window closed)."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None


def show_notice(parent: QWidget, notice: Notice, show_status: Callable[[str], None]) -> None:
    """A dialog for notices that ask for one, a status-bar note for the rest."""
    if notice.dialog:
        QMessageBox.warning(parent, notice.title, notice.message)
    else:
        show_status(notice.message)
