"""The shared shell of the one-shot model tools (converters, exporters, the router fit): timestamped progress lines
and a `main` that turns the tool's own error types into one `error: …` line and exit status 1."""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Optional


def doc_parser(prog: str, doc: Optional[str]) -> argparse.ArgumentParser:
    """A training command's parser whose --help prints the module docstring as written (line breaks kept)."""
    return argparse.ArgumentParser(prog=prog, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)


def installed_package(
    dist: str, module: str, expected: str, error: type[Exception], no_deps: bool = True
) -> tuple[Path, str]:
    """(folder, version) of an installed weights package, located without importing it (some packages load native
    wrappers on import that fail on machines without e.g. Vulkan). Missing: `error` with the pip line to run;
    another version: a warning, since the converted result is verified anyway."""
    try:
        version = importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError as exc:
        flag = "--no-deps " if no_deps else ""
        raise error(f"{dist} is not installed; run: pip install {flag}{dist}=={expected}") from exc
    if version != expected:
        print(
            f"warning: {dist} {version} is installed, checked against {expected}; the result is verified",
            file=sys.stderr,
        )
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise error(f"{dist} is installed but its module {module} is missing")
    return Path(list(spec.submodule_search_locations)[0]), version


def publish_exact(
    targets: Sequence[Path], build: Callable[[list[Path]], dict[str, float]], error: type[Exception], what: str
) -> dict[str, float]:
    """Converted models go in place only when they reproduce their source exactly: `build(staging)` writes each
    target under a temp name and returns its checks; any `*_max_abs_vs_package` above 0 raises `error`, else the
    files are renamed over the targets. Temp files never stay behind."""
    staging = [path.with_name(f".{path.name}.tmp") for path in targets]
    try:
        metrics = build(staging)
        if any(value > 0 for key, value in metrics.items() if key.endswith("_max_abs_vs_package")):
            raise error(f"the converted networks do not reproduce {what} outputs exactly")
        for tmp, final in zip(staging, targets):
            os.replace(tmp, final)
    finally:
        for tmp in staging:
            tmp.unlink(missing_ok=True)
    return metrics


def words(command_line: str) -> list[str]:
    """A recipe's argument list written as one line ("sr --scale 4 --minutes 30" → ["sr", "--scale", ...]);
    no quoting: recipe arguments never contain spaces."""
    return command_line.split()


def stage_command(recipe: list[str], out: Path, model_file: Path) -> list[str]:
    """A recipe stage as the training command's arguments: resume in `out`, export `model_file` and upsert its
    entry into the manifest next to it. `{runs}` in the recipe (another stage's run to start from) is the folder
    that holds `out`."""
    return [
        *(a.replace("{runs}", str(out.parent)) for a in recipe),
        "--out",
        str(out),
        "--resume",
        "--export",
        str(model_file),
        "--manifest",
        str(model_file.parent / "manifest.json"),
    ]


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
