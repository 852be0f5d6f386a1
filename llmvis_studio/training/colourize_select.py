"""Pick how the colour-class colourizer decodes, the calibration table's layout and the automatic multiplier, by
cross-validation on the TUNE photos.

    python -m llmvis_studio.training.colourize_select --checkpoint runs/colourize_cls/checkpoint.pt \
        --out runs/colourize_cls/select.json --export models/colourize-unet.onnx

Why cross-validation: the calibration table has up to 480 cells fitted on 12 photos; scored on the photos it was
fitted on it promised +0.56 dB where the same table scored on photos it had not seen gave −0.04 dB (the TUNE→REPORT
gap of the first release). So each candidate is scored 2-fold: the table fitted on half of TUNE, the colourize()
result measured on the other half, at multipliers CV_MULTIPLIERS. Score of a candidate (decode variant × table
layout): the colourfulness ratio at the multiplier where the held-out-half PSNR falls to CV_MARGIN_DB above the
grey input's (linear between grid points); that multiplier becomes the automatic default. Candidates whose PSNR is
below the margin even at the smallest multiplier score 0. Only TUNE photos are read: REPORT and the benchmarks stay
unseen until colourize_calibrate and benchmarks/colourize_quality.py report on them.
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
CV_MARGIN_DB = 0.1


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


def at_margin(rows: dict[float, dict]) -> tuple[float, float]:
    """(multiplier, colourfulness ratio) where the cross-validated PSNR gain falls to CV_MARGIN_DB; (0, 0) if never."""
    ms = sorted(rows)
    if rows[ms[0]]["db"] < CV_MARGIN_DB:
        return 0.0, 0.0
    for lo, hi in zip(ms, ms[1:]):
        if rows[hi]["db"] < CV_MARGIN_DB:
            t = (rows[lo]["db"] - CV_MARGIN_DB) / (rows[lo]["db"] - rows[hi]["db"])
            return round(lo + t * (hi - lo), 2), rows[lo]["cf_ratio"] + t * (
                rows[hi]["cf_ratio"] - rows[lo]["cf_ratio"]
            )
    return ms[-1], rows[ms[-1]]["cf_ratio"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--checkpoint", default="runs/colourize_cls/checkpoint.pt")
    ap.add_argument("--out", default="runs/colourize_cls/select.json")
    ap.add_argument("--export", default="")
    a = ap.parse_args(argv)
    torch.set_num_threads(2)
    net, bins = load_net(a.checkpoint)
    photos = [load(n) for n in TUNE]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for temperature, mix, flip in VARIANTS:
            path = Path(tmp) / "variant.onnx"
            export_onnx(shipped(net, bins, temperature, mix, flip), path)
            infer = onnx_infer(path)
            features = [working_features(infer, img) for img in photos]
            for structure in CANDIDATES:
                rows = cross_validated(infer, photos, features, structure)
                m, cf = at_margin(rows)
                key = f"T{temperature} mix{mix} flip{int(flip)} {structure}"
                results[key] = {
                    "automatic": m,
                    "score_cf_ratio": round(cf, 3),
                    "cv": {str(k): v for k, v in rows.items()},
                }
                print(key, results[key], flush=True)
    best = max(results, key=lambda k: results[k]["score_cf_ratio"])
    variant = next(v for v in VARIANTS if best.startswith(f"T{v[0]} mix{v[1]} flip{int(v[2])} "))
    summary = {
        "chosen": best,
        "temperature": variant[0],
        "mix": variant[1],
        "flip": variant[2],
        "structure": best.split()[-1],
        "automatic": results[best]["automatic"] or 1.0,
        "cv_score_cf_ratio": results[best]["score_cf_ratio"],
        "cv_margin_db": CV_MARGIN_DB,
    }
    Path(a.out).write_text(json.dumps({**summary, "variants": results}, indent=1))
    if a.export:
        export_onnx(shipped(net, bins, *variant), Path(a.export))
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
