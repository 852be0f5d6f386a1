"""CLI subcommand `colourize IN OUT [--hints HINTS.png] [--strength S]`."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..core.errors import InputError
from ._run import check_output_path, finish_command, print_notices, run_request, save_result

COMMANDS = ("colourize",)

HELP_EXAMPLES = """examples:
  llmvis-studio colourize grandma.tif grandma-colour.tif
  llmvis-studio colourize scan.png out.png --hints hints.png --strength 0.8

HINTS.png is an RGBA image of the photo's size: transparent everywhere except small dots (or strokes) painted in
the colour wanted there. The luminance of the photo is kept exactly; 16-bit scans stay 16-bit."""


def load_hints(path: str, shape: tuple[int, int]):
    from ..files import load_image

    hints, _ = load_image(path)
    if hints.shape[2] != 4:
        raise InputError(
            f"{path}: the hint image needs an alpha channel (transparent = no hint, opaque dots = "
            "the colour wanted there)."
        )
    if hints.shape[:2] != shape:
        raise InputError(
            f"The hint image is {hints.shape[1]}×{hints.shape[0]} but the photo is {shape[1]}×{shape[0]}; "
            "they must be the same size."
        )
    return hints


def cmd_colourize(args: argparse.Namespace) -> int:
    from ..core.requests import EditRequest
    from ..files import load_image

    if not 0.0 <= args.strength <= 1.0:
        raise InputError(f"--strength must be between 0 and 1, not {args.strength:g}.")
    out = Path(args.output)
    check_output_path(out, args.overwrite)
    image, metadata = load_image(args.input)
    print_notices(metadata)
    params: dict = {"strength": args.strength, "vivid": args.vivid}
    if args.hints:
        params["hints"] = load_hints(args.hints, image.shape[:2])
    request = EditRequest(op="colourize", image=image, model_id=args.model, params=params, device=args.device)
    save_result(out, run_request(request, "colourize"), metadata, args.overwrite)
    return 0


def register(sub) -> None:
    col = sub.add_parser(
        "colourize",
        help="colour a black-and-white photo (automatic, or guided by colour hints)",
        description="Colour a black-and-white (or sepia) photo. " + HELP_EXAMPLES.split("\n\n")[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # the example: _help.EXAMPLES
    col.add_argument("input")
    col.add_argument("output")
    col.add_argument("--hints", metavar="HINTS.png", help="RGBA image: the colour wanted where alpha > 0")
    col.add_argument("--strength", type=float, default=1.0, help="0..1: how much colour (default 1)")
    col.add_argument(
        "--vivid",
        action="store_true",
        help="stronger automatic colours (about 1.3× the default chroma, less PSNR; snow can turn ochre)",
    )
    finish_command(col, cmd_colourize, overwrite=True, model_help="colourize model id (see `models list`)")
