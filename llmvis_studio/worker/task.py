"""BackgroundTask: one long job (a training run) on its own QThread, under the rules EngineClient keeps.

- the work runs in the task's thread; its signals are re-emitted by @Slot methods of this GUI-thread object,
  so receivers run on the GUI thread;
- stopping sets a threading.Event the job polls (`should_stop()`), and the job answers with core.errors.Cancelled;
- every failure goes through core.notify (the detail to the log file, the message to the status bar) and
  reaches the owner as `failed(message)`;
- the thread is registered with live_threads(), so tests see one that is left running.

The job is `job(report, should_stop) -> result`; `report(info)` may be called from the job's thread as often as
it likes (the owner throttles it if it must).
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from typing import Any, Optional

from PySide6.QtCore import QObject, QThread, Signal, Slot

from ..core.errors import Cancelled, StudioError
from ..core.notify import notify
from .client import track_thread
from .emit import safe_emit

Job = Callable[[Callable[[Any], None], Callable[[], bool]], Any]


class _TaskWorker(QObject):
    progressed = Signal(object)
    finished = Signal(object)
    failed = Signal(str, str)  # message, detail for the log
    cancelled = Signal(str)

    def __init__(self, job: Job, stop_flag: threading.Event, what: str) -> None:
        super().__init__()
        self.job = job
        self.stop_flag = stop_flag
        self.what = what

    def report(self, info: Any) -> None:  # the task's thread
        safe_emit(self.progressed, info)

    @Slot()
    def run(self) -> None:
        try:
            result = self.job(self.report, self.stop_flag.is_set)
        except Cancelled as exc:
            safe_emit(self.cancelled, exc.user_message)
        except StudioError as exc:
            safe_emit(self.failed, exc.user_message, exc.detail)
        except Exception as exc:  # a bug: a plain sentence for the user, the trace for the log
            safe_emit(
                self.failed, f"{self.what} failed unexpectedly ({type(exc).__name__}: {exc}).", traceback.format_exc()
            )
        else:
            safe_emit(self.finished, result)


class BackgroundTask(QObject):
    progressed = Signal(object)
    finished = Signal(object)
    failed = Signal(str)  # the user's message (already logged with its detail)
    cancelled = Signal(str)

    def __init__(self, job: Job, source: str, parent: Optional[QObject] = None, what: str = "") -> None:
        super().__init__(parent)
        self.source = source  # core.notify's source: "training"...
        self.stop_flag = threading.Event()
        self._thread = QThread(self)  # owned by this task (and with it by the task's parent)
        self._thread.setObjectName(f"llmvis-{source}")
        track_thread(self._thread)
        self._worker = _TaskWorker(job, self.stop_flag, what or source.capitalize())
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.run)
        self._thread.finished.connect(self._worker.deleteLater)  # deleted in its own thread, as EngineClient's
        self._worker.progressed.connect(self._on_progress)
        self._worker.finished.connect(self._on_finished)
        self._worker.failed.connect(self._on_failed)
        self._worker.cancelled.connect(self._on_cancelled)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Ask the job to stop at its next check (it answers with `cancelled`)."""
        self.stop_flag.set()

    def wait(self) -> None:
        """Stop the thread once the job has returned (or after stop(): the job checks the flag every step)."""
        if self._thread.isRunning():
            self._thread.quit()
            self._thread.wait()

    @Slot(object)
    def _on_progress(self, info: object) -> None:
        self.progressed.emit(info)

    @Slot(object)
    def _on_finished(self, result: object) -> None:
        self.wait()
        self.finished.emit(result)

    @Slot(str, str)
    def _on_failed(self, message: str, detail: str) -> None:
        self.wait()
        notify(message, detail, source=self.source)
        self.failed.emit(message)

    @Slot(str)
    def _on_cancelled(self, message: str) -> None:
        self.wait()
        self.cancelled.emit(message)
