"""The exact recipes that produce the shipped models (what `make models-sr` / `make models-denoise` run).

    python -m llmvis_studio.training.recipes sr-x4 sr-x4-pack sr-x4-pack2 sr-x2 sr-x2-pack sr-x2-pack2 sr-x2-pack3 --fresh  # make models-sr
    python -m llmvis_studio.training.recipes denoise denoise-ft denoise-ft2 denoise-ft3 denoise-ft4 denoise-pack denoise-pack2 denoise-pack3 denoise-pack4 denoise-pack5 denoise-pack6 --fresh  # make models-denoise

Each stage is resumable: rerunning continues from runs/<stage>/last.pt unless --fresh is given. Budgets are wall-clock
minutes on one CPU thread unless a stage says --threads (bf16 autocast), so a faster machine trains more steps in
the same time.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from llmvis_studio.training import train
from llmvis_studio.training.tool_cli import run_stages, stage_command, words

RECIPES: dict[str, list[str]] = {
    "sr-x4": words("sr --scale 4 --minutes 30 --batch 16 --patch 192 --lr 1e-3 --channels 64 --blocks 8"),
    # fine-tune of the ×4 net on the shared photo pack (train split) plus the sources above, fp32 (fast on AVX2)
    "sr-x4-pack": words(
        "sr --scale 4 --minutes 75 --batch 16 --patch 192 --lr 2e-4 --channels 64 --blocks 8 --data pack+default --precision fp32 --seed 7 --val-every 100 --ckpt-minutes 5 --init {runs}/sr-x4/last.pt"
    ),
    # a second, longer cosine cycle of the ×4 net on the photo pack, fp32 on 2 threads: sr-x4-pack trained only
    # 1,243 steps on one thread
    "sr-x4-pack2": words(
        "sr --scale 4 --minutes 100 --batch 16 --patch 192 --lr 2e-4 --channels 64 --blocks 8 --data pack+default --precision fp32 --threads 2 --seed 11 --val-every 200 --ckpt-minutes 5 --init {runs}/sr-x4-pack/last.pt"
    ),
    "sr-x2": words(
        "sr --scale 2 --minutes 20 --batch 16 --patch 96 --lr 5e-4 --channels 64 --blocks 8 --init {runs}/sr-x4/last.pt"
    ),
    # fine-tune of the ×2 net on the photo pack plus the sources above, fp32 on 2 threads
    "sr-x2-pack": words(
        "sr --scale 2 --minutes 45 --batch 16 --patch 96 --lr 2e-4 --channels 64 --blocks 8 --data pack+default --precision fp32 --threads 2 --seed 8 --val-every 200 --ckpt-minutes 5 --init {runs}/sr-x2/last.pt"
    ),
    "sr-x2-pack2": words(
        "sr --scale 2 --minutes 90 --batch 16 --patch 96 --lr 1.5e-4 --channels 64 --blocks 8 --data pack+default --precision fp32 --threads 2 --seed 9 --val-every 200 --ckpt-minutes 5 --init {runs}/sr-x2-pack/last.pt"
    ),
    "sr-x2-pack3": words(
        "sr --scale 2 --minutes 120 --batch 16 --patch 96 --lr 1e-4 --channels 64 --blocks 8 --data pack+default --precision fp32 --threads 2 --seed 10 --val-every 200 --ckpt-minutes 5 --init {runs}/sr-x2-pack2/last.pt"
    ),
    "denoise": words("denoise --minutes 25 --batch 16 --patch 96 --lr 1e-3 --channels 64 --blocks 6"),
    # further cosine cycles at lower rates, each starting from the previous stage's weights (fresh optimiser);
    # denoise-ft and denoise-ft2 are part of the shipped denoiser, sr-x4-ft is defined but was not run
    "sr-x4-ft": words(
        "sr --scale 4 --minutes 30 --batch 16 --patch 192 --lr 3e-4 --channels 64 --blocks 8 --init {runs}/sr-x4/last.pt --seed 1"
    ),
    "denoise-ft": words(
        "denoise --minutes 30 --batch 16 --patch 96 --lr 3e-4 --channels 64 --blocks 6 --init {runs}/denoise/last.pt --seed 1"
    ),
    "denoise-ft2": words(
        "denoise --minutes 15 --batch 16 --patch 96 --lr 2e-4 --channels 64 --blocks 6 --init {runs}/denoise-ft/last.pt --seed 2"
    ),
    "denoise-ft3": words(
        "denoise --minutes 10 --batch 16 --patch 96 --lr 1e-4 --threads 2 --channels 64 --blocks 6 --init {runs}/denoise-ft2/last.pt --seed 3"
    ),
    # last stage: larger crops and a Gaussian-heavier mix (still blind: Poisson and JPEG stay in the mix)
    "denoise-ft4": words(
        "denoise --minutes 20 --batch 16 --patch 128 --lr 1e-4 --threads 2 --channels 64 --blocks 6 --init {runs}/denoise-ft3/last.pt --seed 4 --gaussian-share 0.85 --jpeg-share 0.2"
    ),
    # fine-tune of the blind denoiser on the photo pack plus the sources above, fp32 on 2 threads (fast on AVX2)
    "denoise-pack": words(
        "denoise --minutes 25 --batch 16 --patch 128 --lr 1e-4 --threads 2 --channels 64 --blocks 6 --init {runs}/denoise-ft4/last.pt --seed 5 --gaussian-share 0.85 --jpeg-share 0.2 --data pack+default --precision fp32 --val-every 200 --ckpt-minutes 5"
    ),
    # a second, longer cosine cycle on the pack: denoise-pack's validation was still rising when its 25 minutes ended
    "denoise-pack2": words(
        "denoise --minutes 95 --batch 16 --patch 128 --lr 1e-4 --threads 2 --channels 64 --blocks 6 --init {runs}/denoise-pack/last.pt --seed 6 --gaussian-share 0.85 --jpeg-share 0.2 --data pack+default --precision fp32 --val-every 250 --ckpt-minutes 5"
    ),
    # a third cosine cycle, at the precision the machine is fast at (bf16 where AVX-512 BF16 is there, else fp32):
    # denoise-pack2 ended still rising (30.58 → 30.72 dB on the held-out crops)
    "denoise-pack3": words(
        "denoise --minutes 45 --batch 16 --patch 128 --lr 1e-4 --threads 2 --channels 64 --blocks 6 --init {runs}/denoise-pack2/last.pt --seed 7 --gaussian-share 0.85 --jpeg-share 0.2 --data pack+default --precision auto --val-every 250 --ckpt-minutes 5"
    ),
    # a fourth cycle, the same again: denoise-pack3 ended still rising (30.72 → 30.83 dB on the held-out crops)
    "denoise-pack4": words(
        "denoise --minutes 45 --batch 16 --patch 128 --lr 1e-4 --threads 2 --channels 64 --blocks 6 --init {runs}/denoise-pack3/last.pt --seed 8 --gaussian-share 0.85 --jpeg-share 0.2 --data pack+default --precision auto --val-every 250 --ckpt-minutes 5"
    ),
    # a fifth, longer cycle: denoise-pack4 ended still rising (30.83 → 30.92 dB on the held-out crops)
    "denoise-pack5": words(
        "denoise --minutes 60 --batch 16 --patch 128 --lr 1e-4 --threads 2 --channels 64 --blocks 6 --init {runs}/denoise-pack4/last.pt --seed 9 --gaussian-share 0.85 --jpeg-share 0.2 --data pack+default --precision auto --val-every 250 --ckpt-minutes 5"
    ),
    # a sixth: denoise-pack5 ended still rising (30.92 → 30.97 dB on the held-out crops)
    "denoise-pack6": words(
        "denoise --minutes 55 --batch 16 --patch 128 --lr 1e-4 --threads 2 --channels 64 --blocks 6 --init {runs}/denoise-pack5/last.pt --seed 10 --gaussian-share 0.85 --jpeg-share 0.2 --data pack+default --precision auto --val-every 250 --ckpt-minutes 5"
    ),
}
EXPORT = {
    "sr-x4": "sr-compact-x4.onnx",
    "sr-x4-pack": "sr-compact-x4.onnx",
    "sr-x4-pack2": "sr-compact-x4.onnx",
    "sr-x2": "sr-compact-x2.onnx",
    "sr-x2-pack": "sr-compact-x2.onnx",
    "sr-x2-pack2": "sr-compact-x2.onnx",
    "sr-x2-pack3": "sr-compact-x2.onnx",
    "denoise": "denoise-compact.onnx",
    "sr-x4-ft": "sr-compact-x4.onnx",
    "denoise-ft": "denoise-compact.onnx",
    "denoise-ft2": "denoise-compact.onnx",
    "denoise-ft3": "denoise-compact.onnx",
    "denoise-ft4": "denoise-compact.onnx",
    "denoise-pack": "denoise-compact.onnx",
    "denoise-pack2": "denoise-compact.onnx",
    "denoise-pack3": "denoise-compact.onnx",
    "denoise-pack4": "denoise-compact.onnx",
    "denoise-pack5": "denoise-compact.onnx",
    "denoise-pack6": "denoise-compact.onnx",
}


def command(stage: str, runs: Path, models: Path) -> list[str]:
    return stage_command(RECIPES[stage], runs / stage, models / EXPORT[stage])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m llmvis_studio.training.recipes")
    p.add_argument("stages", nargs="+", choices=sorted(RECIPES))
    p.add_argument("--runs", default="runs")
    p.add_argument("--models", default="models")
    p.add_argument("--fresh", action="store_true", help="delete the stage's run folder first")
    a = p.parse_args(argv)
    runs, models = Path(a.runs), Path(a.models)
    return run_stages(a.stages, runs, a.fresh, lambda stage: command(stage, runs, models), train.main)


if __name__ == "__main__":
    sys.exit(main())
