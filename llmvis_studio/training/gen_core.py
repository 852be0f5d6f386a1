"""The class-conditional GAN / VAE trainer's parts: config, devices and logging, class conditioning, the networks with
EMA, one training step, checkpoints. The loop is in gen_train.py, pictures and quality statistics in gen_pictures.py,
ONNX export in gen_export.py.
"""

from __future__ import annotations

import copy
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from llmvis_studio.core.errors import InputError, ModelError
from llmvis_studio.training.archs.gan import (
    SIZES,
    Discriminator,
    Encoder,
    Generator,
)
from llmvis_studio.training.precision import autocast_context, choose_precision

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

    def resolved(self) -> GenConfig:
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


def autocast_for(
    device: torch.device,
    bf16: Optional[bool],
    probe: Optional[Callable[[bool], None]] = None,
    log: Callable[[str], None] = print,
) -> tuple[Callable, bool]:
    """(a context factory, whether a GradScaler is needed). On the CPU, bf16=None times `probe` both ways."""
    if device.type == "cuda":
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return (lambda: torch.autocast("cuda", dtype=dtype)), dtype == torch.float16
    requested = "auto" if bf16 is None else ("bf16" if bf16 else "fp32")
    if requested == "auto" and probe is None:
        requested = "fp32"  # nothing to time: the safe choice on every CPU
    enabled = choose_precision(requested, probe or (lambda _: None), log)
    return (lambda: autocast_context(enabled)), False


def precision_probe(models: Models, x: torch.Tensor, c: torch.Tensor, kind: str) -> Callable[[bool], None]:
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
def standing_stats(
    generator: Generator, vectors: torch.Tensor, seed: int = 0, batches: int = 16, batch: int = 64
) -> Generator:
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


def gan_step(
    models: Models,
    x: torch.Tensor,
    c_real: torch.Tensor,
    c_fake: torch.Tensor,
    autocast: Callable,
    scalers: Optional[tuple],
    ms_weight: float = 0.25,
) -> dict[str, float]:
    g, d = models.generator, models.critic
    half = x.shape[0] // 2
    if half:  # pairs (z1, c), (z2, c): the mode-seeking term (MSGAN) compares their images
        c_fake = torch.cat([c_fake[:half], c_fake[:half], c_fake[2 * half :]])
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
        image_gap = (fake[:half] - fake[half : 2 * half]).float().abs().mean(dim=(1, 2, 3))
        noise_gap = (z[:half] - z[half : 2 * half]).abs().mean(dim=1)
        mode_seeking = 1.0 / ((image_gap / noise_gap).mean() + 1e-5)
        loss_g = loss_g + ms_weight * mode_seeking
    models.opt_g.zero_grad(set_to_none=True)
    _backward_step(loss_g, models.opt_g, scalers[1] if scalers else None)
    return {
        "D": float(loss_d.detach()),
        "G": float(loss_g.detach()),
        "D(real)": float(d_real.detach().mean()),
        "D(fake)": float(d_fake.detach().mean()),
        "MS": float(mode_seeking.detach()),
    }


def vae_step(
    models: Models, x: torch.Tensor, c: torch.Tensor, beta: float, autocast: Callable, scalers: Optional[tuple]
) -> dict[str, float]:
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


# ---------------------------------------------------------------- checkpoints


def save_checkpoint(
    path: Path,
    cfg: GenConfig,
    models: Models,
    step: int,
    history: dict,
    classes: list[str],
    vectors: torch.Tensor,
    embedder: dict,
    summary: dict,
    rng: np.random.Generator,
    elapsed: float,
) -> None:
    state = {
        "format": 1,
        "kind": cfg.kind,
        "config": json.dumps(asdict(cfg)),
        "generator": models.generator.state_dict(),
        "generator_config": json.dumps(models.generator.config()),
        "critic": models.critic.state_dict(),
        "opt_g": models.opt_g.state_dict(),
        "opt_c": models.opt_c.state_dict(),
        "step": step,
        "history": json.dumps(history),
        "classes": json.dumps(classes),
        "class_vectors": vectors.detach().cpu(),
        "embedder": json.dumps(embedder),
        "summary": json.dumps(summary),
        "rng": json.dumps(rng.bit_generator.state),
        "torch_rng": torch.get_rng_state(),
        "elapsed": elapsed,
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
        raise ModelError(
            f"The checkpoint {path} cannot be read (damaged or from another version).", detail=repr(exc)
        ) from exc
    if "config" not in state and "names" in state:  # written by training/texture_gan.py: another architecture
        raise InputError(
            f"{path.parent} holds a full-resolution texture run: continue it with `train texture --resume` "
            "or the Train dialog's full-resolution kind."
        )
    for key in ("config", "history", "classes", "embedder", "summary", "rng", "generator_config"):
        state[key] = json.loads(state[key])
    return state
