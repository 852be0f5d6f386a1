"""CLI subcommands about the installed models: `models list` and `self-test`."""

from __future__ import annotations

import argparse
import json

from ._run import make_engine

COMMANDS = ("models", "self-test")


def cmd_models(args: argparse.Namespace) -> int:
    from ..catalog import load_catalog

    summaries = [spec.summary() for spec in load_catalog()]
    if args.json:
        print(json.dumps(summaries, indent=2))
        return 0
    for entry in summaries:
        flag = " (default)" if entry["default"] else ""
        print(f"{entry['id']:<22} {entry['task']:<10} ×{entry['scale']}  {entry['licence']:<26} {entry['name']}{flag}")
    return 0


def cmd_self_test(args: argparse.Namespace) -> int:
    from ..selftest import run_self_test

    return run_self_test(make_engine, as_json=args.json)


def register(sub) -> None:
    models = sub.add_parser("models", help="installed models")
    models_sub = models.add_subparsers(dest="models_command", required=True)
    listing = models_sub.add_parser("list", help="list installed models")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(handler=cmd_models)

    selftest = sub.add_parser("self-test", help="verify and run every bundled model once")
    selftest.add_argument("--json", action="store_true")
    selftest.set_defaults(handler=cmd_self_test)
