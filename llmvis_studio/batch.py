"""Batch runs: one op over a folder, resumable, never touching the input folder.

Each output is written atomically (temp file + rename), so a run killed part-way leaves only
finished outputs under their final names; a rerun skips those and cleans stale temp files.
Temp files carry their writer's pid, so two runs into one folder never remove each other's
files in flight (files.atomic); both finish with valid outputs (the later rename wins).
Bad files are logged and skipped; the run goes on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

from .core.errors import Cancelled, ImageSaveError, InputError, StudioError
from .core.progress import Progress
from .core.requests import EditRequest
from .engine.ops.params import parse_params
from .files import load_image, load_mask, save_image
from .files.atomic import describe_os_error, remove_stale_temp_files
from .files.imageio import SAVE_FORMATS

log = logging.getLogger(__name__)
ERROR_LOG = "batch-errors.log"


@dataclass(frozen=True)
class BatchJob:
    op: str
    input_dir: Path
    output_dir: Path
    recursive: bool = False
    overwrite: bool = False
    mask: Optional[Path] = None  # one mask for all images, or a folder of masks with the same names
    model_id: Optional[str] = None
    params: dict[str, Any] = field(default_factory=dict)
    device: str = "auto"
    tile: Optional[int] = None


@dataclass
class BatchSummary:
    done: int = 0
    skipped: int = 0
    failed: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    def line(self) -> str:
        return f"{self.done} written, {self.skipped} already done, {self.failed} failed in {self.seconds:.1f} s"


def check_folders(job: BatchJob) -> None:
    source, target = job.input_dir.resolve(), job.output_dir.resolve()
    if not source.is_dir():
        raise InputError(f"The input folder {job.input_dir} does not exist.")
    if source == target or source in target.parents:
        raise InputError("The output folder must not be the input folder or inside it.")
    if target in source.parents:
        raise InputError("The output folder must not contain the input folder.")


def input_files(job: BatchJob) -> list[Path]:
    pattern = "**/*" if job.recursive else "*"
    files = [p for p in job.input_dir.glob(pattern) if p.is_file() and p.suffix.lower() in SAVE_FORMATS]
    return sorted(files)


def output_path(job: BatchJob, source: Path) -> Path:
    return job.output_dir / source.relative_to(job.input_dir)


def mask_for(job: BatchJob, source: Path, shape: tuple[int, int]) -> Optional[np.ndarray]:
    if job.mask is None:
        return None
    path = job.mask
    if job.mask.is_dir():
        path = job.mask / source.relative_to(job.input_dir)
        if not path.exists():
            path = path.with_suffix(".png")
    return load_mask(path, expected_shape=shape)


def pending(job: BatchJob, files: list[Path], summary: BatchSummary) -> Iterator[Path]:
    for source in files:
        if output_path(job, source).exists() and not job.overwrite:
            summary.skipped += 1
            continue
        yield source


def run_batch(
    job: BatchJob,
    engine_run: Callable[[EditRequest, Progress], Any],
    on_file: Optional[Callable[[int, int, Path], None]] = None,
    token: Optional[Progress] = None,
) -> BatchSummary:
    """Process every pending file; `engine_run(request, progress)` does one image."""
    summary, todo, started = prepare(job)
    for index, source in enumerate(todo):
        if token is not None:
            token.check()
        if on_file is not None:
            on_file(index, len(todo), source)
        error = attempt_one(job, source, engine_run, token or Progress())
        if error is None:
            summary.done += 1
        else:
            record_failure(job, summary, source, error)
    summary.seconds = time.monotonic() - started
    return summary


def prepare(job: BatchJob) -> tuple[BatchSummary, list[Path], float]:
    """Checks, the output folder, stale temp files gone; returns (summary with skips, files to do, start time).
    Shared by the local loop and the Ray engine (batch_ray.py)."""
    check_folders(job)
    parse_params(job.op, job.params)  # a misspelt parameter fails before any file is read
    if job.op == "inpaint" and job.mask is None:
        raise InputError("Batch inpainting needs --mask (one mask file, or a folder of masks named like the images).")
    make_output_folder(job.output_dir)
    remove_stale_temp_files(job.output_dir, recursive=True)  # a killed run's; never a live run's
    summary = BatchSummary()
    started = time.monotonic()
    todo = list(pending(job, input_files(job), summary))
    return summary, todo, started


def attempt_one(job: BatchJob, source: Path, engine_run, token: Progress) -> Optional[str]:
    """One image, start to finish: None when written, else the reason it failed (the run goes on).
    The one per-image code path of both engines: the local loop and each Ray actor call it."""
    try:
        process_one(job, source, engine_run, token)
    except Cancelled:
        raise
    except StudioError as exc:
        return exc.user_message
    except (OSError, MemoryError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def make_output_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        parent = next((p for p in folder.parents if p.exists()), folder.parent)
        raise ImageSaveError(
            f"Cannot create the output folder {folder}: {describe_os_error(exc, parent)}.", detail=repr(exc)
        ) from exc


def process_one(job: BatchJob, source: Path, engine_run, token: Progress) -> None:
    image, metadata = load_image(source)
    mask = mask_for(job, source, image.shape[:2])
    request = EditRequest(
        op=job.op, image=image, mask=mask, model_id=job.model_id, params=job.params, device=job.device, tile=job.tile
    )
    result = engine_run(request, token)
    target = output_path(job, source)
    target.parent.mkdir(parents=True, exist_ok=True)
    save_image(target, result.image, metadata, backup=False, replace_protected=job.overwrite)


def record_failure(job: BatchJob, summary: BatchSummary, source: Path, message: str) -> None:
    summary.failed += 1
    line = f"{source.relative_to(job.input_dir)}: {message}"
    summary.errors.append(line)
    try:
        with open(job.output_dir / ERROR_LOG, "a", encoding="utf-8") as stream:
            stream.write(time.strftime("%Y-%m-%d %H:%M:%S ") + line + "\n")
    except OSError as exc:  # the folder that refused the image may refuse the log too
        log.warning("Could not write %s: %r", job.output_dir / ERROR_LOG, exc)
