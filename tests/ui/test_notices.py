"""Worker failures go through core.notify: the trace to the log file in the user's data folder, a plain
message to a dialog (jobs) or the status bar (prompt routing); the client keeps no finished jobs."""

import numpy as np
import pytest
from PySide6.QtWidgets import QMessageBox

from llmvis_studio.worker import EngineClient
from tests import notify_log

log_file = notify_log.log_file  # the fixture, found by its name

JOB_TIMEOUT_MS = 10_000


class BuggyEngine:
    def run(self, request, progress):
        return 1 / 0  # a bug, not a user error: the trace belongs in the log

    def route_prompt(self, text):
        raise KeyError("encoder.onnx")


@pytest.fixture
def buggy_client(qapp):
    client = EngineClient(BuggyEngine)
    yield client
    client.shutdown()


def test_a_failed_job_shows_a_plain_dialog_and_logs_its_trace(qtbot, make_window, buggy_client, log_file, monkeypatch):
    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text, *rest: shown.append((title, text)))
    window = make_window(buggy_client)
    original = window.document.image.copy()
    with qtbot.waitSignal(buggy_client.jobFailed, timeout=JOB_TIMEOUT_MS):
        window.prompt_panel.run_button.click()
    assert shown == [("The job failed", "The job failed unexpectedly (ZeroDivisionError).")]
    log = log_file.read_text(encoding="utf-8")
    assert "Traceback" in log and "ZeroDivisionError: division by zero" in log
    assert buggy_client.jobs == {}, "a finished job is not kept"
    np.testing.assert_array_equal(window.document.image, original)


def test_a_failed_routing_reaches_the_status_bar_and_the_log(qtbot, make_window, buggy_client, log_file, monkeypatch):
    monkeypatch.setattr(QMessageBox, "warning", lambda *args: pytest.fail("routing failures are no dialog"))
    window = make_window(buggy_client)
    with qtbot.waitSignal(buggy_client.routeFailed, timeout=JOB_TIMEOUT_MS):
        buggy_client.route("remove the scratch")
    assert window.statusBar().currentMessage() == "The prompt could not be understood (KeyError)."
    assert "KeyError: 'encoder.onnx'" in log_file.read_text(encoding="utf-8")


def test_the_client_forgets_finished_jobs(qtbot, client, make_window):
    window = make_window(client)
    for _ in range(2):
        with qtbot.waitSignal(client.jobFinished, timeout=JOB_TIMEOUT_MS):
            window.prompt_panel.run_button.click()
        qtbot.waitUntil(lambda: not window.jobs.busy, timeout=JOB_TIMEOUT_MS)
    assert client.jobs == {} and not client.busy()


def test_a_background_task_failure_is_logged_and_its_thread_stopped(qtbot, log_file):
    from llmvis_studio.worker.client import live_threads
    from llmvis_studio.worker.task import BackgroundTask

    def job(report, should_stop):
        report({"step": 1})
        raise RuntimeError("out of disk")

    task = BackgroundTask(job, "training")
    steps = []
    task.progressed.connect(steps.append)
    with qtbot.waitSignal(task.failed, timeout=JOB_TIMEOUT_MS) as failed:
        task.start()
    assert failed.args == ["Training failed unexpectedly (RuntimeError: out of disk)."] and steps == [{"step": 1}]
    log = log_file.read_text(encoding="utf-8")
    assert "Traceback" in log and "RuntimeError: out of disk" in log
    assert not live_threads()
