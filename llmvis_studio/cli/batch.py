"""CLI subcommand `batch OP --in DIR --out DIR`: one operation over a folder, resumable, locally or on Ray."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..core.errors import InputError
from ._run import ProgressBar, add_device, make_engine, record, record_result, recording

COMMANDS = ("batch",)
BATCH_OPS = ("upscale", "inpaint", "restore", "denoise", "stylize")


def cmd_batch(args: argparse.Namespace) -> int:
    from ..batch import BatchJob

    params: dict = {}
    if args.op == "upscale":
        params["scale"] = args.scale
    if args.op == "stylize":
        if not args.style:
            raise InputError("Batch stylize needs --style NAME|IMAGE.")
        params.update(style=args.style, strength=args.strength)
    job = BatchJob(
        op=args.op,
        input_dir=Path(args.input_dir),
        output_dir=Path(args.output_dir),
        recursive=args.recursive,
        overwrite=args.overwrite,
        mask=Path(args.mask) if args.mask else None,
        model_id=args.model,
        params=params,
        device=args.device,
        tile=args.tile,
    )
    bar = ProgressBar(f"batch {args.op}")
    try:
        summary = _run_batch_on(args.engine, job, args, bar)
    finally:
        bar(1.0)
        bar.close()
    record(done=summary.done, skipped=summary.skipped, failed=summary.failed, errors=summary.errors)
    for line in summary.errors:
        print(f"failed: {line}", file=sys.stderr)
    print(summary.line())
    if summary.failed:
        print(f"details: {job.output_dir / 'batch-errors.log'}", file=sys.stderr)
    return 1 if summary.failed else 0


def _run_batch_on(engine_name: str, job, args: argparse.Namespace, bar: ProgressBar):
    """The local loop, or the same per-image function on a Ray actor pool (`--engine ray`)."""
    if engine_name == "local":
        if args.address:
            raise InputError("--address is for --engine ray.")
        from ..batch import run_batch

        engine = make_engine()
        return run_batch(job, recording(engine.run), lambda index, total, source: bar(index / max(1, total)))
    from ..batch_ray import run_batch_ray  # ray is imported only here (the cluster extra)

    record(engine="ray", workers=args.workers)
    return run_batch_ray(
        job,
        workers=args.workers,
        address=args.address,
        on_result=record_result,
        on_file=lambda done, total, source: bar(done / max(1, total)),
    )


def register(sub) -> None:
    batch = sub.add_parser("batch", help="run one operation over a folder (resumable)")
    batch.add_argument("op", choices=BATCH_OPS)
    batch.add_argument("--in", dest="input_dir", required=True, help="input folder (never written to)")
    batch.add_argument("--out", dest="output_dir", required=True, help="output folder (same file names)")
    batch.add_argument("--recursive", action="store_true", help="include sub-folders")
    batch.add_argument(
        "--overwrite", action="store_true", help="redo outputs that already exist, write-protected ones included"
    )
    batch.add_argument("--mask", help="inpaint: one mask file, or a folder of masks named like the images")
    batch.add_argument("--scale", type=int, default=4, choices=(2, 3, 4, 8))
    batch.add_argument("--style", help="stylize: preset name or style image")
    batch.add_argument("--strength", type=float, default=1.0)
    batch.add_argument("--model")
    batch.add_argument("--tile", type=int, default=None)
    batch.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help="local: this process; ray: a Ray actor pool, one loaded model per worker "
        "(needs the cluster extra: pip install 'llmvis-studio[cluster]')",
    )
    batch.add_argument(
        "--address",
        help="ray: an existing cluster's head, HOST:PORT (IN and OUT must be on storage "
        "every node sees); default: a private Ray instance on 127.0.0.1",
    )
    batch.add_argument("--workers", type=int, default=2, help="ray: number of workers (default 2)")
    add_device(batch)
    batch.set_defaults(handler=cmd_batch)
