"""Train the restoration models on CPU (fp32 or bf16 autocast, chosen by timing), resumable, logged, exported to
ONNX + manifest entry.

    python -m llmvis_studio.training.train sr --scale 4 --minutes 30 --out runs/sr-x4 --export models/sr-compact-x4.onnx
    python -m llmvis_studio.training.train sr --scale 2 --minutes 20 --init runs/sr-x4/last.pt --out runs/sr-x2 ...
    python -m llmvis_studio.training.train denoise --minutes 25 --out runs/denoise --export models/denoise-compact.onnx

The learning rate follows a cosine from --lr to ~0 over --steps (or over --minutes of wall time, measured across
resumes). Every --ckpt-minutes the state (model, optimiser, step, elapsed time, RNG) goes to OUT/last.pt;
``--resume`` continues from it. Validation PSNR is computed on fixed crops of held-out training-source photos
(never on benchmark images).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from llmvis_studio.training import data
from llmvis_studio.training.archs.denoise import CompactDenoise
from llmvis_studio.training.archs.sr import CompactSR, count_parameters, load_body_from
from llmvis_studio.training.precision import PROBE_BATCH, add_precision_argument, autocast_context, choose_precision
from llmvis_studio.training.tool_cli import train_and_report


def psnr_y(a: np.ndarray, b: np.ndarray, shave: int = 0) -> float:
    """PSNR on BT.601 Y (16–235) of two float RGB HxWx3 arrays in [0, 1]."""
    def y(img: np.ndarray) -> np.ndarray:
        return 16.0 + 65.481 * img[..., 0] + 128.553 * img[..., 1] + 24.966 * img[..., 2]
    ya, yb = y(a.astype(np.float64)), y(b.astype(np.float64))
    if shave:
        ya, yb = ya[shave:-shave, shave:-shave], yb[shave:-shave, shave:-shave]
    mse = float(np.mean((ya - yb) ** 2))
    return 10 * math.log10(255.0 ** 2 / max(mse, 1e-12))


def psnr_rgb(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 10 * math.log10(1.0 / max(mse, 1e-12))


class Logger:
    def __init__(self, path: Path) -> None:
        self.path = path

    def __call__(self, msg: str) -> None:
        line = f"{time.strftime('%H:%M:%S')} {msg}"
        print(line, flush=True)
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")


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
            scores.append(psnr_rgb(out.transpose(1, 2, 0), clean))
    model.train()
    return float(np.mean(scores))


def lr_at(args: argparse.Namespace, step: int, elapsed: float) -> float:
    if args.steps:
        frac = step / args.steps
    else:
        frac = elapsed / (args.minutes * 60.0)
    frac = min(max(frac, 0.0), 1.0)
    warm = min(1.0, (step + 1) / max(1, args.warmup))
    return args.lr * warm * (args.min_lr_ratio + (1 - args.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * frac)))


def save_checkpoint(path: Path, model, opt, step: int, elapsed: float, rng: np.random.Generator, args, best) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "step": step, "elapsed": elapsed,
                "rng": rng.bit_generator.state, "torch_rng": torch.get_rng_state(), "args": vars(args),
                "config": model.config(), "best_val": best}, tmp)
    os.replace(tmp, path)


def export_onnx(model: torch.nn.Module, path: Path, example_hw: tuple[int, int] = (64, 64)) -> None:
    """One self-contained ONNX file (opset 17), input `image`, output `output`, dynamic H/W."""
    model = model.eval().float()
    path.parent.mkdir(parents=True, exist_ok=True)
    dummy = torch.rand(1, 3, *example_hw)
    torch.onnx.export(model, (dummy,), str(path), dynamo=False, opset_version=17, input_names=["image"],
                      output_names=["output"], do_constant_folding=True,
                      dynamic_axes={"image": {0: "batch", 2: "height", 3: "width"},
                                    "output": {0: "batch", 2: "out_height", 3: "out_width"}})
    import onnx

    m = onnx.load(str(path), load_external_data=False)
    for init in m.graph.initializer:
        if init.data_location == onnx.TensorProto.EXTERNAL:
            raise RuntimeError(f"{path}: export wrote external data")


def manifest_entry(kind: str, model: torch.nn.Module, onnx_path: Path, args: argparse.Namespace,
                   extra_metrics: dict[str, Any] | None = None) -> dict[str, Any]:
    from llmvis_studio.training.manifest_tools import sha256_of

    io = {"layout": "NCHW", "dtype": "float32", "range": [0, 1], "channels": "RGB"}
    if kind == "sr":
        mid = f"sr-compact-x{args.scale}"
        entry = {"id": mid, "name": f"Compact SR ×{args.scale} (faithful, fast)", "task": "upscale",
                 "scale": args.scale, "stride": 1, "reproduce": "make models-sr"}
    else:
        mid = "denoise-compact"
        entry = {"id": mid, "name": "Compact denoise / JPEG cleanup (scans)", "task": "denoise",
                 "scale": 1, "stride": 2, "reproduce": "make models-denoise"}
    entry.update({
        "file": onnx_path.name, "sha256": sha256_of(onnx_path),
        "inputs": [{"name": "image", **io}], "outputs": [{"name": "output", **io}],
        "tile": {"supported": True, "min_overlap": 16, "default": 256},
        "parameters": count_parameters(model), "default": True,
        "licence": "BSD-3-Clause (trained here)",
        "source": f"trained here (llmvis_studio.training, offline photos listed in models/cards/{mid}.md)",
        "metrics": extra_metrics or {},
    })
    # keep the key order of DESIGN/issue examples readable
    order = ["id", "name", "task", "file", "sha256", "inputs", "outputs", "scale", "stride", "tile",
             "memory_bytes_per_input_pixel", "parameters", "default", "licence", "source", "reproduce", "metrics"]
    return {k: entry[k] for k in order if k in entry} | {k: v for k, v in entry.items() if k not in order}


def train(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    log = Logger(out / "train.log")
    ckpt = out / "last.pt"
    torch.manual_seed(args.seed)
    model = build_model(kind, args)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.9, 0.99))
    rng = np.random.default_rng(args.seed)
    step, elapsed, best = 0, 0.0, -1.0
    if args.resume and ckpt.exists():
        state = torch.load(ckpt, map_location="cpu", weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        step, elapsed, best = state["step"], state["elapsed"], state.get("best_val", -1.0)
        rng.bit_generator.state = state["rng"]
        torch.set_rng_state(state["torch_rng"])
        log(f"resumed from {ckpt} at step {step} ({elapsed / 60:.1f} min)")
    elif args.init:
        state = torch.load(args.init, map_location="cpu", weights_only=False)
        copied = load_body_from(model, state["model"] if "model" in state else state)
        log(f"initialised {len(copied)} tensors from {args.init}")
    log(f"{kind} {json.dumps(vars(args))} params={count_parameters(model)}")

    names = args.images.split(",") if args.images else None
    images = [img for _, img in data.load_images("train", names=names)]
    crops = data.validation_crops(size=args.val_size, per_image=args.val_per_image) if args.val_every else []
    log(f"{len(images)} training images, {len(crops)} validation crops")

    def done() -> bool:
        return step >= args.steps if args.steps else elapsed >= args.minutes * 60.0

    model.train()
    use_bf16 = choose_precision(args.precision, _precision_probe(kind, model, images, args), log)
    last_ckpt = time.time()
    t0 = time.time()
    run_start_elapsed = elapsed
    window_loss, window_n, window_t = 0.0, 0, time.time()
    losses: list[float] = []
    while not done():
        x, y = _batch(kind, rng, images, args)
        x_t, y_t = torch.from_numpy(x), torch.from_numpy(y)
        lr = lr_at(args, step, elapsed)
        for g in opt.param_groups:
            g["lr"] = lr
        with autocast_context(use_bf16):
            pred = model(x_t)
        loss = F.l1_loss(pred.float(), y_t)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        elapsed = run_start_elapsed + (time.time() - t0)
        lv = float(loss.item())
        losses.append(lv)
        window_loss += lv
        window_n += 1
        if step % args.log_every == 0:
            dt = time.time() - window_t
            log(f"step {step} loss {window_loss / window_n:.5f} lr {lr:.2e} it/s {window_n / dt:.2f} "
                f"elapsed {elapsed / 60:.1f} min")
            window_loss, window_n, window_t = 0.0, 0, time.time()
        if args.val_every and step % args.val_every == 0:
            v = validate(kind, model, crops, getattr(args, "scale", 1))
            best = max(best, v)
            log(f"step {step} val_psnr {v:.3f} (best {best:.3f})")
        if time.time() - last_ckpt > args.ckpt_minutes * 60:
            save_checkpoint(ckpt, model, opt, step, elapsed, rng, args, best)
            last_ckpt = time.time()
            log(f"checkpoint {ckpt} at step {step}")
    save_checkpoint(ckpt, model, opt, step, elapsed, rng, args, best)
    result: dict[str, Any] = {"steps": step, "minutes": elapsed / 60, "losses": losses}
    if crops:
        v = validate(kind, model, crops, getattr(args, "scale", 1))
        result["val_psnr"] = v
        log(f"final step {step} val_psnr {v:.3f}")
    log(f"trained {step} steps in {elapsed / 60:.1f} min")
    if args.export:
        onnx_path = Path(args.export)
        export_onnx(model, onnx_path)
        log(f"exported {onnx_path}")
        result["onnx"] = str(onnx_path)
        if args.manifest:
            from llmvis_studio.training.manifest_tools import upsert_entry

            entry = manifest_entry(kind, model, onnx_path, args,
                                   {"val_psnr_heldout": round(result.get("val_psnr", float("nan")), 3),
                                    "train_steps": step, "train_minutes": round(elapsed / 60, 1)})
            upsert_entry(args.manifest, entry)
            log(f"manifest entry {entry['id']} → {args.manifest}")
    result["model"] = model
    return result


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
    p = argparse.ArgumentParser(prog="python -m llmvis_studio.training.train", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="kind", required=True)
    for kind in ("sr", "denoise"):
        s = sub.add_parser(kind)
        s.add_argument("--out", required=True, help="run folder (log, last.pt)")
        s.add_argument("--steps", type=int, default=0, help="stop after this many steps (overrides --minutes)")
        s.add_argument("--minutes", type=float, default=30.0, help="wall-clock training budget across resumes")
        s.add_argument("--batch", type=int, default=16)
        s.add_argument("--lr", type=float, default=1e-3)
        s.add_argument("--min-lr-ratio", type=float, default=0.01)
        s.add_argument("--warmup", type=int, default=100)
        s.add_argument("--channels", type=int, default=64)
        s.add_argument("--threads", type=int, default=1)
        s.add_argument("--seed", type=int, default=0)
        add_precision_argument(s)
        s.add_argument("--resume", action="store_true")
        s.add_argument("--init", default="", help="checkpoint to copy matching tensors from (e.g. ×4 body → ×2)")
        s.add_argument("--images", default="", help="comma-separated source names (default: all training images)")
        s.add_argument("--log-every", type=int, default=50)
        s.add_argument("--val-every", type=int, default=500)
        s.add_argument("--val-size", type=int, default=192)
        s.add_argument("--val-per-image", type=int, default=3)
        s.add_argument("--ckpt-minutes", type=float, default=3.0)
        s.add_argument("--export", default="", help="ONNX path written at the end")
        s.add_argument("--manifest", default="", help="manifest.json to upsert the entry into")
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
