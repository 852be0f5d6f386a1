"""Pick how the colour-class colourizer decodes, the calibration table's layout and the automatic multiplier, by
cross-validation on the TUNE photos.

    python -m llmvis_studio.training.colourize_select --checkpoint runs/colourize_cls/checkpoint.pt \
        --out runs/colourize_cls/select.json --export models/colourize-unet.onnx

Why cross-validation: the calibration table has up to 480 cells fitted on 12 photos; scored on the photos it was
fitted on it promised +0.56 dB where the same table scored on photos it had not seen gave −0.04 dB (the TUNE→REPORT
gap of the first release). So each candidate is scored 2-fold: the table fitted on half of TUNE, the colourize()
result measured on the other half, at multipliers CV_MULTIPLIERS. Score of a candidate (decode variant × table
layout): the held-out-half PSNR gain over the grey input at the multiplier where the colourfulness ratio reaches
TARGET_CF (linear between grid points; the must-show asks 0.5 of the originals' colourfulness with PSNR at least
the grey input's, so the target keeps a margin on colour and the score is the margin on PSNR); that multiplier
becomes the automatic default. Candidates that never reach TARGET_CF score −inf. Only TUNE photos are read: REPORT
and the benchmarks stay unseen until colourize_calibrate and benchmarks/colourize_quality.py report on them.
--rescore applies the rule to a saved select.json without re-running the nets.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

from llmvis_studio.engine.ops.colourize import ColourizeParams
from llmvis_studio.training.archs.colourize import ColourUNet
from llmvis_studio.training.colourize_calibrate import (
    CANDIDATES,
    TUNE,
    calibration,
    evaluate,
    fit_table,
    load,
    onnx_infer,
    working_features,
)
from llmvis_studio.training.train_colourize import export_onnx, shipped

# (temperature, share of the annealed mean, flip averaging)
VARIANTS = ((0.38, 1.0, False), (0.38, 1.0, True), (0.38, 0.5, True), (0.25, 1.0, True))
CV_MULTIPLIERS = (1.25, 1.75, 2.25)
TARGET_CF = 0.55


def load_net(checkpoint: str) -> tuple[ColourUNet, dict]:
    state = torch.load(checkpoint, map_location="cpu", weights_only=False)
    config = state["config"]
    net = ColourUNet(tuple(config["widths"]), bins=config.get("bins", 0))
    net.load_state_dict(state["model"])
    return net.eval(), state.get("bins")


def cross_validated(infer, photos, features, structure: str) -> dict[float, dict]:
    """Per multiplier: mean over the two folds of (PSNR − grey, colourfulness ratio), tables fitted on the other fold."""
    folds = (list(range(0, len(photos), 2)), list(range(1, len(photos), 2)))
    rows: dict[float, list] = {m: [] for m in CV_MULTIPLIERS}
    for k, held in enumerate(folds):
        gains = fit_table([features[i] for i in folds[1 - k]], structure)
        for m in CV_MULTIPLIERS:
            table = calibration(gains, m, structure=structure)
            r = evaluate(infer, [photos[i] for i in held], ColourizeParams(calibration=table))
            rows[m].append((r["auto_minus_grey_db"], r["cf_ratio"], r["yellow_shift_cool"] - r["yellow_shift_grey"]))
    return {
        m: dict(zip(("db", "cf_ratio", "yellow_over_grey"), np.mean(v, 0).round(3).tolist())) for m, v in rows.items()
    }


def at_target(rows: dict[float, dict]) -> tuple[float, float]:
    """(multiplier, PSNR gain over grey in dB) where the cross-validated colourfulness ratio reaches TARGET_CF."""
    ms = sorted(rows)
    for lo, hi in zip(ms, ms[1:]):
        if rows[lo]["cf_ratio"] <= TARGET_CF <= rows[hi]["cf_ratio"]:
            t = (TARGET_CF - rows[lo]["cf_ratio"]) / max(rows[hi]["cf_ratio"] - rows[lo]["cf_ratio"], 1e-9)
            return round(lo + t * (hi - lo), 2), rows[lo]["db"] + t * (rows[hi]["db"] - rows[lo]["db"])
    if rows[ms[0]]["cf_ratio"] >= TARGET_CF:
        return ms[0], rows[ms[0]]["db"]
    return 0.0, float("-inf")


def summarise(results: dict[str, dict]) -> dict:
    for r in results.values():
        m, db = at_target({float(k): v for k, v in r["cv"].items()})
        r.update({"automatic": m, "score_db": round(db, 3)})
    best = max(results, key=lambda k: results[k]["score_db"])
    temperature, mix, flip, structure = best.split()
    return {
        "chosen": best,
        "temperature": float(temperature[1:]),
        "mix": float(mix[3:]),
        "flip": flip == "flip1",
        "structure": structure,
        "automatic": results[best]["automatic"] or 1.0,
        "cv_score_db": results[best]["score_db"],
        "cv_target_cf": TARGET_CF,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--checkpoint", default="runs/colourize_cls/checkpoint.pt")
    ap.add_argument("--out", default="runs/colourize_cls/select.json")
    ap.add_argument("--export", default="")
    ap.add_argument("--rescore", action="store_true", help="re-apply the rule to --out's saved candidates")
    a = ap.parse_args(argv)
    torch.set_num_threads(2)
    net, bins = load_net(a.checkpoint)
    if a.rescore:
        results = {k: {"cv": v["cv"]} for k, v in json.loads(Path(a.out).read_text())["variants"].items()}
    else:
        results = run_candidates(net, bins, [load(n) for n in TUNE])
    summary = summarise(results)
    Path(a.out).write_text(json.dumps({**summary, "variants": results}, indent=1))
    if a.export:
        export_onnx(shipped(net, bins, summary["temperature"], summary["mix"], summary["flip"]), Path(a.export))
    print(json.dumps(summary, indent=1))
    return 0


def run_candidates(net, bins, photos) -> dict[str, dict]:
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for temperature, mix, flip in VARIANTS:
            path = Path(tmp) / "variant.onnx"
            export_onnx(shipped(net, bins, temperature, mix, flip), path)
            infer = onnx_infer(path)
            features = [working_features(infer, img) for img in photos]
            for structure in CANDIDATES:
                rows = cross_validated(infer, photos, features, structure)
                key = f"T{temperature} mix{mix} flip{int(flip)} {structure}"
                results[key] = {"cv": {str(k): v for k, v in rows.items()}}
                print(key, results[key], flush=True)
    return results


if __name__ == "__main__":
    sys.exit(main())
