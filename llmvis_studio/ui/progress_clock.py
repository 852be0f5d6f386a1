"""Percentage and time left for a running job, also for ops that report little or no progress.

Engines report progress per tile, but a classical fill says "Filling" once and then nothing until
it is done. So the clock combines two estimates: from the reported fraction (elapsed / fraction),
and from how long the same op took per megapixel last time. The fraction counts only once it has
moved between two reports: a fill's one "10 %" at the start says nothing about its speed. Plain
Python, no Qt: JobController drives it from a GUI-thread timer.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Optional

MIN_SECONDS_FOR_ESTIMATE = 0.3  # two reports closer than this say little about the speed
MAX_TIME_FRACTION = 0.95  # a time-based bar never claims "done" before the job is


def seconds_text(seconds: float) -> str:
    """ "about 12 s", "about 3 min"; under a second reads "almost done"."""
    if seconds < 1.0:
        return "almost done"
    if seconds < 90:
        return f"about {round(seconds)} s left"
    return f"about {round(seconds / 60)} min left"


@dataclass
class JobClock:
    clock: Callable[[], float] = time.monotonic
    seconds_per_mp: dict[str, float] = field(default_factory=dict)  # op → last measured speed
    op: str = ""
    megapixels: float = 0.0
    started: Optional[float] = None
    fraction: float = 0.0
    message: str = ""
    first_report: Optional[tuple[float, float]] = None  # (time, fraction) of the first report
    last_report: Optional[tuple[float, float]] = None  # (time, fraction) when the fraction last moved

    def start(self, op: str, width: int, height: int) -> None:
        self.op, self.megapixels = op, max(1e-6, width * height / 1e6)
        self.started, self.fraction, self.message = self.clock(), 0.0, ""
        self.first_report = self.last_report = None

    def report(self, fraction: float, message: str = "") -> None:
        fraction = min(1.0, float(fraction))
        if message:
            self.message = message
        now = self.clock()
        if self.first_report is None:
            self.first_report = self.last_report = (now, fraction)
        elif fraction > self.fraction:
            self.last_report = (now, fraction)
        self.fraction = max(self.fraction, fraction)

    def finish(self) -> None:
        """The job completed: remember its speed for the next estimate of the same op."""
        if self.started is not None:
            self.seconds_per_mp[self.op] = self.elapsed() / self.megapixels
        self.started = None

    def stop(self) -> None:
        self.started = None

    def elapsed(self) -> float:
        return 0.0 if self.started is None else self.clock() - self.started

    def expected_total(self) -> Optional[float]:
        """Seconds the whole job should take, or None when there is nothing to go on yet."""
        if self.first_report is not None and self.last_report is not None:
            (t0, f0), (t1, f1) = self.first_report, self.last_report
            if f1 > f0 and t1 - t0 >= MIN_SECONDS_FOR_ESTIMATE:
                return (t1 - self.started) + (1.0 - f1) * (t1 - t0) / (f1 - f0)
        rate = self.seconds_per_mp.get(self.op)
        return None if rate is None else rate * self.megapixels

    def shown_fraction(self) -> float:
        """The reported fraction, pushed forward by the clock when the op reports too little."""
        total = self.expected_total()
        by_time = min(MAX_TIME_FRACTION, self.elapsed() / total) if total else 0.0
        return max(self.fraction, by_time)

    def text(self) -> str:
        """ "Filling — 42 % · about 12 s left" (or the elapsed time while nothing is known)."""
        shown = self.shown_fraction()
        parts = [f"{self.message or 'Working'} — {shown * 100:.0f} %"]
        total = self.expected_total()
        if total is not None:
            parts.append(seconds_text(max(0.0, total - self.elapsed())))
        else:
            parts.append(f"{self.elapsed():.0f} s so far")
        return " · ".join(parts)
