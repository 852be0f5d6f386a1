"""Pick how the colour-class colourizer decodes (annealing temperature, share of the annealed mean) on TUNE photos.

    python -m llmvis_studio.training.colourize_select --checkpoint runs/colourize_cls/checkpoint.pt \
        --out runs/colourize_cls/select.json --export models/colourize-unet.onnx

For each decode variant: export the ONNX graph (the decode inside, archs/colourize.AnnealedColourizer), fit the
calibration table on TUNE (colourize_calibrate.fit_table) and sweep its multiplier. Score = the colourfulness ratio
reachable on TUNE while the mean PSNR stays AUTO_MARGIN_DB above the grey input's (what the automatic default must
do on unseen photos). The best variant is exported to --export. Only TUNE photos are read: REPORT and the benchmarks
stay unseen until colourize_calibrate and benchmarks/colourize_quality.py report on them.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import torch

from llmvis_studio.engine.ops.colourize import ColourizeParams
from llmvis_studio.training.archs.colourize import ColourUNet
from llmvis_studio.training.colourize_calibrate import (
    AUTO_MARGIN_DB,
    MULTIPLIERS,
    TUNE,
    calibration,
    evaluate,
    fit_table,
    load,
    onnx_infer,
    working_features,
)
from llmvis_studio.training.train_colourize import export_onnx, shipped

VARIANTS = ((0.38, 1.0), (0.5, 1.0), (0.7, 1.0), (1.0, 1.0), (0.5, 0.5), (1.0, 0.0))  # (temperature, mix)


def load_net(checkpoint: str) -> tuple[ColourUNet, dict]:
    state = torch.load(checkpoint, map_location="cpu", weights_only=False)
    config = state["config"]
    net = ColourUNet(tuple(config["widths"]), bins=config.get("bins", 0))
    net.load_state_dict(state["model"])
    return net.eval(), state.get("bins")


def score_variant(onnx_path: Path, photos) -> dict:
    infer = onnx_infer(onnx_path)
    gains = fit_table([working_features(infer, img) for img in photos])
    rows = {m: evaluate(infer, photos, ColourizeParams(calibration=calibration(gains, m))) for m in MULTIPLIERS}
    safe = [m for m in MULTIPLIERS if rows[m]["auto_minus_grey_db"] >= AUTO_MARGIN_DB]
    best = max(safe, key=lambda m: rows[m]["cf_ratio"]) if safe else None
    return {
        "score_cf_ratio": rows[best]["cf_ratio"] if best else 0.0,
        "at_multiplier": best,
        "by_multiplier": {str(m): r for m, r in rows.items()},
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--checkpoint", default="runs/colourize_cls/checkpoint.pt")
    ap.add_argument("--out", default="runs/colourize_cls/select.json")
    ap.add_argument("--export", default="")
    ap.add_argument("--variants", default="", help="'T:mix,T:mix' instead of the built-in list")
    a = ap.parse_args(argv)
    torch.set_num_threads(2)
    net, bins = load_net(a.checkpoint)
    variants = [tuple(float(v) for v in s.split(":")) for s in a.variants.split(",")] if a.variants else VARIANTS
    photos = [load(n) for n in TUNE]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for temperature, mix in variants:
            path = Path(tmp) / f"t{temperature}_m{mix}.onnx"
            export_onnx(shipped(net, bins, temperature, mix), path)
            results[f"{temperature}:{mix}"] = score_variant(path, photos)
            print(
                f"T {temperature} mix {mix}:",
                {k: v for k, v in results[f"{temperature}:{mix}"].items() if k != "by_multiplier"},
                flush=True,
            )
    chosen = max(results, key=lambda k: results[k]["score_cf_ratio"])
    Path(a.out).write_text(json.dumps({"chosen": chosen, "margin_db": AUTO_MARGIN_DB, "variants": results}, indent=1))
    if a.export:
        temperature, mix = (float(v) for v in chosen.split(":"))
        export_onnx(shipped(net, bins, temperature, mix), Path(a.export))
    print("chosen", chosen)
    return 0


if __name__ == "__main__":
    sys.exit(main())
