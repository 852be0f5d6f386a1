"""CLI subcommands for the one-image edit ops: `upscale`, `inpaint`, `detect-scratches`, `restore`, `denoise`.

Each handler builds the same EditRequest the editor builds and runs it through `_run.run_file_op`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..core.requests import EditRequest
from ._run import check_output_path, finish_command, print_notices, run_file_op, run_request, save_mask_result

COMMANDS = ("upscale", "inpaint", "detect-scratches", "restore", "denoise")


def cmd_upscale(args: argparse.Namespace) -> int:
    return run_file_op(args, "upscale", f"upscale ×{args.scale}", {"scale": args.scale}, tile=args.tile)


def cmd_inpaint(args: argparse.Namespace) -> int:
    params = {} if args.method is None else {"method": args.method}
    return run_file_op(args, "inpaint", "inpaint", params, mask_path=args.mask, sample_path=args.sample_from)


def cmd_detect_scratches(args: argparse.Namespace) -> int:
    from ..files import load_image

    out = Path(args.mask_output)
    check_output_path(out, args.overwrite)
    image, metadata = load_image(args.input)
    print_notices(metadata)
    request = EditRequest(
        op="detect-scratches",
        image=image,
        model_id=args.model,
        params=_detector_params(args),
        device=args.device,
        tile=args.tile,
    )
    save_mask_result(out, run_request(request, "detect scratches"), args.overwrite)
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


def _in_out(sub, name: str, help_text: str) -> argparse.ArgumentParser:
    parser = sub.add_parser(name, help=help_text)
    parser.add_argument("input")
    parser.add_argument("output")
    return parser


def _register_damage(sub) -> None:
    """detect-scratches and restore: the detector alone, and detector + fill in one go."""
    det = sub.add_parser("detect-scratches", help="mark scratches and dust: writes a white-on-black mask PNG")
    det.add_argument("input")
    det.add_argument("mask_output", metavar="MASK_OUT", help="PNG to write (white = defect)")
    det.add_argument(
        "--sensitivity",
        type=float,
        default=None,
        help="0..1; higher marks more (default 0.5, the best-F1 point of a calibrated detector)",
    )
    det.add_argument("--threshold", type=float, default=None, help="0..1 on the model's output; lower marks more")
    finish_command(
        det,
        cmd_detect_scratches,
        overwrite=True,
        model_help="detector model id (see `models list`)",
        tile_help="tile size; 0 = no tiling",
    )

    res = _in_out(sub, "restore", "detect scratches and dust and fill them in one go")
    res.add_argument("--sensitivity", type=float, default=None, help="detector sensitivity 0..1 (default 0.5)")
    res.add_argument("--threshold", type=float, default=None, help="detector threshold 0..1 on the model's output")
    res.add_argument("--mask", help="optional PNG: look for defects only in its white part")
    res.add_argument("--inpaint-model", help="inpainting model id (default: the default inpaint model)")
    finish_command(
        res, cmd_restore, overwrite=True, model_help="detector model id", tile_help="detector tile size; 0 = no tiling"
    )


def register(sub) -> None:
    up = _in_out(sub, "upscale", "super-resolution ×2/×4")
    up.add_argument("--scale", type=int, default=4, choices=(2, 3, 4, 8))
    finish_command(
        up,
        cmd_upscale,
        overwrite=True,
        model_help="model id (see `models list`), e.g. sr-scan-x4 / sr-scan-x2 = Scan / photo (realistic) "
        "for scans and old or JPEG photos; default: the catalog's default for the scale",
        tile_help="tile size in input pixels; 0 = no tiling; default: from memory",
    )

    inp = sub.add_parser("inpaint", help="fill the white part of MASK")
    inp.add_argument("input")
    inp.add_argument("mask", help="PNG, white = fill, same size as the image")
    inp.add_argument("output")
    inp.add_argument("--model", help="model id (see `models list`)")
    inp.add_argument(
        "--method",
        choices=("auto", "learned", "patch", "telea", "ns"),
        default=None,
        help="auto (default): thin scratches and strokes → learned, object-sized holes → patch "
        "(remove object: copied texture on the learned fill's colours); telea / ns: OpenCV",
    )
    inp.add_argument(
        "--sample-from", help="patch: PNG, white = where texture may be copied from (default: around the hole)"
    )
    finish_command(inp, cmd_inpaint, overwrite=True)

    _register_damage(sub)

    den = _in_out(sub, "denoise", "remove noise, grain and JPEG artefacts")
    den.add_argument("--mask", help="optional PNG: only the white part is cleaned")
    finish_command(
        den,
        cmd_denoise,
        overwrite=True,
        model_help="model id (see `models list`)",
        tile_help="tile size; 0 = no tiling",
    )
