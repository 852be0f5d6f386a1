"""Colourization quality on Set5/Set14 colour photos turned grey (reporting only: never trained or tuned on).

    python benchmarks/colourize_quality.py [--onnx models/colourize-unet.onnx] [--update-manifest] [--no-speed]

For each colour photo: grey = the photo with its chroma removed and its CIE luminance kept (R = G = B, same L*).
Reported (means over the photos): PSNR (RGB, 8-bit) of the grey input, of the automatic result and of the results with
10 and 50 simulated hints (3×3 dots at seeded random places, each the mean colour of the original under it);
Hasler–Süsstrunk colourfulness of the originals and of the automatic results; the largest |ΔL| between output and
input in 8-bit levels (L*·255/100, exact CIE formulas, and OpenCV's 8-bit Lab as a second opinion); seconds for a
12 MP (4000×3000) photo through the engine's colourize function, 2 threads. Prints one JSON object on its last line.
"""

from __future__ import annotations

import argparse
import os
import time
import zlib

import numpy as np
from _common import ROOT, emit
from denoise_quality import colour_images
from sr_quality import entry, session

from llmvis_studio.core.metrics import colourfulness, dot_hints, grey_of, psnr

MODEL_ID = "colourize-unet"


def delta_l_levels(out: np.ndarray, grey: np.ndarray) -> tuple[float, int]:
    import cv2

    from llmvis_studio.core import lab

    exact = float(np.abs(lab.rgb_to_lab(out)[..., 0] - lab.rgb_to_lab(grey)[..., 0]).max() * 2.55)
    a = cv2.cvtColor(out, cv2.COLOR_RGB2LAB)[..., 0].astype(int)
    b = cv2.cvtColor(grey, cv2.COLOR_RGB2LAB)[..., 0].astype(int)
    return exact, int(np.abs(a - b).max())


def speed_12mp(infer, image: np.ndarray, gain: float, calibration=None) -> float:
    import cv2

    from llmvis_studio.engine.ops.colourize import ColourizeParams, colourize

    big = cv2.resize(grey_of(image), (4000, 3000), interpolation=cv2.INTER_CUBIC)
    colourize(big[:64, :64], infer, ColourizeParams())  # warm-up
    times, cpu = [], []
    for _ in range(2):
        t, c = time.perf_counter(), time.process_time()
        colourize(big, infer, ColourizeParams(hints=dot_hints(big, 50, 1), gain=gain, calibration=calibration))
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return min(times), min(cpu)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--onnx", default="", help="model file (default: the manifest's colourize-unet)")
    ap.add_argument("--update-manifest", action="store_true")
    ap.add_argument("--no-speed", action="store_true")
    ap.add_argument("--gain", type=float, default=1.0, help="chroma gain with --onnx (else the manifest's)")
    a = ap.parse_args()
    import cv2

    from llmvis_studio.engine.ops.colourize import ColourizeParams, colourize

    cv2.setNumThreads(2)
    e = entry(MODEL_ID)
    path = a.onnx or (str(ROOT / "models" / e["file"]) if e else "")
    if not path:
        raise SystemExit("no colourize model: train it (make models-colourize) or pass --onnx")
    sess = session(path)
    gain = float(e.get("chroma_gain", 1.0)) if e and not a.onnx else a.gain
    from llmvis_studio.engine.ops.colour_calibration import ChromaCalibration

    # the manifest's calibrated gain table replaces the single gain (unless --onnx asks for a plain gain)
    calibration = ChromaCalibration.from_json(e.get("chroma_calibration")) if e and not a.onnx else None

    def infer(x: np.ndarray) -> np.ndarray:
        return sess.run(["ab"], {"input": x})[0]

    rows = {}
    worst_exact, worst_cv2 = 0.0, 0
    for name, img in colour_images().items():
        grey = grey_of(img)
        seed = zlib.crc32(name.encode())
        row = {"grey": psnr(grey, img), "cf_orig": colourfulness(img)}
        # "auto" is the default (PSNR-best gains); "vivid" the opt-in colourful table
        for key, count, vivid in (
            ("auto", 0, False),
            ("vivid", 0, True),
            ("hints10", 10, False),
            ("hints50", 50, False),
        ):
            hints = dot_hints(img, count, seed) if count else None
            out = colourize(grey, infer, ColourizeParams(hints=hints, gain=gain, calibration=calibration, vivid=vivid))
            row[key] = psnr(out, img)
            exact, by_cv2 = delta_l_levels(out, grey)
            worst_exact, worst_cv2 = max(worst_exact, exact), max(worst_cv2, by_cv2)
            if count == 0:
                row[f"cf_{key}"] = colourfulness(out)
        rows[name] = {k: round(v, 3) for k, v in row.items()}
    mean = {k: round(float(np.mean([r[k] for r in rows.values()])), 3) for k in next(iter(rows.values()))}
    mean["cf_ratio"] = round(mean["cf_auto"] / mean["cf_orig"], 3)
    mean["cf_ratio_vivid"] = round(mean["cf_vivid"] / mean["cf_orig"], 3)
    result = {
        "benchmark": "colourize_quality",
        "model": path.split("/")[-1],
        "chroma_gain": gain,
        "chroma_calibration": calibration is not None,
        "images": len(rows),
        "mean": mean,
        "gain_hints10_db": round(mean["hints10"] - mean["auto"], 3),
        "gain_hints50_db": round(mean["hints50"] - mean["auto"], 3),
        "auto_minus_grey_db": round(mean["auto"] - mean["grey"], 3),
        "vivid_minus_grey_db": round(mean["vivid"] - mean["grey"], 3),
        "max_delta_l_levels_exact": round(worst_exact, 3),
        "max_delta_l_levels_opencv8": worst_cv2,
        "per_image": rows,
    }
    if not a.no_speed:
        wall, cpu = speed_12mp(infer, next(iter(colour_images().values())), gain, calibration)
        # the machine is shared: the load average says how much of the 2 cores the run really had
        result.update(
            {
                "seconds_12mp_2_threads": round(wall, 2),
                "cpu_seconds_12mp": round(cpu, 2),
                "load_average_1min": round(os.getloadavg()[0], 1),
            }
        )
    if a.update_manifest and e:
        from llmvis_studio.training.manifest_tools import upsert_entry

        m = dict(e.get("metrics", {}))
        m.update({f"set5_set14_{k}": v for k, v in mean.items()})
        for key in (
            "gain_hints10_db",
            "gain_hints50_db",
            "auto_minus_grey_db",
            "vivid_minus_grey_db",
            "max_delta_l_levels_exact",
            "max_delta_l_levels_opencv8",
            "seconds_12mp_2_threads",
            "cpu_seconds_12mp",
            "load_average_1min",
        ):
            if key in result:
                m[key] = result[key]
        m["measured_on"] = time.strftime("%Y-%m-%d") + ", benchmarks/colourize_quality.py, 2-core AMD EPYC (shared)"
        upsert_entry(ROOT / "models" / "manifest.json", {**e, "metrics": m})
    emit(result)


if __name__ == "__main__":
    main()
