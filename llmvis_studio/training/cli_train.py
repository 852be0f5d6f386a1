"""Entry points that need torch: `llmvis-studio train gan|vae`, `llmvis-studio export RUN_DIR`, the editor's
Train dialog. cli/generators.py and __main__.py reach this module through importlib only (training is an optional
extra: the editor and the rest of the CLI must start without torch installed).
"""

from __future__ import annotations

import argparse
import os
import shlex
from collections.abc import Callable, Mapping
from typing import Any, Optional

from llmvis_studio.training.gen_train import GenConfig, ProgressPrinter, export_run, run_training

CONFIG_KEYS = (
    "data",
    "out",
    "size",
    "steps",
    "batch",
    "device",
    "resume",
    "width",
    "z_dim",
    "lr",
    "seed",
    "threads",
    "checkpoint_every",
    "text_embedder",
    "model_id",
    "ms_weight",
)


def config_from_args(args: argparse.Namespace, command: str = "") -> GenConfig:
    values = {key: getattr(args, key) for key in CONFIG_KEYS if getattr(args, key, None) is not None}
    precision = getattr(args, "precision", "auto")
    bf16 = None if precision == "auto" else precision == "bf16"  # None: timed at the start of training
    return GenConfig(
        kind=args.kind, bf16=bf16, register=not getattr(args, "no_register", False), command=command, **values
    )


def train_command(args: argparse.Namespace) -> int:
    if args.kind == "texture":  # the resolution-free generator has its own trainer (training/texture_gan.py)
        from llmvis_studio.training.texture_gan import train_from_args

        return train_from_args(args)
    command = (
        f"llmvis-studio train {args.kind} --data {shlex.quote(str(args.data))} --out {shlex.quote(str(args.out))} "
        f"--size {args.size} --steps {args.steps} --batch {args.batch}"
        + (f" --width {args.width}" if args.width else "")
        + f" --seed {args.seed}"
    )
    cfg = config_from_args(args, command)
    result = run_training(cfg, report=ProgressPrinter(f"train {args.kind}"))
    print_result(result)
    return 0


def export_command(args: argparse.Namespace) -> int:
    result = export_run(args.run_dir, register=not args.no_register)
    print_result(result)
    return 0


def print_result(result: dict[str, Any]) -> None:
    if "onnx" in result:
        print(
            f"{result['onnx']}: model '{result['model_id']}'"
            + (f", registered in {result['registered']}" if result.get("registered") else "")
        )
        quality = result.get("quality") or {}
        if quality:
            print("quality: " + ", ".join(f"{k} {v}" for k, v in quality.items()))
    if "steps" in result:
        print(f"{result['run_dir']}: {result['steps']} steps, {result['minutes']:.1f} min")


def dialog_trainer(
    settings: Mapping[str, Any], report: Callable[[dict], None], should_stop: Optional[Callable[[], bool]] = None
) -> dict[str, Any]:
    """What the editor's Train dialog calls on its worker thread (settings: kind, data, out, size, steps, device...).
    Kind "texture" trains the resolution-free generator (training/texture_dialog.py); gan / vae the 32-128 px ones."""
    if settings.get("kind") == "texture":
        from llmvis_studio.training.texture_dialog import train_for_dialog

        return train_for_dialog(settings, report, should_stop)
    cfg = GenConfig(
        kind=settings.get("kind", "gan"),
        data=str(settings["data"]),
        out=str(settings["out"]),
        size=int(settings.get("size", 32)),
        steps=int(settings.get("steps", 2000)),
        batch=int(settings.get("batch", 32)),
        device=str(settings.get("device", "auto")),
        resume=bool(settings.get("resume", False)),
        width=int(settings.get("width", 0)),
        threads=int(settings.get("threads", 0)) or max(1, (os.cpu_count() or 2) - 1),
    )  # one core for the UI
    result = run_training(cfg, report=report, should_stop=should_stop, echo=False)
    return {k: v for k, v in result.items() if k != "history"}
