"""EngineClient (GUI thread) ↔ EngineWorker (its own QThread) ↔ Engine (no Qt).

Rules this module keeps:
- the engine is created in the worker thread on first use and lives there (sessions are
  expensive and must not be closed during a run);
- worker signals connect only to @Slot methods of EngineClient, which lives in the GUI thread,
  so they are delivered by the GUI event loop (a lambda would run in the worker thread);
- cancel sets the job's Progress token directly; the engine checks it between tiles;
- prompt routing (`route(text)`) is a second kind of work on the same thread and queue, so the
  text encoder loads and runs off the GUI thread too;
- every failure goes through core.notify (its detail to the log file, its message to the status bar or a
  dialog); `jobs` holds only unfinished jobs, so a long session does not keep one entry per job.
"""

from __future__ import annotations

import enum
import itertools
import time
import traceback
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Optional

from PySide6.QtCore import QObject, QThread, Signal, Slot

from ..core.errors import Cancelled, StudioError
from ..core.notify import notify
from ..core.progress import Progress
from ..core.requests import EditRequest

EngineFactory = Callable[[], Any]  # returns an object with run(request, progress) -> EditResult
_THREADS: weakref.WeakSet[QThread] = weakref.WeakSet()
PROGRESS_INTERVAL_S = 0.05


def track_thread(thread: QThread) -> None:
    """Count `thread` among the worker threads live_threads() reports while they run."""
    _THREADS.add(thread)


def live_threads() -> list[QThread]:
    """Worker threads still running (tests fail if any are left)."""
    return [thread for thread in list(_THREADS) if thread.isRunning()]


class JobState(enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass
class Job:
    id: int
    request: EditRequest
    token: Progress
    state: JobState = JobState.QUEUED


class EngineWorker(QObject):
    """Lives in the worker thread; runs one job at a time from its queued-signal inbox."""

    started = Signal(int)
    progressed = Signal(int, float, str)
    finished = Signal(int, object)
    failed = Signal(int, str, str)  # job id, user message, detail for the log
    cancelled = Signal(int)
    routed = Signal(int, object)  # request id, PromptRouting
    routeFailed = Signal(int, str, str)  # request id, user message, detail for the log

    def __init__(self, engine_factory: EngineFactory) -> None:
        super().__init__()
        self._engine_factory = engine_factory
        self._engine: Any = None

    def _get_engine(self) -> Any:
        if self._engine is None:
            self._engine = self._engine_factory()
        return self._engine

    @Slot(int, object, object)
    def run_job(self, job_id: int, request: EditRequest, token: Progress) -> None:
        if token.cancelled:
            self.cancelled.emit(job_id)
            return
        self.started.emit(job_id)
        try:
            result = self._get_engine().run(request, token)
        except Cancelled:
            self.cancelled.emit(job_id)
        except StudioError as exc:
            self.failed.emit(job_id, exc.user_message, exc.detail)
        except Exception as exc:  # a bug: tell the user plainly, keep the trace for the log
            self.failed.emit(job_id, f"The job failed unexpectedly ({type(exc).__name__}).", traceback.format_exc())
        else:
            if token.cancelled:  # cancelled after the last check: apply nothing
                self.cancelled.emit(job_id)
            else:
                self.finished.emit(job_id, result)

    @Slot(int, str)
    def route_prompt(self, request_id: int, text: str) -> None:
        try:
            routing = self._get_engine().route_prompt(text)
        except StudioError as exc:
            self.routeFailed.emit(request_id, exc.user_message, exc.detail)
        except Exception as exc:  # a bug or a missing model file: the UI falls back, the log keeps the trace
            self.routeFailed.emit(
                request_id, f"The prompt could not be understood ({type(exc).__name__}).", traceback.format_exc()
            )
        else:
            self.routed.emit(request_id, routing)


class EngineClient(QObject):
    """GUI-thread handle: submit requests, cancel them, hear back through signals."""

    jobStarted = Signal(int)
    jobProgress = Signal(int, float, str)
    jobFinished = Signal(int, object)  # EditResult
    jobFailed = Signal(int, str)
    jobCancelled = Signal(int)
    promptRouted = Signal(int, object)  # request id from route(), PromptRouting
    routeFailed = Signal(int, str)  # request id, user message
    _submit = Signal(int, object, object)
    _route = Signal(int, str)

    def __init__(self, engine_factory: EngineFactory, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.jobs: dict[int, Job] = {}  # queued or running; finished ones are dropped
        self._ids = itertools.count(1)
        self._thread = QThread()
        self._thread.setObjectName("llmvis-engine")
        track_thread(self._thread)
        self._worker = EngineWorker(engine_factory)
        self._worker.moveToThread(self._thread)
        self._submit.connect(self._worker.run_job)
        self._worker.started.connect(self._on_started)
        self._worker.progressed.connect(self._on_progress)
        self._worker.finished.connect(self._on_finished)
        self._worker.failed.connect(self._on_failed)
        self._worker.cancelled.connect(self._on_cancelled)
        self._route.connect(self._worker.route_prompt)
        self._worker.routed.connect(self._on_routed)
        self._worker.routeFailed.connect(self._on_route_failed)
        self._thread.finished.connect(self._worker.deleteLater)
        self._thread.start()

    # --- API for the UI --------------------------------------------------------------
    def submit(self, request: EditRequest) -> int:
        job_id = next(self._ids)
        token = Progress(self._throttled_reporter(job_id))
        self.jobs[job_id] = Job(job_id, request, token)
        self._submit.emit(job_id, request, token)
        return job_id

    def route(self, text: str) -> int:
        """Ask the engine, on the worker thread, what `text` means; answered by promptRouted or routeFailed
        with the returned id. Queued behind any running job."""
        request_id = next(self._ids)
        self._route.emit(request_id, text)
        return request_id

    def cancel(self, job_id: Optional[int] = None) -> None:
        """Cancel one job, or every unfinished job when job_id is None."""
        for job in self.jobs.values():
            if (job_id is None or job.id == job_id) and job.state in (JobState.QUEUED, JobState.RUNNING):
                job.token.cancel()

    def busy(self) -> bool:
        return any(job.state in (JobState.QUEUED, JobState.RUNNING) for job in self.jobs.values())

    def shutdown(self, timeout_ms: int = 30000) -> None:
        """Cancel everything, stop the thread and wait for it (call before the app quits)."""
        self.cancel()
        if self._thread.isRunning():
            self._thread.quit()
            self._thread.wait(timeout_ms)

    # --- worker → GUI thread ---------------------------------------------------------
    def _throttled_reporter(self, job_id: int) -> Callable[[float, str], None]:
        last = [0.0]
        worker = self._worker

        def report(fraction: float, message: str) -> None:  # runs in the worker thread
            now = time.monotonic()
            if fraction >= 1.0 or now - last[0] >= PROGRESS_INTERVAL_S:
                last[0] = now
                worker.progressed.emit(job_id, fraction, message)

        return report

    def _set_state(self, job_id: int, state: JobState) -> None:
        if state in (JobState.QUEUED, JobState.RUNNING):
            job = self.jobs.get(job_id)
            if job is not None:
                job.state = state
        else:
            self.jobs.pop(job_id, None)  # finished: forget it (and its copy of the image)

    @Slot(int)
    def _on_started(self, job_id: int) -> None:
        self._set_state(job_id, JobState.RUNNING)
        self.jobStarted.emit(job_id)

    @Slot(int, float, str)
    def _on_progress(self, job_id: int, fraction: float, message: str) -> None:
        self.jobProgress.emit(job_id, fraction, message)

    @Slot(int, object)
    def _on_finished(self, job_id: int, result: object) -> None:
        self._set_state(job_id, JobState.DONE)
        self.jobFinished.emit(job_id, result)

    @Slot(int, str, str)
    def _on_failed(self, job_id: int, message: str, detail: str) -> None:
        self._set_state(job_id, JobState.FAILED)
        self.jobFailed.emit(job_id, message)  # the job's owner settles its state first
        notify(message, detail, source="job", dialog=True)  # then the log file and a dialog

    @Slot(int, object)
    def _on_routed(self, request_id: int, routing: object) -> None:
        self.promptRouted.emit(request_id, routing)

    @Slot(int, str, str)
    def _on_route_failed(self, request_id: int, message: str, detail: str) -> None:
        notify(message, detail, source="prompt")  # the log file and the status bar; the run falls back
        self.routeFailed.emit(request_id, message)

    @Slot(int)
    def _on_cancelled(self, job_id: int) -> None:
        self._set_state(job_id, JobState.CANCELLED)
        self.jobCancelled.emit(job_id)
