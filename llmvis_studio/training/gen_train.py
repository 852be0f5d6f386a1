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

import copy
import json
import math
import os
import shlex
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from llmvis_studio.core.errors import Cancelled, InputError, ModelError
from llmvis_studio.training.archs.gan import (
    SIZES, Discriminator, Encoder, ExportWrapper, Generator, count_parameters,
)
from llmvis_studio.training.image_folder import ImageFolder
from llmvis_studio.training.precision import PROBE_BATCH, autocast_context, choose_precision

KINDS = ("gan", "vae")
CHECKPOINT = "checkpoint.pt"
MODEL_JSON = "model.json"
ONNX_NAME = "generator.onnx"
GRID_COLUMNS = 8
QUALITY_SAMPLES = 64

Report = Callable[[dict], None]
ShouldStop = Callable[[], bool]


@dataclass
class GenConfig:
    kind: str
    data: str
    out: str
    size: int = 32
    steps: int = 2000
    batch: int = 32
    device: str = "auto"
    resume: bool = False
    width: int = 0  # 0: default_width(size)
    z_dim: int = 0  # 0: 128 for the GAN, 64 for the VAE
    lr: float = 0.0  # 0: 2e-4 (GAN, D at 2×) or 1e-3 (VAE)
    seed: int = 0
    threads: int = 0  # 0: torch's default
    bf16: Optional[bool] = None  # None: chosen by timing fp32 against bf16 on this CPU (training.precision)
    checkpoint_every: int = 0  # 0: a tenth of the steps (at least 50)
    text_embedder: str = "auto"  # auto | hashed
    model_id: str = ""  # default: KIND-RUNFOLDERNAME
    register: bool = True  # add the exported model to the user's models folder
    export: bool = True
    kl_warmup: float = 0.3
    ms_weight: float = 0.25  # GAN: weight of the mode-seeking term (keeps samples of one class apart)
    mbstd: bool = True  # GAN: a minibatch-standard-deviation channel in the discriminator
    command: str = ""  # how the run was started (the model's `reproduce`)
    extra: dict = field(default_factory=dict)

    def resolved(self) -> "GenConfig":
        if self.kind not in KINDS:
            raise InputError(f"Unknown model kind '{self.kind}'. Use gan or vae.")
        if self.size not in SIZES:
            raise InputError(f"--size must be 32, 64 or 128, not {self.size}.")
        if self.steps < 1 or self.batch < 1 or (self.width and self.width < 4):
            raise InputError("--steps, --batch must be at least 1 and --width at least 4.")
        cfg = copy.copy(self)
        cfg.width = cfg.width or default_width(cfg.size)
        cfg.z_dim = cfg.z_dim or (128 if cfg.kind == "gan" else 64)
        cfg.lr = cfg.lr or (2e-4 if cfg.kind == "gan" else 1e-3)
        cfg.checkpoint_every = cfg.checkpoint_every or max(50, cfg.steps // 10)
        cfg.model_id = cfg.model_id or f"{cfg.kind}-{Path(cfg.out).resolve().name}"
        return cfg


def default_width(size: int) -> int:
    """Channels at full resolution when --width is not given.

    32 px textures train well with 32 (the 600-step quality test runs at 32: class match 1.0, noise ratio ~0.5), and
    a step costs about a quarter of width 64's (one AVX2 core, batch 32: 0.57 s vs 2.0 s), so a first 60-step run
    on a laptop takes well under a minute. Larger images keep 64: they need the capacity.
    """
    return 32 if size <= 32 else 64


# ---------------------------------------------------------------- devices, logging, progress


def pick_device(name: str) -> torch.device:
    if name == "cuda":
        if not torch.cuda.is_available():
            raise InputError("CUDA was asked for, but torch sees no usable GPU; use --device cpu or auto.")
        return torch.device("cuda")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name != "cpu":
        raise InputError(f"Unknown device '{name}'. Use auto, cpu or cuda.")
    return torch.device("cpu")


def autocast_for(device: torch.device, bf16: Optional[bool], probe: Optional[Callable[[bool], None]] = None,
                 log: Callable[[str], None] = print) -> tuple[Callable, bool]:
    """(a context factory, whether a GradScaler is needed). On the CPU, bf16=None times `probe` both ways."""
    if device.type == "cuda":
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return (lambda: torch.autocast("cuda", dtype=dtype)), dtype == torch.float16
    requested = "auto" if bf16 is None else ("bf16" if bf16 else "fp32")
    if requested == "auto" and probe is None:
        requested = "fp32"  # nothing to time: the safe choice on every CPU
    enabled = choose_precision(requested, probe or (lambda _: None), log)
    return (lambda: autocast_context(enabled)), False


def precision_probe(models: "Models", x: torch.Tensor, c: torch.Tensor, kind: str) -> Callable[[bool], None]:
    """One forward + backward through both nets on a real batch, gradients cleared (what the timing compares)."""
    # own generator: the probe must not move the training's random stream
    z = torch.randn(x.shape[0], models.generator.z_dim, generator=torch.Generator().manual_seed(0)).to(x.device)

    def probe(use_bf16: bool) -> None:
        with autocast_context(use_bf16):
            if kind == "gan":
                loss = models.critic(models.generator(z, c), c).float().mean()
            else:
                mu, _ = models.critic(x, c)
                loss = models.generator(mu, c).float().mean()
        loss.backward()
        models.generator.zero_grad(set_to_none=True)
        models.critic.zero_grad(set_to_none=True)
    return probe


class RunLog:
    def __init__(self, path: Path, echo: bool) -> None:
        self.path, self.echo = path, echo

    def __call__(self, message: str) -> None:
        line = f"{time.strftime('%H:%M:%S')} {message}"
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
        if self.echo:
            print(message, file=sys.stderr, flush=True)


class ProgressPrinter:
    """A one-line bar with the losses on stderr (redrawn on a terminal, every ~10 % otherwise)."""

    def __init__(self, label: str, stream=None) -> None:
        self.label, self.stream = label, stream or sys.stderr
        self.interactive = hasattr(stream, "isatty") and stream.isatty()
        self.last_tenth = -1

    def __call__(self, info: dict) -> None:
        step, steps = info["step"], info["steps"]
        fraction = step / max(1, steps)
        losses = " ".join(f"{k} {v:.3f}" for k, v in info.get("losses", {}).items())
        bar = "#" * int(24 * fraction) + "-" * (24 - int(24 * fraction))
        rate = info.get("rate", 0.0)
        eta = (steps - step) / rate if rate > 0 else 0.0
        line = f"{self.label} {step}/{steps} [{bar}] {losses} {rate:.1f} it/s eta {eta:4.0f}s"
        if self.interactive:
            self.stream.write("\r" + line)
            if step >= steps:
                self.stream.write("\n")
        elif int(fraction * 10) != self.last_tenth or step >= steps:
            self.last_tenth = int(fraction * 10)
            self.stream.write(line + "\n")
        self.stream.flush()


# ---------------------------------------------------------------- conditioning


def class_embeddings(names: list[str], prefer: str) -> tuple[np.ndarray, dict]:
    """Embed each class name with the text encoder when installed (else hashed words)."""
    from llmvis_studio.catalog import load_catalog
    from llmvis_studio.core.errors import StudioError
    from llmvis_studio.engine.conditioning import default_embedder

    catalog = None
    if prefer != "hashed":
        try:
            catalog = load_catalog()
        except StudioError:
            catalog = None
    embedder = default_embedder(catalog, "hashed" if prefer == "hashed" else prefer)
    texts = [name.replace("_", " ").replace("-", " ") for name in names]
    return embedder(texts).astype(np.float32), embedder.info()


# ---------------------------------------------------------------- models and EMA


@torch.no_grad()
def ema_update(ema: nn.Module, model: nn.Module, step: int, decay: float = 0.999) -> None:
    d = min(decay, (1.0 + step) / (10.0 + step))
    for e, p in zip(ema.parameters(), model.parameters()):
        e.lerp_(p.detach(), 1.0 - d)
    for e, b in zip(ema.buffers(), model.buffers()):
        e.copy_(b)


@torch.no_grad()
def standing_stats(generator: Generator, vectors: torch.Tensor, seed: int = 0, batches: int = 16,
                   batch: int = 64) -> Generator:
    """A copy of `generator` in eval mode whose BatchNorm statistics are averaged over fresh samples."""
    model = copy.deepcopy(generator).float()
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # cumulative average
    model.train()
    gen = torch.Generator(device="cpu").manual_seed(seed)
    device = next(model.parameters()).device
    for _ in range(batches):
        z = torch.randn(batch, model.z_dim, generator=gen).to(device)
        labels = torch.randint(0, vectors.shape[0], (batch,), generator=gen).to(device)
        model(z, vectors[labels])
    for norm in norms:
        norm.momentum = 0.1
    return model.eval()


PREVIEW_STAT_BATCHES = 4


def checkpoint_due(step: int, steps: int, every: int) -> bool:
    """Every `every` steps and at the end, but not half an interval before the end: a 60-step run would otherwise
    write (and render samples for) step 50 and step 60, each costing a few training steps."""
    return step == steps or (step % every == 0 and steps - step >= every // 2)


@dataclass
class Models:
    generator: Generator
    generator_ema: Optional[Generator]
    critic: Optional[nn.Module]  # the discriminator (GAN) or the encoder (VAE)
    opt_g: torch.optim.Optimizer
    opt_c: torch.optim.Optimizer

    def sampler(self, vectors: torch.Tensor, batches: int = 16) -> Generator:
        if self.generator_ema is not None:
            return standing_stats(self.generator_ema, vectors, batches=batches)
        return copy.deepcopy(self.generator).float().eval()


def build_models(cfg: GenConfig, vectors: torch.Tensor, device: torch.device) -> Models:
    """Fresh networks for `cfg`; the class vectors fix each net's class standardiser."""
    torch.manual_seed(cfg.seed)
    c_dim = vectors.shape[1]
    generator = Generator(cfg.size, cfg.z_dim, c_dim, width=cfg.width).to(device)
    if cfg.kind == "gan":
        critic: nn.Module = Discriminator(cfg.size, c_dim, width=cfg.width, mbstd=cfg.mbstd).to(device)
        ema = copy.deepcopy(generator).eval()
        for p in ema.parameters():
            p.requires_grad_(False)
        opt_g = torch.optim.Adam(generator.parameters(), lr=cfg.lr, betas=(0.0, 0.9))
        opt_c = torch.optim.Adam(critic.parameters(), lr=2 * cfg.lr, betas=(0.0, 0.9))
    else:
        critic = Encoder(cfg.size, cfg.z_dim, c_dim, width=cfg.width).to(device)
        ema = None
        opt_g = torch.optim.Adam(generator.parameters(), lr=cfg.lr)
        opt_c = torch.optim.Adam(critic.parameters(), lr=cfg.lr)
    for net in (generator, ema, critic):
        if net is not None:
            net.standardise.fit(vectors)
    return Models(generator, ema, critic, opt_g, opt_c)


# ---------------------------------------------------------------- one training step


def gan_step(models: Models, x: torch.Tensor, c_real: torch.Tensor, c_fake: torch.Tensor, autocast: Callable,
             scalers: Optional[tuple], ms_weight: float = 0.25) -> dict[str, float]:
    g, d = models.generator, models.critic
    half = x.shape[0] // 2
    if half:  # pairs (z1, c), (z2, c): the mode-seeking term (MSGAN) compares their images
        c_fake = torch.cat([c_fake[:half], c_fake[:half], c_fake[2 * half:]])
    z = torch.randn(x.shape[0], g.z_dim, device=x.device)
    with autocast():
        fake = g(z, c_fake)
        d_real = d(x, c_real).float()
        d_fake = d(fake.detach(), c_fake).float()
        loss_d = F.relu(1.0 - d_real).mean() + F.relu(1.0 + d_fake).mean()
    models.opt_c.zero_grad(set_to_none=True)
    _backward_step(loss_d, models.opt_c, scalers[0] if scalers else None)
    with autocast():
        loss_g = -d(fake, c_fake).float().mean()
    mode_seeking = torch.zeros(())
    if half and ms_weight > 0:  # different noise, same class → different images (Mao et al. 2019)
        image_gap = (fake[:half] - fake[half:2 * half]).float().abs().mean(dim=(1, 2, 3))
        noise_gap = (z[:half] - z[half:2 * half]).abs().mean(dim=1)
        mode_seeking = 1.0 / ((image_gap / noise_gap).mean() + 1e-5)
        loss_g = loss_g + ms_weight * mode_seeking
    models.opt_g.zero_grad(set_to_none=True)
    _backward_step(loss_g, models.opt_g, scalers[1] if scalers else None)
    return {"D": float(loss_d.detach()), "G": float(loss_g.detach()),
            "D(real)": float(d_real.detach().mean()), "D(fake)": float(d_fake.detach().mean()),
            "MS": float(mode_seeking.detach())}


def vae_step(models: Models, x: torch.Tensor, c: torch.Tensor, beta: float, autocast: Callable,
             scalers: Optional[tuple]) -> dict[str, float]:
    g, e = models.generator, models.critic
    with autocast():
        mu, logvar = e(x, c)
        mu, logvar = mu.float(), logvar.float()
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        recon = g(z, c).float()
    rec = F.mse_loss(recon, x)
    kl = (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)).mean() / x[0].numel()
    loss = rec + beta * 0.1 * kl  # a Gaussian decoder with σ² = 0.05, per pixel
    models.opt_g.zero_grad(set_to_none=True)
    models.opt_c.zero_grad(set_to_none=True)
    if scalers:
        scalers[0].scale(loss).backward()
        scalers[0].step(models.opt_g)
        scalers[0].step(models.opt_c)
        scalers[0].update()
    else:
        loss.backward()
        models.opt_g.step()
        models.opt_c.step()
    return {"loss": float(loss.detach()), "recon": float(rec.detach()), "KL": float(kl.detach()), "beta": beta}


def _backward_step(loss: torch.Tensor, opt: torch.optim.Optimizer, scaler) -> None:
    if scaler is None:
        loss.backward()
        opt.step()
    else:
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()


# ---------------------------------------------------------------- pictures


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """N×3×H×W in [-1, 1] → N×H×W×3 uint8."""
    arr = images.detach().float().cpu().clamp(-1, 1).numpy().transpose(0, 2, 3, 1)
    return np.clip(np.rint((arr + 1.0) * 127.5), 0, 255).astype(np.uint8)


def grid(images: np.ndarray, columns: int, pad: int = 2) -> np.ndarray:
    rows = math.ceil(len(images) / columns)
    h, w = images.shape[1:3]
    out = np.full((rows * (h + pad) + pad, columns * (w + pad) + pad, 3), 255, np.uint8)
    for i, image in enumerate(images):
        r, c = divmod(i, columns)
        out[pad + r * (h + pad):pad + r * (h + pad) + h, pad + c * (w + pad):pad + c * (w + pad) + w] = image
    return out


def save_png(path: Path, array: np.ndarray) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.png")
    Image.fromarray(array).save(tmp)
    os.replace(tmp, path)


@torch.no_grad()
def sample_grid(sampler: Generator, vectors: torch.Tensor, z_dim: int, path: Path) -> Path:
    rows = min(vectors.shape[0], 8)
    gen = torch.Generator(device="cpu").manual_seed(7)
    z = torch.randn(GRID_COLUMNS, z_dim, generator=gen).repeat(rows, 1).to(vectors.device)
    c = vectors[:rows].repeat_interleave(GRID_COLUMNS, dim=0)
    images = to_uint8(sampler(z, c))
    save_png(path, grid(images, GRID_COLUMNS))
    return path


@torch.no_grad()
def recon_grid(models: Models, data: ImageFolder, vectors: torch.Tensor, path: Path) -> Path:
    """VAE: fixed training crops (odd rows) above their reconstructions (even rows)."""
    x_np, labels = data.batch(np.random.default_rng(5), GRID_COLUMNS * 2)
    x = torch.from_numpy(x_np).to(vectors.device)
    c = vectors[torch.from_numpy(labels).to(vectors.device)]
    encoder, decoder = models.critic.eval(), models.generator.eval()
    mu, _ = encoder(x, c)
    recon = decoder(mu, c)
    encoder.train()
    decoder.train()
    rows = []
    for half in range(2):
        part = slice(half * GRID_COLUMNS, (half + 1) * GRID_COLUMNS)
        rows += [to_uint8(x[part]), to_uint8(recon[part])]
    save_png(path, grid(np.concatenate(rows), GRID_COLUMNS))
    return path


def plot_losses(history: dict[str, list], path: Path, kind: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = history.get("step", [])
    keys = ["D", "G"] if kind == "gan" else ["recon", "KL"]
    fig, ax = plt.subplots(figsize=(7, 3.5), dpi=100)
    for key in keys:
        values = np.asarray(history.get(key, []), np.float64)
        if not len(values):
            continue
        raw = ax.plot(steps, values, alpha=0.25, linewidth=0.8)[0]
        window = max(1, len(values) // 50)
        smooth = np.convolve(values, np.ones(window) / window, mode="valid")
        ax.plot(steps[window - 1:], smooth, label=key, linewidth=1.5, color=raw.get_color())
    ax.set_xlabel("step")
    ax.set_title(f"{kind.upper()} losses")
    if kind == "vae":
        ax.set_yscale("log")
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    os.replace(tmp, path)


# ---------------------------------------------------------------- quality statistics


def quality_stats(samples: np.ndarray, reference: np.ndarray, seed: int = 0,
                  sample_labels: Optional[np.ndarray] = None, reference_labels: Optional[np.ndarray] = None
                  ) -> dict[str, float]:
    """Collapse and noise checks on N×S×S×3 float images in 0..1 (distances are per-pixel RMS).

    - diversity_ratio = mean pairwise distance of the samples / that of the training crops
      (collapse → 0; the tests ask for > 0.2);
    - noise_ratio = mean distance from a sample to its nearest training crop / the same for uniform-noise
      images (noise → 1; the tests ask for < 1);
    - class_match (with labels): how often a sample's nearest training crop has the sample's class;
    - class_diversity_ratio (with labels): mean within-class pairwise distance of the samples / that of the
      training crops (a generator that ignores the noise, one texture per class → 0).
    """
    def flat(a: np.ndarray) -> np.ndarray:
        return a.reshape(len(a), -1).astype(np.float64)

    def pairwise_mean(a: np.ndarray) -> float:
        sq = (a ** 2).sum(1)
        d2 = np.maximum(sq[:, None] + sq[None, :] - 2 * a @ a.T, 0.0)
        n = len(a)
        return float(np.sqrt(d2 / a.shape[1])[~np.eye(n, dtype=bool)].mean()) if n > 1 else 0.0

    def nearest(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        d2 = np.maximum((a ** 2).sum(1)[:, None] + (b ** 2).sum(1)[None, :] - 2 * a @ b.T, 0.0)
        index = d2.argmin(1)
        return np.sqrt(d2[np.arange(len(a)), index] / a.shape[1]), index

    s, r = flat(samples), flat(reference)
    noise = flat(np.random.default_rng(seed).random(samples.shape))
    s_nn, s_idx = nearest(s, r)
    n_nn, _ = nearest(noise, r)
    out = {
        "sample_diversity": pairwise_mean(s), "train_diversity": pairwise_mean(r),
        "nearest_train": float(s_nn.mean()), "nearest_train_noise": float(n_nn.mean()),
    }
    out["diversity_ratio"] = out["sample_diversity"] / max(out["train_diversity"], 1e-8)
    out["noise_ratio"] = out["nearest_train"] / max(out["nearest_train_noise"], 1e-8)
    if sample_labels is not None and reference_labels is not None:
        out["class_match"] = float((reference_labels[s_idx] == sample_labels).mean())
        within_s, within_r = [], []  # within one class: catches a generator that ignores the noise
        for label in np.unique(sample_labels):
            mine, theirs = s[sample_labels == label], r[reference_labels == label]
            if len(mine) > 1 and len(theirs) > 1:
                within_s.append(pairwise_mean(mine))
                within_r.append(pairwise_mean(theirs))
        if within_s:
            out["class_diversity_ratio"] = float(np.mean(within_s) / max(float(np.mean(within_r)), 1e-8))
    return {k: round(v, 4) for k, v in out.items()}


@torch.no_grad()
def measure_quality(sampler: Generator, vectors: torch.Tensor, data: ImageFolder, count: int = QUALITY_SAMPLES,
                    truncation: float = 1.0) -> dict[str, float]:
    """quality_stats of `count` samples (classes in turn; z scaled by `truncation`, as the generate op does)."""
    gen = torch.Generator(device="cpu").manual_seed(11)
    labels = torch.arange(count) % vectors.shape[0]
    z = (torch.randn(count, sampler.z_dim, generator=gen) * truncation).to(vectors.device)
    samples = to_uint8(sampler(z, vectors[labels.to(vectors.device)])).astype(np.float32) / 255.0
    rng = np.random.default_rng(1234)
    ref, ref_labels = data.batch(rng, max(count, 128))
    reference = (ref.transpose(0, 2, 3, 1) + 1.0) / 2.0
    return quality_stats(samples, reference, sample_labels=labels.numpy(), reference_labels=ref_labels)


# ---------------------------------------------------------------- checkpoints


def save_checkpoint(path: Path, cfg: GenConfig, models: Models, step: int, history: dict, classes: list[str],
                    vectors: torch.Tensor, embedder: dict, summary: dict, rng: np.random.Generator,
                    elapsed: float) -> None:
    state = {
        "format": 1, "kind": cfg.kind, "config": json.dumps(asdict(cfg)),
        "generator": models.generator.state_dict(), "generator_config": json.dumps(models.generator.config()),
        "critic": models.critic.state_dict(),
        "opt_g": models.opt_g.state_dict(), "opt_c": models.opt_c.state_dict(),
        "step": step, "history": json.dumps(history), "classes": json.dumps(classes),
        "class_vectors": vectors.detach().cpu(), "embedder": json.dumps(embedder), "summary": json.dumps(summary),
        "rng": json.dumps(rng.bit_generator.state), "torch_rng": torch.get_rng_state(), "elapsed": elapsed,
    }
    if models.generator_ema is not None:
        state["generator_ema"] = models.generator_ema.state_dict()
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: Path) -> dict:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ModelError(f"The checkpoint {path} cannot be read (damaged or from another version).",
                         detail=repr(exc)) from exc
    for key in ("config", "history", "classes", "embedder", "summary", "rng", "generator_config"):
        state[key] = json.loads(state[key])
    return state


# ---------------------------------------------------------------- the loop


def run_training(cfg: GenConfig, report: Optional[Report] = None, should_stop: Optional[ShouldStop] = None,
                 echo: bool = True) -> dict[str, Any]:
    """Train (or continue) a run; export at the end. Returns paths, steps, history and quality stats.

    `report` gets {"step", "steps", "losses", "rate", "elapsed", "sample" (a PNG path, at checkpoints)};
    `should_stop()` is polled every step: when it says yes, a checkpoint is written and Cancelled raised.
    """
    cfg = cfg.resolved()
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    log = RunLog(out / "train.log", echo)
    device = pick_device(cfg.device)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    checkpoint = out / CHECKPOINT
    state = None
    if cfg.resume:
        if not checkpoint.is_file():
            log(f"no checkpoint in {out}: starting a new run")
        else:
            state = load_checkpoint(checkpoint)
            if state["kind"] != cfg.kind:
                raise InputError(f"{out} holds a {state['kind'].upper()} run; resume it with `train {state['kind']}`.")
            old = state["config"]
            for key in ("size", "width", "z_dim"):  # the architecture must match the checkpoint
                setattr(cfg, key, old[key])
    elif checkpoint.exists():
        raise InputError(f"{out} already holds a run: add --resume to continue it, or choose another --out.")

    data = ImageFolder(cfg.data, cfg.size)
    for line in data.summary.lines():
        log(line)
    classes = data.classes
    if state is not None:
        if state["classes"] != classes:
            raise InputError(f"The data's classes ({', '.join(classes)}) differ from the checkpoint's "
                             f"({', '.join(state['classes'])}); resume with the same folder layout.")
        vectors_np, embedder = state["class_vectors"].numpy(), state["embedder"]
    else:
        vectors_np, embedder = class_embeddings(classes, cfg.text_embedder)
    vectors = torch.from_numpy(vectors_np).to(device)
    models = build_models(cfg, vectors, device)
    rng = np.random.default_rng(cfg.seed)
    step, elapsed = 0, 0.0
    history: dict[str, list] = {"step": []}
    if state is not None:
        models.generator.load_state_dict(state["generator"])
        models.critic.load_state_dict(state["critic"])
        models.opt_g.load_state_dict(state["opt_g"])
        models.opt_c.load_state_dict(state["opt_c"])
        if models.generator_ema is not None and "generator_ema" in state:
            models.generator_ema.load_state_dict(state["generator_ema"])
        step, history, elapsed = int(state["step"]), state["history"], float(state["elapsed"])
        rng.bit_generator.state = state["rng"]
        torch.set_rng_state(state["torch_rng"])
        log(f"resumed at step {step} from {checkpoint}")
    (out / "config.json").write_text(json.dumps(asdict(cfg), indent=2), encoding="utf-8")
    log(f"{cfg.kind} {cfg.size}px on {device.type}: G {count_parameters(models.generator):,} params, "
        f"{'D' if cfg.kind == 'gan' else 'E'} {count_parameters(models.critic):,}; classes embedded by "
        f"{embedder['kind']} ({vectors.shape[1]}-d)")

    probe_x, probe_labels = data.batch(np.random.default_rng(12345), min(cfg.batch, PROBE_BATCH))
    probe = precision_probe(models, torch.from_numpy(probe_x).to(device),
                            vectors[torch.from_numpy(probe_labels).to(device)], cfg.kind)
    autocast, needs_scaler = autocast_for(device, cfg.bf16, probe, log)
    scalers = (torch.amp.GradScaler("cuda"), torch.amp.GradScaler("cuda")) if needs_scaler else None
    models.generator.train()
    models.critic.train()
    started = time.time()
    start_elapsed, window_t, window_steps = elapsed, time.time(), 0
    rate, sample_path = 0.0, None
    summary = data.summary.to_json()

    def checkpoint_now(final: bool = False) -> Optional[Path]:
        save_checkpoint(checkpoint, cfg, models, step, history, classes, vectors, embedder, summary, rng, elapsed)
        (out / "history.json").write_text(json.dumps(history), encoding="utf-8")
        plot_losses(history, out / "loss_curves.png", cfg.kind)
        models.generator.eval()
        # a preview grid needs rougher BatchNorm statistics than the export (16 batches): 4 is a quarter of the cost
        path = sample_grid(models.sampler(vectors, batches=PREVIEW_STAT_BATCHES), vectors, cfg.z_dim, out / "samples" / f"step_{step:06d}.png")
        if cfg.kind == "vae":
            recon_grid(models, data, vectors, out / "samples" / f"recon_{step:06d}.png")
        models.generator.train()
        log(f"checkpoint at step {step}{' (final)' if final else ''}: {path.name}")
        return path

    while step < cfg.steps:
        if should_stop is not None and should_stop():
            checkpoint_now()
            log(f"stopped at step {step}; `--resume` continues")
            raise Cancelled(f"Training stopped at step {step}; the checkpoint is kept, resume to continue.")
        x_np, labels = data.batch(rng, cfg.batch)
        x = torch.from_numpy(x_np).to(device)
        c_real = vectors[torch.from_numpy(labels).to(device)]
        if cfg.kind == "gan":
            fake_labels = torch.from_numpy(rng.integers(0, len(classes), size=cfg.batch)).to(device)
            losses = gan_step(models, x, c_real, vectors[fake_labels], autocast, scalers, cfg.ms_weight)
            ema_update(models.generator_ema, models.generator, step)
        else:
            beta = min(1.0, (step + 1) / max(1.0, cfg.kl_warmup * cfg.steps))
            losses = vae_step(models, x, c_real, beta, autocast, scalers)
        if not all(math.isfinite(v) for v in losses.values()):
            checkpoint_now()
            raise ModelError(f"Training diverged at step {step} (a loss became NaN/inf); try a lower learning rate.")
        step += 1
        window_steps += 1
        elapsed = start_elapsed + (time.time() - started)
        history["step"].append(step)
        for key, value in losses.items():
            history.setdefault(key, []).append(round(value, 5))
        rate = window_steps / max(1e-6, time.time() - window_t)  # steps per second in this session
        sample_path = None
        if checkpoint_due(step, cfg.steps, cfg.checkpoint_every):
            sample_path = checkpoint_now(final=step == cfg.steps)
        if report is not None:
            shown = {k: v for k, v in losses.items() if k in ("D", "G", "recon", "KL")}
            report({"step": step, "steps": cfg.steps, "losses": shown, "rate": rate, "elapsed": elapsed,
                    "sample": str(sample_path) if sample_path else None})
    if state is not None and int(state["step"]) >= cfg.steps:
        log(f"the checkpoint is already at step {step} (--steps {cfg.steps}): nothing to train")

    result: dict[str, Any] = {"run_dir": str(out), "steps": step, "history": history, "classes": classes,
                              "minutes": elapsed / 60.0, "summary": summary}
    if cfg.export:
        result.update(export_run(out, register=cfg.register, echo=echo, data=data))
    log(f"done: {step} steps in {elapsed / 60:.1f} min")
    return result


# ---------------------------------------------------------------- export


def export_onnx(sampler: Generator, path: Path) -> None:
    from llmvis_studio.training import export

    example = (torch.randn(2, sampler.z_dim), torch.randn(2, sampler.c_dim))
    export.export_onnx(ExportWrapper(sampler), path, example, ["z", "c"], ["image"],
                       {"z": {0: "batch"}, "c": {0: "batch"}, "image": {0: "batch"}})


def onnx_matches(sampler: Generator, path: Path) -> float:
    """Max |ONNX − torch| on a small batch, run through the engine's session code."""
    from llmvis_studio.engine.session import SessionCache

    gen = torch.Generator(device="cpu").manual_seed(3)
    z, c = torch.randn(3, sampler.z_dim, generator=gen), torch.randn(3, sampler.c_dim, generator=gen)
    with torch.no_grad():
        ref = ExportWrapper(sampler).eval()(z, c).numpy()
    session = SessionCache(threads=1).get(path, "cpu").session
    got = session.run(["image"], {"z": z.numpy(), "c": c.numpy()})[0]
    return float(np.abs(got - ref).max())


def manifest_entry(cfg: GenConfig, state: dict, onnx_path: Path, quality: dict, max_abs: float,
                   vectors: np.ndarray) -> dict[str, Any]:
    from llmvis_studio.training.manifest_tools import sha256_of

    summary = state["summary"]
    counts = summary.get("counts", {})
    g_cfg = state["generator_config"]
    from llmvis_studio.engine.conditioning import pack_vector

    classes = [{"name": name, "images": int(counts.get(name, 0)), "embedding": pack_vector(vectors[i])}
               for i, name in enumerate(state["classes"])]
    names = ", ".join(state["classes"])
    return {
        "id": cfg.model_id,
        "name": f"{cfg.kind.upper()} {cfg.size}px: {names}"[:80],
        "task": "generate",
        "file": onnx_path.name,
        "sha256": sha256_of(onnx_path),
        "inputs": [
            {"name": "z", "layout": "NC", "dtype": "float32", "range": [-4, 4], "channels": f"{g_cfg['z_dim']}-d N(0,1)"},
            {"name": "c", "layout": "NC", "dtype": "float32", "range": [-1, 1],
             "channels": f"{g_cfg['c_dim']}-d text embedding"},
        ],
        "outputs": [{"name": "image", "layout": "NCHW", "dtype": "float32", "range": [0, 1], "channels": "RGB"}],
        "scale": 1, "stride": 1, "tile": {"supported": False},
        "kind": cfg.kind, "image_size": int(g_cfg["size"]), "z_dim": int(g_cfg["z_dim"]), "c_dim": int(g_cfg["c_dim"]),
        "parameters": None,
        "embedder": state["embedder"],
        "classes": classes,
        "training_data": {k: summary.get(k) for k in ("root", "images", "counts", "skipped", "skipped_files",
                                                        "converted", "notes")},
        "licence": cfg.extra.get("licence", "the training images' licence (user data)"),
        "source": cfg.extra.get("source", f"trained here (llmvis-studio train {cfg.kind}, {int(state['step'])} steps)"),
        "reproduce": cfg.command or f"llmvis-studio train {cfg.kind} --data {shlex.quote(cfg.data)} "
                                    f"--out {shlex.quote(cfg.out)} --size {cfg.size} --steps {cfg.steps}",
        "metrics": {"steps": int(state["step"]), "train_minutes": round(float(state["elapsed"]) / 60.0, 2),
                    "onnx_vs_torch_max_abs": float(f"{max_abs:.3g}"), **quality,
                    "quality_protocol": f"{QUALITY_SAMPLES} samples vs 128 training crops, per-pixel RMS distances",
                    "measured_on": time.strftime("%Y-%m-%d") + " CPU"},
    }


def export_run(run_dir: str | Path, register: bool = True, echo: bool = True,
               data: Optional[ImageFolder] = None) -> dict[str, Any]:
    """RUN_DIR/checkpoint.pt → generator.onnx + model.json (+ the user's models folder)."""
    run_dir = Path(run_dir)
    checkpoint = run_dir / CHECKPOINT
    if not checkpoint.is_file():
        raise InputError(f"{run_dir} has no {CHECKPOINT}: train first (llmvis-studio train gan --out {run_dir}).")
    log = RunLog(run_dir / "train.log", echo)
    state = load_checkpoint(checkpoint)
    cfg = GenConfig(**state["config"])
    g_cfg = state["generator_config"]
    generator = Generator(**g_cfg)
    generator.load_state_dict(state["generator_ema"] if "generator_ema" in state else state["generator"])
    vectors = state["class_vectors"].float()
    sampler = standing_stats(generator, vectors) if "generator_ema" in state else generator.eval()
    onnx_path = run_dir / ONNX_NAME
    export_onnx(sampler, onnx_path)
    max_abs = onnx_matches(sampler, onnx_path)
    if max_abs > 1e-3:
        raise ModelError(f"The exported ONNX differs from the torch model by {max_abs:.2g}; not registered.")
    quality: dict[str, float] = {}
    try:
        data = data or ImageFolder(cfg.data, int(g_cfg["size"]))
        quality = measure_quality(sampler, vectors, data)
    except InputError as exc:  # the data moved since training: export anyway, without the statistics
        log(f"quality statistics skipped: {exc.user_message}")
    entry = manifest_entry(cfg, state, onnx_path, quality, max_abs, vectors.numpy())
    entry["parameters"] = count_parameters(generator)
    (run_dir / (MODEL_JSON + ".tmp")).write_text(json.dumps(entry, indent=2), encoding="utf-8")
    os.replace(run_dir / (MODEL_JSON + ".tmp"), run_dir / MODEL_JSON)  # one manifest entry, written atomically
    log(f"exported {onnx_path.name} ({onnx_path.stat().st_size / 1e6:.1f} MB, ONNX vs torch {max_abs:.1e}); "
        f"quality {json.dumps(quality)}")
    registered = None
    if register:
        registered = register_model(entry, run_dir)
        log(f"registered '{entry['id']}' in {registered}")
    return {"onnx": str(onnx_path), "model_json": str(run_dir / MODEL_JSON), "model_id": entry["id"],
            "quality": quality, "onnx_max_abs": max_abs, "registered": str(registered) if registered else None}


def register_model(entry: dict, run_dir: Path) -> Path:
    """Add the entry to the user's models manifest (file as an absolute path into the run folder)."""
    from llmvis_studio.paths import user_models_dir
    from llmvis_studio.training.manifest_tools import upsert_entry

    manifest = user_models_dir() / "manifest.json"
    upsert_entry(manifest, {**entry, "file": str((run_dir / entry["file"]).resolve())})
    return manifest
