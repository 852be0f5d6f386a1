"""CLI subcommands for the smart masks: `select-subject IN MASK_OUT`, `remove-background IN OUT.png`,
`detect-text IN MASK_OUT`.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Optional

from ..core.errors import InputError
from ._run import check_output_path, finish_command, run_file_op, run_request, save_mask_result

COMMANDS = ("select-subject", "remove-background", "detect-text")
ALPHA_FORMATS = ("PNG", "TIFF", "WEBP")


def _mask_job(args: argparse.Namespace, op: str, label: str, params: Optional[dict] = None) -> int:
    """Check MASK_OUT, load IN, run the op, write its mask as a white-on-black PNG."""
    from ..core.requests import EditRequest
    from ..files import load_image

    out = Path(args.mask_output)
    check_output_path(out)
    if out.suffix.lower() != ".png":
        raise InputError(f"Masks are saved as PNG, not '{out.suffix or 'no extension'}'.")
    image, _ = load_image(args.input)
    request = EditRequest(op=op, image=image, model_id=args.model, params=params or {}, device=args.device)
    save_mask_result(out, run_request(request, label))
    return 0


def cmd_select_subject(args: argparse.Namespace) -> int:
    return _mask_job(args, "select-subject", "select subject")


def cmd_detect_text(args: argparse.Namespace) -> int:
    params = {
        key: getattr(args, key) for key in ("grow", "threshold", "working_size") if getattr(args, key) is not None
    }
    return _mask_job(args, "detect-text", "find text", params)


def cmd_remove_background(args: argparse.Namespace) -> int:
    from ..files.imageio import format_for

    if format_for(Path(args.output)) not in ALPHA_FORMATS:
        raise InputError(f"'{Path(args.output).suffix}' cannot hold transparency; write a .png (or .tif, .webp).")
    return run_file_op(args, "remove-background", "remove background")


def _parser(sub, name: str, help_text: str, example: str, output: str, output_help: str) -> argparse.ArgumentParser:
    """IN and the output positional (`mask_output` shows as MASK_OUT, `output` as OUT), the example under --help."""
    parser = sub.add_parser(
        name,
        help=help_text,
        description=help_text,
        epilog=f"example:\n  {example}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("input")
    parser.add_argument(output, metavar="MASK_OUT" if output == "mask_output" else "OUT", help=output_help)
    return parser


def register(sub) -> None:
    sel = _parser(
        sub,
        "select-subject",
        "mask the main subject of a photo: writes a white-on-black mask PNG",
        "llmvis-studio select-subject portrait.jpg subject-mask.png",
        "mask_output",
        "PNG to write (white = subject, soft 1–3 px edge)",
    )
    finish_command(sel, cmd_select_subject, model_help="subject model id (see `models list`)")

    rem = _parser(
        sub,
        "remove-background",
        "cut out the main subject: writes the image with an alpha channel",
        "llmvis-studio remove-background product.tif cutout.png   (16-bit input stays 16-bit)",
        "output",
        "PNG (or TIFF, WebP) to write; PNG and TIFF keep 16 bits",
    )
    finish_command(rem, cmd_remove_background, model_help="subject model id (see `models list`)")

    det = _parser(
        sub,
        "detect-text",
        "mask captions, date stamps and watermarks: writes a white-on-black mask PNG",
        "llmvis-studio detect-text scan.jpg text-mask.png && llmvis-studio inpaint scan.jpg text-mask.png clean.png",
        "mask_output",
        "PNG to write (white = text)",
    )
    det.add_argument("--grow", type=int, default=None, help="pixels added around the letters (default 2)")
    det.add_argument("--threshold", type=float, default=None, help="0..1; lower finds fainter text (default 0.3)")
    det.add_argument(
        "--working-size",
        dest="working_size",
        type=int,
        default=None,
        help="long side the detector sees (default 1280); larger finds smaller text, slower",
    )
    finish_command(det, cmd_detect_text, model_help="text detector model id (see `models list`)")
