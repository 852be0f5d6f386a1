"""Live Colourize: when the hints or the strength change, the job re-runs on the worker by itself.

- Debounced: changes restart a short timer; only when it fires is a request built (from the hints and strength of
  that moment), so a slider drag or a burst of dots costs one run.
- Latest request wins: if a colourize job is still running when a newer change arrives, it is cancelled and the
  newer request follows as soon as the worker reports the end; a job of another kind is never cancelled (the
  re-run waits for it).
- Never frozen: everything here is a timer and signals on the GUI thread; the net runs on the worker. Moving the
  strength only re-runs the recombination: the engine caches the net's chroma for unchanged input (PredictionCache).
- Same base: every live run colourizes the picture as it was before the first colourize of this session (the
  `base`), so a re-run with the same hints gives the same pixels and adds no undo step (an undone hint re-runs to
  exactly the picture already shown). The base is dropped when another job changes the picture or a file opens.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
from PySide6.QtCore import QObject, QTimer, Slot

DEBOUNCE_MS = 250


class LiveColourize(QObject):
    def __init__(self, panel) -> None:
        super().__init__(panel)
        self.panel = panel
        self.jobs = panel.window.jobs
        self.base: Optional[np.ndarray] = None
        self.enabled = True
        self.pending = False  # a change arrived while a job ran: run again when it ends
        self._our_job: Optional[int] = None
        self.runs = 0  # submitted live runs (for tests and the status line)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(DEBOUNCE_MS)
        self.timer.timeout.connect(self.on_timeout)
        self.jobs.jobEnded.connect(self.on_job_ended)
        panel.window.doc.documentReplaced.connect(self.reset)

    # --- what starts a run -------------------------------------------------------------
    def changed(self) -> None:
        """Hints or strength changed. Re-run only once the user has colourized (or is previewing) this picture."""
        if self.enabled and self.base is not None:
            self.timer.start()

    def start(self) -> Optional[int]:
        """The Colourize button: (re)start live mode from the current picture and run now."""
        if self._our_job is None:
            self.base = self.panel.window.document.image.copy()
        self.timer.stop()
        if self.jobs.busy:  # runs as soon as the current job ends
            self.pending = True
            return None
        return self._submit()

    @Slot()
    def reset(self) -> None:
        self.timer.stop()
        self.base = None
        self.pending = False

    # --- running ------------------------------------------------------------------------
    @Slot()
    def on_timeout(self) -> None:
        if self.base is None:
            return
        if self.jobs.busy:
            self.pending = True
            if self._our_job is not None and self.jobs.current_job == self._our_job:
                self.jobs.cancel()  # the newer request wins
            return
        self._submit()

    def _submit(self) -> Optional[int]:
        image = self.panel.window.document.image
        if self.base is None or self.base.shape != image.shape or self.base.dtype != image.dtype:
            self.base = image.copy()
        request = self.panel.build_request(self.base)
        if request is None:
            return None
        self.pending = False
        job = self.jobs.submit(request)
        self._our_job = job
        if job is not None:
            self.runs += 1
        return job

    @Slot(str, bool)
    def on_job_ended(self, op: str, applied: bool) -> None:
        ours = op == "colourize" and self._our_job is not None and self.jobs.current_job is None
        if ours:
            self._our_job = None
        elif applied and op != "colourize":
            self.base = None  # another edit changed the picture: live mode ends until Colourize is pressed again
            self.pending = False
            return
        if self.pending and self.base is not None:
            self.timer.start()
