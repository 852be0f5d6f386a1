"""Autosave of the open project to the recovery folder, without ever blocking editing.

Every `interval` (setting `autosave/minutes`), if the document is modified and changed since
the last autosave, the GUI thread takes a snapshot (copies of the image and mask; the original
is read-only and shared) and a single background Python thread writes it with
files.recovery.write_recovery. That thread touches no Qt object: a QTimer on the GUI thread
polls its Future. A failed write goes through core.notify (the log file with its trace, a status-bar
note, never a dialog) and is retried after `retry_ms` (30 s, or the interval if that is shorter).
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Optional

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from ..core.errors import StudioError
from ..core.notify import notify
from ..files.project import Project
from ..files.recovery import PROJECT_NAME, recovery_dir, remove_recovery, write_recovery
from .document_model import DocumentModel

log = logging.getLogger(__name__)

RETRY_MS = 30_000
POLL_MS = 50

# Returns (a snapshot safe to hand to another thread, the project file being edited or None).
Snapshot = Callable[[], tuple[Project, Optional[Path]]]


class Autosaver(QObject):
    saved = Signal(str)  # the recovery file's path

    def __init__(
        self,
        doc: DocumentModel,
        snapshot: Snapshot,
        interval_ms: int,
        parent: Optional[QObject] = None,
        folder: Optional[Path] = None,
    ) -> None:
        super().__init__(parent)
        self.doc = doc
        self.folder = Path(folder) if folder is not None else recovery_dir()
        self._snapshot = snapshot
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llmvis-autosave")
        self._future: Optional[Future] = None
        self._future_revision = 0
        self._future_generation = 0
        self._generation = 0  # bumped by discard(): a write that was in flight no longer counts
        self._saved_revision = doc.revision
        self._closed = False
        self.failures = 0  # consecutive failed writes
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.tick)
        self._poll = QTimer(self)
        self._poll.setInterval(POLL_MS)
        self._poll.timeout.connect(self._check_write)
        self.interval_ms = 0
        self.retry_ms = RETRY_MS
        self.set_interval_ms(interval_ms)

    # --- configuration -----------------------------------------------------------------
    def set_interval_ms(self, interval_ms: int, retry_ms: Optional[int] = None) -> None:
        """0 turns autosave off. Tests use a few milliseconds."""
        self.interval_ms = max(0, int(interval_ms))
        self.retry_ms = int(retry_ms) if retry_ms is not None else min(RETRY_MS, self.interval_ms or RETRY_MS)
        self._restart_timer(self.interval_ms)

    def _restart_timer(self, interval_ms: int) -> None:
        if self._closed or interval_ms <= 0 or self.interval_ms <= 0:
            self._timer.stop()
        else:
            self._timer.start(interval_ms)

    # --- state -------------------------------------------------------------------------
    def needs_save(self) -> bool:
        return self.doc.modified and self.doc.revision != self._saved_revision

    # --- the timer -----------------------------------------------------------------------
    @Slot()
    def tick(self) -> None:
        if self._closed or self._future is not None or not self.needs_save():
            return
        revision = self.doc.revision
        try:
            project, project_path = self._snapshot()  # GUI thread: copies, fast
            self._future = self._executor.submit(write_recovery, self.folder, project, project_path)
        except (MemoryError, RuntimeError, StudioError) as error:  # no memory for the copy; executor gone
            self._report_failure(error)
            return
        self._future_revision = revision
        self._future_generation = self._generation
        self._poll.start()

    @Slot()
    def _check_write(self) -> None:
        future = self._future
        if future is None:
            self._poll.stop()
            return
        if not future.done():
            return
        self._poll.stop()
        self._future = None
        error = future.exception()
        if self._future_generation != self._generation:
            return  # discarded while it was written; discard() removed the file after it
        if error is None:
            self.failures = 0
            self._saved_revision = self._future_revision
            self._restart_timer(self.interval_ms)
            log.info("Autosaved to %s", self.folder)
            self.saved.emit(str(self.folder / PROJECT_NAME))
            return
        self._report_failure(error)

    def _report_failure(self, error: BaseException) -> None:
        """Log it with its trace, note it in the status bar (never a dialog; core.notify) and try again sooner."""
        self.failures += 1
        reason = error.user_message if isinstance(error, StudioError) else f"{type(error).__name__}: {error}"
        self._restart_timer(self.retry_ms)
        seconds = max(1, round(self.retry_ms / 1000))
        trace = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        notify(
            f"Autosave failed ({reason.rstrip('.')}); retrying in {seconds} s.",
            f"folder {self.folder}, try {self.failures}\n{trace}",
            source="autosave",
            severity="warning",
        )

    # --- the file ------------------------------------------------------------------------
    def adopt_existing(self) -> None:
        """The recovery file on disk holds the current document (it was just recovered from it)."""
        self._saved_revision = self.doc.revision

    def discard(self) -> None:
        """Remove the recovery file (after a save, on a clean close, or when recovery is declined)."""
        self._generation += 1
        self._saved_revision = self.doc.revision
        if self._future is None:
            remove_recovery(self.folder)  # two unlinks: fast enough for the GUI thread
        else:
            try:  # queued behind the write in flight on the same single thread
                self._executor.submit(remove_recovery, self.folder)
            except RuntimeError:  # executor already shut down
                remove_recovery(self.folder)
        self._restart_timer(self.interval_ms)

    def close(self) -> None:
        """Clean close: stop, remove the recovery file, let a write in flight finish in the background."""
        if self._closed:
            return
        self.discard()
        self._closed = True
        self._timer.stop()
        self._executor.shutdown(wait=False)
