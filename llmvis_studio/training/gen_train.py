"""Train a class-conditional GAN or VAE on an image folder; checkpoints, resume, plots, ONNX export.

    llmvis-studio train gan --data DIR --out RUN [--size 32|64|128] [--steps N] [--batch B] [--device auto|cpu|cuda]
                            [--resume]
    llmvis-studio train vae ...
    llmvis-studio export RUN

A run folder holds: config.json, checkpoint.pt (models, optimisers, step, loss history, RNG), history.json,
loss_curves.png, samples/step_NNNNNN.png (one grid per checkpoint: a row per class, fixed noise),
train.log and, after export, generator.onnx + model.json (a manifest entry: task `generate`).
Exported models are registered in the user's models folder so the editor lists them.

GAN: hinge loss, spectral norm in D, projection discriminator, conditional BatchNorm in G, EMA of G (its
BatchNorm statistics are recomputed on the EMA weights before sampling/export). VAE: conditional conv
encoder + the same generator as decoder, KL weight warmed up linearly over the first 30 % of the steps.
Mixed precision: on the CPU fp32 or bf16 autocast, whichever a few timed steps show faster (bf16 is about 2× faster
on AVX-512-BF16/AMX and about 20× slower on AVX2-only CPUs); fp16/bf16 autocast on CUDA.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch

from llmvis_studio.core.errors import Cancelled, InputError, ModelError
from llmvis_studio.training.archs.gan import (
    Generator,
    count_parameters,
)
from llmvis_studio.training.gen_core import (
    CHECKPOINT,
    PREVIEW_STAT_BATCHES,
    GenConfig,
    Models,
    ProgressPrinter,
    Report,
    RunLog,
    ShouldStop,
    autocast_for,
    build_models,
    checkpoint_due,
    class_embeddings,
    default_width,
    ema_update,
    gan_step,
    load_checkpoint,
    pick_device,
    precision_probe,
    save_checkpoint,
    standing_stats,
    vae_step,
)
from llmvis_studio.training.gen_export import export_onnx, export_run, manifest_entry, onnx_matches, register_model
from llmvis_studio.training.gen_pictures import (
    measure_quality,
    plot_losses,
    quality_stats,
    recon_grid,
    sample_grid,
    to_uint8,
)
from llmvis_studio.training.image_folder import ImageFolder
from llmvis_studio.training.loop import Budget, LoopHooks, LoopSettings, RunState, StepOutcome, run_loop
from llmvis_studio.training.precision import PROBE_BATCH

# gen_train is the trainer's front door: the names other modules and the tests import from it
__all__ = [
    "CHECKPOINT",
    "GenConfig",
    "Generator",
    "ImageFolder",
    "ProgressPrinter",
    "TrainingRun",
    "checkpoint_due",
    "class_embeddings",
    "default_width",
    "export_onnx",
    "export_run",
    "load_checkpoint",
    "manifest_entry",
    "measure_quality",
    "onnx_matches",
    "quality_stats",
    "register_model",
    "run_training",
    "standing_stats",
    "to_uint8",
]

# ---------------------------------------------------------------- the loop


def resume_state(cfg: GenConfig, out: Path, log: RunLog) -> Optional[dict]:
    """The checkpoint to continue (its architecture copied into `cfg`), None for a new run; refuses mismatches."""
    checkpoint = out / CHECKPOINT
    if not cfg.resume:
        if checkpoint.exists():
            raise InputError(f"{out} already holds a run: add --resume to continue it, or choose another --out.")
        return None
    if not checkpoint.is_file():
        log(f"no checkpoint in {out}: starting a new run")
        return None
    state = load_checkpoint(checkpoint)
    if state["kind"] != cfg.kind:
        raise InputError(f"{out} holds a {state['kind'].upper()} run; resume it with `train {state['kind']}`.")
    for key in ("size", "width", "z_dim"):  # the architecture must match the checkpoint
        setattr(cfg, key, state["config"][key])
    return state


def class_vectors(cfg: GenConfig, data: ImageFolder, state: Optional[dict]) -> tuple[np.ndarray, dict]:
    """The classes' conditioning vectors: the checkpoint's when resuming (same classes required), else embedded now."""
    if state is None:
        return class_embeddings(data.classes, cfg.text_embedder)
    if state["classes"] != data.classes:
        raise InputError(
            f"The data's classes ({', '.join(data.classes)}) differ from the checkpoint's "
            f"({', '.join(state['classes'])}); resume with the same folder layout."
        )
    return state["class_vectors"].numpy(), state["embedder"]


@dataclass
class TrainingRun:
    """What one run of run_training works on; `step`, `elapsed` and `history` move as it trains."""

    cfg: GenConfig
    out: Path
    log: RunLog
    data: ImageFolder
    vectors: torch.Tensor
    embedder: dict
    models: Models
    rng: np.random.Generator
    step: int = 0
    elapsed: float = 0.0
    history: dict = field(default_factory=lambda: {"step": []})

    def restore(self, state: dict) -> None:
        """Continue from a checkpoint: networks, optimisers, step, history, time and both RNGs."""
        models = self.models
        models.generator.load_state_dict(state["generator"])
        models.critic.load_state_dict(state["critic"])
        models.opt_g.load_state_dict(state["opt_g"])
        models.opt_c.load_state_dict(state["opt_c"])
        if models.generator_ema is not None and "generator_ema" in state:
            models.generator_ema.load_state_dict(state["generator_ema"])
        self.step, self.history, self.elapsed = int(state["step"]), state["history"], float(state["elapsed"])
        self.rng.bit_generator.state = state["rng"]
        torch.set_rng_state(state["torch_rng"])
        self.log(f"resumed at step {self.step} from {self.out / CHECKPOINT}")

    def checkpoint(self, final: bool = False) -> Path:
        """Write the checkpoint, history and loss plot, and a sample grid (returned)."""
        cfg, models, out = self.cfg, self.models, self.out
        save_checkpoint(
            out / CHECKPOINT,
            cfg,
            models,
            self.step,
            self.history,
            self.data.classes,
            self.vectors,
            self.embedder,
            self.data.summary.to_json(),
            self.rng,
            self.elapsed,
        )
        (out / "history.json").write_text(json.dumps(self.history), encoding="utf-8")
        plot_losses(self.history, out / "loss_curves.png", cfg.kind)
        models.generator.eval()
        # a preview grid needs rougher BatchNorm statistics than the export (16 batches): 4 is a quarter of the cost
        path = sample_grid(
            models.sampler(self.vectors, batches=PREVIEW_STAT_BATCHES),
            self.vectors,
            cfg.z_dim,
            out / "samples" / f"step_{self.step:06d}.png",
        )
        if cfg.kind == "vae":
            recon_grid(models, self.data, self.vectors, out / "samples" / f"recon_{self.step:06d}.png")
        models.generator.train()
        self.log(f"checkpoint at step {self.step}{' (final)' if final else ''}: {path.name}")
        return path

    def train_step(self, autocast: Callable, scalers) -> dict[str, float]:
        """One GAN or VAE step on a fresh batch; a NaN/inf loss writes a checkpoint and raises ModelError."""
        cfg, models, vectors = self.cfg, self.models, self.vectors
        x_np, labels = self.data.batch(self.rng, cfg.batch)
        x = torch.from_numpy(x_np).to(vectors.device)
        c_real = vectors[torch.from_numpy(labels).to(vectors.device)]
        if cfg.kind == "gan":
            fake_labels = torch.from_numpy(self.rng.integers(0, len(self.data.classes), size=cfg.batch))
            losses = gan_step(
                models, x, c_real, vectors[fake_labels.to(vectors.device)], autocast, scalers, cfg.ms_weight
            )
            ema_update(models.generator_ema, models.generator, self.step)
        else:
            beta = min(1.0, (self.step + 1) / max(1.0, cfg.kl_warmup * cfg.steps))
            losses = vae_step(models, x, c_real, beta, autocast, scalers)
        if not all(math.isfinite(v) for v in losses.values()):
            self.checkpoint()
            raise ModelError(
                f"Training diverged at step {self.step} (a loss became NaN/inf); try a lower learning rate."
            )
        return losses


def start_training(cfg: GenConfig, echo: bool) -> tuple[TrainingRun, Optional[dict]]:
    """Open (or continue) the run folder: data, class vectors, networks; the run and the checkpoint it resumed."""
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    log = RunLog(out / "train.log", echo)
    device = pick_device(cfg.device)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    state = resume_state(cfg, out, log)
    data = ImageFolder(cfg.data, cfg.size)
    for line in data.summary.lines():
        log(line)
    vectors_np, embedder = class_vectors(cfg, data, state)
    vectors = torch.from_numpy(vectors_np).to(device)
    run = TrainingRun(
        cfg, out, log, data, vectors, embedder, build_models(cfg, vectors, device), np.random.default_rng(cfg.seed)
    )
    if state is not None:
        run.restore(state)
    (out / "config.json").write_text(json.dumps(asdict(cfg), indent=2), encoding="utf-8")
    log(
        f"{cfg.kind} {cfg.size}px on {device.type}: G {count_parameters(run.models.generator):,} params, "
        f"{'D' if cfg.kind == 'gan' else 'E'} {count_parameters(run.models.critic):,}; classes embedded by "
        f"{embedder['kind']} ({vectors.shape[1]}-d)"
    )
    return run, state


def choose_autocast(run: TrainingRun, cfg: GenConfig) -> tuple[Any, Any]:
    """Autocast by timing a real batch both ways; on CUDA fp16 also needs gradient scalers (G and D/E)."""
    models, log, device = run.models, run.log, run.vectors.device
    probe_x, probe_labels = run.data.batch(np.random.default_rng(12345), min(cfg.batch, PROBE_BATCH))
    probe = precision_probe(
        models, torch.from_numpy(probe_x).to(device), run.vectors[torch.from_numpy(probe_labels).to(device)], cfg.kind
    )
    autocast, needs_scaler = autocast_for(device, cfg.bf16, probe, log)
    scalers = (torch.amp.GradScaler("cuda"), torch.amp.GradScaler("cuda")) if needs_scaler else None
    return autocast, scalers


class GenStep:
    """run_loop's step for a generator run: stop when asked, one GAN/VAE step, history, the step-scheduled checkpoint
    (with a sample grid) and the progress report."""

    def __init__(
        self, run: TrainingRun, autocast: Callable, scalers, report: Optional[Report], should_stop: Optional[ShouldStop]
    ) -> None:
        self.run, self.autocast, self.scalers = run, autocast, scalers
        self.report, self.should_stop = report, should_stop
        self.started, self.first_step, self.start_elapsed = time.time(), run.step, run.elapsed
        self.saved_at = run.step

    def __call__(self, now: RunState) -> StepOutcome:
        run, cfg = self.run, self.run.cfg
        if self.should_stop is not None and self.should_stop():
            run.checkpoint()
            run.log(f"stopped at step {run.step}; `--resume` continues")
            raise Cancelled(f"Training stopped at step {run.step}; the checkpoint is kept, resume to continue.")
        losses = run.train_step(self.autocast, self.scalers)
        run.step += 1
        run.elapsed = self.start_elapsed + (time.time() - self.started)
        run.history["step"].append(run.step)
        for key, value in losses.items():
            run.history.setdefault(key, []).append(round(value, 5))
        sample_path = None
        if checkpoint_due(run.step, cfg.steps, cfg.checkpoint_every):
            sample_path, self.saved_at = run.checkpoint(final=run.step == cfg.steps), run.step
        if self.report is not None:
            rate = (run.step - self.first_step) / max(1e-6, time.time() - self.started)  # steps/s in this session
            shown = {k: v for k, v in losses.items() if k in ("D", "G", "recon", "KL")}
            sample = str(sample_path) if sample_path else None
            self.report(
                {
                    "step": run.step,
                    "steps": cfg.steps,
                    "losses": shown,
                    "rate": rate,
                    "elapsed": run.elapsed,
                    "sample": sample,
                }
            )
        total = sum(losses.values())
        return StepOutcome(loss=total, parts={k: float(v) for k, v in losses.items()}, lr=self.lr())

    def lr(self) -> float:
        return float(self.run.models.opt_g.param_groups[0]["lr"])

    def save_if_needed(self, now: RunState) -> None:
        """The loop's closing save: only when the step schedule has not just written this step."""
        if self.run.step != self.saved_at:
            self.run.checkpoint()
            self.saved_at = self.run.step


def run_training(
    cfg: GenConfig, report: Optional[Report] = None, should_stop: Optional[ShouldStop] = None, echo: bool = True
) -> dict[str, Any]:
    """Train (or continue) a run; export at the end. Returns paths, steps, history and quality stats.

    `report` gets {"step", "steps", "losses", "rate", "elapsed", "sample" (a PNG path, at checkpoints)};
    `should_stop()` is polled every step: when it says yes, a checkpoint is written and Cancelled raised.
    """
    cfg = cfg.resolved()
    run, state = start_training(cfg, echo)
    autocast, scalers = choose_autocast(run, cfg)
    run.models.generator.train()
    run.models.critic.train()
    progress = RunState(step=run.step, elapsed=run.elapsed)
    # Checkpoints (with their sample grids) come on the step schedule inside the step, not on the clock.
    settings = LoopSettings(Budget(steps=cfg.steps), log_every=cfg.checkpoint_every, ckpt_minutes=math.inf)
    step = GenStep(run, autocast, scalers, report, should_stop)
    run_loop(progress, settings, LoopHooks(step, step.save_if_needed, run.log))
    if state is not None and int(state["step"]) >= cfg.steps:
        run.log(f"the checkpoint is already at step {run.step} (--steps {cfg.steps}): nothing to train")
    result: dict[str, Any] = {
        "run_dir": str(run.out),
        "steps": run.step,
        "history": run.history,
        "classes": run.data.classes,
        "minutes": run.elapsed / 60.0,
        "summary": run.data.summary.to_json(),
    }
    if cfg.export:
        result.update(export_run(run.out, register=cfg.register, echo=echo, data=run.data))
    run.log(f"done: {run.step} steps in {run.elapsed / 60:.1f} min")
    return result
