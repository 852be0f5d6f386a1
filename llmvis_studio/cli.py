"""Command-line subcommands on the same requests and engine as the editor.

Every failure the user can cause prints one line `error: ...` and exits non-zero; a
traceback is never shown (it goes to the log file instead).
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Callable, Optional, Sequence

from .core.errors import InputError
from .core.progress import Progress
from .core.requests import EditRequest
from .cli_gen import GENERATOR_COMMANDS, add_generator_commands
from .cli_run import (ProgressBar, StudioArgumentParser, add_device, add_overwrite, completion_script,
                      finish_parser, record, record_result, recording, run_command)
from .cli_masks import MASK_COMMANDS, add_mask_commands
from .cli_text import TEXT_COMMANDS, add_text_commands
from .cli_colour import COLOUR_COMMANDS, add_colour_commands

log = logging.getLogger("llmvis_studio.cli")
SUBCOMMANDS = ("upscale", "inpaint", "detect-scratches", "restore", "denoise", "models", "batch",
               "self-test", "completion") + GENERATOR_COMMANDS + TEXT_COMMANDS + MASK_COMMANDS + COLOUR_COMMANDS
_add_device = add_device  # the name the subcommand registrations use
BATCH_OPS = ("upscale", "inpaint", "restore", "denoise", "stylize")


def _make_engine(device_threads: Optional[int] = None):
    from .engine import Engine  # imported here so `--help` and the GUI start fast

    return Engine(threads=device_threads)


def _run_request(request: EditRequest, label: str, engine_factory: Callable = _make_engine):
    engine = engine_factory()
    with ProgressBar(label) as bar:
        result = engine.run(request, Progress(bar))
    record_result(result)
    return result


def _save_result(out_path: Path, result, metadata, overwrite: bool = False) -> None:
    from .files import save_image

    for notice in save_image(out_path, result.image, metadata, replace_protected=overwrite):
        print(f"note: {notice}", file=sys.stderr)
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"{out_path}: {result.image.shape[1]}×{result.image.shape[0]}, {result.model_id} on "
          f"{result.provider}, {result.seconds:.2f} s")


def _check_output_path(path: Path, overwrite: bool = False) -> None:
    """Before any work: a known format, an existing folder, no write-protected file in the way."""
    from .files.atomic import is_write_protected
    from .files.imageio import format_for

    format_for(path)
    if not path.parent.exists():
        raise InputError(f"The output folder {path.parent} does not exist.")
    if not overwrite and is_write_protected(path):
        raise InputError(f"{path} is write-protected; not replaced. Add --overwrite to replace it anyway.")


def _print_notices(metadata) -> None:
    """What the loader wants the user to know (e.g. only the first of several frames was read)."""
    for notice in metadata.notices:
        print(f"note: {notice}", file=sys.stderr)


def run_file_op(args: argparse.Namespace, op: str, label: str, params: Optional[dict] = None,
                mask_path: Optional[str] = None, tile: Optional[int] = None,
                sample_path: Optional[str] = None) -> int:
    """The shared shape of the one-image subcommands: check OUT, load IN (and MASK), run, save."""
    from .files import load_image, load_mask

    out = Path(args.output)
    overwrite = getattr(args, "overwrite", False)
    _check_output_path(out, overwrite)
    image, metadata = load_image(args.input)
    _print_notices(metadata)
    mask = load_mask(mask_path, expected_shape=image.shape[:2]) if mask_path else None
    sample_from = load_mask(sample_path, expected_shape=image.shape[:2]) if sample_path else None
    request = EditRequest(op=op, image=image, mask=mask, model_id=args.model, params=params or {},
                          device=args.device, tile=tile, sample_from=sample_from)
    _save_result(out, _run_request(request, label), metadata, overwrite)
    return 0


def cmd_upscale(args: argparse.Namespace) -> int:
    return run_file_op(args, "upscale", f"upscale ×{args.scale}", {"scale": args.scale}, tile=args.tile)


def cmd_inpaint(args: argparse.Namespace) -> int:
    params = {} if args.method is None else {"method": args.method}
    return run_file_op(args, "inpaint", "inpaint", params, mask_path=args.mask, sample_path=args.sample_from)


def cmd_detect_scratches(args: argparse.Namespace) -> int:
    from .files import load_image, save_mask

    out = Path(args.mask_output)
    _check_output_path(out, args.overwrite)
    image, metadata = load_image(args.input)
    _print_notices(metadata)
    params = _detector_params(args)
    request = EditRequest(op="detect-scratches", image=image, model_id=args.model, params=params,
                          device=args.device, tile=args.tile)
    result = _run_request(request, "detect scratches")
    save_mask(out, result.image[..., 0], replace_protected=args.overwrite)
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"{out}: {image.shape[1]}×{image.shape[0]} mask, {result.model_id} on {result.provider}, "
          f"{result.seconds:.2f} s")
    return 0


def _detector_params(args: argparse.Namespace) -> dict:
    """--sensitivity (0..1, higher marks more; default 0.5) or the older --threshold on the model's output."""
    if args.sensitivity is not None:
        return {"sensitivity": args.sensitivity}
    return {} if args.threshold is None else {"threshold": args.threshold}


def cmd_restore(args: argparse.Namespace) -> int:
    params = _detector_params(args)
    if args.inpaint_model:
        params["inpaint_model"] = args.inpaint_model
    return run_file_op(args, "restore", "restore", params, mask_path=args.mask, tile=args.tile)


def cmd_denoise(args: argparse.Namespace) -> int:
    return run_file_op(args, "denoise", "denoise", mask_path=args.mask, tile=args.tile)


def cmd_models(args: argparse.Namespace) -> int:
    from .catalog import load_catalog

    catalog = load_catalog()
    summaries = [spec.summary() for spec in catalog]
    if args.json:
        print(json.dumps(summaries, indent=2))
        return 0
    for entry in summaries:
        flag = " (default)" if entry["default"] else ""
        print(f"{entry['id']:<22} {entry['task']:<10} ×{entry['scale']}  {entry['licence']:<26} {entry['name']}{flag}")
    return 0


def cmd_batch(args: argparse.Namespace) -> int:
    from .batch import BatchJob

    params: dict = {}
    if args.op == "upscale":
        params["scale"] = args.scale
    if args.op == "stylize":
        if not args.style:
            raise InputError("Batch stylize needs --style NAME|IMAGE.")
        params.update(style=args.style, strength=args.strength)
    job = BatchJob(op=args.op, input_dir=Path(args.input_dir), output_dir=Path(args.output_dir),
                   recursive=args.recursive, overwrite=args.overwrite, mask=Path(args.mask) if args.mask else None,
                   model_id=args.model, params=params, device=args.device, tile=args.tile)
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
        from .batch import run_batch

        engine = _make_engine()
        return run_batch(job, recording(engine.run), lambda index, total, source: bar(index / max(1, total)))
    from .batch_ray import run_batch_ray

    record(engine="ray", workers=args.workers)
    return run_batch_ray(job, workers=args.workers, address=args.address, on_result=record_result,
                         on_file=lambda done, total, source: bar(done / max(1, total)))


def cmd_self_test(args: argparse.Namespace) -> int:
    from .selftest import run_self_test

    return run_self_test(_make_engine, as_json=args.json)


def cmd_completion(args: argparse.Namespace) -> int:
    print(completion_script(build_parser(), args.shell), end="")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = StudioArgumentParser(prog="llmvis-studio", description="Offline AI image editor (command line).")
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("upscale", help="super-resolution ×2/×4")
    up.add_argument("input")
    up.add_argument("output")
    up.add_argument("--scale", type=int, default=4, choices=(2, 3, 4, 8))
    up.add_argument("--model", help="model id (see `models list`), e.g. sr-scan-x4 / sr-scan-x2 = Scan / photo "
                    "(realistic) for scans and old or JPEG photos; default: the catalog's default for the scale")
    up.add_argument("--tile", type=int, default=None, help="tile size in input pixels; 0 = no tiling; default: from memory")
    _add_device(up)
    add_overwrite(up)
    up.set_defaults(handler=cmd_upscale)

    inp = sub.add_parser("inpaint", help="fill the white part of MASK")
    inp.add_argument("input")
    inp.add_argument("mask", help="PNG, white = fill, same size as the image")
    inp.add_argument("output")
    inp.add_argument("--model", help="model id (see `models list`)")
    inp.add_argument("--method", choices=("auto", "learned", "patch", "telea", "ns"), default=None,
                     help="auto (default): thin scratches and strokes → learned, object-sized holes → patch "
                          "(remove object: copied texture on the learned fill's colours); telea / ns: OpenCV")
    inp.add_argument("--sample-from", help="patch: PNG, white = where texture may be copied from "
                                           "(default: around the hole)")
    _add_device(inp)
    add_overwrite(inp)
    inp.set_defaults(handler=cmd_inpaint)

    batch = sub.add_parser("batch", help="run one operation over a folder (resumable)")
    batch.add_argument("op", choices=BATCH_OPS)
    batch.add_argument("--in", dest="input_dir", required=True, help="input folder (never written to)")
    batch.add_argument("--out", dest="output_dir", required=True, help="output folder (same file names)")
    batch.add_argument("--recursive", action="store_true", help="include sub-folders")
    batch.add_argument("--overwrite", action="store_true",
                       help="redo outputs that already exist, write-protected ones included")
    batch.add_argument("--mask", help="inpaint: one mask file, or a folder of masks named like the images")
    batch.add_argument("--scale", type=int, default=4, choices=(2, 3, 4, 8))
    batch.add_argument("--style", help="stylize: preset name or style image")
    batch.add_argument("--strength", type=float, default=1.0)
    batch.add_argument("--model")
    batch.add_argument("--tile", type=int, default=None)
    batch.add_argument("--engine", choices=("local", "ray"), default="local",
                       help="local: this process; ray: a Ray actor pool, one loaded model per worker "
                            "(needs the cluster extra: pip install 'llmvis-studio[cluster]')")
    batch.add_argument("--address", help="ray: an existing cluster's head, HOST:PORT (IN and OUT must be on storage "
                                         "every node sees); default: a private Ray instance on 127.0.0.1")
    batch.add_argument("--workers", type=int, default=2, help="ray: number of workers (default 2)")
    _add_device(batch)
    batch.set_defaults(handler=cmd_batch)

    selftest = sub.add_parser("self-test", help="verify and run every bundled model once")
    selftest.add_argument("--json", action="store_true")
    selftest.set_defaults(handler=cmd_self_test)

    det = sub.add_parser("detect-scratches", help="mark scratches and dust: writes a white-on-black mask PNG")
    det.add_argument("input")
    det.add_argument("mask_output", metavar="MASK_OUT", help="PNG to write (white = defect)")
    det.add_argument("--sensitivity", type=float, default=None,
                     help="0..1; higher marks more (default 0.5, the best-F1 point of a calibrated detector)")
    det.add_argument("--threshold", type=float, default=None, help="0..1 on the model's output; lower marks more")
    det.add_argument("--model", help="detector model id (see `models list`)")
    det.add_argument("--tile", type=int, default=None, help="tile size; 0 = no tiling")
    _add_device(det)
    add_overwrite(det)
    det.set_defaults(handler=cmd_detect_scratches)

    res = sub.add_parser("restore", help="detect scratches and dust and fill them in one go")
    res.add_argument("input")
    res.add_argument("output")
    res.add_argument("--sensitivity", type=float, default=None, help="detector sensitivity 0..1 (default 0.5)")
    res.add_argument("--threshold", type=float, default=None, help="detector threshold 0..1 on the model's output")
    res.add_argument("--mask", help="optional PNG: look for defects only in its white part")
    res.add_argument("--model", help="detector model id")
    res.add_argument("--inpaint-model", help="inpainting model id (default: the default inpaint model)")
    res.add_argument("--tile", type=int, default=None, help="detector tile size; 0 = no tiling")
    _add_device(res)
    add_overwrite(res)
    res.set_defaults(handler=cmd_restore)

    den = sub.add_parser("denoise", help="remove noise, grain and JPEG artefacts")
    den.add_argument("input")
    den.add_argument("output")
    den.add_argument("--mask", help="optional PNG: only the white part is cleaned")
    den.add_argument("--model", help="model id (see `models list`)")
    den.add_argument("--tile", type=int, default=None, help="tile size; 0 = no tiling")
    _add_device(den)
    add_overwrite(den)
    den.set_defaults(handler=cmd_denoise)

    models = sub.add_parser("models", help="installed models")
    models_sub = models.add_subparsers(dest="models_command", required=True)
    listing = models_sub.add_parser("list", help="list installed models")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(handler=cmd_models)
    add_generator_commands(sub, _add_device)  # train gan|vae, export, generate (cli_gen.py)
    add_text_commands(sub, _add_device)  # prompt, stylize (cli_text.py)
    add_mask_commands(sub, _add_device)  # select-subject, remove-background, detect-text (cli_masks.py)
    add_colour_commands(sub, _add_device)  # colourize (cli_colour.py)

    comp = sub.add_parser("completion", help="print the bash or zsh completion script")
    comp.add_argument("shell", choices=("bash", "zsh"))
    comp.set_defaults(handler=cmd_completion, no_summary=True)
    return finish_parser(parser)  # examples in --help, --json, completion hints (cli_run.py)


def main(argv: Sequence[str]) -> int:
    return run_command(build_parser().parse_args(list(argv)))
