"""The shared shell of the one-shot model tools (converters, exporters, the router fit): timestamped progress lines
and a `main` that turns the tool's own error types into one `error: …` line and exit status 1."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Optional


def log_since(started: float, message: str) -> None:
    """Print `message` with the seconds since `started` (a time.perf_counter() value)."""
    print(f"[{time.perf_counter() - started:6.1f}s] {message}", flush=True)


def model_tool_main(
    argv: Optional[list[str]],
    description: str,
    action: Callable[[argparse.Namespace], object],
    errors: tuple[type[BaseException], ...] = (),
    folder_option: str = "--out",
    folder_help: str = "models folder",
    more_options: Optional[Callable[[argparse.ArgumentParser], None]] = None,
) -> int:
    """Parse `folder_option` (a Path, default models/) plus `more_options`, run `action(args)`; the tool's expected
    failures (`errors`) become one line on stderr and exit status 1, anything else is a bug and propagates."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(folder_option, type=Path, default=Path("models"), help=folder_help)
    if more_options is not None:
        more_options(parser)
    args = parser.parse_args(argv)
    try:
        action(args)
    except errors as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def train_and_report(train: Callable[[str, argparse.Namespace], dict], args: argparse.Namespace) -> int:
    """Run `train(kind, args)` for a parsed `<kind> …` command line; print its result (less the model and the
    per-step losses) as one JSON line."""
    import json

    kind = args.kind
    del args.kind
    result = train(kind, args)
    print(json.dumps({k: v for k, v in result.items() if k not in ("model", "losses")}))
    return 0


def run_stages(
    stages: list[str],
    runs: Path,
    fresh: bool,
    command: Callable[[str], list[str]],
    trainer_main: Callable[[list[str]], int],
) -> int:
    """Train recipe stages in order; `fresh` deletes a stage's run folder first (otherwise it resumes)."""
    import shutil

    for stage in stages:
        if fresh:
            shutil.rmtree(runs / stage, ignore_errors=True)
        cmd = command(stage)
        print("train", " ".join(cmd), flush=True)
        trainer_main(cmd)
    return 0
