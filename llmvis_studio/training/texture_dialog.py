"""The editor's Train dialog, kind "texture": the resolution-free texture generator (training/texture_gan.py, the
architecture of models/texture-gan.onnx) trained on the user's folder through the same Trainer as
`llmvis-studio train texture`, with the dialog's progress reports, its Stop button and a step budget.

The folder check (training/texture_folder.py) is shared with `train texture`: both refuse the same bad folders
with the same sentence before any training starts.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path, PurePath
from typing import Any, Optional

from llmvis_studio.core.errors import Cancelled, InputError
from llmvis_studio.training.archs.texture_gan import DOWNSAMPLE
from llmvis_studio.training.texture_folder import check_texture_folder
from llmvis_studio.training.texture_gan import TextureConfig, Trainer

BATCH = 8  # `train texture`'s defaults: the dialog trains exactly what the command trains
CROP = 64
ADV = 0.0
NO_TIME_LIMIT_MINUTES = 7 * 24 * 60.0  # the dialog's budget is its step count; the clock never stops it
EXPORT_MINUTES = 2.0  # a usable, registered model (and a sample sheet in the dialog) every two minutes
REPORTED_LOSSES = ("stats", "adv")


class DialogTrainer(Trainer):
    """The texture Trainer with the dialog's hooks: a report after every step, a sample sheet at every export,
    a stop (checkpoint kept, Cancelled raised) when asked, the learning-rate schedule on the step budget."""

    def __init__(
        self, cfg: TextureConfig, report: Callable[[dict], None], should_stop: Optional[Callable[[], bool]]
    ) -> None:
        self.report, self.should_stop = report, should_stop
        super().__init__(cfg)
        self.session_start, self.session_step = time.monotonic(), self.step  # after a resume: this session's rate

    def set_learning_rate(self, fraction: float, session_steps: int) -> None:
        super().set_learning_rate(self.step / max(1, self.cfg.steps), session_steps)

    def after_step(self, losses: dict[str, float]) -> None:
        if self.should_stop is not None and self.should_stop():
            self.save()
            self.log(f"stopped at step {self.step}; resume continues")
            raise Cancelled(f"Training stopped at step {self.step}; the checkpoint is kept, resume to continue.")
        self._report(losses, None)

    def export(self) -> Path:
        path = super().export()
        self._report({}, self.out / "samples" / f"step_{self.step:06d}.png")
        return path

    def _report(self, losses: dict[str, float], sample: Optional[Path]) -> None:
        shown = {k: v for k, v in losses.items() if k in REPORTED_LOSSES and (k != "adv" or self.cfg.adv > 0)}
        rate = (self.step - self.session_step) / max(1e-6, time.monotonic() - self.session_start)
        self.report(
            {
                "step": self.step,
                "steps": self.cfg.steps,
                "losses": shown,
                "rate": rate,
                "sample": str(sample) if sample is not None and sample.is_file() else None,
            }
        )


def dialog_config(settings: Mapping[str, Any]) -> TextureConfig:
    """The dialog's settings as `train texture` would take them (same defaults, the same model id rule)."""
    data, out = str(settings["data"]), str(settings["out"])
    crop = int(settings.get("crop", CROP))
    if crop % DOWNSAMPLE or crop < 2 * DOWNSAMPLE:
        raise InputError(f"The crop must be a multiple of {DOWNSAMPLE} and at least {2 * DOWNSAMPLE}, not {crop}.")
    threads = int(settings.get("threads", 0)) or max(1, (os.cpu_count() or 2) - 1)  # one core for the UI
    return TextureConfig(
        data=data,
        out=out,
        minutes=NO_TIME_LIMIT_MINUTES,
        steps=int(settings.get("steps", 1000)),
        batch=int(settings.get("batch", BATCH)),
        crop=crop,
        adv=float(settings.get("adv", ADV)),
        threads=threads,
        export_minutes=EXPORT_MINUTES,
        model_id=str(settings.get("model_id") or f"texture-{PurePath(Path(out).resolve()).name}"),
        resume=bool(settings.get("resume", False)),
        register=bool(settings.get("register", True)),
        command=f"llmvis-studio train texture --data {data} --out {out} --steps {int(settings.get('steps', 1000))}",
    )


def train_for_dialog(
    settings: Mapping[str, Any], report: Callable[[dict], None], should_stop: Optional[Callable[[], bool]] = None
) -> dict[str, Any]:
    """Train (or resume) on the dialog's worker thread; the model is exported and registered like `train texture`."""
    cfg = dialog_config(settings)
    check_texture_folder(Path(cfg.data), cfg.crop)
    trainer = DialogTrainer(cfg, report, should_stop)
    onnx = trainer.run()
    return {
        "model_id": cfg.model_id if cfg.register else None,
        "onnx": str(onnx),
        "run_dir": str(trainer.out),
        "steps": trainer.step,
        "minutes": trainer.elapsed / 60.0,
    }
