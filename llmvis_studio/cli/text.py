"""CLI subcommands for text and style: `prompt TEXT|-` (the router) and `stylize IN OUT --style ...`."""

from __future__ import annotations

import argparse
import codecs
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from ._run import finish_command, run_file_op

COMMANDS = ("prompt", "stylize")
STDIN_CHUNK = 1 << 16


def stdin_batches(fd: int) -> Iterator[list[str]]:
    """Lines of `fd` in batches: all the complete lines that have arrived by now, so a pipe of 200 prompts
    is routed in one or two encoder runs, while a program that writes one line and waits for its answer
    gets that answer at once (os.read returns what is there rather than waiting for a full buffer)."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    pending = ""
    while chunk := os.read(fd, STDIN_CHUNK):
        pending += decoder.decode(chunk)
        *lines, pending = pending.split("\n")
        if lines:
            yield [line.rstrip("\r") for line in lines]
    pending += decoder.decode(b"", final=True)
    if pending:
        yield [pending.rstrip("\r")]


def _describe(routing) -> str:
    detail = ""
    if routing.style:
        detail = f" (style: {routing.style})"
    elif routing.content:
        detail = f" (content: {routing.content})"
    alternatives = ", ".join(f"{op} {score:.2f}" for op, score in routing.alternatives)
    ask = "  — not sure: please choose" if routing.ask else ""
    return f"{routing.op}{detail}  confidence {routing.confidence:.2f}  [{alternatives}]{ask}"


def cmd_prompt(args: argparse.Namespace) -> int:
    from ..engine.text.router import load_router

    router = load_router(threads=args.threads)

    def emit(routing) -> None:
        print(json.dumps(routing.to_json(), ensure_ascii=False) if args.json else _describe(routing), flush=True)

    if args.text != "-":
        emit(router.route(args.text))
        return 0
    # One prompt per line, one answer per line, the model loaded once; lines that arrive together
    # share one encoder run.
    for batch in stdin_batches(sys.stdin.fileno()):
        for routing in router.route_many(batch):
            emit(routing)
    return 0


def cmd_stylize(args: argparse.Namespace) -> int:
    params = {"style": args.style, "strength": args.strength}
    for key in ("feather", "detail", "working_size", "detail_size", "colours"):
        if getattr(args, key) is not None:
            params[key] = getattr(args, key)
    return run_file_op(args, "stylize", f"stylize {Path(args.style).name}", params, mask_path=args.mask)


def register(sub) -> None:
    prompt = sub.add_parser("prompt", help="what would this request do? (op, style or content, confidence)")
    prompt.add_argument("text", help="the request, or - to read one request per line from standard input")
    prompt.add_argument("--json", action="store_true", help="one JSON object per request")
    prompt.add_argument("--threads", type=int, default=None, help="CPU threads for the text encoder")
    prompt.set_defaults(handler=cmd_prompt)

    sty = sub.add_parser("stylize", help="apply an artistic style (a preset or any image) at full resolution")
    sty.add_argument("input")
    sty.add_argument("output")
    sty.add_argument("--style", required=True, help="preset name (e.g. watercolour) or the path of a style image")
    sty.add_argument("--mask", help="optional PNG: the style goes only on the white part, with a feathered edge")
    sty.add_argument("--strength", type=float, default=1.0, help="0 (unchanged) .. 1 (full style); default 1")
    sty.add_argument("--feather", type=float, default=None, help="mask edge softness in pixels (default: size/150)")
    sty.add_argument("--detail", type=float, default=None, help="how much fine photo detail to keep, 0..2 (0.7)")
    sty.add_argument(
        "--working-size",
        dest="working_size",
        type=int,
        default=None,
        help="long side of the one-piece pass that sets colours and light (default 1024)",
    )
    sty.add_argument(
        "--detail-size",
        dest="detail_size",
        type=int,
        default=None,
        help="long side of the tiled stroke pass (default 2048; the photo's own size below it; 0: one pass only); "
        "the output always keeps the input size",
    )
    sty.add_argument(
        "--colours",
        choices=("style", "keep"),
        default=None,
        help="style: the painting's colours; keep: the photo's colours and light, the style's strokes "
        "(default: the preset's own choice, keep for watercolour)",
    )
    finish_command(sty, cmd_stylize, overwrite=True, model_help="model id (see `models list`)")
