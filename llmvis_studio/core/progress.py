"""A Qt-free progress and cancel token shared by the UI thread and the engine.

The engine calls `set()` and `check()` between tiles; any thread may call `cancel()`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Optional

from .errors import Cancelled

ProgressCallback = Callable[[float, str], None]


class Progress:
    def __init__(self, callback: Optional[ProgressCallback] = None) -> None:
        self._callback = callback
        self._cancelled = threading.Event()
        self.fraction = 0.0
        self.message = ""

    def cancel(self) -> None:
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def check(self) -> None:
        """Raise Cancelled if someone asked to stop."""
        if self._cancelled.is_set():
            raise Cancelled()

    def set(self, fraction: float, message: str = "") -> None:
        self.fraction = min(1.0, max(0.0, float(fraction)))
        if message:
            self.message = message
        if self._callback is not None:
            self._callback(self.fraction, self.message)
        self.check()

    def span(self, start: float, end: float) -> SubProgress:
        """A view that maps 0..1 onto start..end of this token (for multi-step jobs)."""
        return SubProgress(self, start, end)


class SubProgress:
    def __init__(self, parent: Progress | SubProgress, start: float, end: float) -> None:
        self._parent = parent
        self._start = start
        self._end = end

    @property
    def cancelled(self) -> bool:
        return self._parent.cancelled

    def check(self) -> None:
        self._parent.check()

    def set(self, fraction: float, message: str = "") -> None:
        fraction = min(1.0, max(0.0, float(fraction)))
        self._parent.set(self._start + (self._end - self._start) * fraction, message)

    def span(self, start: float, end: float) -> SubProgress:
        return SubProgress(self, start, end)
