"""What every subcommand shares: the parser class and common options, the example in `--help`, progress on
stderr, the `--json` summary and the one-line error handling.

cli.py, cli_gen.py and cli_text.py only register subcommands (an `add_parser` call, its arguments and a handler).
`finish_parser` then walks the built parser once and gives every subcommand the same shape: an example in its
`--help` (from EXAMPLES), a `--json` flag, and file/folder hints for shell completion. `run_command` runs the
handler: a status line on stderr once the job passes a second, the summary on stdout with `--json`, and errors as
one `error: ...` line with a non-zero exit. Adding a subcommand is therefore: its add_parser call + handler, one
EXAMPLES line, one README table row (tests/engine/test_cli_every_command.py checks the last two).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Optional

from .core.errors import Cancelled, StudioError

log = logging.getLogger("llmvis_studio.cli")
PROG = "llmvis-studio"
PROGRESS_DELAY_S = 1.0  # shorter jobs print no progress at all
DEVICES = ("auto", "cpu", "cuda")

# Command path → one example command line (shown under `--help`; the README table repeats them).
EXAMPLES: dict[str, str] = {
    "upscale": "llmvis-studio upscale scan.jpg scan_x4.png --scale 4",
    "inpaint": "llmvis-studio inpaint photo.jpg mask.png filled.png",
    "fill": "llmvis-studio fill photo.jpg mask.png filled.png --prompt 'clouds' --seed 3",
    "detect-scratches": "llmvis-studio detect-scratches scan.tif scratches.png --threshold 0.4",
    "restore": "llmvis-studio restore scan.tif restored.tif",
    "denoise": "llmvis-studio denoise noisy.jpg clean.png",
    "stylize": "llmvis-studio stylize photo.jpg painted.png --style watercolour --strength 0.8",
    "select-subject": "llmvis-studio select-subject photo.jpg subject.png",
    "remove-background": "llmvis-studio remove-background photo.jpg cutout.png",
    "detect-text": "llmvis-studio detect-text photo.jpg text.png --grow 3",
    "colourize": "llmvis-studio colourize grandpa.tif colour.tif --hints hints.png",
    "batch": "llmvis-studio batch upscale --in scans/ --out scans_x4/ --scale 4 --recursive",
    "models list": "llmvis-studio models list --json",
    "self-test": "llmvis-studio self-test --json",
    "train gan": "llmvis-studio train gan --data textures/ --out runs/gan1 --size 32 --steps 2000",
    "train vae": "llmvis-studio train vae --data textures/ --out runs/vae1 --size 32 --steps 2000",
    "train texture": "llmvis-studio train texture --data textures/ --out runs/tex1 --minutes 20",
    "export": "llmvis-studio export runs/gan1",
    "generate": "llmvis-studio generate --model runs/gan1 --prompt 'bricks' -n 8 --out samples/",
    "prompt": "llmvis-studio prompt 'remove the scratches' --json",
    "completion": "llmvis-studio completion bash > ~/.local/share/bash-completion/completions/llmvis-studio",
}
# Positional/option names that are files or folders, for shell completion.
FILE_ARGS = frozenset({"input", "output", "mask", "mask_output", "hints", "style"})
FOLDER_ARGS = frozenset({"input_dir", "output_dir", "out", "data", "run_dir"})
# Commands without the elapsed-time ticker: they draw their own progress or are instant (and `prompt -`,
# which reads requests typed on the terminal).
NO_TICKER = frozenset({"train gan", "train vae", "train texture", "completion", "models list"})
OUTPUT_ARGS = ("output", "mask_output", "out", "output_dir")  # what a summary reports as written


class StudioArgumentParser(argparse.ArgumentParser):
    """argparse with one-line errors: `error: ...` and a pointer to --help instead of the usage block."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"error: {message} (see `{self.prog} --help`)\n")


def add_device(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", choices=DEVICES, default="auto",
                        help="execution provider: CUDA when present (auto), or force one")


def add_overwrite(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the output even if it is write-protected (its mode is kept)")


# ---------------------------------------------------------------- the parser walk


def leaf_parsers(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """('models list', parser), ('upscale', parser), ...: every subcommand that runs something."""
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not actions and path:
        yield " ".join(path), parser
    for action in actions:
        for name, child in action.choices.items():
            yield from leaf_parsers(child, path + (name,))


def finish_parser(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Give every subcommand its example, `--json` (unless it prints its own JSON) and completion hints."""
    for name, sub in leaf_parsers(parser):
        if name in EXAMPLES and not sub.epilog:
            sub.epilog = f"example:\n  {EXAMPLES[name]}"
            sub.formatter_class = argparse.RawDescriptionHelpFormatter
        if not any("--json" in a.option_strings for a in sub._actions) and not sub.get_default("no_summary"):
            sub.add_argument("--json", action="store_true",
                             help="print a JSON summary on stdout (what ran, model, provider, seconds, output); "
                                  "other output goes to stderr")
            sub.set_defaults(summary_json=True)
        sub.set_defaults(command_path=name)
        for action in sub._actions:
            if action.dest in FILE_ARGS:
                action.complete = {"bash": "_shtab_compgen_files", "zsh": "_files"}  # type: ignore[attr-defined]
            elif action.dest in FOLDER_ARGS:
                action.complete = {"bash": "_shtab_compgen_dirs", "zsh": "_files -/"}  # type: ignore[attr-defined]
    return parser


# ---------------------------------------------------------------- progress


class ProgressBar:
    """One status line on stderr, only on a terminal and only once the job has run PROGRESS_DELAY_S.

    Called with fractions it draws a bar with an ETA; without, a ticker shows the elapsed time, so a job that
    reports no fractions (loading a model, a single-tile run) still shows it is alive. Bars nest: only the
    innermost open one draws, so a command-wide ticker gives way to a job's own bar.
    """

    _open: list["ProgressBar"] = []
    _lock = threading.RLock()
    _paused = False  # a half-printed line is on the terminal

    def __init__(self, label: str, stream=None, width: int = 30, delay: Optional[float] = None,
                 tick: float = 0.25) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        if isinstance(self.stream, _ClearingWriter):  # draw on the terminal itself, not through the wiper
            self.stream = self.stream._target
        self.width = width
        self.delay = PROGRESS_DELAY_S if delay is None else delay
        self.started = time.monotonic()
        self.interactive = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.fraction: Optional[float] = None
        self._drawn_width = 0
        self._stop = threading.Event()
        with ProgressBar._lock:
            ProgressBar._open.append(self)
        self._ticker = None
        if self.interactive and tick > 0:
            self._ticker = threading.Thread(target=self._tick, args=(tick,), daemon=True, name="progress")
            self._ticker.start()

    def __call__(self, fraction: float, message: str = "") -> None:
        self.fraction = min(1.0, max(0.0, float(fraction)))
        self.draw()

    def __enter__(self) -> "ProgressBar":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def _tick(self, every: float) -> None:
        while not self._stop.wait(every):
            self.draw()

    def text(self, elapsed: float) -> str:
        if self.fraction is None:
            return f"{self.label} … {elapsed:5.1f}s"
        filled = int(self.width * self.fraction)
        eta = elapsed / self.fraction - elapsed if self.fraction > 0.01 else 0.0
        bar = "#" * filled + "-" * (self.width - filled)
        return f"{self.label} [{bar}] {int(self.fraction * 100):3d}% {elapsed:5.1f}s eta {eta:5.1f}s"

    def draw(self) -> None:
        elapsed = time.monotonic() - self.started
        if not self.interactive or elapsed < self.delay or self._stop.is_set():
            return
        with ProgressBar._lock:
            if ProgressBar._paused or not ProgressBar._open or ProgressBar._open[-1] is not self:
                return
            text = self.text(elapsed)
            self.stream.write("\r" + text.ljust(self._drawn_width))
            self.stream.flush()
            self._drawn_width = max(self._drawn_width, len(text))

    def clear(self) -> None:
        """Wipe the line (before other output goes to the terminal); the ticker redraws it later."""
        with ProgressBar._lock:
            if self._drawn_width:
                self.stream.write("\r" + " " * self._drawn_width + "\r")
                self.stream.flush()
                self._drawn_width = 0

    def close(self) -> None:
        self._stop.set()
        if self._ticker is not None and self._ticker is not threading.current_thread():
            self._ticker.join()
        with ProgressBar._lock:
            if self in ProgressBar._open:
                ProgressBar._open.remove(self)
            if self._drawn_width:
                self.stream.write("\n")
                self.stream.flush()


class _ClearingWriter:
    """A stream that first wipes the status line, so printed lines never land on top of it; bars stay quiet
    while a printed line is incomplete (print() writes the text and its newline separately)."""

    def __init__(self, target) -> None:
        self._target = target

    def write(self, text: str) -> int:
        with ProgressBar._lock:
            for bar in ProgressBar._open:
                bar.clear()
            ProgressBar._paused = bool(text) and not text.endswith("\n")
            return self._target.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target, name)


# ---------------------------------------------------------------- the --json summary


@dataclass
class Summary:
    command: str
    started: float = field(default_factory=time.perf_counter)
    model: Optional[str] = None
    provider: Optional[str] = None
    engine_seconds: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self, args: argparse.Namespace, exit_code: int, error: str = "") -> dict[str, Any]:
        outputs = [str(getattr(args, name)) for name in OUTPUT_ARGS if getattr(args, name, None)]
        data = {"command": self.command, "ok": exit_code == 0, "exit_code": exit_code, "model": self.model,
                "provider": self.provider, "seconds": round(time.perf_counter() - self.started, 3),
                "engine_seconds": round(self.engine_seconds, 3), "output": outputs[0] if outputs else None}
        if error:
            data["error"] = error
        return {**data, **self.details}


_summary: Optional[Summary] = None  # the running command's (one command per process or main() call)


def record(**details: Any) -> None:
    """Add facts to the running command's summary (model, provider, counts...)."""
    if _summary is None:
        return
    for key in ("model", "provider"):
        if key in details:
            setattr(_summary, key, details.pop(key))
    _summary.details.update(details)


def record_result(result) -> None:
    """An EditResult's model, provider and time; several results (a batch) add up their seconds."""
    if _summary is None:
        return
    _summary.model, _summary.provider = result.model_id, result.provider
    _summary.engine_seconds += result.seconds
    notes = _summary.details.setdefault("notes", [])
    notes.extend(note for note in result.notes if note not in notes)


def recording(engine_run: Callable) -> Callable:
    """engine.run wrapped so every result lands in the summary (for commands that run many requests)."""
    def run(request, progress=None):
        result = engine_run(request, progress)
        record_result(result)
        return result
    return run


# ---------------------------------------------------------------- running a handler


def run_command(args: argparse.Namespace) -> int:
    """Run args.handler with a status line, one-line errors and (with --json) the summary on stdout."""
    global _summary
    _summary = Summary(getattr(args, "command_path", "") or getattr(args, "command", ""))
    wants_json = bool(getattr(args, "summary_json", False) and getattr(args, "json", False))
    error, code = "", 1
    ProgressBar._paused = False
    quiet = _summary.command in NO_TICKER or getattr(args, "text", None) == "-"
    bar = ProgressBar(_summary.command, tick=0 if quiet else 0.25)
    stdout, human_out, human_err = sys.stdout, sys.stdout, sys.stderr
    if wants_json:
        human_out = sys.stderr  # stdout carries only the JSON
    if bar.interactive:
        human_out, human_err = _ClearingWriter(human_out), _ClearingWriter(human_err)
    try:
        with contextlib.redirect_stdout(human_out), contextlib.redirect_stderr(human_err):
            code = handle_errors(args.handler, args)
    except ReportedError as exc:
        code, error = exc.code, exc.message
    finally:
        bar.close()
    if wants_json:
        print(json.dumps(_summary.to_json(args, code, error), ensure_ascii=False), file=stdout)
    return code


class ReportedError(Exception):
    """An error already printed on stderr; carries the exit code and the line for the summary."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def handle_errors(handler: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """The handler's exit code; every failure becomes one `error: ...` line on stderr (the trace goes to the log)."""
    def fail(code: int, message: str, prefix: str = "error: ") -> ReportedError:
        print(f"{prefix}{message}", file=sys.stderr)
        return ReportedError(code, message)

    try:
        return int(handler(args) or 0)
    except Cancelled:
        raise fail(130, "cancelled", prefix="")
    except StudioError as exc:
        if exc.detail:
            log.debug("detail: %s", exc.detail)
        raise fail(2, exc.user_message)
    except KeyboardInterrupt:
        raise fail(130, "interrupted", prefix="\n")
    except MemoryError:
        raise fail(1, "not enough memory for this image; try a smaller --tile")
    except Exception as exc:  # a bug: one line for the user, the trace in the log
        log.exception("unexpected failure")
        raise fail(1, f"unexpected failure ({type(exc).__name__}: {exc}); see the log")


# ---------------------------------------------------------------- shell completion


def completion_script(parser: argparse.ArgumentParser, shell: str) -> str:
    """The bash/zsh completion script generated from the parser by shtab (a runtime dependency)."""
    try:
        import shtab
    except ImportError as exc:
        raise StudioError("Shell completion needs shtab: pip install shtab==1.13.0", detail=repr(exc)) from exc
    return shtab.complete(parser, shell=shell)

