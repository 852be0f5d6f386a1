"""Manifest entry, contact sheet and model card for the colourizer trained by train_colourize.py.

    python -m llmvis_studio.training.colourize_card --runs runs/colourize

The contact sheet uses held-out training-source photos (never trained on, never benchmark images): per row the grey
input, the 50 simulated hints drawn over it, the automatic result, the hinted result and the original.
Benchmark figures (benchmarks/colourize_quality.py --update-manifest) already in the manifest entry are kept.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

from llmvis_studio.training import export
from llmvis_studio.training.manifest_tools import sha256_of, upsert_entry
from llmvis_studio.training.train_colourize import PHOTOS, photo_paths

MODEL_ID = "colourize-unet"
ROOT = Path(__file__).resolve().parents[2]
SHEET_PHOTOS = (
    "kodak24/kodim23.png",
    "wikimedia/047.png",
    "bsds500/test-100039.jpg",
    "skimage:chelsea.png",
    "matplotlib:grace_hopper.jpg",
    "wikimedia/048.png",
)
ROW_HEIGHT = 200


def manifest_entry(result: dict, onnx: Path, old: dict, gain: float) -> dict:
    metrics = dict(old.get("metrics", {}))
    val = result["val"]
    metrics.update(
        {
            "train_steps": result["steps"],
            "train_minutes": result["minutes"],
            "heldout_psnr_grey": round(val["grey"], 3),
            "heldout_psnr_auto": round(val["auto"], 3),
            "heldout_psnr_hints10": round(val["h10"], 3),
            "heldout_psnr_hints50": round(val["h50"], 3),
            "heldout_colourfulness_ratio_auto": round(val["cf_ratio"], 3),
        }
    )
    return {
        "id": MODEL_ID,
        "name": "Colourize (automatic or with colour hints)",
        "task": "colourize",
        "file": onnx.name,
        "sha256": sha256_of(onnx),
        "inputs": [
            {
                "name": "input",
                "layout": "NCHW",
                "dtype": "float32",
                "range": [-1, 1],
                "channels": "L*/100, hint a*/110, hint b*/110, hint mask (0/1)",
            }
        ],
        "outputs": [
            {"name": "ab", "layout": "NCHW", "dtype": "float32", "range": [-1, 1], "channels": "a*/110, b*/110"}
        ],
        "scale": 1,
        "stride": 16,
        "tile": {"supported": False, "min_overlap": 0, "default": 0},
        "working_side": 192,
        "chroma_gain": gain,
        "parameters": result["parameters"],
        "default": True,
        "licence": "BSD-3-Clause (trained here; training photos: see the model card)",
        "source": "trained here (llmvis_studio.training.train_colourize, photos listed in "
        "models/cards/colourize-unet.md)",
        "reproduce": "make models-colourize",
        "metrics": metrics,
        **({"chroma_calibration": old["chroma_calibration"]} if "chroma_calibration" in old else {}),
    }


def _load(rel: str) -> np.ndarray:
    from llmvis_studio.training.colourize_calibrate import photo_path

    return cv2.cvtColor(cv2.imread(str(photo_path(rel)), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def contact_sheet(onnx: Path, out_png: Path, gain: float, calibration=None) -> None:
    import onnxruntime as ort

    from llmvis_studio.core.metrics import dot_hints, grey_of  # same grey and hints as the benchmark
    from llmvis_studio.engine.ops.colourize import ColourizeParams, colourize

    sess = ort.InferenceSession(str(onnx), providers=["CPUExecutionProvider"])
    infer = lambda x: sess.run(["ab"], {"input": x})[0]  # noqa: E731
    rows = []
    for rel in SHEET_PHOTOS:
        img = _load(rel)
        grey = grey_of(img)
        hints = dot_hints(img, 50, 11)
        shown = _draw_dots(grey, hints)
        auto = colourize(grey, infer, ColourizeParams(gain=gain, calibration=calibration))
        hinted = colourize(grey, infer, ColourizeParams(hints=hints, gain=gain, calibration=calibration))
        tiles = [grey, shown, auto, hinted, img]
        scale = ROW_HEIGHT / img.shape[0]
        size = (round(img.shape[1] * scale), ROW_HEIGHT)
        rows.append(np.concatenate([cv2.resize(t, size, interpolation=cv2.INTER_AREA) for t in tiles], axis=1))
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 4), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
    cv2.imwrite(str(out_png), cv2.cvtColor(np.concatenate(rows, axis=0), cv2.COLOR_RGB2BGR))


def _draw_dots(grey: np.ndarray, hints: np.ndarray) -> np.ndarray:
    """The hint dots enlarged (so they survive the sheet's downscale), each with a dark ring."""
    grow = max(5, round(max(grey.shape[:2]) / 90)) | 1
    dots = (hints[..., 3] > 0).astype(np.uint8)
    kernel = np.ones((grow, grow), np.uint8)
    shown = grey.copy()
    shown[cv2.dilate(dots, np.ones((grow + 4, grow + 4), np.uint8)) > 0] = 0
    inner = cv2.dilate(dots, kernel) > 0
    shown[inner] = cv2.dilate(hints[..., :3], kernel)[inner]
    return shown


def gain_table(tune: dict) -> str:
    rows = [
        f"| {g} | {v['psnr_0']:.2f} | {v['grey']:.2f} | {v['cf_ratio']:.3f} |"
        for g, v in tune.get("by_gain", {}).items()
    ]
    if not rows:
        return "(no gain table: colourize_tune.py was not run)"
    return (
        "| chroma gain | held-out PSNR automatic | held-out PSNR grey input | colourfulness / originals' |\n"
        "|---|---|---|---|\n" + "\n".join(rows)
    )


def calibration_table(calibration: dict) -> str:
    if not calibration:
        return "(no calibration: colourize_calibrate.py was not run)"
    rows = []
    for split in ("tune", "report"):
        r = calibration[split]
        rows.append(
            f"| {split.upper()} ({len(calibration[split + '_photos'])} photos) | {r['grey']:.2f} | {r['psnr_0']:.2f} "
            f"| {r['cf_ratio']:.3f} | {r['psnr_10'] - r['psnr_0']:+.2f} | {r['psnr_50'] - r['psnr_0']:+.2f} |"
        )
    r = calibration.get("report_vivid")
    if r:
        rows.append(f"| REPORT, `vivid` | {r['grey']:.2f} | {r['psnr_0']:.2f} | {r['cf_ratio']:.3f} | | |")
    return (
        "| split | PSNR grey input | PSNR automatic | colourfulness / originals' | 10 hints (+dB) | 50 hints (+dB) |\n"
        "|---|---|---|---|---|---|\n"
        + "\n".join(rows)
        + "\n\nTUNE: "
        + ", ".join(calibration["tune_photos"])
        + ".\nREPORT: "
        + ", ".join(calibration["report_photos"])
        + "."
    )


def _yellow(report: dict, vivid: dict) -> str:
    if "yellow_shift_cool" not in report:
        return "?"
    return (
        f"grey input {report['yellow_shift_grey']:.1f}, automatic {report['yellow_shift_cool']:.1f}, "
        f"vivid {vivid.get('yellow_shift_cool', float('nan')):.1f}"
    )


def card_text(entry: dict, result: dict, log_tail: str, tune: dict, calibration: dict | None = None) -> str:
    """The card: card_templates/colourize-unet.md filled in (the prose lives in the template, the numbers here)."""
    m = entry["metrics"]
    bench = {
        k: v
        for k, v in m.items()
        if k.startswith(
            ("set5_", "gain_", "auto_minus", "vivid_minus", "max_delta", "seconds_", "cpu_seconds", "load_average")
        )
    }
    counts = {f: sum(1 for p in photo_paths() if p.parent.name == f) for f in ("bsds500", "kodak24", "wikimedia")}
    report = (calibration or {}).get("report", {})
    values = {
        "model_id": MODEL_ID,
        "file": entry["file"],
        "sha256": entry["sha256"],
        "parameters": f"{entry['parameters']:,}",
        "multiplier": entry.get("chroma_calibration", {}).get("multiplier", "?"),
        "automatic": entry.get("chroma_calibration", {}).get("automatic", "?"),
        "yellow": _yellow(report, (calibration or {}).get("report_vivid", {})),
        "chroma_gain": entry["chroma_gain"],
        "widths": result["config"]["widths"],
        "n_bsds": counts["bsds500"],
        "n_kodak": counts["kodak24"],
        "n_wiki": counts["wikimedia"],
        "batch": result["batch"],
        "precision": result["precision"],
        "minutes": result["minutes"],
        "threads": result["threads"],
        "steps": result["steps"],
        "held": ", ".join(rel for rel in result["held_out"] if (PHOTOS / rel).is_file()),
        "val": json.dumps({k: round(v, 3) for k, v in result["val"].items()}),
        "bench_rows": "\n".join(f"| {k} | {v} |" for k, v in bench.items()) or "| (not measured yet) | |",
        "calibration_table": calibration_table(calibration or {}),
        "gain_table": gain_table(tune),
        "set5_cf_ratio": m.get("set5_set14_cf_ratio", "?"),
        "set5_auto_minus_grey": m.get("auto_minus_grey_db", "?"),
        "set5_cf_ratio_vivid": m.get("set5_set14_cf_ratio_vivid", "?"),
        "set5_vivid_minus_grey": m.get("vivid_minus_grey_db", "?"),
        "report_cf_ratio": report.get("cf_ratio", "?"),
        "report_auto_minus_grey": report.get("auto_minus_grey_db", "?"),
        "log_tail": log_tail,
    }
    return (Path(__file__).parent / "card_templates" / f"{MODEL_ID}.md").read_text(encoding="utf-8").format(**values)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", default="runs/colourize")
    ap.add_argument("--models", default=str(ROOT / "models"))
    ap.add_argument("--no-sheet", action="store_true")
    a = ap.parse_args(argv)
    runs, models = Path(a.runs), Path(a.models)
    result = json.loads((runs / "result.json").read_text())
    onnx = models / f"{MODEL_ID}.onnx"
    manifest = models / "manifest.json"
    old = next((e for e in json.loads(manifest.read_text())["models"] if e["id"] == MODEL_ID), {})
    tune_path = runs / "tune.json"
    tune = json.loads(tune_path.read_text()) if tune_path.exists() else {"chroma_gain": 1.0}
    entry = manifest_entry(result, onnx, old, float(tune["chroma_gain"]))
    upsert_entry(manifest, entry)
    if not a.no_sheet:
        from llmvis_studio.engine.ops.colour_calibration import ChromaCalibration

        contact_sheet(
            onnx,
            models / "cards" / f"{MODEL_ID}-samples.png",
            float(tune["chroma_gain"]),
            ChromaCalibration.from_json(entry.get("chroma_calibration")),
        )
    log_tail = "\n".join((runs / "log.txt").read_text().splitlines()[-6:])
    calibration_path = runs / "calibration.json"
    calibration = json.loads(calibration_path.read_text()) if calibration_path.exists() else None
    export.write_card(models, MODEL_ID, card_text(entry, result, log_tail, tune, calibration))
    print(f"wrote {manifest} entry {MODEL_ID} and models/cards/{MODEL_ID}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
