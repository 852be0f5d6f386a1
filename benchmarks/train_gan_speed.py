"""`llmvis-studio train gan` on a 24-image, two-class folder: 60 steps at 32 px, wall time of the whole command.

Issue 13's target: ≤ 60 s on 2 AVX2 cores (precision chosen by timing; bf16 autocast is ~20× slower there).
The folder is made from crops of the bundled sample photo (12 per class, 128 px), so the benchmark needs no data.
Prints JSON with the CPU kind, the precision the run chose and its measured per-step times.

    python benchmarks/train_gan_speed.py [--steps 60] [--threads 2]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import ROOT, emit
from PIL import Image


def make_folder(root: Path, per_class: int = 12, size: int = 128) -> Path:
    with Image.open(ROOT / "resources" / "sample.png") as im:
        photo = np.asarray(im.convert("RGB"))
    rng = np.random.default_rng(0)
    h, w = photo.shape[:2]
    for label, rows in (("sky", (0, h // 3)), ("ground", (h // 2, h - size))):
        folder = root / label
        folder.mkdir(parents=True)
        for i in range(per_class):
            y = int(rng.integers(rows[0], max(rows[0] + 1, min(rows[1], h - size))))
            x = int(rng.integers(0, w - size))
            Image.fromarray(photo[y : y + size, x : x + size]).save(folder / f"{label}{i:02d}.png")
    return root


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = make_folder(Path(tmp) / "data")
        run = Path(tmp) / "run"
        command = [
            sys.executable,
            "-m",
            "llmvis_studio",
            "train",
            "gan",
            "--data",
            str(data),
            "--out",
            str(run),
            "--size",
            "32",
            "--steps",
            str(args.steps),
            "--threads",
            str(args.threads),
            "--no-register",
        ]
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
        seconds = time.perf_counter() - started
        log = (run / "train.log").read_text() if (run / "train.log").exists() else done.stderr
    precision = re.search(r"precision (\w+) \(([^)]*)\)", log)
    emit(
        {
            "benchmark": "train_gan_speed",
            "steps": args.steps,
            "size": 32,
            "images": 24,
            "threads": args.threads,
            "ok": done.returncode == 0,
            "seconds": round(seconds, 1),
            "target_seconds": 60,
            "precision": precision.group(1) if precision else None,
            "precision_timing": precision.group(2) if precision else None,
            "error": None if done.returncode == 0 else done.stderr.strip().splitlines()[-1:],
        }
    )


if __name__ == "__main__":
    main()
