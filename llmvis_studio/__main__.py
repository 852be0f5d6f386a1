"""Entry point: `llmvis-studio SUBCOMMAND ...` runs the CLI, anything else opens the editor.

Wiring lives here: the editor gets an EngineClient whose worker thread builds the Engine on
first use, so neither onnxruntime nor a model is loaded before the window shows.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Optional

from .cli import SUBCOMMANDS

log = logging.getLogger("llmvis_studio")


def setup_logging() -> None:
    """The log file in the user's data folder: every failure's detail lands there (core.notify)."""
    from .core.notify import attach_log_file
    from .paths import user_data_dir

    attach_log_file(user_data_dir())


def gui_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="llmvis-studio",
        description="Offline AI image editor. Subcommands: " + ", ".join(SUBCOMMANDS) + " (see SUBCOMMAND --help).",
    )
    parser.add_argument("image", nargs="?", help="image to open")
    parser.add_argument("--screenshot", metavar="PNG", help="render the window with the image, save it, exit")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    return parser


def engine_factory(device_threads: Optional[int]):
    def build():
        from .engine import Engine  # imported in the worker thread, after the window is up

        return Engine(threads=device_threads)

    return build


def dialog_trainer():
    """The Train dialog's trainer, or None without the train extra.

    Imported dynamically on purpose: llmvis_studio.training needs torch, an optional extra, and the editor
    must start without it (the import-linter contract "nothing outside training imports torch" cannot see
    this edge; cli/generators.py has the same one for `train` / `export`).
    """
    import importlib.util

    if importlib.util.find_spec("torch") is None:
        return None

    def train(settings, report, should_stop):
        module = importlib.import_module("llmvis_studio.training" + ".cli_train")
        return module.dialog_trainer(settings, report, should_stop)

    return train


def gui_thread_count() -> int:
    """Leave one core to the UI thread so the window stays responsive during inference."""
    return max(1, (os.cpu_count() or 2) - 1)


def run_gui(args: argparse.Namespace) -> int:
    from PySide6.QtWidgets import QApplication

    from .catalog import load_catalog
    from .core.errors import StudioError
    from .ui.app import build_main_window, save_screenshot
    from .worker import EngineClient

    if args.image and not Path(args.image).exists():
        print(f"error: File not found: {args.image}", file=sys.stderr)
        return 2
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("LLMVis Studio")
    app.setOrganizationName("LLMVis")
    try:
        catalog = load_catalog()
    except StudioError as exc:
        print(f"error: {exc.user_message}", file=sys.stderr)
        return 2
    client = EngineClient(engine_factory(gui_thread_count()))
    try:
        window = build_main_window(
            client,
            catalog,
            Path(args.image) if args.image else None,
            device=args.device,
            offer_recovery=not args.screenshot,
            trainer=dialog_trainer(),
            error_hook=True,
        )
        if args.screenshot:
            return 0 if save_screenshot(window, Path(args.screenshot)) else 1
        window.show()
        return app.exec()
    finally:
        client.shutdown()


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    setup_logging()
    if argv and argv[0] in SUBCOMMANDS:
        from .cli import main as cli_main

        return cli_main(argv)
    return run_gui(gui_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
