"""Train the restoration models on CPU (fp32 or bf16 autocast, chosen by timing), resumable, logged, exported to
ONNX + manifest entry.

    python -m llmvis_studio.training.train sr --scale 4 --minutes 30 --out runs/sr-x4 --export models/sr-compact-x4.onnx
    python -m llmvis_studio.training.train sr --scale 2 --minutes 20 --init runs/sr-x4/last.pt --out runs/sr-x2 ...
    python -m llmvis_studio.training.train denoise --minutes 25 --out runs/denoise --export models/denoise-compact.onnx

The learning rate follows a cosine from --lr to ~0 over --steps (or over --minutes of wall time, measured across
resumes). Every --ckpt-minutes the state (model, optimiser, step, elapsed time, RNG) goes to OUT/last.pt;
``--resume`` continues from it. Validation PSNR is computed on fixed crops of held-out training-source photos
(never on benchmark images). ``--data pack+default`` adds the shared photo pack (data_mix.py).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from llmvis_studio.core.metrics import psnr, psnr_y
from llmvis_studio.training import data, data_mix, export, loop
from llmvis_studio.training.archs.denoise import CompactDenoise
from llmvis_studio.training.archs.sr import CompactSR, count_parameters, load_body_from
from llmvis_studio.training.loop import Budget, Logger, RunState, StepOutcome
from llmvis_studio.training.precision import PROBE_BATCH, autocast_context, choose_precision
from llmvis_studio.training.tool_cli import train_and_report

__all__ = ["Logger", "export_onnx", "manifest_entry", "train"]  # Logger: older imports of train.Logger


def build_model(kind: str, args: argparse.Namespace) -> torch.nn.Module:
    if kind == "sr":
        return CompactSR(scale=args.scale, channels=args.channels, blocks=args.blocks)
    return CompactDenoise(channels=args.channels, blocks=args.blocks)


@torch.no_grad()
def validate(kind: str, model: torch.nn.Module, crops: list[np.ndarray], scale: int) -> float:
    model.eval()
    scores = []
    rng = np.random.default_rng(99)
    for crop in crops:
        if kind == "sr":
            lr = data.to_chw(data.bicubic_down(crop, scale))[None]
            out = model(torch.from_numpy(lr)).clamp(0, 1)[0].numpy().transpose(1, 2, 0)
            scores.append(psnr_y(out, crop.astype(np.float32) / 255.0, shave=scale))
        else:  # Gaussian σ=25, clipped
            clean = crop.astype(np.float32) / 255.0
            noisy = np.clip(clean + rng.standard_normal(clean.shape).astype(np.float32) * 25 / 255, 0, 1)
            out = model(torch.from_numpy(noisy.transpose(2, 0, 1)[None].copy())).clamp(0, 1)[0].numpy()
            scores.append(psnr(out.transpose(1, 2, 0), clean, peak=1.0))
    model.train()
    return float(np.mean(scores))


def lr_at(args: argparse.Namespace, step: int, elapsed: float) -> float:
    fraction = Budget(args.steps, args.minutes).fraction(RunState(step, elapsed))
    return loop.cosine_lr(args.lr, fraction, step, args.warmup, args.min_lr_ratio)


def export_onnx(model: torch.nn.Module, path: Path, example_hw: tuple[int, int] = (64, 64)) -> None:
    """One self-contained ONNX file (opset 17), input `image`, output `output`, dynamic H/W."""
    export.export_onnx(
        model.float(),
        path,
        (torch.rand(1, 3, *example_hw),),
        ["image"],
        ["output"],
        {"image": {0: "batch", 2: "height", 3: "width"}, "output": {0: "batch", 2: "out_height", 3: "out_width"}},
    )


def manifest_entry(
    kind: str,
    model: torch.nn.Module,
    onnx_path: Path,
    args: argparse.Namespace,
    extra_metrics: dict[str, Any] | None = None,
) -> dict[str, Any]:
    if kind == "sr":
        mid = f"sr-compact-x{args.scale}"
        fields = {
            "id": mid,
            "name": f"Compact SR ×{args.scale} (faithful, fast)",
            "task": "upscale",
            "scale": args.scale,
            "stride": 1,
            "reproduce": "make models-sr",
        }
    else:
        mid = "denoise-compact"
        fields = {
            "id": mid,
            "name": "Compact denoise / JPEG cleanup (scans)",
            "task": "denoise",
            "scale": 1,
            "stride": 2,
            "reproduce": "make models-denoise",
        }
    fields |= {
        "inputs": [{"name": "image", **export.RGB}],
        "outputs": [{"name": "output", **export.RGB}],
        "tile": {"supported": True, "min_overlap": 16, "default": 256},
        "default": True,
        "metrics": extra_metrics or {},
    }
    return export.trained_entry(
        onnx_path,
        model,
        fields,
        f"trained here (llmvis_studio.training, offline photos listed in models/cards/{mid}.md)",
    )


def train(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    out, log = loop.start_run(args.out, args.threads, args.seed)
    ckpt = out / "last.pt"
    model = build_model(kind, args)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.9, 0.99))
    rng = np.random.default_rng(args.seed)
    state, best = _resume_or_init(args, ckpt, model, opt, rng, log)
    log(f"{kind} {json.dumps(vars(args))} params={count_parameters(model)}")
    names = args.images.split(",") if args.images else None
    images = [img for _, img in data_mix.training_images(args.data, names, args.pack_limit)]
    crops = data_mix.validation_crops(args.data, args.val_size, args.val_per_image) if args.val_every else []
    log(f"{len(images)} training images, {len(crops)} validation crops")
    model.train()
    use_bf16 = choose_precision(args.precision, _precision_probe(kind, model, images, args), log)

    def step(now: RunState) -> StepOutcome:
        x, y = (torch.from_numpy(a) for a in _batch(kind, rng, images, args))
        lr = lr_at(args, now.step, now.elapsed)
        for g in opt.param_groups:
            g["lr"] = lr
        with autocast_context(use_bf16):
            pred = model(x)
        loss = F.l1_loss(pred.float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        value = float(loss.item())
        return StepOutcome(value, {"loss": value}, lr)

    def validate_now(now: RunState) -> None:
        nonlocal best
        v = validate(kind, model, crops, getattr(args, "scale", 1))
        best = max(best, v)
        log(f"step {now.step} val_psnr {v:.3f} (best {best:.3f})")

    def save(now: RunState) -> None:
        payload = loop.model_payload(model, opt, now, rng, args, torch_rng=torch.get_rng_state(), best_val=best)
        loop.save_checkpoint(ckpt, payload)

    settings = loop.LoopSettings(Budget(args.steps, args.minutes), args.log_every, args.val_every, args.ckpt_minutes)
    losses = loop.run_loop(state, settings, loop.LoopHooks(step, save, log, validate_now))
    result: dict[str, Any] = {"steps": state.step, "minutes": state.elapsed / 60, "losses": losses, "model": model}
    if crops:
        result["val_psnr"] = validate(kind, model, crops, getattr(args, "scale", 1))
        log(f"final step {state.step} val_psnr {result['val_psnr']:.3f}")
    log(f"trained {state.step} steps in {state.elapsed / 60:.1f} min")
    if args.export:
        result["onnx"] = str(_export(kind, model, args, state, result.get("val_psnr", float("nan")), log))
    return result


def _resume_or_init(
    args: argparse.Namespace,
    ckpt: Path,
    model: nn.Module,
    opt: torch.optim.Optimizer,
    rng: np.random.Generator,
    log: Logger,
) -> tuple[RunState, float]:
    """Continue from OUT/last.pt (--resume), or copy matching tensors from --init; (state, best validation)."""
    if args.resume and ckpt.exists():
        saved = loop.load_checkpoint(ckpt)
        model.load_state_dict(saved["model"])
        opt.load_state_dict(saved["optimizer"])
        rng.bit_generator.state = saved["rng"]
        torch.set_rng_state(saved["torch_rng"])
        log(f"resumed from {ckpt} at step {saved['step']} ({saved['elapsed'] / 60:.1f} min)")
        return RunState(saved["step"], saved["elapsed"]), saved.get("best_val", -1.0)
    if args.init:
        copied = load_body_from(model, data_mix.init_weights(args.init))
        log(f"initialised {len(copied)} tensors from {args.init}")
    return RunState(), -1.0


def _export(
    kind: str, model: nn.Module, args: argparse.Namespace, state: RunState, val_psnr: float, log: Logger
) -> Path:
    """--export: the ONNX file; --manifest: its entry upserted into that manifest."""
    metrics = {
        "val_psnr_heldout": round(val_psnr, 3),
        "train_steps": state.step,
        "train_minutes": round(state.elapsed / 60, 1),
    }
    return export.ship(
        Path(args.export),
        lambda path: export_onnx(model, path),
        lambda path: manifest_entry(kind, model, path, args, metrics),
        args.manifest,
        log,
    )


def _batch(kind: str, rng: np.random.Generator, images: list, args: argparse.Namespace):
    if kind == "sr":
        return data.sr_batch(rng, images, args.batch, args.patch, args.scale)
    return data.denoise_batch(rng, images, args.batch, args.patch, args.gaussian_share, args.jpeg_share)


def _precision_probe(kind: str, model: nn.Module, images: list, args: argparse.Namespace):
    """One forward + backward on a real batch (own RNG, gradients cleared): the step the timing compares."""
    small = argparse.Namespace(**{**vars(args), "batch": min(args.batch, PROBE_BATCH)})
    x, y = (torch.from_numpy(a) for a in _batch(kind, np.random.default_rng(12345), images, small))

    def probe(use_bf16: bool) -> None:
        with autocast_context(use_bf16):
            pred = model(x)
        F.l1_loss(pred.float(), y).backward()
        model.zero_grad(set_to_none=True)

    return probe


def parser() -> argparse.ArgumentParser:
    p, _, kinds = loop.kind_parsers(
        "train", __doc__, ("sr", "denoise"), minutes=30.0, batch=16, lr=1e-3, ckpt_minutes=3.0
    )
    for kind, s in kinds.items():
        s.add_argument("--min-lr-ratio", type=float, default=0.01)
        s.add_argument("--channels", type=int, default=64)
        s.add_argument("--init", default="", help="checkpoint or .onnx to copy matching tensors from (×4 body → ×2)")
        s.add_argument("--data", default="default", choices=data_mix.CHOICES, help="training photos (data_mix.py)")
        s.add_argument("--pack-limit", type=int, default=0, help="only the pack's first N photos (tiny runs)")
        s.add_argument("--images", default="", help="comma-separated source names (default: all training images)")
        s.add_argument("--val-size", type=int, default=192)
        s.add_argument("--val-per-image", type=int, default=3)
        if kind == "sr":
            s.add_argument("--scale", type=int, default=4, choices=(2, 3, 4))
            s.add_argument("--blocks", type=int, default=8)
            s.add_argument("--patch", type=int, default=192, help="HR patch size")
        else:
            s.add_argument("--blocks", type=int, default=6)
            s.add_argument("--patch", type=int, default=96)
            # a late stage may weight the mix towards Gaussian noise; the model stays blind (no σ input)
            s.add_argument("--gaussian-share", type=float, default=0.75, help="share of crops with Gaussian noise")
            s.add_argument("--jpeg-share", type=float, default=0.35, help="share of crops saved as JPEG")
    return p


def main(argv: list[str] | None = None) -> int:
    return train_and_report(train, parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
