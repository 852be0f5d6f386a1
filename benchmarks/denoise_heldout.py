"""Colour denoising on photos no model trains on: the photo pack's held-out photos (llmvis_studio/training/
photo_pack.py HELD_OUT: Kodak kodim05 and kodim23, Wikimedia 047–049, longest side capped at 1280 px as training
loads them) at full size, with Set5 / Set14 colour images in the same run (reporting only).

Same protocol as denoise_quality.py: additive white Gaussian noise σ 15 / 25 / 50 (0–255 scale, seeded per image and
σ, clipped), PSNR over RGB of the 8-bit output, onnxruntime CPU. The issue's bar is σ 25 on hidden photos (CBM3D's
30.71); the training validation uses 192 px crops of the same held-out photos, whose mean swings by ±0.1 dB between
checkpoints, so a candidate is judged here on whole photos. Several ONNX files can be compared in one run:

    python benchmarks/denoise_heldout.py [--model old=models/denoise-compact.onnx --model new=runs/x.onnx] [--update-manifest]

Without --model it measures the manifest's denoise-compact; --update-manifest records
`heldout_photos_sigma{15,25,50}_psnr_rgb` in its entry. Prints one JSON object on its last line.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from _common import ROOT, emit, record_metrics
from denoise_quality import MODEL_ID, SIGMAS, add_noise, colour_images, run_model, to_u8
from sr_quality import entry, session

from llmvis_studio.core.metrics import psnr
from llmvis_studio.training import photo_pack


def models_to_measure(specs: list[str]) -> dict:
    """label → onnxruntime session for each --model label=path, or the manifest's denoiser."""
    if specs:
        return {label: session(Path(path)) for label, path in (s.split("=", 1) for s in specs)}
    e = entry(MODEL_ID)
    return {MODEL_ID: session(ROOT / "models" / e["file"])} if e else {}


def mean_psnr(images: dict[str, np.ndarray], models: dict) -> dict[str, dict[str, float]]:
    """σ → label → mean PSNR RGB over the images (label "noisy": the input)."""
    out: dict[str, dict[str, float]] = {}
    for sigma in SIGMAS:
        scores: dict[str, list[float]] = {"noisy": [], **{label: [] for label in models}}
        for name, clean in images.items():
            noisy = add_noise(clean, sigma, name)
            scores["noisy"].append(psnr(to_u8(noisy), clean))
            for label, sess in models.items():
                scores[label].append(psnr(run_model(sess, noisy), clean))
        out[str(sigma)] = {label: round(float(np.mean(v)), 3) for label, v in scores.items()}
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", action="append", default=[], help="label=path.onnx (repeatable)")
    ap.add_argument("--no-sets", action="store_true", help="held-out photos only (skip Set5 / Set14)")
    ap.add_argument("--update-manifest", action="store_true")
    a = ap.parse_args()
    models = models_to_measure(a.model)
    if not models:
        raise SystemExit(f"no {MODEL_ID} in models/manifest.json and no --model given")
    held_out = {f"held-out/{n}": img for n, img in photo_pack.load_pack("held-out")}
    result: dict = {"photos": sorted(held_out), "held_out_photos": mean_psnr(held_out, models)}
    if not a.no_sets:
        result["set5_set14_colour"] = mean_psnr(colour_images(), models)
    if a.update_manifest and not a.model:
        metrics = {f"heldout_photos_sigma{s}_psnr_rgb": result["held_out_photos"][str(s)][MODEL_ID] for s in SIGMAS}
        record_metrics(MODEL_ID, metrics, "denoise_heldout.py")
    emit(result)


if __name__ == "__main__":
    main()
