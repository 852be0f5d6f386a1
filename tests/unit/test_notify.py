"""core.notify: every notice reaches the log file with its detail and each live subscriber; dead or broken
subscribers drop out without disturbing the code that reported."""

import gc

from llmvis_studio.core.notify import Notice, NotificationHub, notify
from tests import notify_log

log_file = notify_log.log_file  # the fixture, found by its name


def test_a_notice_goes_to_the_log_with_its_detail_and_to_subscribers(log_file):
    seen: list[Notice] = []
    from llmvis_studio.core.notify import hub

    unsubscribe = hub.subscribe(seen.append)
    try:
        notice = notify(
            "The job failed unexpectedly (ZeroDivisionError).",
            "Traceback ...\nZeroDivisionError: x",
            source="job",
            dialog=True,
        )
    finally:
        unsubscribe()
    notify("after unsubscribing", source="job")
    assert seen == [notice] and notice.title == "The job failed"
    text = log_file.read_text(encoding="utf-8")
    assert "ZeroDivisionError: x" in text and "The job failed unexpectedly" in text and "after unsubscribing" in text


def test_gone_and_broken_subscribers_drop_out():
    hub = NotificationHub()
    calls: list[str] = []

    class Window:
        def show(self, notice: Notice) -> None:
            calls.append("window")

    def broken(notice: Notice) -> None:
        calls.append("broken")
        raise RuntimeError("the dialog's widget was deleted")

    window = Window()
    hub.subscribe(window.show)  # a bound method: held weakly
    hub.subscribe(broken)
    hub.notify(Notice("first"))
    del window
    gc.collect()
    hub.notify(Notice("second"))  # neither the gone window nor the broken subscriber is called again
    assert calls == ["window", "broken"]
