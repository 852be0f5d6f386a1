"""What running a subcommand shares: the common options (`--device`, `--overwrite`), progress on stderr, the
file-op runner (check OUT, load IN, build the request, run, save), the `--json` summary and the one-line
error handling.

The command-group modules only register subcommands (an `add_parser` call, its arguments and a handler);
`run_command` runs the handler: a status line on stderr once the job passes a second, the summary on stdout with
`--json`, and errors as one `error: ...` line with a non-zero exit.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from ..core.errors import Cancelled, InputError, StudioError
from ..core.progress import Progress
from ..core.requests import EditRequest

log = logging.getLogger("llmvis_studio.cli")
PROGRESS_DELAY_S = 1.0  # shorter jobs print no progress at all
DEVICES = ("auto", "cpu", "cuda")
# Commands without the elapsed-time ticker: they draw their own progress or are instant (and `prompt -`,
# which reads requests typed on the terminal).
NO_TICKER = frozenset({"train gan", "train vae", "train texture", "completion", "models list"})
OUTPUT_ARGS = ("output", "mask_output", "out", "output_dir")  # what a summary reports as written


class StudioArgumentParser(argparse.ArgumentParser):
    """argparse with one-line errors: `error: ...` and a pointer to --help instead of the usage block."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"error: {message} (see `{self.prog} --help`)\n")


def add_device(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--device", choices=DEVICES, default="auto", help="execution provider: CUDA when present (auto), or force one"
    )


def add_overwrite(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--overwrite", action="store_true", help="replace the output even if it is write-protected (its mode is kept)"
    )


def finish_command(
    parser: argparse.ArgumentParser,
    handler: Callable[[argparse.Namespace], int],
    *,
    model_help: Optional[str] = None,
    tile_help: Optional[str] = None,
    overwrite: bool = False,
) -> None:
    """The options most subcommands end with (--model, --tile, --device, --overwrite), then the handler."""
    if model_help is not None:
        parser.add_argument("--model", help=model_help)
    if tile_help is not None:
        parser.add_argument("--tile", type=int, default=None, help=tile_help)
    add_device(parser)
    if overwrite:
        add_overwrite(parser)
    parser.set_defaults(handler=handler)


# ---------------------------------------------------------------- progress


class ProgressBar:
    """One status line on stderr, only on a terminal and only once the job has run PROGRESS_DELAY_S.

    Called with fractions it draws a bar with an ETA; without, a ticker shows the elapsed time, so a job that
    reports no fractions (loading a model, a single-tile run) still shows it is alive. Bars nest: only the
    innermost open one draws, so a command-wide ticker gives way to a job's own bar.
    """

    _open: list[ProgressBar] = []
    _lock = threading.RLock()
    _paused = False  # a half-printed line is on the terminal

    def __init__(
        self, label: str, stream=None, width: int = 30, delay: Optional[float] = None, tick: float = 0.25
    ) -> None:
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

    def __enter__(self) -> ProgressBar:
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
        data = {
            "command": self.command,
            "ok": exit_code == 0,
            "exit_code": exit_code,
            "model": self.model,
            "provider": self.provider,
            "seconds": round(time.perf_counter() - self.started, 3),
            "engine_seconds": round(self.engine_seconds, 3),
            "output": outputs[0] if outputs else None,
        }
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
        raise fail(130, "cancelled", prefix="") from None
    except StudioError as exc:
        if exc.detail:
            log.debug("detail: %s", exc.detail)
        raise fail(2, exc.user_message) from None
    except KeyboardInterrupt:
        raise fail(130, "interrupted", prefix="\n") from None
    except MemoryError:
        raise fail(1, "not enough memory for this image; try a smaller --tile") from None
    except Exception as exc:  # a bug: one line for the user, the trace in the log
        log.exception("unexpected failure")
        raise fail(1, f"unexpected failure ({type(exc).__name__}: {exc}); see the log") from None


# ---------------------------------------------------------------- the file-op runner


def make_engine(device_threads: Optional[int] = None):
    from ..engine import Engine  # imported here so `--help` and the GUI start fast

    return Engine(threads=device_threads)


def run_request(request: EditRequest, label: str, engine_factory: Callable = make_engine):
    """One request on a fresh engine, with a progress bar; its model, provider and time go into the summary."""
    engine = engine_factory()
    with ProgressBar(label) as bar:
        result = engine.run(request, Progress(bar))
    record_result(result)
    return result


def print_notes(result) -> None:
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)


def save_result(out_path: Path, result, metadata, overwrite: bool = False) -> None:
    from ..files import save_image

    for notice in save_image(out_path, result.image, metadata, replace_protected=overwrite):
        print(f"note: {notice}", file=sys.stderr)
    print_notes(result)
    print(
        f"{out_path}: {result.image.shape[1]}×{result.image.shape[0]}, {result.model_id} on "
        f"{result.provider}, {result.seconds:.2f} s"
    )


def save_mask_result(out_path: Path, result, overwrite: bool = False) -> None:
    """A mask-making op's result (channel 0) as a white-on-black PNG, and the one summary line."""
    from ..files import save_mask

    save_mask(out_path, result.image[..., 0], replace_protected=overwrite)
    print_notes(result)
    height, width = result.image.shape[:2]
    print(f"{out_path}: {width}×{height} mask, {result.model_id} on {result.provider}, {result.seconds:.2f} s")


def check_output_path(path: Path, overwrite: bool = False) -> None:
    """Before any work: a known format, an existing folder, no write-protected file in the way."""
    from ..files.atomic import is_write_protected
    from ..files.imageio import format_for

    format_for(path)
    if not path.parent.exists():
        raise InputError(f"The output folder {path.parent} does not exist.")
    if not overwrite and is_write_protected(path):
        raise InputError(f"{path} is write-protected; not replaced. Add --overwrite to replace it anyway.")


def print_notices(metadata) -> None:
    """What the loader wants the user to know (e.g. only the first of several frames was read)."""
    for notice in metadata.notices:
        print(f"note: {notice}", file=sys.stderr)


def run_file_op(
    args: argparse.Namespace,
    op: str,
    label: str,
    params: Optional[dict] = None,
    mask_path: Optional[str] = None,
    tile: Optional[int] = None,
    sample_path: Optional[str] = None,
) -> int:
    """The shared shape of the one-image subcommands: check OUT, load IN (and MASK), run, save."""
    from ..engine.ops.params import parse_params
    from ..files import load_image, load_mask

    parse_params(op, params or {})  # the op registry's check: a bad parameter fails before any file is read
    out = Path(args.output)
    overwrite = getattr(args, "overwrite", False)
    check_output_path(out, overwrite)
    image, metadata = load_image(args.input)
    print_notices(metadata)
    mask = load_mask(mask_path, expected_shape=image.shape[:2]) if mask_path else None
    sample_from = load_mask(sample_path, expected_shape=image.shape[:2]) if sample_path else None
    request = EditRequest(
        op=op,
        image=image,
        mask=mask,
        model_id=args.model,
        params=params or {},
        device=args.device,
        tile=tile,
        sample_from=sample_from,
    )
    save_result(out, run_request(request, label), metadata, overwrite)
    return 0
