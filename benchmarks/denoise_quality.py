"""Colour denoising quality of the shipped denoiser, through onnxruntime.

Protocol: the colour images of Set5 + Set14 (grey ones skipped), additive white Gaussian noise σ = 15 / 25 / 50
(on the 0–255 scale, seeded per image and σ, clipped to [0, 1]), PSNR over RGB of the 8-bit output against the
clean image. Baselines: the noisy input and OpenCV's fastNlMeansDenoisingColored (h = hColor = 0.8·σ for σ ≤ 25 and
0.6·σ for σ = 50, chosen on training-source photos (astronaut, coffee, chelsea), template 7, search 21). CBM3D's published CBSD68 figures are listed as a reference
(different images, so not directly comparable).
Images: ../shared/benchmarks/sr/{Set5,Set14} (override with LLMVIS_BENCHMARKS).

    python benchmarks/denoise_quality.py [--no-nlm] [--update-manifest]

Prints one JSON object on its last line.
"""

from __future__ import annotations

import argparse
import os
import time
import zlib

import numpy as np
from _common import ROOT, emit
from sr_quality import entry, load_set, memory_per_input_pixel, session

from llmvis_studio.core.metrics import psnr

SIGMAS = (15, 25, 50)
CBM3D_CBSD68 = {"15": 33.52, "25": 30.71, "50": 27.38}
MODEL_ID = "denoise-compact"


def add_noise(clean_u8: np.ndarray, sigma: float, name: str) -> np.ndarray:
    """float32 HxWx3 in [0, 1]."""
    rng = np.random.default_rng(zlib.crc32(f"{name}/{sigma}".encode()))
    x = clean_u8.astype(np.float32) / 255.0
    return np.clip(x + rng.standard_normal(x.shape).astype(np.float32) * (sigma / 255.0), 0.0, 1.0)


def to_u8(x: np.ndarray) -> np.ndarray:
    return (np.clip(x, 0, 1) * 255.0 + 0.5).astype(np.uint8)


def run_model(sess, noisy: np.ndarray, stride: int = 2) -> np.ndarray:
    h, w = noisy.shape[:2]
    ph, pw = (-h) % stride, (-w) % stride
    x = noisy.transpose(2, 0, 1)[None]
    if ph or pw:
        x = np.pad(x, ((0, 0), (0, 0), (0, ph), (0, pw)), mode="reflect")
    y = sess.run(["output"], {"image": np.ascontiguousarray(x, dtype=np.float32)})[0][0, :, :h, :w]
    return to_u8(y.transpose(1, 2, 0))


def nlm(noisy: np.ndarray, sigma: float) -> np.ndarray:
    import cv2

    h = (0.8 if sigma <= 25 else 0.6) * sigma
    bgr = cv2.cvtColor(to_u8(noisy), cv2.COLOR_RGB2BGR)
    out = cv2.fastNlMeansDenoisingColored(bgr, None, h, h, 7, 21)
    return cv2.cvtColor(out, cv2.COLOR_BGR2RGB)


def colour_images() -> dict[str, np.ndarray]:
    imgs = {}
    for set_name in ("Set5", "Set14"):
        for name, img in load_set(set_name).items():
            i = img.astype(np.int16)
            if np.abs(i[..., 0] - i[..., 1]).max() <= 2 and np.abs(i[..., 1] - i[..., 2]).max() <= 2:
                continue  # grey
            imgs[f"{set_name}/{name}"] = img
    return imgs


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--no-nlm", action="store_true")
    ap.add_argument("--update-manifest", action="store_true")
    a = ap.parse_args()
    import cv2

    cv2.setNumThreads(2)
    images = colour_images()
    e = entry(MODEL_ID)
    sess = session(ROOT / "models" / e["file"]) if e else None
    stride = e.get("stride", 2) if e else 2
    per: dict = {}
    means: dict = {}
    t_model = 0.0
    px = 0
    for sigma in SIGMAS:
        rows = {}
        for name, clean in images.items():
            noisy = add_noise(clean, sigma, name)
            row = {"noisy": psnr(to_u8(noisy), clean)}
            if not a.no_nlm:
                row["opencv_nlm"] = psnr(nlm(noisy, sigma), clean)
            if sess is not None:
                t = time.perf_counter()
                out = run_model(sess, noisy, stride)
                t_model += time.perf_counter() - t
                px += clean.shape[0] * clean.shape[1]
                row[MODEL_ID] = psnr(out, clean)
            rows[name] = {k: round(v, 3) for k, v in row.items()}
        per[str(sigma)] = rows
        keys = next(iter(rows.values())).keys()
        means[str(sigma)] = {k: round(float(np.mean([r[k] for r in rows.values()])), 3) for k in keys}
    result = {
        "protocol": "Set5+Set14 colour images, AWGN sigma 15/25/50 (0-255 scale, seeded, clipped), "
        "PSNR RGB of the 8-bit output, onnxruntime CPU 2 threads",
        "images": sorted(images),
        "mean": means,
        "per_image": per,
        "reference_cbm3d_cbsd68": CBM3D_CBSD68,
    }
    if sess is not None and t_model:
        result["model_mp_per_s_2_threads"] = round(px / t_model / 1e6, 3)
    if e:
        result["memory_bytes_per_input_pixel"] = memory_per_input_pixel(ROOT / "models" / e["file"], (1024, 2048))
    if a.update_manifest and e:
        from llmvis_studio.training.manifest_tools import upsert_entry

        m = dict(e.get("metrics", {}))
        for s in SIGMAS:
            m[f"set5_set14_colour_sigma{s}_psnr_rgb"] = means[str(s)][MODEL_ID]
            m[f"noisy_sigma{s}_psnr_rgb"] = means[str(s)]["noisy"]
            if "opencv_nlm" in means[str(s)]:
                m[f"opencv_nlm_sigma{s}_psnr_rgb"] = means[str(s)]["opencv_nlm"]
        m["reference_cbm3d_cbsd68"] = CBM3D_CBSD68
        m["mp_per_s_2_threads"] = result.get("model_mp_per_s_2_threads")
        m["measured_on"] = f"{time.strftime('%Y-%m-%d')}, benchmarks/denoise_quality.py, {os.cpu_count()}-core CPU"
        e["metrics"] = m
        e["memory_bytes_per_input_pixel"] = result["memory_bytes_per_input_pixel"]
        upsert_entry(ROOT / "models" / "manifest.json", e)
    emit(result)


if __name__ == "__main__":
    main()
