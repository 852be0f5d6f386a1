"""The scan / photo upscaler: the compact SR net (archs/sr.py, same size as sr-compact) fine-tuned as a small GAN
on realistic degradations (degrade.py: blur, noise, JPEG, halftone, scanner softness, second order).

    python -m llmvis_studio.training.train_scan_sr --scale 4 --minutes 9 --out runs/scan-x4 --resume \
        --init models/sr-compact-x4.onnx --export models/sr-scan-x4.onnx --manifest models/manifest.json

Generator loss: L1 + `--detail-weight` × a perceptual-ish term (L1 between Laplacian pyramids and image gradients:
no pretrained VGG exists offline) + `--adv-weight` × non-saturating GAN loss from a small spectral-norm patch
discriminator (about 70 px receptive field on 96 px HR patches). The start is the faithful model (its weights are read
from its ONNX file or a checkpoint), so a short CPU run already restores; a small adversarial weight keeps it from
inventing texture (Set5 ×4 must stay ≥ bicubic + 1 dB).

Resumable: every --ckpt-minutes the generator, discriminator, both optimisers, step, elapsed time and RNG states go to
OUT/last.pt (atomic). --minutes is a wall-clock budget across resumes. Precision: fp32 or bf16 autocast by timing
(precision.py). Validation (held-out whole photos, photo_pack.HELD_OUT): PSNR-Y on bicubic ×s input (fidelity) and on
seeded realistic degradations (restoration).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from llmvis_studio.training import degrade, export, photo_pack
from llmvis_studio.training.archs.sr import CompactSR, count_parameters, load_body_from
from llmvis_studio.training.data import bicubic_down, random_crop, to_chw
from llmvis_studio.training.loop import (
    Budget,
    Logger,
    LoopHooks,
    LoopSettings,
    RunState,
    StepOutcome,
    cosine_lr,
    load_checkpoint,
    run_loop,
    save_checkpoint,
    start_run,
)
from llmvis_studio.training.precision import PROBE_BATCH, add_precision_argument, autocast_context, choose_precision
from llmvis_studio.training.tool_cli import doc_parser
from llmvis_studio.training.train import export_onnx, psnr_y

MODEL_ID = "sr-scan-x{scale}"
NAME = "Scan / photo (realistic) ×{scale}"


class PatchDiscriminator(nn.Module):
    """Spectral-norm conv stack → one real/fake logit per patch position."""

    def __init__(self, ch: int = 32) -> None:
        super().__init__()
        sn = nn.utils.spectral_norm
        layers: list[nn.Module] = [sn(nn.Conv2d(3, ch, 3, padding=1)), nn.LeakyReLU(0.2)]
        for c_in, c_out in ((ch, ch * 2), (ch * 2, ch * 4), (ch * 4, ch * 4)):
            layers += [sn(nn.Conv2d(c_in, c_out, 4, stride=2, padding=1)), nn.LeakyReLU(0.2)]
        layers += [sn(nn.Conv2d(ch * 4, ch * 4, 3, padding=1)), nn.LeakyReLU(0.2), nn.Conv2d(ch * 4, 1, 3, padding=1)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x * 2.0 - 1.0)


def detail_loss(pred: torch.Tensor, target: torch.Tensor, levels: int = 3) -> torch.Tensor:
    """L1 between Laplacian pyramids and between horizontal/vertical gradients: punishes lost or invented edges."""
    loss = pred.new_zeros(())
    a, b = pred, target
    for _ in range(levels):
        da, db = F.avg_pool2d(a, 2), F.avg_pool2d(b, 2)
        la = a - F.interpolate(da, size=a.shape[-2:], mode="bilinear", align_corners=False)
        lb = b - F.interpolate(db, size=b.shape[-2:], mode="bilinear", align_corners=False)
        loss = loss + F.l1_loss(la, lb)
        a, b = da, db
    gx = F.l1_loss(pred[..., :, 1:] - pred[..., :, :-1], target[..., :, 1:] - target[..., :, :-1])
    gy = F.l1_loss(pred[..., 1:, :] - pred[..., :-1, :], target[..., 1:, :] - target[..., :-1, :])
    return loss + gx + gy


def init_weights(model: CompactSR, source: str) -> list[str]:
    """Copy matching tensors from a checkpoint (.pt) or an exported ONNX file of the faithful model."""
    if source.endswith(".onnx"):
        import onnx
        from onnx import numpy_helper

        graph = onnx.load(source).graph
        state = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in graph.initializer}
    else:
        state = torch.load(source, map_location="cpu", weights_only=False)
        state = state.get("generator", state.get("model", state))
    return load_body_from(model, state)


def make_batch(
    rng: np.random.Generator, images: list[np.ndarray], batch: int, patch: int, scale: int, clean_share: float = 0.25
) -> tuple[np.ndarray, np.ndarray]:
    """(lr, hr) float32 NCHW: random HR crops and their realistic degradations."""
    patch -= patch % scale
    weights = np.array([im.shape[0] * im.shape[1] for im in images], np.float64) ** 0.5
    weights /= weights.sum()
    lrs, hrs = [], []
    for _ in range(batch):
        hr = random_crop(rng, images[int(rng.choice(len(images), p=weights))], patch, 0.3)
        lrs.append(degrade.degrade(rng, hr, scale, clean_share).transpose(2, 0, 1))
        hrs.append(to_chw(hr))
    return np.ascontiguousarray(np.stack(lrs)), np.stack(hrs)


def validation_set(scale: int, size: int = 192, per_photo: int = 2) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(hr, bicubic lr, realistic lr) for fixed crops of the held-out photos (seeded)."""
    rng = np.random.default_rng(4321)
    out = []
    for _, img in photo_pack.load_pack("held-out"):
        for _ in range(per_photo):
            y = int(rng.integers(0, img.shape[0] - size + 1))
            x = int(rng.integers(0, img.shape[1] - size + 1))
            hr = np.ascontiguousarray(img[y : y + size, x : x + size])
            out.append(
                (
                    hr,
                    bicubic_down(hr, scale).astype(np.float32) / 255.0,
                    degrade.degrade(rng, hr, scale, clean_share=0.0, halftone_share=0.0),
                )
            )
    return out


@torch.no_grad()
def validate(model: CompactSR, crops: list, scale: int) -> dict[str, float]:
    model.eval()
    scores: dict[str, list[float]] = {"bicubic": [], "realistic": []}
    for hr, clean_lr, real_lr in crops:
        for key, lr in (("bicubic", clean_lr), ("realistic", real_lr)):
            out = model(torch.from_numpy(lr.transpose(2, 0, 1)[None].copy())).clamp(0, 1)[0].numpy()
            scores[key].append(psnr_y(out.transpose(1, 2, 0), hr.astype(np.float32) / 255.0, shave=scale))
    model.train()
    return {k: round(float(np.mean(v)), 3) for k, v in scores.items()}


@dataclass
class ScanSRRun:
    """The generator, its critic, both optimisers and the data RNG: what a checkpoint holds besides the step."""

    g: CompactSR
    d: PatchDiscriminator
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    rng: np.random.Generator
    history: list[dict[str, Any]]

    def payload(self, state: RunState, args: argparse.Namespace) -> dict[str, Any]:
        return {
            "generator": self.g.state_dict(),
            "discriminator": self.d.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "step": state.step,
            "elapsed": state.elapsed,
            "rng": self.rng.bit_generator.state,
            "torch_rng": torch.get_rng_state(),
            "args": vars(args),
            "config": self.g.config(),
            "history": self.history,
        }

    def restore(self, saved: dict[str, Any]) -> RunState:
        self.g.load_state_dict(saved["generator"])
        self.d.load_state_dict(saved["discriminator"])
        self.opt_g.load_state_dict(saved["opt_g"])
        self.opt_d.load_state_dict(saved["opt_d"])
        self.history[:] = saved.get("history", [])
        self.rng.bit_generator.state = saved["rng"]
        torch.set_rng_state(saved["torch_rng"])
        return RunState(step=saved["step"], elapsed=saved["elapsed"])


def lr_factor(args: argparse.Namespace, step: int, elapsed: float) -> float:
    """Short warm-up, then a cosine to 10 % over the budget (steps or minutes)."""
    frac = Budget(args.steps, args.minutes).fraction(RunState(step, elapsed))
    return cosine_lr(1.0, frac, step, warmup=50, floor=0.1)


def new_run(args: argparse.Namespace) -> ScanSRRun:
    g, d = CompactSR(scale=args.scale, channels=args.channels, blocks=args.blocks), PatchDiscriminator(args.d_channels)
    return ScanSRRun(
        g,
        d,
        torch.optim.Adam(g.parameters(), lr=args.lr, betas=(0.9, 0.99)),
        torch.optim.Adam(d.parameters(), lr=args.d_lr, betas=(0.9, 0.99)),
        np.random.default_rng(args.seed),
        [],
    )


def start_state(run: ScanSRRun, args: argparse.Namespace, ckpt: Path, log: Logger) -> RunState:
    if args.resume and ckpt.exists():
        state = run.restore(load_checkpoint(ckpt))
        log(f"resumed from {ckpt} at step {state.step} ({state.elapsed / 60:.1f} min)")
        return state
    if args.init:
        log(f"initialised {len(init_weights(run.g, args.init))} tensors from {args.init}")
    return RunState()


def gan_step(run: ScanSRRun, args: argparse.Namespace, images: list, use_bf16: bool, state: RunState) -> StepOutcome:
    """One discriminator step (real HR vs the detached output), then one generator step."""
    lr_np, hr_np = make_batch(run.rng, images, args.batch, args.patch, args.scale, args.clean_share)
    lr_t, hr_t = torch.from_numpy(lr_np), torch.from_numpy(hr_np)
    f = lr_factor(args, state.step, state.elapsed)
    for opt, base in ((run.opt_g, args.lr), (run.opt_d, args.d_lr)):
        for group in opt.param_groups:
            group["lr"] = base * f
    with autocast_context(use_bf16):
        pred = run.g(lr_t)
    pred = pred.float()
    d_loss = F.softplus(-run.d(hr_t)).mean() + F.softplus(run.d(pred.detach().clamp(0, 1))).mean()
    run.opt_d.zero_grad(set_to_none=True)
    d_loss.backward()
    run.opt_d.step()
    pixel, detail = F.l1_loss(pred, hr_t), detail_loss(pred, hr_t)
    adv = F.softplus(-run.d(pred.clamp(0, 1))).mean()
    g_loss = pixel + args.detail_weight * detail + args.adv_weight * adv
    run.opt_g.zero_grad(set_to_none=True)
    g_loss.backward()
    run.opt_g.step()
    parts = {"l1": pixel.item(), "detail": detail.item(), "adv": adv.item(), "d": d_loss.item()}
    return StepOutcome(loss=float(g_loss.item()), parts=parts, lr=args.lr * f)


def pick_precision(g: CompactSR, images: list, args: argparse.Namespace, log: Logger) -> bool:
    x, y = (
        torch.from_numpy(a) for a in make_batch(np.random.default_rng(7), images, PROBE_BATCH, args.patch, args.scale)
    )

    def probe(use_bf16: bool) -> None:
        with autocast_context(use_bf16):
            pred = g(x)
        F.l1_loss(pred.float(), y).backward()
        g.zero_grad(set_to_none=True)

    return choose_precision(args.precision, probe, log)


def train(args: argparse.Namespace) -> dict[str, Any]:
    cv2.setNumThreads(1)
    out, log = start_run(args.out, args.threads, args.seed)
    ckpt = out / "last.pt"
    run = new_run(args)
    state = start_state(run, args, ckpt, log)
    log(f"scan-sr {json.dumps(vars(args))} params={count_parameters(run.g)} d_params={count_parameters(run.d)}")
    images = [img for _, img in photo_pack.load_pack("train", limit=args.limit_photos)]
    crops = validation_set(args.scale, per_photo=args.val_per_photo) if args.val_every else []
    log(f"{len(images)} training photos, {len(crops)} validation crops")
    use_bf16 = pick_precision(run.g, images, args, log)

    def validate_now(state: RunState) -> None:
        scores = validate(run.g, crops, args.scale)
        run.history.append({"step": state.step, "minutes": round(state.elapsed / 60, 2), **scores})
        log(f"step {state.step} val psnr_y {json.dumps(scores)}")

    def save(state: RunState) -> None:
        save_checkpoint(ckpt, run.payload(state, args))
        log(f"checkpoint {ckpt} at step {state.step}")

    if crops and state.step == 0:  # the faithful starting point, for comparison
        validate_now(state)
    settings = LoopSettings(Budget(args.steps, args.minutes), args.log_every, args.val_every, args.ckpt_minutes)
    hooks = LoopHooks(lambda st: gan_step(run, args, images, use_bf16, st), save, log, validate_now)
    run_loop(state, settings, hooks)
    result: dict[str, Any] = {"steps": state.step, "minutes": round(state.elapsed / 60, 2), "history": run.history}
    if crops:
        result["val_psnr_y"] = validate(run.g, crops, args.scale)
        log(f"final step {state.step} val psnr_y {json.dumps(result['val_psnr_y'])}")
    if args.export:
        export_model(run.g, args, result, log)
    return result


def export_model(g: CompactSR, args: argparse.Namespace, result: dict[str, Any], log) -> None:
    onnx_path = Path(args.export)
    export_onnx(g, onnx_path)
    log(f"exported {onnx_path}")
    result["onnx"] = str(onnx_path)
    if args.manifest:
        from llmvis_studio.training.manifest_tools import upsert_entry

        upsert_entry(
            args.manifest,
            manifest_entry(
                g,
                onnx_path,
                {
                    "val_psnr_y_heldout": result.get("val_psnr_y", {}),
                    "train_steps": result["steps"],
                    "train_minutes": result["minutes"],
                },
            ),
        )
        log(f"manifest entry {MODEL_ID.format(scale=g.scale)} → {args.manifest}")


def manifest_entry(g: CompactSR, onnx_path: Path, metrics: dict[str, Any]) -> dict[str, Any]:
    mid = MODEL_ID.format(scale=g.scale)
    fields = {
        "id": mid,
        "name": NAME.format(scale=g.scale),
        "task": "upscale",
        "inputs": [{"name": "image", **export.RGB}],
        "outputs": [{"name": "output", **export.RGB}],
        "scale": g.scale,
        "stride": 1,
        "tile": {"supported": True, "min_overlap": 16, "default": 256},
        "memory_bytes_per_input_pixel": 1665,
        "default": False,
        "reproduce": "make models-scan-sr",
        "metrics": metrics,
    }
    source = f"trained here (llmvis_studio.training.train_scan_sr on ../shared/training photos; models/cards/{mid}.md)"
    licence = "BSD-3-Clause (trained here; training photos: see the model card)"
    return export.trained_entry(onnx_path, g, fields, source, licence)


def parser() -> argparse.ArgumentParser:
    p = doc_parser("python -m llmvis_studio.training.train_scan_sr", __doc__)
    p.add_argument("--out", required=True, help="run folder (train.log, last.pt)")
    p.add_argument("--scale", type=int, default=4, choices=(2, 4))
    p.add_argument("--minutes", type=float, default=9.0, help="wall-clock budget across resumes")
    p.add_argument("--steps", type=int, default=0, help="stop after this many steps (overrides --minutes)")
    p.add_argument("--init", default="", help="faithful model to start from: its .onnx or a .pt checkpoint")
    p.add_argument("--resume", action="store_true")
    p.add_argument("--batch", type=int, default=6)
    p.add_argument("--patch", type=int, default=96, help="HR patch size")
    p.add_argument("--channels", type=int, default=64)
    p.add_argument("--blocks", type=int, default=8)
    p.add_argument("--d-channels", type=int, default=16)
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--d-lr", type=float, default=2e-4)
    p.add_argument("--detail-weight", type=float, default=0.5)
    p.add_argument("--adv-weight", type=float, default=0.01)
    p.add_argument(
        "--clean-share",
        type=float,
        default=0.25,
        help="share of samples with the plain bicubic degradation (keeps the model faithful on clean input)",
    )
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--limit-photos", type=int, default=0, help="train on the first N photos only (tiny runs)")
    p.add_argument("--log-every", type=int, default=25)
    p.add_argument("--val-every", type=int, default=200)
    p.add_argument("--val-per-photo", type=int, default=2)
    p.add_argument("--ckpt-minutes", type=float, default=2.0)
    p.add_argument("--export", default="", help="ONNX path written at the end")
    p.add_argument("--manifest", default="", help="manifest.json to upsert the entry into")
    add_precision_argument(p)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.init and not Path(args.init).is_file():
        print(f"error: --init {args.init}: no such file", file=sys.stderr)
        return 1
    result = train(args)
    print(json.dumps({k: v for k, v in result.items() if k != "history"}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
