"""Write models/cards/<id>.md for the models trained here, from the manifest entry, the run log and the data list.

python -m llmvis_studio.training.model_card sr-compact-x4 sr-compact-x2 denoise-compact [--runs runs]
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from llmvis_studio.training import data, export, photo_pack
from llmvis_studio.training.recipes import RECIPES, command

STAGE = {"sr-compact-x4": "sr-x4", "sr-compact-x2": "sr-x2", "denoise-compact": "denoise"}
# every stage that leads to the shipped weights, in order (later stages start from earlier ones' weights)
CHAIN = {
    "sr-compact-x4": ["sr-x4", "sr-x4-pack", "sr-x4-pack2"],
    "sr-compact-x2": ["sr-x4", "sr-x2", "sr-x2-pack", "sr-x2-pack2", "sr-x2-pack3"],
    "denoise-compact": [
        "denoise",
        "denoise-ft",
        "denoise-ft2",
        "denoise-ft3",
        "denoise-ft4",
        "denoise-pack",
        "denoise-pack2",
        "denoise-pack3",
        "denoise-pack4",
        "denoise-pack5",
        "denoise-pack6",
    ],
}
MAKE_STAGES = {
    "models-sr": "sr-x4 sr-x4-pack sr-x4-pack2 sr-x2 sr-x2-pack sr-x2-pack2 sr-x2-pack3",
    "models-denoise": " ".join(CHAIN["denoise-compact"]),
}
MAKE = {"sr-compact-x4": "make models-sr", "sr-compact-x2": "make models-sr", "denoise-compact": "make models-denoise"}

VAL = {
    "sr": "PSNR-Y on fixed crops of the held-out training-source photos " + ", ".join(data.VALIDATION_NAMES),
    "denoise": "PSNR RGB at Gaussian σ=25 on fixed crops of the held-out training-source photos "
    + ", ".join(data.VALIDATION_NAMES),
}
# stages whose logs this checkout no longer holds: what their log said (copied from the card written after the run)
RECORDED = {
    "sr-x4": {"steps": "2904", "minutes": "30.0", "it_s": "1.74", "val_psnr": "34.747", "precision": "bf16"},
    "sr-x4-pack": {"steps": "1243", "minutes": "75.0", "it_s": "0.30", "val_psnr": "28.636", "precision": "fp32"},
    "sr-x2": {"steps": "2367", "minutes": "20.0", "it_s": "2.06", "val_psnr": "42.050", "precision": "bf16"},
    "denoise": {"steps": "3930", "minutes": "25.0", "it_s": "2.66", "val_psnr": "32.183"},
    "denoise-ft": {"steps": "5084", "minutes": "30.0", "it_s": "2.90", "val_psnr": "32.694"},
    "denoise-ft2": {"steps": "1784", "minutes": "15.0", "it_s": "2.00", "val_psnr": "32.789"},
    "denoise-ft3": {"steps": "2179", "minutes": "10.0", "it_s": "5.16", "val_psnr": "32.803"},
    "denoise-ft4": {"steps": "1063", "minutes": "20.0", "it_s": "1.58", "val_psnr": "32.859"},
    "sr-x4-pack2": {"steps": "2323", "minutes": "100.0", "it_s": "0.40", "val_psnr": "28.657", "precision": "fp32"},
    "sr-x2-pack": {"steps": "1520", "minutes": "45.0", "it_s": "0.57", "val_psnr": "33.532", "precision": "fp32"},
    "sr-x2-pack2": {"steps": "2696", "minutes": "90.0", "it_s": "0.53", "val_psnr": "33.572", "precision": "fp32"},
    "sr-x2-pack3": {"steps": "3787", "minutes": "120.0", "it_s": "0.55", "val_psnr": "33.581", "precision": "fp32"},
    "denoise-pack": {"steps": "392", "minutes": "25.0", "it_s": "0.26", "val_psnr": "30.581", "precision": "fp32"},
    "denoise-pack2": {"steps": "2499", "minutes": "95.0", "it_s": "0.46", "val_psnr": "30.717", "precision": "fp32"},
    "denoise-pack3": {"steps": "6483", "minutes": "45.0", "it_s": "2.45", "val_psnr": "30.834", "precision": "bf16"},
    "denoise-pack4": {"steps": "7355", "minutes": "45.0", "it_s": "2.92", "val_psnr": "30.917", "precision": "bf16"},
    "denoise-pack5": {"steps": "7990", "minutes": "60.0", "it_s": "2.51", "val_psnr": "30.966", "precision": "bf16"},
    "denoise-pack6": {"steps": "7986", "minutes": "55.0", "it_s": "2.46", "val_psnr": "31.011", "precision": "bf16"},
}
# how a shipped run started where it differs from the recipe (same weights, other file)
STAGE_NOTE = {
    "sr-x4-pack": " The shipped run started via `--init` from models/sr-compact-x4.onnx of 2026-11-29 (the onnx "
    "initialisers: the same weights as sr-x4's last.pt, which was not kept). It ran where the wallpaper packages "
    "were not installed: its `default` part was the 16 in-package training images of the table (scikit-image, "
    "scikit-learn, matplotlib), 484 training images in all with the pack's 468.",
    "denoise-pack": " The shipped run started via `--init` from models/denoise-compact.onnx of 2026-11-29 (the same "
    "weights as denoise-ft4's last.pt, which was not kept); 507 training images (the pack's 468 and the table's 39); "
    "the machine ran a test suite beside it for 20 of its 25 minutes (0.2-0.4 it/s).",
    "denoise-pack2": " From denoise-pack's last.pt; 507 training images (the pack's 468 and the table's 39); for its "
    "first 35 minutes benchmark experiments shared the machine (0.24-0.27 it/s; about 0.48 alone).",
    "denoise-pack3": " The shipped run started via `--init` from models/denoise-compact.onnx sha256 32a13776… (the "
    "same weights as denoise-pack2's last.pt, which was not kept); 507 training images; on an AMD EPYC with AVX-512 "
    "BF16 and VNNI (family 26 model 2), where `--precision auto` timed fp32 at 192 and bf16 at 114 ms/step and took "
    "bf16 (2.1-2.6 it/s; the step's own compute sets the rate: making a batch of 16 degraded crops takes 0.02-0.05 s of "
    "the ~0.35 s step, measured 2026-12-02). Its validation swung "
    "between 30.52 and 30.82 dB while the rate was high and settled at 30.81-30.83 over the last 1,000 steps; the "
    "export is the last step's weights, not the best validation's. On whole held-out photos "
    "(benchmarks/denoise_heldout.py) σ 25 rose from 31.18 to 31.30 dB, on Set5/Set14 from 30.29 to 30.46.",
    "denoise-pack4": " The shipped run started via `--init` from models/denoise-compact.onnx sha256 24d4d954… (the "
    "same weights as denoise-pack3's last.pt, which was not kept), on the same CPU (auto: fp32 133, bf16 77 ms/step; "
    "bf16). Validation 30.64-30.94 dB on the way, 30.91-30.92 over the last 1,250 steps; the export is the last "
    "step's weights. Whole held-out photos σ 25: 31.30 → 31.39 dB; Set5/Set14: 30.46 → 30.55.",
    "denoise-pack5": " From denoise-pack4's last.pt (the same weights as denoise-pack4's models/denoise-compact.onnx, "
    "sha256 bf9e2f20…), 60 minutes on the same CPU (auto: fp32 132, bf16 80 ms/step; bf16); for about 12 of its minutes "
    "inpainting benchmarks shared the machine (0.6-0.7 it/s; 2.5-2.9 alone). Validation 30.82-30.98 dB on the way, "
    "30.95-30.97 over the last 1,000 steps; the export is the last step's weights. Whole held-out photos σ 25: "
    "31.39 → 31.44 dB; Set5/Set14: 30.55 → 30.59.",
    "denoise-pack6": " From denoise-pack5's last.pt (the same weights as its models/denoise-compact.onnx, sha256 "
    "7e142c8e…), "
    "55 minutes on the same CPU (auto: fp32 140, bf16 79 ms/step; bf16), nothing else running for all but its first "
    "3 minutes. Validation 30.61-31.02 dB on the way, 31.00-31.02 over the last 1,000 steps; the export is the last "
    "step's weights. Whole held-out photos σ 25: 31.44 → 31.50 dB; Set5/Set14: 30.59 → 30.63.",
    "sr-x4-pack2": " The shipped run started via `--init` from models/sr-compact-x4.onnx sha256 5b4d66e0… (the same "
    "weights as sr-x4-pack's last.pt, which was not kept); 507 training images (the pack's 468 and the table's 39); "
    "for its first 20 minutes damage-restore experiments shared the machine (0.20-0.36 it/s; 0.41-0.46 alone), on an "
    "AMD EPYC of the first Zen generation (family 23 model 1).",
    "sr-x2-pack": " The shipped run started via `--init` from models/sr-compact-x2.onnx of 2026-11-29 (the same "
    "weights as sr-x2's last.pt, which was not kept); 507 training images (the pack's 468 and the table's 39).",
    "sr-x2-pack2": " From sr-x2-pack's last.pt; 507 training images; for its first 35 minutes texture-fill experiments "
    "shared the machine (0.37-0.52 it/s; 0.57 alone).",
    "sr-x2-pack3": " From sr-x2-pack2's last.pt; 507 training images; for its first 25 minutes damage-mask "
    "experiments shared the machine (0.22-0.40 it/s; 0.58 alone). Validation hovered at 33.56-33.59 throughout.",
}
# what train.validate measures on the photo pack's held-out photos, per kind (sr: PSNR-Y; denoise: RGB at σ 25)
PACK_VAL = {
    "sr": "PSNR-Y on fixed crops of the photo pack's held-out photos " + ", ".join(photo_pack.HELD_OUT),
    "denoise": "PSNR RGB at Gaussian σ=25 on fixed crops of the photo pack's held-out photos "
    + ", ".join(photo_pack.HELD_OUT),
}
PACK_DATA = (
    "The stages with `--data pack+default` add the shared photo pack (../shared/training/photos, train split of "
    "llmvis_studio/training/photo_pack.py, longest side capped at 1280 px): BSDS500 train + test (400 photos; Corel "
    "images distributed for research by UC Berkeley), Kodak24 (released by Eastman Kodak for unrestricted use) and 49 "
    "Wikimedia Commons photos (licence per file in photos/wikimedia/SOURCES.md: CC-BY / CC-BY-SA / public domain, "
    "attribution there), without the held-out photos " + ", ".join(photo_pack.HELD_OUT) + "."
)
ARCH = {
    "sr-x4": "CompactSR (llmvis_studio/training/archs/sr.py): conv 3→64, 8 residual blocks (conv-ReLU-conv + skip), "
    "conv + global skip, one conv 64→48 at low resolution, PixelShuffle(4), plus a nearest-neighbour copy "
    "of the input. Every convolution runs at the input resolution.",
    "sr-x2": "CompactSR (llmvis_studio/training/archs/sr.py): conv 3→64, 8 residual blocks (conv-ReLU-conv + skip), "
    "conv + global skip, one conv 64→12 at low resolution, PixelShuffle(2), plus a nearest-neighbour copy "
    "of the input. Initialised from the ×4 model's body (all tensors but the upsampler).",
    "denoise": "CompactDenoise (llmvis_studio/training/archs/denoise.py): PixelUnshuffle(2), conv 12→64, 6 residual "
    "blocks at half resolution, conv 64→12, PixelShuffle(2); predicts the noise, output = input − noise. "
    "Stride 2 (pad inputs to even sizes).",
}
DEGRADE = {
    "sr": "HR crops (192 px for ×4, 96 px for ×2; random flips/90° rotations; half of them taken from a window up to "
    "2× larger and downscaled), LR = Pillow BICUBIC downscale (antialiased) — the benchmark protocol's "
    "degradation. Loss: L1 on RGB.",
    "denoise": "96 px crops (flips/rotations, scale augmentation); degradations made on the fly: mild Gaussian blur "
    "(p 0.15, σ 0.3–1 px), then Gaussian noise σ 0–55 (p 0.75, a fifth of it partly luminance-"
    "correlated) or Poisson noise (p 0.15, 10–1000 photons at white), clipped, then JPEG quality 10–90 "
    "(p 0.35) or 8-bit rounding. Target: the clean crop. Loss: L1 on RGB.",
}


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _pkg_versions() -> dict[str, str]:
    out = {}
    for pkg in data.APT_PACKAGES:
        try:
            v = subprocess.run(
                ["dpkg-query", "-W", "-f=${Version}", pkg], capture_output=True, text=True, check=True
            ).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            v = "not installed"
        out[pkg] = v
    return out


def wallpaper_packages() -> str:
    """'package version, …' of the Debian wallpaper packages the training photos come from."""
    return ", ".join(f"{k} {v}" for k, v in _pkg_versions().items())


def training_images_table() -> str:
    """Markdown rows (name | split | origin | sha256) of every training and validation photo."""
    return "\n".join(
        f"| {s['name']} | {s['split']} | `{s['origin']}` | `{s['sha256']}` |" for s in data.training_manifest()
    )


def log_facts(log: Path) -> dict[str, str]:
    """What a training log says of its run: steps, minutes, mean it/s, resumes, and the final validation (`val`:
    the text after "val", `val_psnr`: the number of an SR/denoise run)."""
    facts: dict[str, str] = {}
    if not log.exists():
        return facts
    text = log.read_text(encoding="utf-8")
    m = re.findall(r"trained (\d+) steps in ([\d.]+) min", text)
    if m:
        facts["steps"], facts["minutes"] = m[-1]
    m = re.findall(r"final step \d+ val_psnr ([\d.]+)", text)
    if m:
        facts["val_psnr"] = m[-1]
    m = re.findall(r"final step \d+ val (.*)", text)
    if m:
        facts["val"] = m[-1]
    m = re.findall(r"it/s ([\d.]+)", text)
    if m:
        rates = [float(x) for x in m]
        facts["it_s"] = f"{sum(rates) / len(rates):.2f}"
    m = re.findall(r"precision (fp32|bf16)", text)
    if m:
        facts["precision"] = m[-1]
    facts["resumes"] = str(text.count("resumed from"))
    return facts


IMAGES_TABLE_HEAD = "| name | split | origin | sha256 |\n|---|---|---|---|\n"  # the cards' training-images table


def _stage_line(st: str, f: dict[str, str], kind: str) -> str:
    """One stage's line on the card: recipe (rate, schedule, batch, data, threads) and what its log says."""
    r = RECIPES[st]
    init = f", starting from `{r[r.index('--init') + 1].replace('{runs}', 'runs')}`" if "--init" in r else ""
    threads = r[r.index("--threads") + 1] if "--threads" in r else "1"
    mix = (
        f", noise mix: Gaussian share {r[r.index('--gaussian-share') + 1]}, JPEG share {r[r.index('--jpeg-share') + 1]}"
        if "--gaussian-share" in r
        else ""
    )
    pack = "--data" in r and "pack" in r[r.index("--data") + 1]
    mix += f", data `{r[r.index('--data') + 1]}`" if "--data" in r else ""
    precision = {"bf16": "bfloat16 autocast", "fp32": "fp32"}.get(f.get("precision", ""), "precision not logged")
    return (
        f"- Stage `{st}`{init}: Adam (β 0.9/0.99), learning rate {r[r.index('--lr') + 1]} with 100 "
        f"warm-up steps and a cosine decay to 1 % over {r[r.index('--minutes') + 1]} minutes of wall "
        f"clock, batch {r[r.index('--batch') + 1]}, patch {r[r.index('--patch') + 1]} px{mix}, "
        f"{threads} CPU thread(s), {precision}. This run: "
        f"{f.get('steps', '?')} steps in {f.get('minutes', '?')} min (mean {f.get('it_s', '?')} it/s), "
        f"held-out validation {f.get('val_psnr', '?')} dB at the end ({PACK_VAL[kind] if pack else VAL[kind]}).{STAGE_NOTE.get(st, '')}\n"
    )


def training_stages(model_id: str, runs: Path) -> tuple[str, str]:
    """The card's per-stage training lines (from each stage's recipe and log) and the commands that reproduce them."""
    stages_md = ""
    cmds = []
    total = 0.0
    for st in CHAIN[model_id]:
        f = log_facts(runs / st / "train.log") or RECORDED.get(st, {})
        total += float(f.get("minutes", 0) or 0)
        stages_md += _stage_line(st, f, RECIPES[STAGE[model_id]][0])
        cmds.append(" ".join(["python -m llmvis_studio.training.train"] + command(st, Path("runs"), Path("models"))))
    stages_md += f"- Total training time: {total:.1f} min of wall clock."
    return stages_md, "\n".join(cmds)


ROLE = {
    "sr": "Default upscaler for ×{scale} (faithful, PSNR-oriented); Real-ESRGAN x4plus stays available as the sharp "
    "choice.",
    "denoise": "Default denoiser (blind: Gaussian/Poisson noise up to σ≈50, JPEG quality 10–90, mild blur).",
}
PROTOCOL = {
    "sr": "PSNR-Y protocol: BT.601 Y (16–235), border shaved by the scale, LR = Pillow BICUBIC downscale of the HR "
    "cropped to a multiple of the scale, output rounded to 8 bits, onnxruntime CPU. Bicubic with this protocol: "
    "Set5 ×4 28.43, ×2 33.67 (published 28.42 / 33.66).",
    "denoise": "Denoise protocol: Set5 + Set14 colour images, AWGN σ 15/25/50 on the 0–255 scale, seeded, clipped to "
    "[0, 1]; PSNR over RGB of the 8-bit output. CBM3D figures are published CBSD68 results (other images), "
    "listed for reference only.",
}


def write_card(model_id: str, runs: Path, models: Path) -> Path:
    entry = export.manifest_entry_of(models, model_id)
    stage, kind = STAGE[model_id], RECIPES[STAGE[model_id]][0]
    stages_md, cmds = training_stages(model_id, runs)
    rows = training_images_table()
    pkgs = wallpaper_packages()
    uses_pack = any("pack+default" in RECIPES[st] for st in CHAIN[model_id])
    pack = f"\n{PACK_DATA}" if uses_pack else ""
    heldout = f", `python benchmarks/{kind}_heldout.py --update-manifest`" if uses_pack else ""
    metrics = "\n".join(f"| {k} | {json.dumps(v, ensure_ascii=False)} |" for k, v in entry.get("metrics", {}).items())
    text = f"""# {entry["name"]} — `{model_id}`

Task `{entry["task"]}`, scale {entry["scale"]}, stride {entry["stride"]}. File `models/{entry["file"]}`
(sha256 `{entry["sha256"]}`), one self-contained ONNX (opset 17), input `image`, output `output`, RGB float NCHW in
[0, 1], dynamic height/width. Parameters: {entry["parameters"]:,}. Licence: {entry["licence"]}.
{ROLE[kind].format(scale=entry["scale"])}

## Architecture
{ARCH[stage]}

## Training
- Data: {DEGRADE[kind]}
{stages_md}
- Hardware: {_cpu()}, Python {platform.python_version()}, torch (CPU), the threads and precision each stage
  lists. The machine was shared with other jobs during these runs, so a quiet machine trains more steps
  in the same wall-clock budget.

## Reproduce from scratch
`{MAKE[model_id]}`, which runs (after `apt-get install -y {" ".join(data.APT_PACKAGES)}`):

```
python -m llmvis_studio.training.recipes {MAKE_STAGES[MAKE[model_id].split()[-1]]} --fresh
```

i.e. for this model:

```
{cmds}
```

then `python benchmarks/{"sr" if kind == "sr" else "denoise"}_quality.py --update-manifest`{heldout} and
`python -m llmvis_studio.training.model_card {model_id}`. Training is time-budgeted, so a rerun gives a close but not
bit-identical model.

## Measured metrics (manifest `metrics`)
| metric | value |
|---|---|
{metrics}

{PROTOCOL[kind]}

## Training images
Debian packages: {pkgs} (photographic wallpapers only; drawn and abstract ones are excluded by name in
`llmvis_studio/training/data.py`). Each image is decoded, its longest side capped at {data.MAX_SIDE} px (Pillow
BICUBIC), and kept in memory. sha256 is of the source file, or of the raw pixel array for in-package arrays.
Licences are those of the source packages (scikit-image, scikit-learn, matplotlib sample data; the wallpaper
packages' `/usr/share/doc/<package>/copyright`); no image is redistributed with the model.
{pack}

{IMAGES_TABLE_HEAD}{rows}
"""
    return export.write_card(models, model_id, text)


def card_parser(module: str, **ids: Any) -> argparse.ArgumentParser:
    """The card scripts' command line: model ids (positional, `ids` configures them), --runs and --models."""
    ap = argparse.ArgumentParser(prog=f"python -m llmvis_studio.training.{module}")
    ap.add_argument("ids", **ids)
    ap.add_argument("--runs", default="runs")
    ap.add_argument("--models", default="models")
    return ap


def main(argv: list[str] | None = None) -> int:
    a = card_parser("model_card", nargs="+", choices=sorted(STAGE)).parse_args(argv)
    for mid in a.ids:
        print(write_card(mid, Path(a.runs), Path(a.models)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
