"""Pick the colourizer's chroma gain on the held-out training-source photos (never on benchmarks).

    python -m llmvis_studio.training.colourize_tune --onnx models/colourize-unet.onnx --out runs/colourize/tune.json

Why a gain: a net trained for minutes is unsure of most colours; scaling its chroma trades PSNR against colourfulness.
Kept: among the gains whose held-out PSNR stays above the grey input's, the smallest reaching TARGET_RATIO of the
originals' colourfulness, else the most colourful of them (see choose_gain).
The engine reads it from the manifest entry (`chroma_gain`). Everything runs through the engine's colourize().
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from llmvis_studio.core.metrics import colourfulness, dot_hints, grey_of, psnr
from llmvis_studio.engine.ops.colourize import ColourizeParams, colourize
from llmvis_studio.training.train_colourize import HELD_OUT, PHOTOS, _load_small

GAINS = (0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 1.75, 2.0)
PSNR_MARGIN = 0.1  # dB above the grey input's PSNR
TARGET_RATIO = 0.65
SIDE = 768  # held-out photos at about the size of the benchmark images


def evaluate(infer, photos, gain: float, counts=(0,)) -> dict[str, float]:
    sums: dict[str, float] = {}
    for i, img in enumerate(photos):
        grey = grey_of(img)
        sums["grey"] = sums.get("grey", 0.0) + psnr(grey, img)
        sums["cf_orig"] = sums.get("cf_orig", 0.0) + colourfulness(img)
        for count in counts:
            hints = dot_hints(img, count, 100 + i) if count else None
            out = colourize(grey, infer, ColourizeParams(hints=hints, gain=gain))
            sums[f"psnr_{count}"] = sums.get(f"psnr_{count}", 0.0) + psnr(out, img)
            if count == 0:
                sums["cf_auto"] = sums.get("cf_auto", 0.0) + colourfulness(out)
    mean = {k: v / len(photos) for k, v in sums.items()}
    if "cf_auto" in mean:
        mean["cf_ratio"] = mean["cf_auto"] / mean["cf_orig"]
    return mean


def choose_gain(table: dict[str, dict[str, float]]) -> float:
    """Among gains keeping PSNR above the grey input's: the smallest reaching the colourfulness target, else the most
    colourful one; if no gain keeps PSNR above grey, the best-PSNR gain."""
    safe = [g for g in GAINS if table[str(g)]["psnr_0"] >= table[str(g)]["grey"] + PSNR_MARGIN]
    if not safe:
        return max(GAINS, key=lambda g: table[str(g)]["psnr_0"])
    vivid = [g for g in safe if table[str(g)]["cf_ratio"] >= TARGET_RATIO]
    return vivid[0] if vivid else max(safe, key=lambda g: table[str(g)]["cf_ratio"])


def main(argv: list[str] | None = None) -> int:
    import onnxruntime as ort

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--onnx", default="models/colourize-unet.onnx")
    ap.add_argument("--out", default="runs/colourize/tune.json")
    a = ap.parse_args(argv)
    sess = ort.InferenceSession(a.onnx, providers=["CPUExecutionProvider"])
    infer = lambda x: sess.run(["ab"], {"input": x})[0]  # noqa: E731
    photos = [_load_small(PHOTOS / rel, SIDE) for rel in HELD_OUT if (PHOTOS / rel).is_file()]
    table = {str(g): evaluate(infer, photos, g) for g in GAINS}
    gain = choose_gain(table)
    hinted = evaluate(infer, photos, gain, counts=(0, 10, 50))
    result = {
        "chroma_gain": gain,
        "target_ratio": TARGET_RATIO,
        "by_gain": table,
        "hints_at_gain": hinted,
        "photos": [rel for rel in HELD_OUT if (PHOTOS / rel).is_file()],
    }
    Path(a.out).write_text(json.dumps(result, indent=2))
    print(json.dumps({"chroma_gain": gain, "at_gain": table[str(gain)], "hints": hinted}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
