"""Train the hint-guided colourizer (ColourUNet) on CPU, resumable, exported to ONNX.

    python -m llmvis_studio.training.train_colourize --minutes 40 --threads 2 --out runs/colourize \
        --export models/colourize-unet.onnx

Data: /work/shared/training/photos (BSDS500 train+test, Kodak24, Wikimedia Commons); whole photos listed in
HELD_OUT are never trained on and serve as the validation set. Benchmarks (Set5/Set14) are never read here.
Each sample: a photo resized so its long side is 128–224 px (the engine works at 192 px), a random 80 px crop, a
random flip, converted to CIE Lab. Hints are simulated as in Zhang et al. 2017: with probability P_AUTO none, else
1–50 patches of 1–3 px carrying the mean ground-truth ab of that patch, so one net serves automatic and guided use.

Loss: Huber on ab + a colourfulness term (per image, the mean chroma may not fall below 90 % of the ground truth's;
plain regression averages plausible colours into brown) + L1 at the hint pixels (hints must be obeyed); with --bins,
also a class-rebalanced cross-entropy over quantised ab (training/colour_bins.py), and what is validated and exported
is the annealed-mean decode of those classes (archs/colourize.AnnealedColourizer). --init starts from another run's
weights (the new class head from scratch).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from llmvis_studio.core.metrics import colourfulness, psnr
from llmvis_studio.training import colour_bins, export
from llmvis_studio.training.archs.colourize import AB_SCALE, STRIDE, AnnealedColourizer, ColourUNet
from llmvis_studio.training.archs.sr import count_parameters
from llmvis_studio.training.loop import Logger, cosine_lr, save_checkpoint
from llmvis_studio.training.precision import (
    add_precision_argument,
    autocast_context,
    choose_precision,
)

PHOTOS = Path(os.environ.get("LLMVIS_TRAINING_PHOTOS", "/work/shared/training/photos"))
# whole photos kept out of training: the validation set (and the card's contact sheet); wikimedia stops at 049,
# so 050 holds nothing back (kept so the shipped run's held-out set stays exactly as trained)
HELD_OUT = (
    tuple(f"kodak24/kodim{i}.png" for i in (21, 22, 23, 24))
    + tuple(f"wikimedia/{i:03d}.png" for i in (46, 47, 48, 49, 50))
    + (
        "bsds500/test-100007.jpg",
        "bsds500/test-100039.jpg",
        "bsds500/test-100099.jpg",
        "bsds500/test-10081.jpg",
        "bsds500/test-101027.jpg",
        "bsds500/test-101084.jpg",
        "bsds500/test-102062.jpg",
        "bsds500/test-103006.jpg",
    )
)
STORE_SIDE = 224  # long side kept in memory
MIN_SIDE = 128  # samples are resized to a long side in [MIN_SIDE, STORE_SIDE]
PATCH = 80
WORK_SIDE = 192  # the engine's working size (long side)
P_AUTO = 0.3  # share of samples without any hint
MAX_HINTS = 50
MIN_COLOURFULNESS = 8.0  # near-grey photos teach nothing about colour


# ----------------------------------------------------------------------------------------------------------------
# colour helpers (shared with benchmarks and tests through the engine's numpy versions)


def rgb_to_lab(rgb_u8: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb_u8.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)


def lab_to_rgb_u8(lab: np.ndarray) -> np.ndarray:
    rgb = cv2.cvtColor(lab.astype(np.float32), cv2.COLOR_Lab2RGB)
    return np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8)


def simulate_hints(rng: np.random.Generator, ab: np.ndarray, count: int, sizes=(1, 2, 3)) -> np.ndarray:
    """H×W×3 (a, b, mask): `count` square patches at random places carrying the mean ab of the ground truth there."""
    h, w = ab.shape[:2]
    hints = np.zeros((h, w, 3), np.float32)
    for _ in range(count):
        s = int(rng.choice(sizes))
        y, x = int(rng.integers(0, h - s + 1)), int(rng.integers(0, w - s + 1))
        hints[y : y + s, x : x + s, :2] = ab[y : y + s, x : x + s].reshape(-1, 2).mean(0)
        hints[y : y + s, x : x + s, 2] = 1.0
    return hints


# ----------------------------------------------------------------------------------------------------------------
# data


def photo_paths() -> list[Path]:
    paths = []
    for folder in ("bsds500", "kodak24", "wikimedia"):
        paths += sorted(p for p in (PHOTOS / folder).iterdir() if p.suffix.lower() in (".jpg", ".png"))
    if not paths:
        raise SystemExit(f"no training photos under {PHOTOS}")
    return paths


def _load_small(path: Path, side: int) -> np.ndarray:
    img = cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    scale = side / max(img.shape[:2])
    if scale < 1:
        img = cv2.resize(img, (round(img.shape[1] * scale), round(img.shape[0] * scale)), interpolation=cv2.INTER_AREA)
    return img


def load_sets(side: int = STORE_SIDE) -> tuple[list[np.ndarray], list[tuple[str, np.ndarray]]]:
    train, val = [], []
    for p in photo_paths():
        rel = f"{p.parent.name}/{p.name}"
        img = _load_small(p, side)
        if rel in HELD_OUT:
            val.append((rel, img))
        elif colourfulness(img) >= MIN_COLOURFULNESS:
            train.append(img)
    return train, val


def make_sample(rng: np.random.Generator, img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    long_side = int(rng.integers(MIN_SIDE, STORE_SIDE + 1))
    scale = long_side / max(img.shape[:2])
    h, w = round(img.shape[0] * scale), round(img.shape[1] * scale)
    if min(h, w) < PATCH:
        scale = PATCH / min(img.shape[:2])
        h, w = max(PATCH, round(img.shape[0] * scale)), max(PATCH, round(img.shape[1] * scale))
    small = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)
    y, x = int(rng.integers(0, h - PATCH + 1)), int(rng.integers(0, w - PATCH + 1))
    crop = small[y : y + PATCH, x : x + PATCH]
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    lab = rgb_to_lab(np.ascontiguousarray(crop))
    count = 0 if rng.random() < P_AUTO else int(rng.integers(1, MAX_HINTS + 1))
    hints = simulate_hints(rng, lab[..., 1:], count)
    x_in = np.concatenate([lab[..., :1] / 100.0, hints[..., :2] / AB_SCALE, hints[..., 2:]], axis=2)
    return x_in.transpose(2, 0, 1), (lab[..., 1:] / AB_SCALE).transpose(2, 0, 1)


def make_batch(rng, images, n) -> tuple[torch.Tensor, torch.Tensor]:
    xs, ys = zip(*(make_sample(rng, images[int(rng.integers(0, len(images)))]) for _ in range(n)))
    return torch.from_numpy(np.stack(xs).astype(np.float32)), torch.from_numpy(np.stack(ys).astype(np.float32))


# ----------------------------------------------------------------------------------------------------------------
# loss


def loss_terms(pred: torch.Tensor, target: torch.Tensor, x: torch.Tensor, classes=None) -> dict[str, torch.Tensor]:
    """classes: None, or (logits, grid→bin lookup, rarity weights Q, bin centres Q×2) for the cross-entropy term."""
    rec = F.smooth_l1_loss(pred, target, beta=0.05)
    chroma_p = torch.sqrt((pred**2).sum(1) + 1e-6).mean(dim=(1, 2))
    chroma_t = torch.sqrt((target**2).sum(1) + 1e-6).mean(dim=(1, 2))
    colour = F.relu(0.9 * chroma_t - chroma_p).mean()
    mask = x[:, 3:4]
    hint = ((pred - target).abs() * mask).sum() / (2 * mask.sum() + 1.0)
    terms = {"rec": rec, "colour": colour, "hint": hint}
    if classes is not None:
        logits, lookup, weights, centres = classes
        terms["ce"] = colour_bins.rebalanced_cross_entropy(logits, target * AB_SCALE, lookup, weights)
        # the decoded (annealed-mean) colour must obey the hints too: it is what ships
        small_mask = F.max_pool2d(mask, 2)
        decoded = colour_bins.annealed_mean(logits, centres, colour_bins.TEMPERATURE) / AB_SCALE
        miss = (decoded - F.avg_pool2d(target * mask, 2) / F.avg_pool2d(mask, 2).clamp_min(1e-6)).abs()
        terms["hint"] = terms["hint"] + (miss * small_mask).sum() / (2 * small_mask.sum() + 1.0)
    return terms


def total_loss(terms: dict[str, torch.Tensor], args) -> torch.Tensor:
    loss = terms["rec"] + args.colour_weight * terms["colour"] + args.hint_weight * terms["hint"]
    return loss + args.ce_weight * terms["ce"] if "ce" in terms else loss


# ----------------------------------------------------------------------------------------------------------------
# validation: whole held-out photos at the engine's working size


def predict_ab(model, lab: np.ndarray, hints: np.ndarray) -> np.ndarray:
    """ab (H×W×2, Lab units) for a working-size Lab image and H×W×3 hints, padded to the stride."""
    h, w = lab.shape[:2]
    ph, pw = -h % STRIDE, -w % STRIDE
    x_in = np.concatenate([lab[..., :1] / 100.0, hints[..., :2] / AB_SCALE, hints[..., 2:]], axis=2)
    x_in = np.pad(x_in, ((0, ph), (0, pw), (0, 0)), mode="reflect")
    with torch.no_grad():
        out = model(torch.from_numpy(x_in.transpose(2, 0, 1)[None].astype(np.float32)))[0].numpy()
    return out.transpose(1, 2, 0)[:h, :w] * AB_SCALE


def working_size(img: np.ndarray, side: int = WORK_SIDE) -> np.ndarray:
    scale = side / max(img.shape[:2])
    return cv2.resize(img, (round(img.shape[1] * scale), round(img.shape[0] * scale)), interpolation=cv2.INTER_AREA)


@torch.no_grad()
def validate(model, val: list[tuple[str, np.ndarray]], gain: float = 1.0) -> dict[str, float]:
    model.eval()
    rng = np.random.default_rng(7)
    sums = {"grey": 0.0, "auto": 0.0, "h10": 0.0, "h50": 0.0, "cf_auto": 0.0, "cf_orig": 0.0}
    for _, img in val:
        img = working_size(img)
        lab = rgb_to_lab(img)
        grey = lab.copy()
        grey[..., 1:] = 0
        sums["grey"] += psnr(lab_to_rgb_u8(grey), img)
        for key, count in (("auto", 0), ("h10", 10), ("h50", 50)):
            hints = simulate_hints(rng, lab[..., 1:], count, sizes=(2,))
            out = lab.copy()
            ab = predict_ab(model, lab, hints)
            out[..., 1:] = ab * (gain if count == 0 else 1.0)
            rgb = lab_to_rgb_u8(out)
            sums[key] += psnr(rgb, img)
            if count == 0:
                sums["cf_auto"] += colourfulness(rgb)
                sums["cf_orig"] += colourfulness(img)
    model.train()
    n = len(val)
    result = {k: v / n for k, v in sums.items()}
    result["cf_ratio"] = result["cf_auto"] / max(result["cf_orig"], 1e-6)
    return result


# ----------------------------------------------------------------------------------------------------------------
# export


def shipped(
    model: ColourUNet, bins, temperature: float = colour_bins.TEMPERATURE, mix: float = 1.0, flip: bool = False
) -> torch.nn.Module:
    """The module that is validated and exported: the net itself, or with --bins its annealed-mean decode."""
    if not model.bins:
        return model
    return AnnealedColourizer(model, bins["centres"], temperature, mix, flip).eval()


def fit_run_bins(train_images: list[np.ndarray]) -> dict[str, torch.Tensor]:
    """Bin centres and rarity weights from the training photos (at 64 px: the colour shares, not the detail)."""
    abs_ = [rgb_to_lab(working_size(img, 64))[..., 1:] for img in train_images]
    centres, prior = colour_bins.fit_bins(abs_)
    return {
        "centres": torch.from_numpy(centres),
        "prior": torch.from_numpy(prior),
        "weights": torch.from_numpy(colour_bins.rarity_weights(prior)),
        "lookup": torch.from_numpy(colour_bins.grid_to_bin(centres)),
    }


def export_onnx(model: torch.nn.Module, path: Path) -> None:
    export.export_onnx(
        model,
        path,
        (torch.zeros(1, 4, 64, 64),),
        ["input"],
        ["ab"],
        {"input": {0: "n", 2: "h", 3: "w"}, "ab": {0: "n", 2: "h", 3: "w"}},
    )


# ----------------------------------------------------------------------------------------------------------------
# loop


def train(args) -> dict:
    out, log = _start(args)
    train_images, val = load_sets()
    log(f"{len(train_images)} training photos, {len(val)} held out")
    model = ColourUNet(tuple(args.widths), bins=0)
    bins = None
    if args.bins:
        bins = fit_run_bins(train_images)
        model = ColourUNet(tuple(args.widths), bins=len(bins["centres"]))
        log(f"{len(bins['centres'])} colour bins")
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.9, 0.99))
    ckpt = out / "checkpoint.pt"
    step, elapsed, rng = _resume(args, ckpt, model, opt, log)
    if args.init and step == 0:
        missing = model.load_state_dict(torch.load(args.init, weights_only=False)["model"], strict=False).missing_keys
        log(f"weights from {args.init}; new: {missing}")
    log(f"ColourUNet {args.widths}: {count_parameters(model) / 1e6:.2f} M parameters")

    def probe(use_bf16: bool) -> None:
        x, y = make_batch(np.random.default_rng(0), train_images, args.batch)
        with autocast_context(use_bf16):
            loss = total_loss(_terms(model, x, y, bins), args)
        loss.backward()
        model.zero_grad(set_to_none=True)

    use_bf16 = choose_precision(args.precision, probe, log)
    budget = args.minutes * 60.0
    last_val = last_ckpt = time.perf_counter()
    start = time.perf_counter() - elapsed
    running: dict[str, float] = {}
    while True:
        elapsed = time.perf_counter() - start
        if elapsed >= budget or (args.steps and step >= args.steps):
            break
        lr = args.lr * cosine_lr(1.0, elapsed / budget, step, warmup=200, floor=0.05)
        terms = _step(model, opt, lr, make_batch(rng, train_images, args.batch), use_bf16, args, bins)
        step += 1
        for k, v in terms.items():
            running[k] = 0.98 * running.get(k, v) + 0.02 * v
        if step % 50 == 0:
            losses = " ".join(f"{k} {v:.4f}" for k, v in running.items())
            log(f"step {step} {elapsed / 60:.1f} min lr {lr:.2e} {losses}")
        now = time.perf_counter()
        if now - last_val > args.val_every * 60:
            log("val " + json.dumps({k: round(v, 3) for k, v in validate(shipped(model, bins), val).items()}))
            last_val = time.perf_counter()
        if now - last_ckpt > 120:
            _save(ckpt, model, opt, step, time.perf_counter() - start, bins)
            last_ckpt = time.perf_counter()
    elapsed = time.perf_counter() - start
    _save(ckpt, model, opt, step, elapsed, bins)
    return _finish(args, out, model, val, step, elapsed, use_bf16, len(train_images), log, bins)


def _start(args) -> tuple[Path, Logger]:
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    return out, Logger(out / "log.txt")


def _resume(args, ckpt: Path, model, opt, log: Logger) -> tuple[int, float, np.random.Generator]:
    """(step, elapsed seconds, batch RNG) of a run continued from its checkpoint, or of a fresh one (--fresh)."""
    if not ckpt.exists() or args.fresh:
        return 0, 0.0, np.random.default_rng(args.seed)
    state = torch.load(ckpt, weights_only=False)
    model.load_state_dict(state["model"])
    opt.load_state_dict(state["optimizer"])
    step, elapsed = state["step"], state["elapsed"]
    log(f"resumed at step {step}, {elapsed / 60:.1f} min")
    return step, elapsed, np.random.default_rng(args.seed + step)


def _terms(model: ColourUNet, x: torch.Tensor, y: torch.Tensor, bins) -> dict[str, torch.Tensor]:
    pred, logits = model.forward_all(x)
    classes = None if logits is None else (logits.float(), bins["lookup"], bins["weights"], bins["centres"])
    return loss_terms(pred.float(), y, x, classes)


def _step(model, opt, lr: float, batch, use_bf16: bool, args, bins=None) -> dict[str, float]:
    """One optimiser step; the loss terms as floats."""
    for group in opt.param_groups:
        group["lr"] = lr
    x, y = batch
    with autocast_context(use_bf16):
        terms = _terms(model, x, y, bins)
    loss = total_loss(terms, args)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    return {k: v.item() for k, v in terms.items()}


def _finish(args, out: Path, model, val, step, elapsed, use_bf16: bool, photos: int, log: Logger, bins=None) -> dict:
    """Final validation, --export, and OUT/result.json (what colourize_card reads)."""
    metrics = validate(shipped(model, bins), val)
    log("final val " + json.dumps({k: round(v, 3) for k, v in metrics.items()}))
    if args.export:
        export_onnx(shipped(model, bins), Path(args.export))
        log(f"exported {args.export}")
    info = {
        "steps": step,
        "minutes": round(elapsed / 60, 1),
        "threads": args.threads,
        "batch": args.batch,
        "patch": PATCH,
        "precision": "bf16" if use_bf16 else "fp32",
        "val": metrics,
        "config": model.config(),
        "parameters": count_parameters(model),
        "train_photos": photos,
        "held_out": list(HELD_OUT),
    }
    (out / "result.json").write_text(json.dumps(info, indent=2))
    return info


def _save(path: Path, model, opt, step: int, elapsed: float, bins=None) -> None:
    save_checkpoint(
        path,
        {
            "model": model.state_dict(),
            "optimizer": opt.state_dict(),
            "step": step,
            "elapsed": elapsed,
            "config": model.config(),
            "bins": bins,
        },
    )


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--minutes", type=float, default=40.0)
    p.add_argument("--steps", type=int, default=0, help="stop after this many steps (0 = the time budget only)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--widths", type=int, nargs="+", default=[16, 32, 48, 96, 128])
    p.add_argument("--colour-weight", type=float, default=0.5)
    p.add_argument("--hint-weight", type=float, default=0.5)
    p.add_argument("--val-every", type=float, default=5.0, help="minutes between validations")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="runs/colourize")
    p.add_argument("--export", default="")
    p.add_argument("--fresh", action="store_true", help="ignore an existing checkpoint")
    p.add_argument("--bins", action="store_true", help="add the colour-class head (rebalanced cross-entropy)")
    p.add_argument("--ce-weight", type=float, default=0.3)
    p.add_argument("--init", default="", help="start a new run from this checkpoint's weights")
    add_precision_argument(p)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    info = train(args)
    print(json.dumps({k: info[k] for k in ("steps", "minutes", "precision", "val")}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
