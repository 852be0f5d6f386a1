"""Train the print-damage detector (DamageNet, detector v2) on old-print looks of the photo pack, calibrate it and
export it to ONNX with a manifest entry.

    python -m llmvis_studio.training.train_damage --minutes 45 --threads 2 --out runs/damage \
        --export models/damage-detector.onnx --manifest models/manifest.json      # what `make models-damage` runs

Samples: random crops of the training photos (../shared/training/photos; whole photos held out for validation and
calibration, see `split_photos`) turned into damaged, scanned old prints by print_damage.make_sample, plus a share of
film-style defects (masks.add_defects: thin straight scratches, dust, hairs) on plain or old-looking crops. A producer
thread keeps a ring buffer filled (train_inpaint.SamplePool). Loss: BCE with a positive weight + soft Dice.

Calibration (after training, on the held-out photos' synthetic crops): Platt scaling of the logits, then the bias is
shifted so that the best-F1 threshold lands on 0.5 — the exported probability is meaningful in the middle of its range
and `--sensitivity 0.5` (threshold 1 − 0.5) is the best-F1 point. Precision: `--precision auto` (default) times fp32
against bf16 autocast on this CPU and keeps the faster (bf16 is ~20× slower on AVX2-only CPUs); fp32 or bf16 force one.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from functools import partial
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from llmvis_studio.training import export, masks, print_damage
from llmvis_studio.training.archs.damage import (
    CalibratedScratchNet,
    DamageNet,
    build,
    exported_widths,
    narrowed_from,
)
from llmvis_studio.training.archs.sr import count_parameters
from llmvis_studio.training.damage_calibration import KINDS, calibrate, scores, val_logits
from llmvis_studio.training.loop import (
    Budget,
    Logger,
    LoopHooks,
    LoopSettings,
    RunState,
    StepOutcome,
    cosine_lr,
    model_payload,
    run_loop,
    save_checkpoint,
    start_run,
)
from llmvis_studio.training.precision import PROBE_BATCH, add_precision_argument, autocast_context, choose_precision
from llmvis_studio.training.tool_cli import doc_parser
from llmvis_studio.training.train_inpaint import SamplePool, export_onnx

MODEL_ID = "damage-detector"
PHOTOS = Path(__file__).resolve().parents[2].parent / "shared" / "training" / "photos"
HELD_OUT_EVERY = 20  # one photo in 20 (by name hash) is never trained on: validation + calibration
MAX_SIDE = 1280
FILM_SHARE = 0.3  # share of samples with film-style defects (thin straight scratches, dust, hairs)
THIN_SHARE = 0.1  # share of samples in the old detector's thin-scratch protocol (the bar for becoming the default)


# ----------------------------------------------------------------------------------------------------------------
# data


def photo_root() -> Path:
    env = os.environ.get("LLMVIS_TRAINING_PHOTOS")
    return Path(env) if env else PHOTOS


def split_photos(root: Path) -> tuple[list[Path], list[Path]]:
    """(train, held_out) image files; held-out by a stable hash of the relative path, so whole photos are held out."""
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
    if not files:
        raise FileNotFoundError(f"no training photos under {root}")

    def held(p: Path) -> bool:
        return int(hashlib.sha256(str(p.relative_to(root)).encode()).hexdigest(), 16) % HELD_OUT_EVERY == 0

    return [p for p in files if not held(p)], [p for p in files if held(p)]


def load_photo(path: Path, max_side: int = MAX_SIDE) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f"cannot decode {path}")
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    h, w = rgb.shape[:2]
    if max(h, w) > max_side:
        f = max_side / max(h, w)
        rgb = cv2.resize(rgb, (round(w * f), round(h * f)), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(rgb)


def film_sample(rng: np.random.Generator, photo: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The old detector's defects (thin straight scratches, dust, hairs, creases) on a plain or old-looking crop."""
    h, w = photo.shape[:2]
    s = min(size, h, w)
    y, x = int(rng.integers(0, h - s + 1)), int(rng.integers(0, w - s + 1))
    crop = photo[y : y + s, x : x + s]
    if s != size:
        crop = cv2.resize(crop, (size, size), interpolation=cv2.INTER_CUBIC)
    if rng.random() < 0.5:
        look, _ = print_damage.old_print_look(rng, crop)
        crop = np.round(look * 255).astype(np.uint8)
    damaged, mask = masks.add_defects(rng, crop)
    return damaged, mask


def thin_sample(rng: np.random.Generator, photo: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The old detector's benchmark protocol on a crop: 2 thin light or dark scratches on a plain photo, whole shape
    labelled (benchmarks/inpaint_quality.py bench_detector) — the bar detector v2 must beat to become the default."""
    h, w = photo.shape[:2]
    s = min(size, h, w)
    y, x = int(rng.integers(0, h - s + 1)), int(rng.integers(0, w - s + 1))
    img = photo[y : y + s, x : x + s].astype(np.float32) / 255.0
    truth = np.zeros((s, s), np.uint8)
    light = bool(rng.random() < 0.5)
    for _ in range(2):
        img, shape = masks.render_scratch(img, rng, light=light, strength=float(rng.uniform(0.5, 1.0)))
        truth = np.maximum(truth, shape)
    return np.clip(np.round(img * 255), 0, 255) / 255.0, truth


def damage_sample(
    rng: np.random.Generator, images: list[np.ndarray], patch: int, weights: np.ndarray, thin_share: float = THIN_SHARE
) -> tuple[np.ndarray, np.ndarray]:
    photo = images[int(rng.choice(len(images), p=weights))]
    r = rng.random()
    if r < FILM_SHARE:
        x, y = film_sample(rng, photo, patch)
    elif r < FILM_SHARE + thin_share:
        x, y = thin_sample(rng, photo, patch)
    else:
        x, y = print_damage.make_sample(rng, photo, patch)
    return x.astype(np.float32), (y > 0).astype(np.uint8)


def validation_set(
    photos: list[np.ndarray], size: int = 192, per_photo: int = 4
) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Fixed (kind, image, label) crops of held-out photos: print damage, film scratches and clean old prints."""
    out = []
    for i, photo in enumerate(photos):
        for j in range(per_photo):
            rng = np.random.default_rng(7000 + 10 * i + j)
            kind = KINDS[j % len(KINDS)]
            if kind == "film":
                x, y = film_sample(rng, photo, size)
            elif kind == "thin":
                x, y = thin_sample(rng, photo, size)
            else:
                x, y = print_damage.make_sample(rng, photo, size, clean_share=1.0 if kind == "clean" else 0.0)
            out.append((kind, x.astype(np.float32), (y > 0).astype(np.uint8)))
    return out


def batch_tensors(samples) -> tuple[torch.Tensor, torch.Tensor]:
    x = np.stack([s[0] for s in samples]).transpose(0, 3, 1, 2)
    y = np.stack([s[1] for s in samples]).astype(np.float32)[:, None]
    return torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(y)


# ----------------------------------------------------------------------------------------------------------------
# the loop (validation scores and calibration: damage_calibration.py)


def start_model(args: argparse.Namespace, ckpt: Path, log) -> tuple[DamageNet, Any, np.random.Generator, RunState]:
    """The net (warm-started from --init, or resumed from the checkpoint), its optimiser, the data rng, the run state."""
    model = build({"arch": args.arch, "channels": args.channels, "widths": widths_of(args)})
    rng = np.random.default_rng(args.seed)
    state = RunState()
    if args.init and not (args.resume and ckpt.exists()):  # warm start: weights only, fresh optimiser and schedule
        model = initial_weights(args, model)
        log(f"initialised from {args.init}")
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.9, 0.99))
    # channels-last: the convolutions run ~1.5x faster per step on AVX2 CPUs (measured; same numbers)
    model = model.to(memory_format=torch.channels_last)
    if args.resume and ckpt.exists():
        saved = torch.load(ckpt, map_location="cpu", weights_only=False)
        model.load_state_dict(saved["model"])
        opt.load_state_dict(saved["optimizer"])
        state = RunState(saved["step"], saved["elapsed"])
        rng.bit_generator.state = saved["rng"]
        log(f"resumed from {ckpt} at step {state.step} ({state.elapsed / 60:.1f} min)")
    return model, opt, rng, state


def initial_weights(args: argparse.Namespace, model: DamageNet) -> DamageNet:
    """`model` with --init's weights: a checkpoint, an export of the same shape, or (a narrower --widths than the
    export's) the export's most used channels."""
    if not args.init.endswith(".onnx"):
        model.load_state_dict(torch.load(args.init, map_location="cpu", weights_only=False)["model"])
    elif widths_of(args) and exported_widths(args.init) != widths_of(args):
        model = narrowed_from(load_teacher(args.init, args.channels), widths_of(args))
    else:
        model.load_onnx(args.init)
    return model


def started_pool(args: argparse.Namespace, images: list[np.ndarray], step: int) -> SamplePool:
    """The producer thread's sample pool, seeded by the step (a resumed run draws new samples), already filling."""
    if not 0.0 <= args.thin_share <= 1.0 - FILM_SHARE:
        raise SystemExit(f"--thin-share is a share of the samples, 0 to {1.0 - FILM_SHARE:g}, not {args.thin_share}")
    sample = partial(damage_sample, thin_share=args.thin_share)
    pool = SamplePool(sample, images, args.patch, args.seed + step, size=args.pool, reuse=args.reuse)
    pool.start(min(args.pool, max(args.batch * 2, 8)))
    return pool


def widths_of(args: argparse.Namespace) -> tuple[int, int, int] | None:
    """--widths "8,24,48" as a tuple (None: the arch's default widths)."""
    if not args.widths:
        return None
    widths = tuple(int(w) for w in args.widths.split(","))
    if len(widths) != 3 or min(widths) < 1:
        raise SystemExit(f"--widths takes three channel counts (full, 1/2, 1/4 resolution), not {args.widths!r}")
    if args.arch != "CalibratedScratchNet":  # only the calibrated ScratchNet has per-level widths
        raise SystemExit(f"--widths needs --arch CalibratedScratchNet (got --arch {args.arch})")
    return widths  # type: ignore[return-value]


def load_teacher(path: str, channels: int) -> CalibratedScratchNet:
    """A trained CalibratedScratchNet (exported ONNX) in eval mode, frozen: the distillation teacher."""
    teacher = CalibratedScratchNet(channels)
    teacher.load_onnx(path)
    teacher.eval().requires_grad_(False)
    return teacher.to(memory_format=torch.channels_last)


def load_data(args: argparse.Namespace, log) -> tuple[list[np.ndarray], list]:
    """Training photos and the held-out validation crops (whole photos held out)."""
    train_files, held_files = split_photos(Path(args.photos) if args.photos else photo_root())
    if args.max_images:
        train_files, held_files = train_files[: args.max_images], held_files[: max(1, args.max_images // 4)]
    if not held_files:  # a tiny photo folder (tests): validate on the last photo rather than on nothing
        held_files = train_files[-1:]
    images = [load_photo(p) for p in train_files]
    vset = validation_set([load_photo(p) for p in held_files], per_photo=args.val_per_photo)
    log(f"{len(images)} training photos, {len(held_files)} held-out photos → {len(vset)} validation crops")
    return images, vset


def train(args: argparse.Namespace) -> dict[str, Any]:
    out_dir, log = start_run(args.out, args.threads, args.seed)
    cv2.setNumThreads(1)
    ckpt = out_dir / "last.pt"
    model, opt, rng, state = start_model(args, ckpt, log)
    log(f"damage {json.dumps(vars(args))} params={count_parameters(model)}")
    images, vset = load_data(args, log)
    pos_weight = torch.tensor(args.pos_weight)
    teacher = load_teacher(args.teacher, args.channels) if args.teacher else None
    pool = started_pool(args, images, state.step)
    probe_x, _ = batch_tensors(pool.batch(np.random.default_rng(12345), min(args.batch, PROBE_BATCH)))

    def probe(use_bf16: bool) -> None:  # forward + backward on a real batch, gradients cleared
        with autocast_context(use_bf16):
            out = model.logits(probe_x)
        out.float().mean().backward()
        model.zero_grad(set_to_none=True)

    use_bf16 = choose_precision(args.precision, probe, log)
    budget = Budget(args.steps, args.minutes)

    def step(now: RunState) -> StepOutcome:
        lr = cosine_lr(args.lr, budget.fraction(now), now.step, args.warmup, floor=0.02)
        for g in opt.param_groups:
            g["lr"] = lr
        x, y = batch_tensors(pool.batch(rng, args.batch))
        x = x.contiguous(memory_format=torch.channels_last)
        with autocast_context(use_bf16):
            logits = model.logits(x).float()
        bce = F.binary_cross_entropy_with_logits(logits, y, pos_weight=pos_weight)
        prob = torch.sigmoid(logits)
        dice = (1 - (2 * (prob * y).sum() + 1) / (prob.sum() + y.sum() + 1)) * args.dice_weight
        loss, parts = bce + dice, {"bce": float(bce.detach()), "dice": float(dice.detach())}
        if teacher is not None:  # distillation: also match the teacher's per-pixel probability (soft targets)
            with torch.no_grad(), autocast_context(use_bf16):
                soft = torch.sigmoid(teacher.logits(x).float())
            distill = F.binary_cross_entropy_with_logits(logits, soft)
            loss = (1 - args.distill_weight) * loss + args.distill_weight * distill
            parts["distill"] = float(distill.detach())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return StepOutcome(float(loss.detach()), parts, lr)

    def save(now: RunState) -> None:
        save_checkpoint(ckpt, model_payload(model, opt, now, rng, args))

    def validate(now: RunState) -> None:
        v = scores(val_logits(model, vset), vset, 0.0)
        log(f"step {now.step} val " + " ".join(f"{k} {val:.4f}" for k, val in v.items()))

    model.train()
    settings = LoopSettings(budget, args.log_every, args.val_every, args.ckpt_minutes)
    try:
        run_loop(state, settings, LoopHooks(step, save, log, validate, lambda: f" pool {pool.made}/{pool.drawn}"))
    finally:
        pool.close()
    return finish(args, model, vset, state, out_dir, log)


def finish(
    args: argparse.Namespace, model: DamageNet, vset, state: RunState, out_dir: Path, log, done: str = "trained"
) -> dict[str, Any]:
    """Raw validation, calibration, the calibrated checkpoint and (with --export) the ONNX file."""
    result: dict[str, Any] = {"steps": state.step, "minutes": round(state.elapsed / 60, 1)}
    result["val_raw"] = scores(val_logits(model, vset), vset, 0.0)
    result["calibration"] = calibrate(model, vset, log, args.teacher if args.match_teacher_area else "")
    log(f"{done} {state.step} steps in {state.elapsed / 60:.1f} min; {json.dumps(result)}")
    torch.save({"model": model.state_dict(), "config": model.config(), "result": result}, out_dir / "calibrated.pt")
    if args.export:
        export_model(model, Path(args.export), args.manifest, result, log, args.model_id)
    result["model"] = model
    return result


def calibrate_only(args: argparse.Namespace) -> dict[str, Any]:
    """Recalibrate and export the last checkpoint of a finished run, or an exported detector (no training)."""
    torch.set_num_threads(args.threads)
    out_dir = Path(args.out)
    model, state = checkpoint_or_init(args, out_dir / "last.pt")
    out_dir.mkdir(parents=True, exist_ok=True)
    log = Logger(out_dir / "train.log")
    train_files, held_files = split_photos(Path(args.photos) if args.photos else photo_root())
    held_files = held_files or train_files[-1:]  # a tiny photo folder (tests), as in load_data
    vset = validation_set([load_photo(p) for p in held_files], per_photo=args.val_per_photo)
    log(f"calibrate-only: step {state['step']}, {len(vset)} held-out crops")
    return finish(args, model, vset, RunState(state["step"], state["elapsed"]), out_dir, log, done="calibrated after")


def checkpoint_or_init(args: argparse.Namespace, ckpt: Path) -> tuple[DamageNet, dict[str, Any]]:
    """The net to calibrate: the run's last checkpoint, or (no checkpoint: runs/ is gone) the --init export."""
    if ckpt.exists():
        state = torch.load(ckpt, map_location="cpu", weights_only=False)
        model = build(state["config"])
        model.load_state_dict(state["model"])
        return model, state
    if not args.init:
        raise SystemExit(f"--calibrate-only: {ckpt} does not exist; name an exported detector with --init")
    model = build({"arch": args.arch, "channels": args.channels, "widths": widths_of(args)})
    return initial_weights(args, model), {"step": 0, "elapsed": 0.0}


def export_model(
    model: DamageNet, path: Path, manifest: str, result: dict[str, Any], log, model_id: str = MODEL_ID
) -> None:
    export_onnx("scratch", model, path)
    log(f"exported {path}")
    if manifest:
        from llmvis_studio.training.manifest_tools import upsert_entry

        entry = manifest_entry(
            model,
            path,
            model_id,
            {
                "train_steps": result["steps"],
                "train_minutes": result["minutes"],
                "heldout_calibration": result["calibration"],
            },
        )
        upsert_entry(manifest, entry)
        log(f"manifest entry {model_id} → {manifest}")


def manifest_entry(model: DamageNet, path: Path, model_id: str, metrics: dict[str, Any]) -> dict[str, Any]:
    fast = model_id != MODEL_ID  # a distilled, narrower student of damage-detector (make models-damage-fast)
    fields = {
        "id": model_id,
        "name": "Print damage detector" + (", fast" if fast else "") + " (cracks, tears, dust, scratches)",
        "task": "detect-scratches",
        "inputs": [{"name": "image", **export.RGB}],
        "outputs": [{"name": "mask", **export.MASK}],
        "scale": 1,
        "stride": model.STRIDE,
        "tile": {"supported": True, "min_overlap": 32, "default": 1024},
        "memory_bytes_per_input_pixel": 400 if model.STRIDE == 8 else 600,
        "threshold": 0.5,
        "calibrated": True,
        "arch": model.config()["arch"],
        # not the default until a run beats scratch-detector on thin scratches and clean photos (see its card)
        "default": False,
        "reproduce": "make models-damage-fast" if fast else "make models-damage",
        "metrics": metrics,
    }
    if "widths" in model.config():
        fields["widths"] = model.config()["widths"]
    source = (
        "trained here (llmvis_studio.training.train_damage on ../shared/training/photos"
        + (", distilled from damage-detector" if fast else "")
        + f", see models/cards/{model_id}.md)"
    )
    return export.trained_entry(path, model, fields, source)


def parser() -> argparse.ArgumentParser:
    p = doc_parser("python -m llmvis_studio.training.train_damage", __doc__)
    p.add_argument("--out", required=True)
    p.add_argument("--photos", default="", help="photo folder (default ../shared/training/photos)")
    p.add_argument("--max-images", type=int, default=0, help="use only the first N photos (tiny test runs)")
    p.add_argument("--steps", type=int, default=0)
    p.add_argument("--minutes", type=float, default=45.0)
    p.add_argument("--batch", type=int, default=12)
    p.add_argument("--patch", type=int, default=128)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--channels", type=int, default=16)
    p.add_argument("--arch", default="DamageNet", choices=["DamageNet", "CalibratedScratchNet"])
    p.add_argument(
        "--widths", default="", help='CalibratedScratchNet channels at full, 1/2, 1/4 resolution, e.g. "8,24,48"'
    )
    p.add_argument("--teacher", default="", help="distil from this exported CalibratedScratchNet (.onnx)")
    p.add_argument("--distill-weight", type=float, default=0.5, help="share of the loss that matches the teacher")
    p.add_argument(
        "--match-teacher-area",
        action="store_true",
        help="calibrate to mark as much of the damaged validation crops as --teacher does (see calibrate)",
    )
    p.add_argument("--thin-share", type=float, default=THIN_SHARE, help="share of thin-scratch-protocol samples")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    add_precision_argument(p)  # auto (default): time fp32 against bf16 on this CPU, keep the faster
    p.add_argument("--pos-weight", type=float, default=1.5)
    p.add_argument("--dice-weight", type=float, default=0.5)
    p.add_argument("--resume", action="store_true")
    p.add_argument("--init", default="", help="start from this checkpoint's weights (fresh optimiser and schedule)")
    p.add_argument("--pool", type=int, default=1500)
    p.add_argument("--reuse", type=float, default=3.0)
    p.add_argument("--val-per-photo", type=int, default=4)
    p.add_argument("--log-every", type=int, default=50)
    p.add_argument("--val-every", type=int, default=400)
    p.add_argument("--ckpt-minutes", type=float, default=2.0)
    p.add_argument("--export", default="")
    p.add_argument("--model-id", default=MODEL_ID, help="the manifest id of the exported detector")
    p.add_argument("--manifest", default="")
    p.add_argument("--calibrate-only", action="store_true", help="recalibrate and export --out's last checkpoint")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    result = calibrate_only(args) if args.calibrate_only else train(args)
    print(json.dumps({k: v for k, v in result.items() if k != "model"}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
