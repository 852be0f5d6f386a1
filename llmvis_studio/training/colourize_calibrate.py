"""Fit the colourizer's calibrated chroma gain table on one split of unseen photos; report on another.

    python -m llmvis_studio.training.colourize_calibrate --onnx models/colourize-unet.onnx \
        --out runs/colourize/calibration.json [--update-manifest]

Photos: none of them was trained on. TUNE = half of the trainer's held-out photos + four library photos (scikit-image,
scikit-learn); REPORT = the other half + four other library photos. The table (engine/ops/colour_calibration.py) is
fitted on TUNE only: per cell, the least-squares gain with each photo weighted by 1 / its grey error (so each photo
counts as in the mean PSNR), shrunk toward the global gain; then the vivid multiplier m is the largest on the grid
whose TUNE mean PSNR stays PSNR_MARGIN above the grey input's, and the automatic default's (`automatic`, see
choose_automatic) keeps AUTO_MARGIN_DB: the TUNE→REPORT gap of the first net was about 0.5 dB. REPORT numbers are computed once, through the engine's
colourize() at SIDE px, and never feed back. The benchmarks (Set5/Set14) are not read here.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

from llmvis_studio.core import lab
from llmvis_studio.engine.ops.colour_calibration import ChromaCalibration, fit_gains
from llmvis_studio.engine.ops.colourize import WORK_SIDE, ColourizeParams, _working_shape, colourize, predict
from llmvis_studio.training.colourize_tune import dot_hints, grey_of
from llmvis_studio.training.train_colourize import PHOTOS, colourfulness, psnr

TUNE = (
    "kodak24/kodim21.png",
    "kodak24/kodim22.png",
    "wikimedia/046.png",
    "wikimedia/047.png",
    "bsds500/test-100007.jpg",
    "bsds500/test-100039.jpg",
    "bsds500/test-100099.jpg",
    "bsds500/test-10081.jpg",
    "skimage:astronaut.png",
    "skimage:coffee.png",
    "skimage:rocket.jpg",
    "sklearn:china.jpg",
)
REPORT = (
    "kodak24/kodim23.png",
    "kodak24/kodim24.png",
    "wikimedia/048.png",
    "wikimedia/049.png",
    "bsds500/test-101027.jpg",
    "bsds500/test-101084.jpg",
    "bsds500/test-102062.jpg",
    "bsds500/test-103006.jpg",
    "skimage:chelsea.png",
    "skimage:motorcycle_left.png",
    "sklearn:flower.jpg",
    "matplotlib:grace_hopper.jpg",
)
HUE_SECTORS = 8
CHROMA_EDGES = (4.0, 8.0, 14.0, 22.0)
LIGHTNESS_EDGES = (25.0, 50.0, 75.0)
TEXTURE_EDGES = (1.5, 4.0)  # local L* std: smooth / some detail / textured
# table layouts (hue sectors, chroma edges, lightness edges, texture edges): fewer cells overfit 12 photos less;
# colourize_select picks one by cross-validation on TUNE
STRUCTURES = {
    "h8c5l4t3": (HUE_SECTORS, CHROMA_EDGES, LIGHTNESS_EDGES, TEXTURE_EDGES),
    "h8c5t3": (HUE_SECTORS, CHROMA_EDGES, (), TEXTURE_EDGES),
    "h4c3t3": (4, (6.0, 15.0), (), TEXTURE_EDGES),
}
CANDIDATES = ("h8c5t3", "h4c3t3")  # what colourize_select tries (h8c5l4t3, the first release's, overfit most)
SHRINK = 1.0
MULTIPLIERS = tuple(round(1.0 + 0.2 * i, 1) for i in range(11))  # 1.0 … 3.0
PSNR_MARGIN = 0.3  # dB above grey on TUNE: the tune→report gap seen with one global gain is of this order
AUTO_MARGIN_DB = 0.6  # the automatic default: dB above grey on TUNE (aim: ≥ +0.4 dB on unseen photos)
AUTO_TARGET_RATIO = 0.6  # … and the least colourfulness ratio it aims for on TUNE (the must-show asks 0.5)
SIDE = 768


def photo_path(name: str) -> Path:
    """'folder/file' under the training photos, or 'package:file' from a library's bundled sample images."""
    if ":" not in name:
        return PHOTOS / name
    package, file = name.split(":")
    if package == "skimage":
        import skimage.data

        return Path(skimage.data.__file__).parent / file
    if package == "sklearn":
        import sklearn.datasets

        return Path(sklearn.datasets.__file__).parent / "images" / file
    import matplotlib

    return Path(matplotlib.get_data_path()) / "sample_data" / file


def load(name: str, side: int = SIDE) -> np.ndarray:
    img = cv2.cvtColor(cv2.imread(str(photo_path(name)), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    scale = side / max(img.shape[:2])
    if scale < 1:
        img = cv2.resize(img, (round(img.shape[1] * scale), round(img.shape[0] * scale)), interpolation=cv2.INTER_AREA)
    return img


def working_features(infer, img: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(L*, predicted ab, true ab) at the engine's working size, as colourize() computes them."""
    hw = _working_shape(*img.shape[:2], WORK_SIDE)
    small = cv2.resize(img, hw[::-1], interpolation=cv2.INTER_AREA)
    y = cv2.resize(lab.luminance(img), hw[::-1], interpolation=cv2.INTER_AREA)
    lightness = lab.lightness(y)
    pred = predict(infer, lightness, np.zeros(hw + (2,), np.float32), np.zeros(hw, bool))
    return lightness, pred, lab.rgb_to_lab(small)[..., 1:]


def fit_table(features, structure: str = "h8c5l4t3") -> np.ndarray:
    empty = calibration(np.ones(_cells(structure)), 1.0, structure=structure)
    cells, preds, truths, weights = [], [], [], []
    for lightness, pred, truth in features:
        cells.append(empty.cell_index(lightness, pred).ravel())
        preds.append(pred.reshape(-1, 2))
        truths.append(truth.reshape(-1, 2))
        weights.append(np.full(lightness.size, 1.0 / max(float(np.mean(truth**2)), 1e-6)))
    return fit_gains(
        np.concatenate(cells),
        np.concatenate(preds),
        np.concatenate(truths),
        np.concatenate(weights),
        _cells(structure),
        SHRINK,
    )


def _cells(structure: str) -> int:
    hue, chroma, light, texture = STRUCTURES[structure]
    return hue * (len(chroma) + 1) * (len(light) + 1) * (len(texture) + 1)


def calibration(
    gains: np.ndarray, multiplier: float, automatic: float | None = None, structure: str = "h8c5l4t3"
) -> ChromaCalibration:
    """The table for vivid = multiplier × gains; the automatic default = `automatic` × gains (default: the same)."""
    hue, chroma, light, texture = STRUCTURES[structure]
    return ChromaCalibration(
        hue,
        chroma,
        light,
        tuple(float(g) for g in gains * multiplier),
        multiplier,
        texture,
        multiplier if automatic is None else automatic,
    )


def onnx_infer(path):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    sess = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return lambda x: sess.run(["ab"], {"input": x})[0]


def yellow_shift(out: np.ndarray, original: np.ndarray) -> float:
    """Mean b* (output − original) where the original is neutral (chroma < 6) or blue (b* < −8): how yellow snow,
    grey walls and skies come out (0 = as they were, positive = a yellow cast; the grey input itself scores above 0
    since it drops the blue)."""
    truth, got = lab.rgb_to_lab(original), lab.rgb_to_lab(out)
    cool = (np.hypot(truth[..., 1], truth[..., 2]) < 6) | (truth[..., 2] < -8)
    return float((got[..., 2] - truth[..., 2])[cool].mean()) if cool.any() else 0.0


def evaluate(infer, photos: list[np.ndarray], params: ColourizeParams, counts=(0,)) -> dict[str, float]:
    """Mean PSNR (grey input, and per hint count) and the colourfulness ratio, through the engine's colourize()."""
    rows = []
    for i, img in enumerate(photos):
        grey = grey_of(img)
        row = {"grey": psnr(grey, img), "cf_orig": colourfulness(img), "yellow_shift_grey": yellow_shift(grey, img)}
        for count in counts:
            hints = dot_hints(img, count, 100 + i) if count else None
            out = colourize(
                grey,
                infer,
                ColourizeParams(hints=hints, gain=params.gain, calibration=params.calibration, vivid=params.vivid),
            )
            row[f"psnr_{count}"] = psnr(out, img)
            if count == 0:
                row["cf_auto"] = colourfulness(out)
                row["yellow_shift_cool"] = yellow_shift(out, img)
        rows.append(row)
    mean = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
    mean["cf_ratio"] = mean["cf_auto"] / mean["cf_orig"]
    mean["auto_minus_grey_db"] = mean["psnr_0"] - mean["grey"]
    return {k: round(v, 3) for k, v in mean.items()}


def choose_multiplier(infer, photos, gains, structure: str = "h8c5l4t3") -> tuple[float, dict]:
    table = {
        m: evaluate(infer, photos, ColourizeParams(calibration=calibration(gains, m, structure=structure)))
        for m in MULTIPLIERS
    }
    safe = [m for m in MULTIPLIERS if table[m]["auto_minus_grey_db"] >= PSNR_MARGIN]
    chosen = max(safe) if safe else max(MULTIPLIERS, key=lambda m: table[m]["auto_minus_grey_db"])
    return chosen, {str(m): row for m, row in table.items()}


def choose_automatic(by_multiplier: dict[str, dict]) -> float:
    """The automatic default on TUNE: among multipliers keeping AUTO_MARGIN_DB over grey, the smallest reaching
    AUTO_TARGET_RATIO of the originals' colourfulness, else the most colourful; none safe: 1 (least squares)."""
    safe = [m for m in MULTIPLIERS if by_multiplier[str(m)]["auto_minus_grey_db"] >= AUTO_MARGIN_DB]
    if not safe:
        return 1.0
    vivid = [m for m in safe if by_multiplier[str(m)]["cf_ratio"] >= AUTO_TARGET_RATIO]
    return min(vivid) if vivid else max(safe, key=lambda m: by_multiplier[str(m)]["cf_ratio"])


def main(argv: list[str] | None = None) -> int:

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--onnx", default="models/colourize-unet.onnx")
    ap.add_argument("--out", default="runs/colourize/calibration.json")
    ap.add_argument("--update-manifest", action="store_true")
    ap.add_argument("--select", default="", help="colourize_select's JSON: table layout and automatic multiplier")
    a = ap.parse_args(argv)
    selected = json.loads(Path(a.select).read_text()) if a.select else {}
    structure = selected.get("structure", "h8c5l4t3")
    infer = onnx_infer(a.onnx)
    tune = [load(n) for n in TUNE]
    gains = fit_table([working_features(infer, img) for img in tune], structure)
    multiplier, by_multiplier = choose_multiplier(infer, tune, gains, structure)
    # the automatic default: chosen by cross-validation on TUNE when colourize_select ran, else in-sample
    automatic = float(selected.get("automatic") or choose_automatic(by_multiplier))
    chosen = calibration(gains, max(multiplier, automatic), automatic, structure)
    report = [load(n) for n in REPORT]
    result = {
        "multiplier": chosen.multiplier,
        "automatic": automatic,
        "psnr_margin_db": PSNR_MARGIN,
        "auto_margin_db": AUTO_MARGIN_DB,
        "structure": structure,
        "selected": {k: v for k, v in selected.items() if k != "variants"},
        "calibration": chosen.to_json(),
        "tune_by_multiplier": by_multiplier,
        "tune": evaluate(infer, tune, ColourizeParams(calibration=chosen), counts=(0, 10, 50)),
        "report": evaluate(infer, report, ColourizeParams(calibration=chosen), counts=(0, 10, 50)),
        "report_vivid": evaluate(infer, report, ColourizeParams(calibration=chosen, vivid=True)),
        "tune_photos": list(TUNE),
        "report_photos": list(REPORT),
    }
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(result, indent=1))
    if a.update_manifest:
        _update_manifest(Path(a.onnx).parent / "manifest.json", chosen, result)
    print(json.dumps({k: result[k] for k in ("multiplier", "automatic", "tune", "report", "report_vivid")}, indent=1))
    return 0


def _update_manifest(manifest: Path, chosen: ChromaCalibration, result: dict) -> None:
    from llmvis_studio.training.manifest_tools import upsert_entry

    data = json.loads(manifest.read_text())
    entries = data["models"] if isinstance(data, dict) else data
    entry = next(e for e in entries if e["id"] == "colourize-unet")
    metrics = dict(entry.get("metrics", {}))
    metrics.update({f"report_split_{k}": v for k, v in result["report"].items()})
    metrics["report_split"] = "colourize_calibrate.REPORT (12 unseen photos, 768 px, engine colourize())"
    upsert_entry(manifest, {**entry, "chroma_calibration": chosen.to_json(), "metrics": metrics})


if __name__ == "__main__":
    sys.exit(main())
