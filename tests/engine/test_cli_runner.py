"""cli/_run.py: progress on stderr after a second, the --json summary, one-line errors for every kind of failure."""

import argparse
import io
import json
import time

import pytest

from llmvis_studio.cli import _run as cli_run
from llmvis_studio.cli import main
from llmvis_studio.cli._run import ProgressBar, record, run_command
from llmvis_studio.core.errors import InputError


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def namespace(handler, json_flag=False, command="demo"):
    return argparse.Namespace(handler=handler, command_path=command, json=json_flag, summary_json=True)


def test_bar_waits_a_second_then_draws_fractions_with_an_eta():
    terminal = FakeTerminal()
    bar = ProgressBar("upscale", stream=terminal, delay=0.2, tick=0)
    bar(0.5)
    assert terminal.getvalue() == ""  # a job under the delay prints nothing
    time.sleep(0.25)
    bar(0.5)
    bar.close()
    assert "upscale [###############---------------]  50%" in terminal.getvalue() and "eta" in terminal.getvalue()
    assert terminal.getvalue().endswith("\n")


def test_no_progress_when_stderr_is_not_a_terminal():
    stream = io.StringIO()
    with ProgressBar("denoise", stream=stream, delay=0) as bar:
        bar(0.3)
    assert stream.getvalue() == ""


def test_a_long_command_without_fractions_shows_elapsed_time(monkeypatch):
    terminal = FakeTerminal()
    monkeypatch.setattr("sys.stderr", terminal)
    monkeypatch.setattr(cli_run, "PROGRESS_DELAY_S", 0.1)
    assert run_command(namespace(lambda args: time.sleep(0.6) or 0, command="generate")) == 0
    assert "\rgenerate …" in terminal.getvalue() and terminal.getvalue().endswith("s\n")


def test_a_quick_command_prints_no_progress(monkeypatch, capsys):
    terminal = FakeTerminal()
    monkeypatch.setattr("sys.stderr", terminal)
    assert run_command(namespace(lambda args: print("done") or 0)) == 0
    assert terminal.getvalue() == "" and capsys.readouterr().out == "done\n"


def test_json_moves_human_lines_to_stderr_and_prints_one_summary(capsys):
    def handler(args):
        print("out.png: 10×10")
        record(model="m1", provider="CPU", images=3)
        return 0

    assert run_command(namespace(handler, json_flag=True, command="generate")) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert summary["command"] == "generate" and summary["ok"] and summary["exit_code"] == 0
    assert (summary["model"], summary["provider"], summary["images"]) == ("m1", "CPU", 3)
    assert "out.png: 10×10" in captured.err


@pytest.mark.parametrize(
    "exc, code, text",
    [
        (InputError("The image is empty."), 2, "error: The image is empty."),
        (MemoryError(), 1, "error: not enough memory for this image; try a smaller --tile"),
        (ValueError("bug"), 1, "error: unexpected failure (ValueError: bug); see the log"),
    ],
)
def test_failures_are_one_line_and_in_the_json_summary(exc, code, text, capsys):
    def handler(args):
        raise exc

    assert run_command(namespace(handler, json_flag=True)) == code
    captured = capsys.readouterr()
    assert captured.err.strip() == text and "Traceback" not in captured.err
    summary = json.loads(captured.out)
    assert summary["ok"] is False and summary["exit_code"] == code and text.endswith(summary["error"])


@pytest.mark.parametrize(
    "argv",
    [
        ["upscale"],
        ["upscale", "a.png", "b.png", "--scale", "5"],
        ["nonsense"],
        ["fill", "a.png", "m.png", "o.png", "--prompt", "x", "--seed", "one"],
    ],
)
def test_argument_mistakes_are_one_line(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: ") and "--help" in err
