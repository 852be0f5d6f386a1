"""Train the learned inpainting model and the scratch/dust detector on CPU (fp32 or bf16, chosen by timing), resumable, exported to
ONNX with a manifest entry and a model card.

    python -m llmvis_studio.training.train_inpaint inpaint --minutes 25 --threads 2 --out runs/inpaint \
        --export models/inpaint-gated-ns.onnx --manifest models/manifest.json
    python -m llmvis_studio.training.train_inpaint scratch --minutes 10 --threads 2 --out runs/scratch \
        --export models/scratch-detector.onnx --manifest models/manifest.json
    python -m llmvis_studio.training.train_inpaint recipes inpaint scratch     # what `make models-inpaint` runs

Training samples come from the offline photo set of data.py, or with `--data pack+default` the shared photo pack too
(data_mix.py; never benchmark images): random crops with synthetic holes (masks.hole_mask) and their OpenCV
Navier–Stokes fill, or synthetic defects (masks.add_defects). A producer thread keeps a ring buffer of samples filled
(OpenCV releases the GIL); each batch draws from it with a random flip/90° rotation, so the NS fill is reused.

Inpainting loss: L1 or (recipe) MSE inside the hole + an edge term (L1 of image gradients around the hole) + a light hinge
adversarial term from a spectral-norm PatchGAN that starts at --adv-start of the budget. Detector loss: BCE with a
positive weight + soft Dice.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from llmvis_studio.core.metrics import hole_psnr
from llmvis_studio.training import data, data_mix, export, loop, masks
from llmvis_studio.training.archs.inpaint import InpaintNet, PatchCritic, ScratchNet
from llmvis_studio.training.archs.inpaint_widen import fit_init
from llmvis_studio.training.archs.sr import count_parameters
from llmvis_studio.training.loop import Budget, Logger, RunState, StepOutcome
from llmvis_studio.training.precision import PROBE_BATCH, autocast_context, choose_precision
from llmvis_studio.training.sample_pool import SamplePool
from llmvis_studio.training.tool_cli import run_stages, stage_command, train_and_report, words

INPAINT_ID = "inpaint-gated-ns"
SCRATCH_ID = "scratch-detector"
DEFAULT_THRESHOLD = 0.5


# ----------------------------------------------------------------------------------------------------------------
# samples


def ns_fill(img_u8: np.ndarray, hole: np.ndarray) -> np.ndarray:
    return cv2.inpaint(np.ascontiguousarray(img_u8), (hole > 0).astype(np.uint8) * 255, 5, cv2.INPAINT_NS)


def inpaint_sample(
    rng: np.random.Generator,
    images: list[np.ndarray],
    patch: int,
    weights: np.ndarray,
    holes: str = "default",
) -> tuple[np.ndarray, ...]:
    img = images[int(rng.choice(len(images), p=weights))]
    clean = data.random_crop(rng, img, patch, 0.6)
    hole = masks.training_hole(rng, patch, patch, holes)
    fill = ns_fill(clean, hole)
    return clean, (hole > 0).astype(np.uint8), fill


def scratch_sample(
    rng: np.random.Generator, images: list[np.ndarray], patch: int, weights: np.ndarray
) -> tuple[np.ndarray, ...]:
    img = images[int(rng.choice(len(images), p=weights))]
    clean = data.random_crop(rng, img, patch, 0.5)
    damaged, mask = masks.add_defects(rng, clean)
    return damaged, (mask > 0).astype(np.uint8)


def inpaint_tensors(samples) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    clean = np.stack([s[0] for s in samples]).astype(np.float32).transpose(0, 3, 1, 2) / 255.0
    mask = np.stack([s[1] for s in samples]).astype(np.float32)[:, None]
    fill = np.stack([s[2] for s in samples]).astype(np.float32).transpose(0, 3, 1, 2) / 255.0
    return torch.from_numpy(clean), torch.from_numpy(mask), torch.from_numpy(fill)


def scratch_tensors(samples) -> tuple[torch.Tensor, torch.Tensor]:
    x = np.stack([s[0] for s in samples]).astype(np.float32).transpose(0, 3, 1, 2)
    y = np.stack([s[1] for s in samples]).astype(np.float32)[:, None]
    return torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(y)


# ----------------------------------------------------------------------------------------------------------------
# losses and metrics


def hole_l1(out: torch.Tensor, gt: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return ((out - gt).abs() * mask).sum() / (mask.sum() * 3 + 1.0)


def hole_mse(out: torch.Tensor, gt: torch.Tensor, mask: torch.Tensor, per_sample: bool = False) -> torch.Tensor:
    """Mean squared error over the hole pixels, pooled over the batch, or (per_sample) each sample's own mean
    averaged, so that a thin scratch's few pixels weigh as much as a stroke's many (PSNR is per image)."""
    squared = ((out - gt) ** 2) * mask
    if not per_sample:
        return squared.sum() / (mask.sum() * 3 + 1.0)
    return (squared.sum(dim=(1, 2, 3)) / (mask.sum(dim=(1, 2, 3)) * 3 + 1.0)).mean()


def edge_l1(out: torch.Tensor, gt: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    region = F.max_pool2d(mask, 3, 1, 1)
    dx = lambda t: t[..., :, 1:] - t[..., :, :-1]  # noqa: E731
    dy = lambda t: t[..., 1:, :] - t[..., :-1, :]  # noqa: E731
    rx, ry = region[..., :, 1:], region[..., 1:, :]
    lx = ((dx(out) - dx(gt)).abs() * rx).sum() / (rx.sum() * 3 + 1.0)
    ly = ((dy(out) - dy(gt)).abs() * ry).sum() / (ry.sum() * 3 + 1.0)
    return 0.5 * (lx + ly)


def tolerant_prf(pred: np.ndarray, truth: np.ndarray, tol: int = 1) -> tuple[float, float, float]:
    """Precision / recall / F1 of binary masks where a hit within `tol` px counts (both directions)."""
    p, t = pred > 0, truth > 0
    k = cv2.getStructuringElement(cv2.MORPH_RECT, (2 * tol + 1, 2 * tol + 1))
    t_grown = cv2.dilate(t.astype(np.uint8), k) > 0
    p_grown = cv2.dilate(p.astype(np.uint8), k) > 0
    precision = float((p & t_grown).sum() / max(1, p.sum())) if p.any() else (1.0 if not t.any() else 0.0)
    recall = float((t & p_grown).sum() / max(1, t.sum())) if t.any() else 1.0
    f1 = 2 * precision * recall / max(1e-9, precision + recall)
    return precision, recall, f1


# ----------------------------------------------------------------------------------------------------------------
# validation on held-out training-source photos (never benchmark images)


def _val_inpaint_set(spec: str = "default", size: int = 192) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, str]]:
    crops = data_mix.validation_crops(spec, size=size, per_image=2)
    out = []
    for i, crop in enumerate(crops):
        for kind in ("thin", "stroke"):
            hole = masks.benchmark_mask(kind, size, size, seed=5000 + i)
            out.append((crop, hole, ns_fill(crop, hole), kind))
    return out


@torch.no_grad()
def validate_inpaint(model: InpaintNet, vset) -> dict[str, float]:
    model.eval()
    res: dict[str, list[float]] = {}
    for crop, hole, fill, kind in vset:
        c, m, f = inpaint_tensors([(crop, (hole > 0).astype(np.uint8), fill)])
        out = model(c, m, f).clamp(0, 1)[0].numpy().transpose(1, 2, 0)
        out8 = np.round(out * 255).astype(np.uint8)
        res.setdefault(kind, []).append(hole_psnr(out8, crop, hole))
        res.setdefault(kind + "_ns", []).append(hole_psnr(fill, crop, hole))
    model.train()
    return {k: float(np.mean(v)) for k, v in res.items()}


def _val_scratch_set(spec: str = "default", size: int = 192) -> list[tuple[np.ndarray, np.ndarray]]:
    crops = data_mix.validation_crops(spec, size=size, per_image=3)
    out = []
    for i, crop in enumerate(crops):
        rng = np.random.default_rng(9000 + i)
        img = crop.astype(np.float32) / 255.0
        truth = np.zeros(crop.shape[:2], np.uint8)
        for j in range(3):
            img, shape = masks.render_scratch(img, rng, light=bool(j % 2), strength=float(rng.uniform(0.5, 1.0)))
            truth = np.maximum(truth, shape)
        out.append((np.clip(np.round(img * 255), 0, 255).astype(np.float32) / 255.0, truth))
    return out


@torch.no_grad()
def validate_scratch(model: ScratchNet, vset, threshold: float = DEFAULT_THRESHOLD) -> dict[str, float]:
    model.eval()
    ps, rs = [], []
    for img, truth in vset:
        prob = model(torch.from_numpy(img.transpose(2, 0, 1)[None].copy()))[0, 0].numpy()
        p, r, _ = tolerant_prf(prob > threshold, truth)
        ps.append(p)
        rs.append(r)
    model.train()
    p, r = float(np.mean(ps)), float(np.mean(rs))
    return {"precision": p, "recall": r, "f1": 2 * p * r / max(1e-9, p + r)}


# ----------------------------------------------------------------------------------------------------------------
# the loop


def lr_at(args, step: int, elapsed: float) -> float:
    fraction = Budget(args.steps, args.minutes).fraction(RunState(step, elapsed))
    return loop.cosine_lr(args.lr, fraction, step, args.warmup, 0.02)


def _precision_probe(kind: str, model: torch.nn.Module, samples):
    """One forward + backward of the model on a real batch, gradients cleared (what the timing compares)."""
    inputs = inpaint_tensors(samples) if kind == "inpaint" else scratch_tensors(samples)[:1]

    def probe(use_bf16: bool) -> None:
        with autocast_context(use_bf16):
            out = model(*inputs) if kind == "inpaint" else model.logits(*inputs)
        out.float().mean().backward()
        model.zero_grad(set_to_none=True)

    return probe


def build(kind: str, args) -> torch.nn.Module:
    if kind == "inpaint":
        return InpaintNet(channels=args.channels, out_init=args.out_init)
    return ScratchNet(channels=args.channels)


def inpaint_step(model, critic, opt_d, args, use_bf16: bool, samples, use_adv: bool, lr: float) -> dict:
    """The inpainting loss terms of one batch; with `use_adv` the critic takes its own step first ("d")."""
    parts: dict[str, torch.Tensor] = {}
    clean, mask, fill = inpaint_tensors(samples)
    with autocast_context(use_bf16):
        pred = model(clean, mask, fill)
    pred = pred.float()
    if args.pixel_loss == "mse":
        # PSNR is an MSE measure; L1's optimum is the median correction, which is ~0 wherever the
        # fill's error is uncertain, and an L1 run stalled at the NS fill (see the model card)
        parts["mse"] = hole_mse(pred, clean, mask, per_sample=args.hole_loss == "per-sample") * 10.0
    else:
        parts["l1"] = hole_l1(pred, clean, mask)
    parts["edge"] = edge_l1(pred, clean, mask) * args.edge_weight
    if use_adv:
        for g in opt_d.param_groups:
            g["lr"] = lr
        with autocast_context(use_bf16):
            d_real = critic(clean, mask).float()
            d_fake = critic(pred.detach(), mask).float()
        loss_d = F.relu(1 - d_real).mean() + F.relu(1 + d_fake).mean()
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        critic.requires_grad_(False)
        with autocast_context(use_bf16):
            g_fake = critic(pred, mask).float()
        critic.requires_grad_(True)
        # only the hole area's patches matter: weight the critic map by the (pooled) mask
        wmap = F.adaptive_avg_pool2d(mask, g_fake.shape[-2:])
        parts["adv"] = -(g_fake * wmap).sum() / (wmap.sum() + 1e-6) * args.adv_weight
        parts["d"] = loss_d.detach()
    return parts


def scratch_step(model, args, use_bf16: bool, samples, pos_weight: torch.Tensor) -> dict:
    x, y = scratch_tensors(samples)
    with autocast_context(use_bf16):
        logits = model.logits(x)
    logits = logits.float()
    prob = torch.sigmoid(logits)
    inter = (prob * y).sum()
    return {
        "bce": F.binary_cross_entropy_with_logits(logits, y, pos_weight=pos_weight),
        "dice": (1 - (2 * inter + 1) / (prob.sum() + y.sum() + 1)) * args.dice_weight,
    }


def train(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    out_dir, log = loop.start_run(args.out, args.threads, args.seed)
    cv2.setNumThreads(1)  # the sample thread must not compete with torch's threads
    ckpt = out_dir / "last.pt"
    model = build(kind, args)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.9, 0.99))
    critic = PatchCritic(args.critic_channels) if kind == "inpaint" and args.adv_weight > 0 else None
    opt_d = torch.optim.Adam(critic.parameters(), lr=args.lr, betas=(0.5, 0.99)) if critic is not None else None
    rng = np.random.default_rng(args.seed)
    state, best = _resume_or_init(args, ckpt, (model, opt, critic, opt_d), rng, log)
    log(f"{kind} {json.dumps(vars(args))} params={count_parameters(model)}")
    pool, vset = _data(kind, args, state.step, log)
    pos_weight = torch.tensor(getattr(args, "pos_weight", 1.0))
    probe_samples = pool.batch(np.random.default_rng(12345), min(args.batch, PROBE_BATCH))
    use_bf16 = choose_precision(args.precision, _precision_probe(kind, model, probe_samples), log)
    settings = loop.LoopSettings(Budget(args.steps, args.minutes), args.log_every, args.val_every, args.ckpt_minutes)

    def validate_now(now: RunState, label: str = "step") -> dict[str, float]:
        nonlocal best
        best = validate_inpaint(model, vset) if kind == "inpaint" else validate_scratch(model, vset)
        log(f"{label} {now.step} val " + " ".join(f"{k} {v:.3f}" for k, v in best.items()))
        return best

    def step(now: RunState) -> StepOutcome:
        lr = lr_at(args, now.step, now.elapsed)
        for g in opt.param_groups:
            g["lr"] = lr
        samples = pool.batch(rng, args.batch)
        if kind == "inpaint":
            use_adv = critic is not None and settings.budget.fraction(now) >= args.adv_start
            parts = inpaint_step(model, critic, opt_d, args, use_bf16, samples, use_adv, lr)
        else:
            parts = scratch_step(model, args, use_bf16, samples, pos_weight)
        loss = sum(v for k, v in parts.items() if k != "d")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return StepOutcome(float(loss.item()), {k: float(v.detach()) for k, v in parts.items()}, lr)

    def save(now: RunState) -> None:
        nets = {"critic": critic, "critic_optimizer": opt_d}
        extra = {k: v.state_dict() if v is not None else None for k, v in nets.items()}
        loop.save_checkpoint(ckpt, loop.model_payload(model, opt, now, rng, args, val=best, **extra))

    model.train()
    hooks = loop.LoopHooks(step, save, log, validate_now, lambda: f" pool {pool.made}/{pool.drawn}")
    try:
        losses = loop.run_loop(state, settings, hooks)
    finally:
        pool.close()
    result: dict[str, Any] = {"steps": state.step, "minutes": state.elapsed / 60, "losses": losses, "model": model}
    if vset:
        result["val"] = validate_now(state, "final step")
    log(f"trained {state.step} steps in {state.elapsed / 60:.1f} min")
    if args.export:
        result["onnx"] = str(_export(kind, model, args, state, result.get("val", {}), log))
    return result


def _data(kind: str, args: argparse.Namespace, step: int, log: Logger) -> tuple[SamplePool, list]:
    """The started sample pool over the training photos, and the held-out validation set (empty: no validation)."""
    names = args.images.split(",") if args.images else None
    images = [img for _, img in data_mix.training_images(args.data, names=names, pack_limit=args.pack_limit)]
    pool = SamplePool(
        functools.partial(inpaint_sample, holes=args.holes) if kind == "inpaint" else scratch_sample,
        images,
        args.patch,
        args.seed + step,
        size=args.pool,
        reuse=args.reuse,
    )
    pool.start(min(args.pool, max(args.batch * 2, 8)))
    vset = (_val_inpaint_set(args.data) if kind == "inpaint" else _val_scratch_set(args.data)) if args.val_every else []
    log(f"{len(images)} training images, {len(vset)} validation items")
    return pool, vset


def _resume_or_init(
    args: argparse.Namespace, ckpt: Path, nets: tuple, rng: np.random.Generator, log: Logger
) -> tuple[RunState, dict[str, float]]:
    """Continue from OUT/last.pt (--resume) or start from --init's weights; (state, last validation)."""
    model, opt, critic, opt_d = nets
    if args.resume and ckpt.exists():
        saved = loop.load_checkpoint(ckpt)
        model.load_state_dict(saved["model"])
        opt.load_state_dict(saved["optimizer"])
        if critic is not None and saved.get("critic"):
            critic.load_state_dict(saved["critic"])
            opt_d.load_state_dict(saved["critic_optimizer"])
        rng.bit_generator.state = saved["rng"]
        log(f"resumed from {ckpt} at step {saved['step']} ({saved['elapsed'] / 60:.1f} min)")
        return RunState(saved["step"], saved["elapsed"]), saved.get("val", {})
    if args.init:  # a checkpoint of this trainer or an exported .onnx (a narrower InpaintNet is widened)
        model.load_state_dict(fit_init(model, data_mix.init_weights(args.init)))
        log(f"initialised from {args.init}")
    return RunState(), {}


def _export(
    kind: str, model: torch.nn.Module, args: argparse.Namespace, state: RunState, val: dict[str, float], log: Logger
) -> Path:
    """--export: the ONNX file; --manifest: its entry (with the held-out validation) upserted there."""
    metrics = {"train_steps": state.step, "train_minutes": round(state.elapsed / 60, 1)}
    metrics.update({f"val_heldout_{k}": round(v, 3) for k, v in val.items()})
    return export.ship(
        Path(args.export),
        lambda path: export_onnx(kind, model, path),
        lambda path: manifest_entry(kind, model, path, metrics),
        args.manifest,
        log,
    )


# ----------------------------------------------------------------------------------------------------------------
# export and manifest


def export_onnx(kind: str, model: torch.nn.Module, path: Path) -> None:
    if kind == "inpaint":
        dummy = (torch.rand(1, 3, 64, 64), (torch.rand(1, 1, 64, 64) > 0.8).float(), torch.rand(1, 3, 64, 64))
        names, outs = ["image", "mask", "fill"], ["output"]
    else:
        dummy = (torch.rand(1, 3, 64, 64),)
        names, outs = ["image"], ["mask"]
    export.export_onnx(model.float(), path, dummy, names, outs, export.spatial_axes(names + outs))


def manifest_entry(kind: str, model: torch.nn.Module, path: Path, metrics: dict[str, Any]) -> dict[str, Any]:
    rgb, one = export.RGB, export.MASK
    if kind == "inpaint":
        fields = {
            "id": INPAINT_ID,
            "name": "Learned fill (faithful; NS fill + learned correction)",
            "task": "inpaint",
            "inputs": [{"name": "image", **rgb}, {"name": "mask", **one}, {"name": "fill", **rgb}],
            "outputs": [{"name": "output", **rgb}],
            "scale": 1,
            "stride": InpaintNet.STRIDE,
            "tile": {"supported": False, "min_overlap": 64, "default": 512},
            "memory_bytes_per_input_pixel": 3000,
            "working_margin": 48,
            "classical_fill": "opencv-ns",
        }
    else:
        fields = {
            "id": SCRATCH_ID,
            "name": "Scratch and dust detector",
            "task": "detect-scratches",
            "inputs": [{"name": "image", **rgb}],
            "outputs": [{"name": "mask", **one}],
            "scale": 1,
            "stride": ScratchNet.STRIDE,
            "tile": {"supported": True, "min_overlap": 16, "default": 1024},
            "memory_bytes_per_input_pixel": 600,
            "threshold": DEFAULT_THRESHOLD,
        }
    fields |= {"default": True, "reproduce": "make models-inpaint", "metrics": metrics}
    return export.trained_entry(
        path,
        model,
        fields,
        f"trained here (llmvis_studio.training.train_inpaint, offline photos listed in models/cards/{fields['id']}.md)",
    )


# ----------------------------------------------------------------------------------------------------------------
# recipes (what `make models-inpaint` runs)

# The shipped models were trained in legs (resumed runs whose budget grew; see their cards); a recipe is one
# leg with the final settings and the final total budget.
RECIPES: dict[str, list[str]] = {
    "inpaint": words(
        "inpaint --minutes 68 --threads 2 --batch 12 --patch 128 --lr 1e-3 --channels 32 --pixel-loss mse --adv-start 0.85"
    ),
    # the 32-channel net above widened to 48 channels (inpaint_widen.py) and trained on the photo pack
    "inpaint-w48": words(
        "inpaint --minutes 90 --threads 2 --batch 12 --patch 128 --lr 3e-4 --channels 48 --pixel-loss mse --adv-start 0.85 --data pack+default --seed 20 --val-every 500 --ckpt-minutes 5 --init {runs}/inpaint/last.pt"
    ),
    "inpaint-w48b": words(  # stage 2's weights, 85 more minutes from a lower learning rate
        "inpaint --minutes 85 --threads 2 --batch 12 --patch 128 --lr 1.5e-4 --channels 48 --pixel-loss mse --adv-start 0.85 --data pack+default --seed 21 --val-every 500 --ckpt-minutes 5 --init {runs}/inpaint-w48/last.pt"
    ),
    "scratch": words(
        "scratch --minutes 35 --threads 2 --batch 12 --patch 128 --lr 2e-3 --channels 16 --pos-weight 1.5"
    ),
}
EXPORT = {stage: f"{SCRATCH_ID if stage == 'scratch' else INPAINT_ID}.onnx" for stage in RECIPES}


def recipe_command(stage: str, runs: Path, models: Path) -> list[str]:
    return stage_command(RECIPES[stage], runs / stage, models / EXPORT[stage])


def parser() -> argparse.ArgumentParser:
    run_defaults = {"minutes": 25.0, "batch": 12, "lr": 1e-3, "ckpt_minutes": 2.0}
    p, sub, kinds = loop.kind_parsers("train_inpaint", __doc__, ("inpaint", "scratch"), **run_defaults)
    for kind, s in kinds.items():
        s.add_argument("--patch", type=int, default=128)
        s.add_argument("--channels", type=int, default=32 if kind == "inpaint" else 16)
        s.add_argument("--init", default="", help="checkpoint or .onnx to start from (same net, or a narrower fill)")
        s.add_argument("--images", default="", help="only these default sources (comma-separated names)")
        s.add_argument("--data", choices=data_mix.CHOICES, default="default", help="training photos (data_mix.py)")
        s.add_argument("--pack-limit", type=int, default=0, help="only the pack's first N photos (tiny test runs)")
        s.add_argument("--pool", type=int, default=1500, help="samples kept in the ring buffer")
        s.add_argument("--reuse", type=float, default=3.0, help="draws per generated sample before waiting")
        if kind == "inpaint":
            s.add_argument("--pixel-loss", choices=("l1", "mse"), default="l1", help="loss inside the hole")
            s.add_argument("--holes", choices=masks.HOLE_REGIMES, default="default", help="hole kinds (masks.py)")
            s.add_argument(
                "--hole-loss", choices=("pooled", "per-sample"), default="pooled", help="how hole pixels are averaged"
            )
            s.add_argument("--edge-weight", type=float, default=0.2)
            s.add_argument("--adv-weight", type=float, default=0.001)
            s.add_argument("--adv-start", type=float, default=0.6, help="fraction of the budget before the critic")
            s.add_argument("--critic-channels", type=int, default=32)
            s.add_argument("--out-init", type=float, default=0.1, help="scale of the last layer's default init")
        else:
            s.add_argument("--pos-weight", type=float, default=3.0)
            s.add_argument("--dice-weight", type=float, default=0.5)
    r = sub.add_parser("recipes", help="run the shipped recipes in order (resumable)")
    r.add_argument("stages", nargs="+", choices=sorted(RECIPES))
    r.add_argument("--runs", default="runs")
    r.add_argument("--models", default="models")
    r.add_argument("--fresh", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.kind == "recipes":
        runs, models = Path(args.runs), Path(args.models)
        return run_stages(args.stages, runs, args.fresh, lambda st: recipe_command(st, runs, models), main)
    return train_and_report(train, args)


if __name__ == "__main__":
    sys.exit(main())
