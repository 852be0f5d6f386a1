"""The scan / photo upscaler (sr-scan-x4, sr-scan-x2) against bicubic, the faithful compact model and
realesrgan-x4plus: fidelity on Set5 and speed on the same machine.

- Set5 ×s PSNR-Y (DESIGN §8: Pillow bicubic downscale, BT.601 Y, border shaved by s) for bicubic, the faithful
  sr-compact-x{s} and sr-scan-x{s}; the issue's bar: scan ≥ bicubic + 1 dB (it must not invent freely). Reporting
  only: Set5 is never trained or tuned on.
- Speed: one 192×192 photo crop (a Set5 image) ×4 through onnxruntime on `--threads` threads, best of a few runs
  after a warm-up, sr-scan-x4 vs realesrgan-x4plus; the issue's bar: ≥ 10× faster.

    python benchmarks/scan_sr.py [--threads 2] [--update-manifest]

Prints one JSON object on its last line (machine, CPU kind and load average included: the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
from _common import ROOT, emit, machine
from PIL import Image

SET5 = ROOT.parent / "shared" / "benchmarks" / "sr" / "Set5"
MODELS = Path(os.environ.get("LLMVIS_MODELS_DIR", ROOT / "models"))


def session(model_id: str, threads: int):
    import onnxruntime as ort

    entry = next(e for e in json.loads((MODELS / "manifest.json").read_text())["models"] if e["id"] == model_id)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(str(MODELS / entry["file"]), opts, providers=["CPUExecutionProvider"])


def run(sess, lr: np.ndarray) -> np.ndarray:
    x = np.ascontiguousarray(lr.transpose(2, 0, 1)[None], dtype=np.float32)
    return np.clip(sess.run(None, {sess.get_inputs()[0].name: x})[0][0].transpose(1, 2, 0), 0, 1)


def psnr_y(a: np.ndarray, b: np.ndarray, shave: int) -> float:
    def y(img: np.ndarray) -> np.ndarray:
        return 16.0 + 65.481 * img[..., 0] + 128.553 * img[..., 1] + 24.966 * img[..., 2]

    d = (y(a.astype(np.float64)) - y(b.astype(np.float64)))[shave:-shave, shave:-shave]
    return float(10 * np.log10(255.0**2 / max(float(np.mean(d**2)), 1e-12)))


def set5(scale: int, sessions: dict) -> dict:
    scores: dict[str, list[float]] = {"bicubic": [], **{k: [] for k in sessions}}
    for p in sorted(SET5.glob("*.png")):
        with Image.open(p) as im:
            hr = np.asarray(im.convert("RGB"))
        hr = hr[: hr.shape[0] - hr.shape[0] % scale, : hr.shape[1] - hr.shape[1] % scale]
        h, w = hr.shape[:2]
        lr_im = Image.fromarray(hr).resize((w // scale, h // scale), Image.BICUBIC)
        gt = hr.astype(np.float32) / 255.0
        bic = np.asarray(lr_im.resize((w, h), Image.BICUBIC)).astype(np.float32) / 255.0
        scores["bicubic"].append(psnr_y(bic, gt, scale))
        lr = np.asarray(lr_im).astype(np.float32) / 255.0
        for key, sess in sessions.items():
            scores[key].append(psnr_y(run(sess, lr), gt, scale))
    return {k: round(float(np.mean(v)), 3) for k, v in scores.items()}


def speed(sess, lr: np.ndarray, repeats: int) -> float:
    run(sess, lr)  # warm-up
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        run(sess, lr)
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--update-manifest", action="store_true")
    a = p.parse_args()
    ids = {e["id"] for e in json.loads((MODELS / "manifest.json").read_text())["models"]}
    result: dict = {"benchmark": "scan_sr", "machine": machine(), "load_average_before": os.getloadavg()}
    for scale in (4, 2):
        scan = f"sr-scan-x{scale}"
        if scan not in ids:
            continue
        sessions = {m: session(m, a.threads) for m in (f"sr-compact-x{scale}", scan)}
        scores = set5(scale, sessions)
        scores["scan_minus_bicubic"] = round(scores[scan] - scores["bicubic"], 3)
        result[f"set5_x{scale}_psnr_y"] = scores
    with Image.open(sorted(SET5.glob("*.png"))[0]) as im:
        crop = np.asarray(im.convert("RGB"))[:192, :192].astype(np.float32) / 255.0
    if "sr-scan-x4" in ids and "realesrgan-x4plus" in ids:
        fast = speed(session("sr-scan-x4", a.threads), crop, 5)
        slow = speed(session("realesrgan-x4plus", a.threads), crop, 1)
        result["speed_192px_x4_seconds"] = {
            "sr-scan-x4": round(fast, 4),
            "realesrgan-x4plus": round(slow, 3),
            "speedup": round(slow / fast, 1),
            "sr-scan-x4_output_mp_per_s": round(768 * 768 / fast / 1e6, 3),
        }
    result["load_average_after"] = os.getloadavg()
    if a.update_manifest:
        update_manifest(result)
    emit(result)


def update_manifest(result: dict) -> None:
    import sys

    sys.path.insert(0, str(ROOT))
    from llmvis_studio.training.manifest_tools import upsert_entry

    manifest = MODELS / "manifest.json"
    for entry in json.loads(manifest.read_text())["models"]:
        scale = entry.get("scale")
        if entry["id"] != f"sr-scan-x{scale}" or f"set5_x{scale}_psnr_y" not in result:
            continue
        metrics = dict(entry.get("metrics", {}))
        metrics[f"set5_x{scale}_psnr_y"] = result[f"set5_x{scale}_psnr_y"]
        if scale == 4 and "speed_192px_x4_seconds" in result:
            metrics["speed_vs_realesrgan_x4plus"] = result["speed_192px_x4_seconds"]
        metrics["measured"] = f"benchmarks/scan_sr.py, {time.strftime('%Y-%m-%d')}, {result['machine']['cpu_kind']}"
        upsert_entry(manifest, {**entry, "metrics": metrics})


if __name__ == "__main__":
    main()
