"""Command-line subcommands on the same requests and engine as the editor.

Every failure the user can cause prints one line `error: ...` and exits non-zero; a
traceback is never shown (it goes to the log file instead).
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import Callable, Optional, Sequence

from .core.errors import Cancelled, InputError, StudioError
from .core.progress import Progress
from .core.requests import EditRequest
from .cli_gen import GENERATOR_COMMANDS, add_generator_commands
from .cli_text import TEXT_COMMANDS, add_text_commands
from .cli_colour import COLOUR_COMMANDS, add_colour_commands

log = logging.getLogger("llmvis_studio.cli")
SUBCOMMANDS = ("upscale", "inpaint", "detect-scratches", "restore", "denoise", "models", "batch",
               "self-test") + GENERATOR_COMMANDS + TEXT_COMMANDS + COLOUR_COMMANDS
BATCH_OPS = ("upscale", "inpaint", "restore", "denoise", "stylize")


class ProgressBar:
    """A one-line text bar on stderr; redrawn in place on a terminal, quiet otherwise."""

    def __init__(self, label: str, stream=sys.stderr, width: int = 30) -> None:
        self.label = label
        self.stream = stream
        self.width = width
        self.started = time.monotonic()
        self.interactive = hasattr(stream, "isatty") and stream.isatty()
        self._last_drawn = -1

    def __call__(self, fraction: float, message: str = "") -> None:
        percent = int(fraction * 100)
        if not self.interactive or percent == self._last_drawn:
            return
        self._last_drawn = percent
        filled = int(self.width * fraction)
        elapsed = time.monotonic() - self.started
        eta = elapsed / fraction - elapsed if fraction > 0.01 else 0.0
        bar = "#" * filled + "-" * (self.width - filled)
        self.stream.write(f"\r{self.label} [{bar}] {percent:3d}% {elapsed:5.1f}s eta {eta:5.1f}s")
        self.stream.flush()

    def close(self) -> None:
        if self.interactive:
            self.stream.write("\n")
            self.stream.flush()


def _make_engine(device_threads: Optional[int] = None):
    from .engine import Engine  # imported here so `--help` and the GUI start fast

    return Engine(threads=device_threads)


def _run_request(request: EditRequest, label: str, engine_factory: Callable = _make_engine):
    engine = engine_factory()
    bar = ProgressBar(label)
    try:
        return engine.run(request, Progress(bar))
    finally:
        bar.close()


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
                mask_path: Optional[str] = None, tile: Optional[int] = None) -> int:
    """The shared shape of the one-image subcommands: check OUT, load IN (and MASK), run, save."""
    from .files import load_image, load_mask

    out = Path(args.output)
    overwrite = getattr(args, "overwrite", False)
    _check_output_path(out, overwrite)
    image, metadata = load_image(args.input)
    _print_notices(metadata)
    mask = load_mask(mask_path, expected_shape=image.shape[:2]) if mask_path else None
    request = EditRequest(op=op, image=image, mask=mask, model_id=args.model, params=params or {},
                          device=args.device, tile=tile)
    _save_result(out, _run_request(request, label), metadata, overwrite)
    return 0


def cmd_upscale(args: argparse.Namespace) -> int:
    return run_file_op(args, "upscale", f"upscale ×{args.scale}", {"scale": args.scale}, tile=args.tile)


def cmd_inpaint(args: argparse.Namespace) -> int:
    return run_file_op(args, "inpaint", "inpaint", mask_path=args.mask)


def cmd_detect_scratches(args: argparse.Namespace) -> int:
    from .files import load_image, save_mask

    out = Path(args.mask_output)
    _check_output_path(out, args.overwrite)
    image, metadata = load_image(args.input)
    _print_notices(metadata)
    params = {} if args.threshold is None else {"threshold": args.threshold}
    request = EditRequest(op="detect-scratches", image=image, model_id=args.model, params=params,
                          device=args.device, tile=args.tile)
    result = _run_request(request, "detect scratches")
    save_mask(out, result.image[..., 0], replace_protected=args.overwrite)
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"{out}: {image.shape[1]}×{image.shape[0]} mask, {result.model_id} on {result.provider}, "
          f"{result.seconds:.2f} s")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    params: dict = {} if args.threshold is None else {"threshold": args.threshold}
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
    from .batch import BatchJob, run_batch

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
    engine = _make_engine()
    bar = ProgressBar(f"batch {args.op}")

    def on_file(index: int, total: int, source: Path) -> None:
        bar(index / max(1, total))

    try:
        summary = run_batch(job, engine.run, on_file)
    finally:
        bar(1.0)
        bar.close()
    for line in summary.errors:
        print(f"failed: {line}", file=sys.stderr)
    print(summary.line())
    if summary.failed:
        print(f"details: {job.output_dir / 'batch-errors.log'}", file=sys.stderr)
    return 1 if summary.failed else 0


def cmd_self_test(args: argparse.Namespace) -> int:
    from .selftest import run_self_test

    return run_self_test(_make_engine, as_json=args.json)


def _add_device(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                        help="execution provider: CUDA when present (auto), or force one")


def add_overwrite(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the output even if it is write-protected (its mode is kept)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="llmvis-studio", description="Offline AI image editor (command line).")
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("upscale", help="super-resolution ×2/×4")
    up.add_argument("input")
    up.add_argument("output")
    up.add_argument("--scale", type=int, default=4, choices=(2, 3, 4, 8))
    up.add_argument("--model", help="model id (see `models list`); default: the catalog's default for the scale")
    up.add_argument("--tile", type=int, default=None, help="tile size in input pixels; 0 = no tiling; default: from memory")
    _add_device(up)
    add_overwrite(up)
    up.set_defaults(handler=cmd_upscale)

    inp = sub.add_parser("inpaint", help="fill the white part of MASK")
    inp.add_argument("input")
    inp.add_argument("mask", help="PNG, white = fill, same size as the image")
    inp.add_argument("output")
    inp.add_argument("--model", help="model id (see `models list`)")
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
    _add_device(batch)
    batch.set_defaults(handler=cmd_batch)

    selftest = sub.add_parser("self-test", help="verify and run every bundled model once")
    selftest.add_argument("--json", action="store_true")
    selftest.set_defaults(handler=cmd_self_test)

    det = sub.add_parser("detect-scratches", help="mark scratches and dust: writes a white-on-black mask PNG")
    det.add_argument("input")
    det.add_argument("mask_output", metavar="MASK_OUT", help="PNG to write (white = defect)")
    det.add_argument("--threshold", type=float, default=None, help="0..1; lower marks more (default: the model's)")
    det.add_argument("--model", help="detector model id (see `models list`)")
    det.add_argument("--tile", type=int, default=None, help="tile size; 0 = no tiling")
    _add_device(det)
    add_overwrite(det)
    det.set_defaults(handler=cmd_detect_scratches)

    res = sub.add_parser("restore", help="detect scratches and dust and fill them in one go")
    res.add_argument("input")
    res.add_argument("output")
    res.add_argument("--threshold", type=float, default=None, help="detector threshold 0..1 (default: the model's)")
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
    add_colour_commands(sub, _add_device)  # colourize (cli_colour.py)
    return parser


def main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(list(argv))
    try:
        return args.handler(args)
    except Cancelled:
        print("cancelled", file=sys.stderr)
        return 130
    except StudioError as exc:
        if exc.detail:
            log.debug("detail: %s", exc.detail)
        print(f"error: {exc.user_message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    except MemoryError:
        print("error: not enough memory for this image; try a smaller --tile", file=sys.stderr)
        return 1
    except Exception as exc:  # a bug: one line for the user, the trace in the log
        log.exception("unexpected failure")
        print(f"error: unexpected failure ({type(exc).__name__}: {exc}); see the log", file=sys.stderr)
        return 1
