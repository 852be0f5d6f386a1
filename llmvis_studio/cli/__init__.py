"""Command-line subcommands on the same requests and engine as the editor.

One module per command group registers its subcommands (`COMMANDS` names them, `register(sub)` adds them);
GROUPS below is the registry, and `__main__` takes its command list (SUBCOMMANDS) from it. `_run` holds what
running a command shares (progress bar, file-op runner, `--device`, errors), `_help` the examples and completion
hints every subcommand gets. Adding a subcommand is therefore: its add_parser call + handler in a group, one
EXAMPLES line, one README table row (tests/engine/test_cli_every_command.py checks the last two).

Every failure the user can cause prints one line `error: ...` and exits non-zero; a traceback is never shown (it
goes to the log file instead).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from . import batch, colour, edit, generators, masks, models, text
from ._help import completion_script, finish_parser
from ._run import StudioArgumentParser, run_command

GROUPS = (edit, batch, models, generators, text, masks, colour)
SUBCOMMANDS: tuple[str, ...] = tuple(name for group in GROUPS for name in group.COMMANDS) + ("completion",)


def cmd_completion(args: argparse.Namespace) -> int:
    print(completion_script(build_parser(), args.shell), end="")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = StudioArgumentParser(prog="llmvis-studio", description="Offline AI image editor (command line).")
    sub = parser.add_subparsers(dest="command", required=True)
    for group in GROUPS:
        group.register(sub)
    comp = sub.add_parser("completion", help="print the bash or zsh completion script")
    comp.add_argument("shell", choices=("bash", "zsh"))
    comp.set_defaults(handler=cmd_completion, no_summary=True)
    return finish_parser(parser)  # examples in --help, --json, completion hints (_help.py)


def main(argv: Sequence[str]) -> int:
    return run_command(build_parser().parse_args(list(argv)))
