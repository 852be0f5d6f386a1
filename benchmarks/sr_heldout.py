"""×4 (or ×2) super-resolution on photos no model trains on: the photo pack's held-out photos
(llmvis_studio/training/photo_pack.py HELD_OUT: Kodak kodim05 and kodim23, Wikimedia 047–049, longest side capped
at 1280 px as training loads them), as PSNR-Y gain over bicubic, with Set5 / Set14 in the same run (reporting only).

Same protocol as sr_quality.py (Pillow BICUBIC downscale, BT.601 Y, border shaved by the scale, 8-bit outputs,
onnxruntime CPU). Several ONNX files can be compared in one run, e.g. the shipped model against a candidate:

    python benchmarks/sr_heldout.py [--model old=runs/old.onnx --model new=models/sr-compact-x4.onnx] [--update-manifest]

Without --model it measures the manifest's sr-compact-x{s} (and its int8 copy for ×4); --update-manifest records
`heldout_photos_x{s}_gain_over_bicubic` in their entries. Prints one JSON object on its last line.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from _common import ROOT, emit, record_metrics
from sr_quality import INT8, OURS, entry, load_set, quality, session

from llmvis_studio.training import photo_pack


def models_to_measure(specs: list[str], scale: int) -> dict[str, tuple]:
    """label → (onnxruntime session, pre_pad) for each --model label=path, or the manifest's own models."""
    if specs:
        pairs = [s.split("=", 1) for s in specs]
        return {label: (session(Path(path)), 0) for label, path in pairs}
    out = {}
    for mid in (OURS[scale], INT8.get(scale)):
        e = entry(mid) if mid else None
        if e:
            out[mid] = (session(ROOT / "models" / e["file"]), e.get("pre_pad", 0))
    return out


def gains(per_image: dict[str, dict[str, float]], labels: list[str]) -> dict[str, float]:
    """Mean over images of (model PSNR-Y − bicubic PSNR-Y)."""
    return {k: round(float(np.mean([r[k] - r["bicubic"] for r in per_image.values()])), 3) for k in labels}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=int, default=4, choices=(2, 4))
    ap.add_argument("--model", action="append", default=[], help="label=path.onnx (repeatable)")
    ap.add_argument("--no-sets", action="store_true", help="held-out photos only (skip Set5 / Set14)")
    ap.add_argument("--update-manifest", action="store_true")
    a = ap.parse_args()

    models = models_to_measure(a.model, a.scale)
    sets = {"held_out_photos": dict(photo_pack.load_pack("held-out"))}
    if not a.no_sets:
        sets |= {"set5": load_set("Set5"), "set14": load_set("Set14")}
    res = quality(sets, a.scale, models)
    summary = {
        f"{name}_x{a.scale}": {**r["mean"], "gain_over_bicubic": gains(r["per_image"], list(models))}
        for name, r in res.items()
    }
    if a.update_manifest and not a.model:
        for mid in models:
            record_metrics(
                mid,
                {
                    f"heldout_photos_x{a.scale}_gain_over_bicubic": summary[f"held_out_photos_x{a.scale}"][
                        "gain_over_bicubic"
                    ][mid]
                },
                "sr_heldout.py",
            )
    emit({"per_set": res, "summary": summary})


if __name__ == "__main__":
    main()
