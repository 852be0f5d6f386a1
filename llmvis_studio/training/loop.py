"""The one training loop: a step or wall-clock budget measured across resumes, a cosine learning rate, windowed
logging, periodic validation and atomic checkpoints.

A task supplies what differs (how to build a batch and take one optimiser step, what to validate, what a
checkpoint holds); this module owns the bookkeeping every task repeated. The precision (fp32 or bf16 autocast) is
chosen by timing in training/precision.py before the loop starts.
"""

from __future__ import annotations

import argparse
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import torch

from llmvis_studio.training.precision import add_precision_argument
from llmvis_studio.training.tool_cli import doc_parser


def start_run(out: str | Path, threads: int, seed: int) -> tuple[Path, Logger]:
    """The run folder (made if missing) and its log; torch's threads and seed set."""
    torch.set_num_threads(threads)
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    return folder, Logger(folder / "train.log")


class Logger:
    """Timestamped lines to stdout and to the run's log file (the model cards read their facts from it)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __call__(self, msg: str) -> None:
        line = f"{time.strftime('%H:%M:%S')} {msg}"
        print(line, flush=True)
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")


@dataclass
class RunState:
    """Where a run stands; saved in every checkpoint so a resumed run continues its schedule."""

    step: int = 0
    elapsed: float = 0.0  # seconds of training, summed over resumes


@dataclass(frozen=True)
class Budget:
    steps: int = 0  # stop after this many steps; 0: use `minutes`
    minutes: float = 30.0  # wall-clock training time across resumes

    def fraction(self, state: RunState) -> float:
        """How much of the budget is spent (0..1, not clamped)."""
        return state.step / self.steps if self.steps else state.elapsed / max(1e-9, self.minutes * 60.0)

    def done(self, state: RunState) -> bool:
        return state.step >= self.steps if self.steps else state.elapsed >= self.minutes * 60.0


def cosine_lr(base: float, fraction: float, step: int, warmup: int, floor: float) -> float:
    """Linear warm-up over `warmup` steps, then a cosine from `base` down to `floor` × base at the budget's end."""
    fraction = min(max(fraction, 0.0), 1.0)
    warm = min(1.0, (step + 1) / max(1, warmup))
    return base * warm * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * fraction)))


@dataclass(frozen=True)
class StepOutcome:
    loss: float  # what the optimiser minimised (kept per step in the result)
    parts: dict[str, float]  # the terms the log averages over its window, e.g. {"l1": .., "edge": ..}
    lr: float


@dataclass(frozen=True)
class LoopSettings:
    budget: Budget
    log_every: int = 50
    val_every: int = 0  # 0: no validation inside the loop
    ckpt_minutes: float = 2.0


@dataclass
class LoopHooks:
    step: Callable[[RunState], StepOutcome]  # one optimiser step
    save: Callable[[RunState], None]  # write the checkpoint
    log: Callable[[str], None]
    validate: Optional[Callable[[RunState], None]] = None  # measures and logs
    status: Callable[[], str] = field(default=lambda: "")  # appended to each log line (e.g. a sample pool's fill)


def run_loop(state: RunState, settings: LoopSettings, hooks: LoopHooks) -> list[float]:
    """Train until the budget is spent; checkpoints every `ckpt_minutes` and once at the end. Returns the losses."""
    t0 = last_ckpt = window_t = time.time()
    start_elapsed = state.elapsed
    window: dict[str, float] = {}
    window_n = 0
    losses: list[float] = []
    while not settings.budget.done(state):
        outcome = hooks.step(state)
        state.step += 1
        state.elapsed = start_elapsed + (time.time() - t0)
        losses.append(outcome.loss)
        for key, value in outcome.parts.items():
            window[key] = window.get(key, 0.0) + value
        window_n += 1
        if state.step % settings.log_every == 0:
            terms = " ".join(f"{k} {v / window_n:.5f}" for k, v in window.items())
            hooks.log(
                f"step {state.step} {terms} lr {outcome.lr:.2e} it/s {window_n / (time.time() - window_t):.2f} "
                f"elapsed {state.elapsed / 60:.1f} min{hooks.status()}"
            )
            window, window_n, window_t = {}, 0, time.time()
        if settings.val_every and hooks.validate is not None and state.step % settings.val_every == 0:
            hooks.validate(state)
            window_t = time.time()  # validation time is not training speed
        if time.time() - last_ckpt > settings.ckpt_minutes * 60:
            hooks.save(state)
            last_ckpt = time.time()
    hooks.save(state)
    return losses


def add_run_arguments(p: argparse.ArgumentParser, minutes: float, batch: int, lr: float, ckpt_minutes: float) -> None:
    """The options every loop-based training command shares (budget, schedule, logging, checkpoints, export);
    a command adds its model's and data's own."""
    p.add_argument("--out", required=True, help="run folder (log, last.pt)")
    p.add_argument("--steps", type=int, default=0, help="stop after this many steps (overrides --minutes)")
    p.add_argument("--minutes", type=float, default=minutes, help="wall-clock training budget across resumes")
    p.add_argument("--batch", type=int, default=batch)
    p.add_argument("--lr", type=float, default=lr)
    p.add_argument("--warmup", type=int, default=100, help="steps of linear learning-rate warm-up")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    add_precision_argument(p)
    p.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    p.add_argument("--log-every", type=int, default=50)
    p.add_argument("--val-every", type=int, default=500, help="steps between validations (0: none)")
    p.add_argument("--ckpt-minutes", type=float, default=ckpt_minutes)
    p.add_argument("--export", default="", help="ONNX path written at the end")
    p.add_argument("--manifest", default="", help="manifest.json to upsert the entry into")


def kind_parsers(
    module: str,
    description: Optional[str],
    kinds: Sequence[str],
    minutes: float,
    batch: int,
    lr: float,
    ckpt_minutes: float,
) -> tuple[argparse.ArgumentParser, Any, dict[str, argparse.ArgumentParser]]:
    """A training command with one subcommand per model kind, each with the shared run options: the parser, its
    subparsers (for more commands) and the kinds' parsers (for their own options)."""
    p = doc_parser(f"python -m llmvis_studio.training.{module}", description)
    sub = p.add_subparsers(dest="kind", required=True)
    parsers = {}
    for kind in kinds:
        parsers[kind] = sub.add_parser(kind)
        add_run_arguments(parsers[kind], minutes=minutes, batch=batch, lr=lr, ckpt_minutes=ckpt_minutes)
    return p, sub, parsers


def save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    """torch.save to a temporary name, then rename: a run killed mid-write keeps its previous checkpoint."""
    tmp = path.with_suffix(".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)


def model_payload(model, opt, state: RunState, rng, args: argparse.Namespace, **extra: Any) -> dict[str, Any]:
    """The checkpoint of a one-network run: weights, optimiser, schedule position, data RNG, options and config
    (`extra` adds a run's own entries, e.g. a critic or the best validation)."""
    return {
        "model": model.state_dict(),
        "optimizer": opt.state_dict(),
        "step": state.step,
        "elapsed": state.elapsed,
        "rng": rng.bit_generator.state,
        "args": vars(args),
        "config": model.config(),
        **extra,
    }


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    return torch.load(path, map_location="cpu", weights_only=False)
