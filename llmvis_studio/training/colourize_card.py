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
SHEET_PHOTOS = ("kodak24/kodim23.png", "wikimedia/047.png", "bsds500/test-100039.jpg", "skimage:chelsea.png",
                "matplotlib:grace_hopper.jpg", "wikimedia/048.png")
ROW_HEIGHT = 200


def manifest_entry(result: dict, onnx: Path, old: dict, gain: float) -> dict:
    metrics = dict(old.get("metrics", {}))
    val = result["val"]
    metrics.update({
        "train_steps": result["steps"], "train_minutes": result["minutes"],
        "heldout_psnr_grey": round(val["grey"], 3), "heldout_psnr_auto": round(val["auto"], 3),
        "heldout_psnr_hints10": round(val["h10"], 3), "heldout_psnr_hints50": round(val["h50"], 3),
        "heldout_colourfulness_ratio_auto": round(val["cf_ratio"], 3),
    })
    return {
        "id": MODEL_ID, "name": "Colourize (automatic or with colour hints)", "task": "colourize",
        "file": onnx.name, "sha256": sha256_of(onnx),
        "inputs": [{"name": "input", "layout": "NCHW", "dtype": "float32", "range": [-1, 1],
                    "channels": "L*/100, hint a*/110, hint b*/110, hint mask (0/1)"}],
        "outputs": [{"name": "ab", "layout": "NCHW", "dtype": "float32", "range": [-1, 1],
                     "channels": "a*/110, b*/110"}],
        "scale": 1, "stride": 16, "tile": {"supported": False, "min_overlap": 0, "default": 0},
        "working_side": 192, "chroma_gain": gain, "parameters": result["parameters"], "default": True,
        "licence": "BSD-3-Clause (trained here; training photos: see the model card)",
        "source": "trained here (llmvis_studio.training.train_colourize, photos listed in "
                  "models/cards/colourize-unet.md)",
        "reproduce": "make models-colourize", "metrics": metrics,
        **({"chroma_calibration": old["chroma_calibration"]} if "chroma_calibration" in old else {}),
    }


def _load(rel: str) -> np.ndarray:
    from llmvis_studio.training.colourize_calibrate import photo_path

    return cv2.cvtColor(cv2.imread(str(photo_path(rel)), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def contact_sheet(onnx: Path, out_png: Path, gain: float, calibration=None) -> None:
    import onnxruntime as ort

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from colourize_quality import dot_hints, to_grey  # same grey and hints as the benchmark

    from llmvis_studio.engine.ops.colourize import ColourizeParams, colourize

    sess = ort.InferenceSession(str(onnx), providers=["CPUExecutionProvider"])
    infer = lambda x: sess.run(["ab"], {"input": x})[0]  # noqa: E731
    rows = []
    for rel in SHEET_PHOTOS:
        img = _load(rel)
        grey = to_grey(img)
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
    rows = [f"| {g} | {v['psnr_0']:.2f} | {v['grey']:.2f} | {v['cf_ratio']:.3f} |"
            for g, v in tune.get("by_gain", {}).items()]
    if not rows:
        return "(no gain table: colourize_tune.py was not run)"
    return ("| chroma gain | held-out PSNR automatic | held-out PSNR grey input | colourfulness / originals' |\n"
            "|---|---|---|---|\n" + "\n".join(rows))


def calibration_table(calibration: dict) -> str:
    if not calibration:
        return "(no calibration: colourize_calibrate.py was not run)"
    rows = []
    for split in ("tune", "report"):
        r = calibration[split]
        rows.append(f"| {split.upper()} ({len(calibration[split + '_photos'])} photos) | {r['grey']:.2f} | {r['psnr_0']:.2f} "
                    f"| {r['cf_ratio']:.3f} | {r['psnr_10'] - r['psnr_0']:+.2f} | {r['psnr_50'] - r['psnr_0']:+.2f} |")
    r = calibration.get("report_global_gain_0.4")
    if r:
        rows.append(f"| REPORT, old single gain 0.4 | {r['grey']:.2f} | {r['psnr_0']:.2f} | {r['cf_ratio']:.3f} | | |")
    return ("| split | PSNR grey input | PSNR automatic | colourfulness / originals' | 10 hints | 50 hints |\n"
            "|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n\nTUNE: " + ", ".join(calibration["tune_photos"])
            + ".\nREPORT: " + ", ".join(calibration["report_photos"]) + ".")


def card_text(entry: dict, result: dict, log_tail: str, tune: dict, calibration: dict | None = None) -> str:
    m = entry["metrics"]
    bench = {k: v for k, v in m.items()
             if k.startswith(("set5_", "gain_", "auto_minus", "max_delta", "seconds_", "cpu_seconds", "load_average"))}
    bench_rows = "\n".join(f"| {k} | {v} |" for k, v in bench.items()) or "| (not measured yet) | |"
    held = ", ".join(rel for rel in result["held_out"] if (PHOTOS / rel).is_file())
    counts = {f: sum(1 for p in photo_paths() if p.parent.name == f) for f in ("bsds500", "kodak24", "wikimedia")}
    return f"""# Colourize (automatic or with colour hints) — `{MODEL_ID}`

Task `colourize`. File `models/{entry['file']}` (sha256 `{entry['sha256']}`), one self-contained ONNX (opset 17),
input `input` (N×4×H×W float32: L*/100, hint a*/110, hint b*/110, hint mask), output `ab` (N×2×H×W, a*/110 and b*/110,
tanh), H and W multiples of 16. Parameters: {entry['parameters']:,}. Licence of the weights: BSD-3-Clause (trained
here); the training photos carry their own terms (below). Default (only) model for `colourize`.

## How the engine uses it
The photo's luminance is computed at full size (a sepia or toned print loses its tint here: only luminance is kept);
a 192 px (long side) copy goes to the net with the hints (an RGBA layer: colour where alpha > 0, averaged into the
working pixel it falls in); what the net leaves unmet at the hint pixels is spread by an edge-aware weighted mean
(distance and lightness similarity); the chroma, as a linear-RGB ratio to luminance, is upsampled bilinearly and
multiplied by the ORIGINAL full-size luminance. Out-of-gamut colours are pulled toward grey along a zero-luminance
direction, so luminance is kept exactly (16-bit scans stay 16-bit); colour fades out below L* 20 and is gone below
L* 10 (and the few shadow pixels where OpenCV's 8-bit Lab would read L more than 1 level off are left grey).
`strength` scales the chroma; the net's output is cached, so moving the strength re-runs only the recombination.

How much of the net's colour is trusted comes from the entry's `chroma_calibration` (engine/ops/colour_calibration.py):
a gain per predicted hue sector (8) × predicted chroma (5 bins) × lightness (4 bins) × local texture (3 bins of the
L* standard deviation in 5×5 working pixels: smooth, some detail, textured), each the least-squares gain
fitted by `colourize_calibrate.py` on the TUNE photos (none trained on), times one multiplier m = {entry.get('chroma_calibration', {}).get('multiplier', '?')}, the largest
whose TUNE PSNR stays 0.3 dB above the grey input's. Without hints the table is used as is (colourful); with hints it is
divided by m (the PSNR-best gains) and the hints' residual is spread, so hinted colours stay where they are asked.
The old single gain (`chroma_gain` {entry['chroma_gain']}) is used only when an entry has no table.

## Architecture
ColourUNet (llmvis_studio/training/archs/colourize.py): a 5-level U-Net, widths {result['config']['widths']}, two 3×3
convs per level (LeakyReLU), average-pool down, bilinear up with skips; the hint planes are re-injected (pooled so a
single hint pixel survives) at every level; a global-average "gist" branch is fused at the bottleneck.

## Training
- Data: /work/shared/training/photos — BSDS500 train+test ({counts['bsds500']} JPEG, Corel images distributed for research
  by UC Berkeley; check the terms before a commercial release of these weights), Kodak24 ({counts['kodak24']} PNG, released by
  Eastman Kodak for unrestricted use), Wikimedia Commons ({counts['wikimedia']} PNG, mostly CC-BY / CC-BY-SA / public domain,
  attribution per file in photos/wikimedia/SOURCES.md). Near-grey photos (colourfulness < 8) skipped.
  Held out (never trained on; validation and the contact sheet): {held}.
  No benchmark image (Set5/Set14) was used for training or for choosing any setting.
- Samples: photo resized to a long side of 128–224 px, random 80 px crop, random flip, CIE Lab. Hints simulated:
  none for 30 % of samples, else 1–50 square patches of 1–3 px carrying the mean ground-truth a*b* under them.
- Loss: Huber (β 0.05) on a*b*/110 + 0.5 × colourfulness term (per image, mean chroma may not fall below 90 % of the
  ground truth's — plain regression averages plausible colours into brown) + 0.5 × L1 at the hint pixels.
- Optimiser: Adam (β 0.9/0.99), learning rate 2e-3, 200 warm-up steps, cosine decay to 5 % over the wall-clock
  budget, batch {result['batch']}, gradient-norm clip 1, {result['precision']}.
- Budget: {result['minutes']} min wall clock, {result['threads']} CPU thread(s) on a shared 2-core AMD EPYC (AVX2); {result['steps']} steps.
- Held-out validation at the end (working size, 50/10 simulated 2×2 hints): {json.dumps({k: round(v, 3) for k, v in result['val'].items()})}

## Reproduce
`make models-colourize`, i.e. `python -m llmvis_studio.training.train_colourize --minutes 40 --threads 2 --out
runs/colourize --fresh --export models/colourize-unet.onnx`, then `python -m llmvis_studio.training.colourize_tune`,
`python -m llmvis_studio.training.colourize_calibrate --update-manifest`, this card script, `python benchmarks/colourize_quality.py --update-manifest` and this script again. Time-budgeted: a rerun gives a close but
not bit-identical model.

## Measured
Set5 + Set14 colour photos turned grey (benchmarks/colourize_quality.py, reporting only, never tuned on); speed: a
12 MP photo through colourize(), 50 hints, 2 threads, on a 2-core AMD EPYC (AVX2) shared with other jobs (load
average in the table: with about 10 runnable jobs on 2 cores the wall seconds are inflated; cpu_seconds_12mp is
the process's CPU time for the same run):

| metric | value |
|---|---|
{bench_rows}

Calibration splits (colourize_calibrate.py, 768 px, through the engine; TUNE chose the table, REPORT never fed back):

{calibration_table(calibration)}

## Contact sheet
Photos never trained on (kodim23, 048, chelsea, grace_hopper from REPORT; 047, 100039 from TUNE); columns: grey input · 50 hints (3×3 dots, shown enlarged with a dark ring) · automatic · with the 50
hints · original.

![contact sheet](colourize-unet-samples.png)

## Limits
Trained {result['minutes']} minutes on a shared 2-core CPU ({result['threads']} thread: with the machine oversubscribed, 2 threads
ran 4× slower per step) from a few hundred photos. The automatic result is the weak part. One global gain on the
net's chroma cannot give both colour and PSNR (held-out photos, 768 px, through the engine; the previous release
shipped 0.4, a faint warm tint with about 0.19 of the originals' colourfulness):

{gain_table(tune)}

With the calibrated table the automatic result carries about half the originals' colourfulness (Set5/Set14
{m.get('set5_set14_cf_ratio', '?')} with PSNR {m.get('auto_minus_grey_db', '?')} dB above grey; REPORT split
{calibration['report']['cf_ratio'] if calibration else '?'} with PSNR {calibration['report']['auto_minus_grey_db'] if calibration else '?'} dB
against grey). The texture bins matter: without them (8 × 5 × 4 cells, same rule) TUNE reached 0.449 and REPORT
0.467 at about the same PSNR — smooth areas are where the net's guesses are most often wrong. Look at the sheet before trusting that number:
the net predicts almost only yellow-to-yellow-green hues (every hue sector but the two between 45° and 135° is empty on
the TUNE photos), so the colour it adds is an ochre/olive toning. Foliage, skin, wood and sand look plausible; snow,
blue sky and blue backgrounds turn yellow (rows 5 and 6: grace_hopper, 048), which is where single photos fall 3–6 dB
below grey. The strength slider tones it down (0.5 ≈ the least-squares table). A net that predicts blue at all needs
more training than the minutes this one had.
Hints are what works: a few dots fix the colours
locally. Chroma is predicted at 192 px
and upsampled, so colour edges are soft on large photos.

Last lines of the training log:
```
{log_tail}
```
"""


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

        contact_sheet(onnx, models / "cards" / f"{MODEL_ID}-samples.png", float(tune["chroma_gain"]),
                      ChromaCalibration.from_json(entry.get("chroma_calibration")))
    log_tail = "\n".join((runs / "log.txt").read_text().splitlines()[-6:])
    calibration_path = runs / "calibration.json"
    calibration = json.loads(calibration_path.read_text()) if calibration_path.exists() else None
    export.write_card(models, MODEL_ID, card_text(entry, result, log_tail, tune, calibration))
    print(f"wrote {manifest} entry {MODEL_ID} and models/cards/{MODEL_ID}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
