"""int8 (QDQ) copies of the scratch / print-damage detectors, calibrated on damaged crops of the training photos.

    python -m llmvis_studio.training.quantize_detector --source scratch-detector --default   # make models-detect-int8
    python -m llmvis_studio.training.quantize_detector --source damage-detector --default

Why: the detector is most of a 12-MP `restore` (issue 12: ≤ 15 s on 2 cores); onnxruntime's int8 convolutions run
its body faster on an AVX2 CPU. The same recipe as quantize_sr: static activation ranges from calibration crops,
per-channel symmetric weights, the first conv (raw pixels) and the last (the logit that is thresholded, at 0.999
for scratch-detector) kept fp32, and so is everything after it (calibration, sigmoid): a uint8 probability would
have 1/255 steps, too coarse for a 0.999 threshold and for the sensitivity slider. Calibration crops come from the training split of the photo pack (never the
held-out split, never the benchmarks), half as thin scratches / dust / hairs (the scratch detector's training
damage, masks.add_defects) and half as damaged, scanned old prints (print_damage.make_sample), so activation ranges
cover both kinds of damage and clean texture. Whether the int8 copy keeps its F1 is measured, not assumed
(benchmarks/damage_heldout.py); with --default a copy takes over its source's place as the default detector.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from llmvis_studio.training.manifest_tools import upsert_entry
from llmvis_studio.training.quantize_sr import int8_copy_entry, quantize

CROP = 256
CROPS = 64


def calibration_inputs(count: int = CROPS, seed: int = 0) -> list[np.ndarray]:
    """NCHW float32 crops: alternately thin-scratch damage on a photo crop and a damaged old-print scan."""
    from llmvis_studio.training import masks, print_damage
    from llmvis_studio.training.train_damage import load_photo, photo_root, split_photos

    train, _ = split_photos(photo_root())
    rng = np.random.default_rng(seed)
    picked = [train[int(i)] for i in rng.choice(len(train), size=min(count, len(train)), replace=False)]
    inputs = []
    for index, path in enumerate(picked):
        photo = load_photo(path)
        if min(photo.shape[:2]) < CROP:
            continue
        if index % 2:
            image, _ = print_damage.make_sample(rng, photo, CROP)
        else:
            y = int(rng.integers(0, photo.shape[0] - CROP + 1))
            x = int(rng.integers(0, photo.shape[1] - CROP + 1))
            image, _ = masks.add_defects(rng, np.ascontiguousarray(photo[y : y + CROP, x : x + CROP]))
        inputs.append(np.ascontiguousarray(image.astype(np.float32).transpose(2, 0, 1)[None]))
    return inputs


def int8_entry(source_entry: dict, target: Path, calibration_count: int) -> dict:
    """The int8 copy's manifest entry: the source's task, I/O, tiling and threshold; not the default until its
    held-out F1 is measured (damage_heldout.py --models ID-int8)."""
    entry = int8_copy_entry(
        source_entry,
        target,
        source_entry["name"] + " (int8)",
        False,
        f"{calibration_count} damaged crops of the training photos (llmvis_studio.training.quantize_detector)",
        "make models-detect-int8",
    )
    entry["metrics"] = {"calibration_crops": calibration_count}
    return entry


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m llmvis_studio.training.quantize_detector",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--source", default="damage-detector", help="manifest id of the fp32 detector")
    parser.add_argument("--models", default="models")
    parser.add_argument("--crops", type=int, default=CROPS)
    parser.add_argument(
        "--default",
        action="store_true",
        help="the int8 copy takes over the default flag of its source (or keeps its own, when re-made)",
    )
    args = parser.parse_args(argv)
    models = Path(args.models)
    manifest = json.loads((models / "manifest.json").read_text())
    source_entry = next((e for e in manifest["models"] if e["id"] == args.source), None)
    if source_entry is None or source_entry.get("task") != "detect-scratches":
        print(f"error: no detector '{args.source}' in {models / 'manifest.json'}", file=sys.stderr)
        return 1
    inputs = calibration_inputs(args.crops)
    target = models / f"{args.source}-int8.onnx"
    quantize(models / source_entry["file"], target, inputs, keep_outside_fp32=True)
    entry = int8_entry(source_entry, target, len(inputs))
    earlier = next((e for e in manifest["models"] if e["id"] == entry["id"]), {})
    if args.default and (source_entry.get("default") or earlier.get("default")):
        entry["default"], source_entry["default"] = True, False  # the fp32 net stays installed, by id
        upsert_entry(models / "manifest.json", source_entry)
    upsert_entry(models / "manifest.json", entry)
    print(f"wrote {target} ({target.stat().st_size / 1e6:.2f} MB) from {len(inputs)} calibration crops")
    return 0


if __name__ == "__main__":
    sys.exit(main())
