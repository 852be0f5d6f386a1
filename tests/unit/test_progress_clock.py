"""JobClock: percentage and time left from reported progress, or from the op's last speed."""

from __future__ import annotations

import pytest

from llmvis_studio.ui.progress_clock import JobClock, seconds_text


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_time_left_from_the_reported_fraction():
    now = FakeTime()
    clock = JobClock(clock=now)
    clock.start("upscale", 1000, 1000)
    now.now += 2.0
    clock.report(0.05, "Tile 1 of 20")
    now.now += 8.0
    clock.report(0.25, "Tile 5 of 20")  # 0.2 in 8 s: 30 s for the remaining 0.75
    assert clock.expected_total() == pytest.approx(40.0)
    assert clock.text() == "Tile 5 of 20 — 25 % · about 30 s left"


def test_a_fill_that_reports_nothing_is_timed_from_its_last_speed():
    now = FakeTime()
    clock = JobClock(clock=now)
    clock.start("inpaint", 2000, 1000)  # 2 MP
    now.now += 8.0
    clock.report(1.0)
    clock.finish()
    assert clock.seconds_per_mp["inpaint"] == pytest.approx(4.0)

    clock.start("inpaint", 4000, 1000)  # 4 MP: 16 s expected
    clock.report(0.1, "Filling")  # what the classical fill says, once
    now.now += 4.0
    assert clock.shown_fraction() == pytest.approx(0.25)
    assert clock.text() == "Filling — 25 % · about 12 s left"
    now.now += 100.0
    assert clock.shown_fraction() == pytest.approx(0.95), "never claims done before it is"


def test_without_anything_to_go_on_it_says_how_long_so_far():
    now = FakeTime()
    clock = JobClock(clock=now)
    clock.start("generate", 100, 100)
    now.now += 3.2
    assert clock.text() == "Working — 0 % · 3 s so far"


def test_seconds_text():
    assert seconds_text(0.4) == "almost done"
    assert seconds_text(42) == "about 42 s left"
    assert seconds_text(600) == "about 10 min left"
