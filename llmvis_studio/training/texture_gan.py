"""Train the resolution-free texture generator (training/archs/texture_gan.py) on the texture classes.

    python -m llmvis_studio.training.texture_data --out runs/texture-data
    python -m llmvis_studio.training.texture_gan --data runs/texture-data --out runs/texture-gan --minutes 20

The run folder holds checkpoint.pt (resumable), train.log, samples/*.png and, every --export-minutes and at the
end, generator.onnx + model.json (a manifest entry: task `generate`, kind `texture-gan`), so a run stopped by
a time limit still leaves a usable model. `--install models/` copies the last export into the bundled models.

Losses: Gram matrices of fixed random features against a real crop of the same class (fast, stable colour and
grain), plus a hinge adversarial term from a patch critic with a projection of c (sharpness), weight --adv.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F

from llmvis_studio.core.errors import InputError
from llmvis_studio.training.archs.texture_gan import (
    DOWNSAMPLE,
    ExportWrapper,
    PatchCritic,
    TextureGenerator,
    TextureStats,
    count_parameters,
)
from llmvis_studio.training.texture_data import TextureSet
from llmvis_studio.training.texture_export import install, manifest_entry
from llmvis_studio.training.texture_folder import check_texture_folder

MODEL_ID = "texture-gan"
CRITIC_LR = 2e-4
WARMUP_STEPS = 200
GRAD_CLIP = 5.0


@dataclass
class TextureConfig:
    data: str
    out: str
    minutes: float = 20.0
    steps: int = 1_000_000
    batch: int = 8
    crop: int = 64
    z_channels: int = 16
    widths: tuple = (64, 64, 48, 32)
    lr: float = 1e-3
    adv: float = 0.05  # weight of the adversarial term (0: texture statistics only, no critic)
    adv_after: int = 100  # steps of statistics only before the critic joins
    cls: float = 0.1  # weight of the auxiliary class loss on the generator (AC-GAN; 0: no class head)
    threads: int = 2
    seed: int = 0
    export_minutes: float = 4.0
    model_id: str = MODEL_ID
    command: str = ""
    resume: bool = False
    register: bool = False  # add each export to the user's models folder (train-your-own)


def log_to(path: Path):
    def log(message: str) -> None:
        line = f"{time.strftime('%H:%M:%S')} {message}"
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
        print(line, file=sys.stderr, flush=True)

    return log


def class_vectors(names: list[str]) -> tuple[np.ndarray, dict]:
    from llmvis_studio.training.gen_train import class_embeddings

    return class_embeddings(names, "auto")


def to_tensor(crops: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(crops).permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0)


class Trainer:
    def __init__(self, cfg: TextureConfig) -> None:
        self.cfg, self.out = cfg, Path(cfg.out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.log = log_to(self.out / "train.log")
        torch.set_num_threads(cfg.threads)
        torch.manual_seed(cfg.seed)
        self.data = self.load_data(Path(cfg.data))
        vectors, self.embedder = class_vectors(self.data.names)
        self.vectors = torch.from_numpy(vectors)
        self.generator = TextureGenerator(self.vectors.shape[1], cfg.z_channels, widths=tuple(cfg.widths))
        self.ema = copy.deepcopy(self.generator).eval()
        self.critic = PatchCritic(self.vectors.shape[1], classes=len(self.data.names) if cfg.cls > 0 else 0)
        self.stats = TextureStats()
        # one conditioning offset and one statistics target per look (source) of a class: matching the class mean
        # made every brick wall the grey-brown average of red and beige bricks
        counts = self.data.mode_counts()
        self.mode_base = torch.tensor(np.concatenate([[0], np.cumsum(counts)[:-1]]), dtype=torch.long)
        self.offsets = mode_offsets(sum(counts), self.vectors.shape[1])
        rng = np.random.default_rng(99)
        self.targets = self.stats.targets(
            [
                to_tensor(self.data.crops(rng, np.full(32, k), cfg.crop, modes=np.full(32, m))).add(1.0).mul(0.5)
                for k, count in enumerate(counts)
                for m in range(count)
            ]
        )
        self.opt_g = torch.optim.Adam(self.generator.parameters(), lr=cfg.lr, betas=(0.5, 0.99))
        self.opt_d = torch.optim.Adam(self.critic.parameters(), lr=CRITIC_LR, betas=(0.0, 0.9))
        self.rng = np.random.default_rng(cfg.seed)
        self.earlier: list[str] = []  # the commands of the sessions this run resumed from, oldest first
        self.step, self.elapsed, self.history = 0, 0.0, {"step": [], "stats": [], "adv": [], "D": [], "cls": []}
        self.resume()

    def load_data(self, folder: Path) -> TextureSet:
        """The bundled texture cache (sources.json) or a user's image folder (one sub-folder per class)."""
        if (folder / "sources.json").is_file():
            return TextureSet.load(folder)
        data, summary = TextureSet.from_folder(folder)
        for line in summary.lines():
            self.log(line)
        return data

    # ------------------------------------------------------------ state

    def resume(self) -> None:
        path = self.out / "checkpoint.pt"
        if not path.is_file():
            return
        if not self.cfg.resume:
            raise InputError(f"{self.out} already holds a run: add --resume to continue it, or choose another --out.")
        state = torch.load(path, map_location="cpu", weights_only=True)
        if "names" not in state:  # a `train gan` / `train vae` run: another architecture
            raise InputError(f"{self.out} holds a {str(state.get('kind', 'GAN/VAE')).upper()} run, not a texture run.")
        if json.loads(state["names"]) != self.data.names:
            raise InputError(
                f"{path} was trained on other classes ({', '.join(json.loads(state['names']))}); "
                "resume with the same data, or choose another --out."
            )
        for key in ("generator", "ema", "opt_g"):
            getattr(self, key).load_state_dict(state[key])
        self.resume_critic(state)
        self.step, self.elapsed = int(state["step"]), float(state["elapsed"])
        self.history = json.loads(state["history"])
        self.earlier = earlier_commands(self.out / "model.json", self.step)
        self.log(f"resumed at step {self.step}")

    def resume_critic(self, state: dict) -> None:
        """The critic of a run from before the class head (or with --cls changed) resumes with the head fresh and
        a fresh optimiser state (Adam's moments cannot be matched to a changed parameter list)."""
        missing, unexpected = self.critic.load_state_dict(state["critic"], strict=False)
        if missing or unexpected:
            self.log(f"critic: class head {'added' if missing else 'dropped'} with fresh weights; optimiser reset")
            return
        self.opt_d.load_state_dict(state["opt_d"])

    def save(self) -> None:
        state = {key: getattr(self, key).state_dict() for key in ("generator", "ema", "critic", "opt_g", "opt_d")}
        state.update(
            step=self.step, elapsed=self.elapsed, history=json.dumps(self.history), names=json.dumps(self.data.names)
        )
        tmp = self.out / "checkpoint.tmp"
        torch.save(state, tmp)
        os.replace(tmp, self.out / "checkpoint.pt")

    # ------------------------------------------------------------ one step

    def train_step(self) -> dict[str, float]:
        cfg = self.cfg
        labels_np = self.rng.integers(0, len(self.data.names), size=cfg.batch)
        modes_np = self.data.random_modes(self.rng, labels_np, cfg.crop)
        labels = torch.from_numpy(labels_np)
        flat = self.mode_base[labels] + torch.from_numpy(modes_np)
        c = self.vectors[labels] + self.offsets[flat]
        z, noise = noise_inputs(cfg.batch, cfg.z_channels, cfg.crop // DOWNSAMPLE, cfg.crop // DOWNSAMPLE)
        fake = self.generator(z, noise, c)
        use_adv = cfg.adv > 0 and self.step >= cfg.adv_after
        loss_d = torch.zeros(())
        if use_adv:  # real crops are only needed by the critic
            real = to_tensor(self.data.crops(self.rng, labels_np, cfg.crop, modes=modes_np))
            loss_d = self.critic_loss(real, fake.detach(), c, labels)
            self.opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            self.opt_d.step()
        stats = self.stats.loss((fake + 1.0) * 0.5, flat, self.targets)
        adv, cls, hits = torch.zeros(()), torch.zeros(()), 0.0
        if use_adv:
            score, logits = self.critic.score_and_logits(fake, c)
            adv = -score.mean()
            if logits is not None:  # the class head judges the painted crop; the generator makes it recognisable
                cls = F.cross_entropy(logits, labels)
                hits = float((logits.argmax(dim=1) == labels).float().mean())
        loss = stats + cfg.adv * adv + cfg.cls * cls
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.generator.parameters(), GRAD_CLIP)  # one bad batch cannot wreck the run
        self.opt_g.step()
        self.update_ema()
        return {"stats": float(stats.detach()), "adv": float(adv.detach()), "D": float(loss_d.detach()), "cls": hits}

    def critic_loss(
        self, real: torch.Tensor, fake: torch.Tensor, c: torch.Tensor, labels: torch.Tensor
    ) -> torch.Tensor:
        """Hinge loss on real and painted crops, plus the class head's cross-entropy on the real ones only (so it
        learns what real grass and foliage look like, not what the generator paints)."""
        score_real, logits = self.critic.score_and_logits(real, c)
        loss = F.relu(1.0 - score_real).mean() + F.relu(1.0 + self.critic(fake, c)).mean()
        return loss if logits is None else loss + F.cross_entropy(logits, labels)

    def set_learning_rate(self, fraction: float, session_steps: int) -> None:
        """Full rate for the first 70 % of the time budget, then a linear fall to 20 % (a calmer finish). Every
        start warms up over WARMUP_STEPS: a resumed run's Adam moments were fitted to the old losses, and a new
        loss term (or a fresh critic head) with them took steps far too large and the run blew up."""
        scale = 1.0 if fraction < 0.7 else 1.0 - 0.8 * min(1.0, (fraction - 0.7) / 0.3)
        scale *= min(1.0, (session_steps + 1) / WARMUP_STEPS)
        for group in self.opt_g.param_groups:
            group["lr"] = self.cfg.lr * scale
        for group in self.opt_d.param_groups:
            group["lr"] = CRITIC_LR * min(1.0, (session_steps + 1) / WARMUP_STEPS)

    @torch.no_grad()
    def update_ema(self, decay: float = 0.995) -> None:
        d = min(decay, (1.0 + self.step) / (10.0 + self.step))
        for e, p in zip(self.ema.parameters(), self.generator.parameters()):
            e.lerp_(p, 1.0 - d)

    # ------------------------------------------------------------ the loop

    def run(self) -> Path:
        cfg = self.cfg
        self.log(
            f"{len(self.data.names)} classes; G {count_parameters(self.generator):,} params, "
            f"critic {count_parameters(self.critic):,}; batch {cfg.batch} × {cfg.crop} px, {cfg.threads} threads"
        )
        started, last_export = time.time(), time.time()
        base_elapsed, base_step = self.elapsed, self.step
        while self.step < cfg.steps and time.time() - started < cfg.minutes * 60:
            self.set_learning_rate((time.time() - started) / (cfg.minutes * 60), self.step - base_step)
            losses = self.train_step()
            self.step += 1
            self.elapsed = base_elapsed + time.time() - started
            self.history["step"].append(self.step)
            for key, value in losses.items():
                self.history.setdefault(key, []).append(round(value, 5))
            if self.step % 25 == 0:
                rate = (self.step - base_step) / max(1e-6, time.time() - started)
                self.log(
                    f"step {self.step}: stats {np.mean(self.history['stats'][-25:]):.4f} "
                    f"adv {np.mean(self.history['adv'][-25:]):.3f} D {np.mean(self.history['D'][-25:]):.3f} "
                    f"painted-class hits {np.mean(self.history['cls'][-25:]):.2f} "
                    f"{rate:.2f} steps/s"
                )
            self.after_step(losses)
            if time.time() - last_export > cfg.export_minutes * 60:
                self.export()  # a time limit or a crash still leaves a usable model
                last_export = time.time()
        return self.export()

    def after_step(self, losses: dict[str, float]) -> None:
        """Called after every step (the editor's Train dialog reports progress and stops here)."""

    def conditions(self) -> list[torch.Tensor]:
        """Per class: its modes' conditioning vectors (class embedding + mode offset), M×c_dim."""
        return [
            self.vectors[k] + self.offsets[int(self.mode_base[k]) : int(self.mode_base[k]) + count]
            for k, count in enumerate(self.data.mode_counts())
        ]

    # ------------------------------------------------------------ export

    def export(self) -> Path:
        self.save()
        sampler = copy.deepcopy(self.ema).eval()
        onnx_path = self.out / "generator.onnx"
        export_onnx(sampler, onnx_path)
        max_abs = onnx_matches(sampler, onnx_path)
        entry = manifest_entry(self, onnx_path, max_abs)
        tmp = self.out / "model.json.tmp"
        tmp.write_text(json.dumps(entry, indent=2), encoding="utf-8")
        os.replace(tmp, self.out / "model.json")
        if self.cfg.register:
            from llmvis_studio.training.gen_train import register_model

            register_model(entry, self.out)
        sample_sheet(sampler, self.conditions(), self.data.names, self.out / "samples" / f"step_{self.step:06d}.png")
        self.log(f"exported step {self.step} ({self.elapsed / 60:.1f} min): ONNX vs torch {max_abs:.1e}")
        return onnx_path


def earlier_commands(model_json: Path, step: int) -> list[str]:
    """The reproduce commands of the sessions before this one (from the run's last export), oldest first."""
    if not model_json.is_file():
        return [f"(an earlier session, {step} steps)"]
    entry = json.loads(model_json.read_text(encoding="utf-8"))
    return list(entry.get("resumed_from", [])) + [f"{entry.get('reproduce', '?')} (to step {step})"]


def noise_inputs(
    n: int, z_channels: int, cells_h: int, cells_w: int, gen: Optional[torch.Generator] = None
) -> tuple[torch.Tensor, torch.Tensor]:
    z = torch.randn(n, z_channels, cells_h, cells_w, generator=gen)
    noise = torch.randn(n, TextureGenerator.NOISE_MAPS, cells_h * DOWNSAMPLE, cells_w * DOWNSAMPLE, generator=gen)
    return z, noise


def export_onnx(generator: TextureGenerator, path: Path) -> None:
    wrapper = ExportWrapper(generator).eval()
    z, noise = noise_inputs(1, generator.z_channels, 3, 4)
    c = torch.randn(1, generator.c_dim)
    tmp = path.with_name(path.stem + ".tmp.onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            wrapper,
            (z, noise, c),
            str(tmp),
            dynamo=False,
            opset_version=17,
            input_names=["z", "noise", "c"],
            output_names=["image"],
            do_constant_folding=True,
            dynamic_axes={
                "z": {0: "batch", 2: "height", 3: "width"},
                "c": {0: "batch"},
                "noise": {0: "batch", 2: "out_height", 3: "out_width"},
                "image": {0: "batch", 2: "out_height", 3: "out_width"},
            },
        )
    os.replace(tmp, path)


def onnx_matches(generator: TextureGenerator, path: Path) -> float:
    """Max |ONNX − torch| at two sizes (the graph must not have frozen the training size)."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    gen = torch.Generator().manual_seed(3)
    worst = 0.0
    for h, w in ((2, 2), (5, 7)):
        z, noise = noise_inputs(2, generator.z_channels, h, w, gen)
        c = torch.randn(2, generator.c_dim, generator=gen)
        with torch.no_grad():
            ref = ExportWrapper(generator).eval()(z, noise, c).numpy()
        got = session.run(["image"], {"z": z.numpy(), "noise": noise.numpy(), "c": c.numpy()})[0]
        worst = max(worst, float(np.abs(got - ref).max()))
    return worst


MODE_NORM = 0.5  # class embeddings are unit vectors about 1 apart; a look is a smaller step off its class


def mode_offsets(count: int, c_dim: int, seed: int = 4321) -> torch.Tensor:
    """Fixed random directions (norm MODE_NORM), one per look of a class; stored in the manifest per class."""
    offsets = torch.randn(count, c_dim, generator=torch.Generator().manual_seed(seed))
    return offsets / offsets.norm(dim=1, keepdim=True) * MODE_NORM


@torch.no_grad()
def sample_sheet(
    generator: TextureGenerator, conditions: list[torch.Tensor], names: list[str], path: Path, size: int = 128
) -> Path:
    from PIL import Image

    gen = torch.Generator().manual_seed(7)
    cells = size // DOWNSAMPLE
    rows = []
    for index in range(len(names)):
        z, noise = noise_inputs(3, generator.z_channels, cells, cells, gen)
        modes = conditions[index]
        images = ExportWrapper(generator)(z, noise, modes[torch.arange(3) % len(modes)])  # three looks
        rows.append(np.concatenate(list(images.clamp(0, 1).permute(0, 2, 3, 1).numpy()), axis=1))
    columns = (len(rows) + 7) // 8
    sheet = np.concatenate([np.concatenate(rows[i * 8 : (i + 1) * 8], axis=0) for i in range(columns)], axis=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.rint(sheet * 255).astype(np.uint8)).save(path)
    return path


def train_from_args(args: argparse.Namespace) -> int:
    """`llmvis-studio train texture`: a user's folder, exported and registered like `train gan`."""
    from pathlib import PurePath

    if args.crop % DOWNSAMPLE or args.crop < 2 * DOWNSAMPLE:
        raise InputError(f"--crop must be a multiple of {DOWNSAMPLE} and at least {2 * DOWNSAMPLE}, not {args.crop}.")
    check_texture_folder(Path(args.data), args.crop)  # the Train dialog refuses the same folders the same way
    model_id = args.model_id or f"texture-{PurePath(Path(args.out).resolve()).name}"
    cfg = TextureConfig(
        data=str(args.data),
        out=str(args.out),
        minutes=args.minutes,
        steps=args.steps,
        batch=args.batch,
        crop=args.crop,
        adv=args.adv,
        threads=args.threads,
        model_id=model_id,
        resume=args.resume,
        register=not args.no_register,
        command=f"llmvis-studio train texture --data {args.data} --out {args.out} --minutes {args.minutes}",
    )
    Trainer(cfg).run()
    print(
        f"{Path(args.out) / 'generator.onnx'}: model '{model_id}'"
        + ("" if args.no_register else ", registered in the user's models folder")
    )
    return 0


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--out", required=True)
    for name in ("minutes", "adv", "lr", "export_minutes", "cls"):
        parser.add_argument("--" + name.replace("_", "-"), type=float, default=getattr(TextureConfig, name))
    for name in ("steps", "batch", "crop", "threads", "seed", "adv_after"):
        parser.add_argument("--" + name.replace("_", "-"), type=int, default=getattr(TextureConfig, name))
    parser.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    parser.add_argument("--install", type=Path, help="after training, copy the model into this models folder")
    parser.add_argument(
        "--until",
        help="stop by this UTC time (HH:MM) even if --minutes is not used up: a run "
        "that waited for the training lock must still end inside its window",
    )
    args = parser.parse_args(argv)
    if args.until:
        import datetime as dt

        now = dt.datetime.now(dt.timezone.utc)
        hour, minute = (int(part) for part in args.until.split(":"))
        end = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
        args.minutes = max(0.5, min(args.minutes, (end - now).total_seconds() / 60.0))
    cfg = TextureConfig(
        **{k: v for k, v in vars(args).items() if k not in ("install", "until")},
        command="python -m llmvis_studio.training.texture_gan " + " ".join(argv or sys.argv[1:]),
    )
    trainer = Trainer(cfg)
    trainer.run()
    if args.install:
        print(install(Path(cfg.out), args.install))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
