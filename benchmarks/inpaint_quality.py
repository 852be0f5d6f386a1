"""Inpainting quality vs OpenCV Telea / Navier–Stokes, scratch-detector accuracy, and large-photo timing.

Images: Set5 + Set14 (../shared/benchmarks/sr; override with LLMVIS_BENCHMARKS=folder holding sr/) — never used
for training or tuning; reporting only.

Inpainting (DESIGN §8): per image two seeded masks (masks.benchmark_mask): `thin` = 6 scratches 1–3 px wide,
`stroke` = 4 brush strokes 9–21 px wide. Every method runs through the engine (Engine.run, op `inpaint`, 8-bit
output): opencv-telea, opencv-ns and the learned model (colour matching on, the default; and off). PSNR over the RGB
values of the hole pixels only, and SSIM (scikit-image, 7×7 Gaussian-free window, per channel) averaged over the
hole pixels; per-image values are averaged. The script also checks that no pixel outside the mask changed.

Detector: per image two variants, 4 light or 4 dark thin scratches (1–3 px, opacity 0.5–1.0, soft edges) drawn with
masks.render_scratch (seeded), saved to 8 bits; the engine's `detect-scratches` op at the model's default threshold;
precision / recall / F1 with 1 px tolerance, pooled over all pixels (micro) and per light/dark.

Timing: a 4000×3000 photo (a Set14 image resized) with 5 small brush marks and 3 short scratches, inpainted by the
default model through the engine on 2 onnxruntime threads; the first run (session load included) and the best of 3.

    python benchmarks/inpaint_quality.py [--update-manifest] [--no-timing]

Prints one JSON object on its last line.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import cv2
import numpy as np
from _common import ROOT, emit, record_metrics
from PIL import Image

from llmvis_studio.core.metrics import hole_psnr, hole_ssim

INPAINT_ID = "inpaint-gated-ns"
DETECTOR_ID = "scratch-detector"


def bench_root() -> Path:
    env = os.environ.get("LLMVIS_BENCHMARKS")
    return Path(env) if env else (ROOT.parent / "shared" / "benchmarks")


def load_images() -> dict[str, np.ndarray]:
    out = {}
    for name in ("Set5", "Set14"):
        for p in sorted((bench_root() / "sr" / name).glob("*.png")):
            with Image.open(p) as im:
                out[f"{name}/{p.stem}"] = np.asarray(im.convert("RGB"))
    if not out:
        raise SystemExit(f"no benchmark images under {bench_root() / 'sr'} (set LLMVIS_BENCHMARKS)")
    return out


def tolerant_counts(pred: np.ndarray, truth: np.ndarray, tol: int = 1) -> tuple[int, int, int, int]:
    k = cv2.getStructuringElement(cv2.MORPH_RECT, (2 * tol + 1, 2 * tol + 1))
    p, t = pred > 0, truth > 0
    tp_p = int((p & (cv2.dilate(t.astype(np.uint8), k) > 0)).sum())
    tp_t = int((t & (cv2.dilate(p.astype(np.uint8), k) > 0)).sum())
    return tp_p, int(p.sum()), tp_t, int(t.sum())


def prf(c: list[int]) -> dict[str, float]:
    precision = c[0] / max(1, c[1])
    recall = c[2] / max(1, c[3])
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(2 * precision * recall / max(1e-9, precision + recall), 4),
    }


def bench_inpaint(engine, images, learned: bool) -> dict:
    from llmvis_studio.core.requests import EditRequest
    from llmvis_studio.training import masks

    methods = {"telea": ("opencv-telea", {}), "ns": ("opencv-ns", {})}
    if learned:
        methods["learned"] = (INPAINT_ID, {})
        methods["learned_no_colour_match"] = (INPAINT_ID, {"color_match": False})
    scores: dict = {kind: {m: {"psnr": [], "ssim": []} for m in methods} for kind in ("thin", "stroke")}
    outside_exact = True
    per_image: dict = {}
    for idx, (name, img) in enumerate(images.items()):
        h, w = img.shape[:2]
        for kind in ("thin", "stroke"):
            mask = masks.benchmark_mask(kind, h, w, seed=1000 * (kind == "stroke") + idx)
            hole = mask > 0
            for method, (model_id, params) in methods.items():
                res = engine.run(
                    EditRequest.build("inpaint", img, mask, model_id=model_id, params=params, device="cpu")
                )
                outside_exact &= bool(np.array_equal(res.image[~hole], img[~hole]))
                p = hole_psnr(res.image, img, hole)
                scores[kind][method]["psnr"].append(p)
                scores[kind][method]["ssim"].append(hole_ssim(res.image, img, hole))
                per_image.setdefault(name, {}).setdefault(kind, {})[method] = round(p, 2)
    summary = {
        kind: {m: {k: round(float(np.mean(v)), 3) for k, v in d.items()} for m, d in by.items()}
        for kind, by in scores.items()
    }
    if learned:
        for kind in ("thin", "stroke"):
            summary[kind]["learned_minus_ns_db"] = round(
                summary[kind]["learned"]["psnr"] - summary[kind]["ns"]["psnr"], 3
            )
            wins = sum(a > b for a, b in zip(scores[kind]["learned"]["psnr"], scores[kind]["ns"]["psnr"]))
            summary[kind]["learned_beats_ns_images"] = f"{wins}/{len(images)}"
    return {"inpaint": summary, "outside_mask_bit_exact": outside_exact, "per_image_psnr": per_image}


def bench_detector(engine, images) -> dict:
    from llmvis_studio.core.requests import EditRequest

    counts = {"light": [0, 0, 0, 0], "dark": [0, 0, 0, 0]}
    clean_fp = 0
    clean_px = 0
    for idx, img in enumerate(images.values()):
        for variant, damaged8, truth in scratched_variants(img, 20_000 + 2 * idx):
            res = engine.run(EditRequest.build("detect-scratches", damaged8, model_id=DETECTOR_ID, device="cpu"))
            c = tolerant_counts(res.image[..., 0], truth)
            counts[variant] = [a + b for a, b in zip(counts[variant], c)]
        res = engine.run(EditRequest.build("detect-scratches", img, model_id=DETECTOR_ID, device="cpu"))
        clean_fp += int(np.count_nonzero(res.image[..., 0]))
        clean_px += img.shape[0] * img.shape[1]
    total = [a + b for a, b in zip(counts["light"], counts["dark"])]
    spec = engine.catalog.get(DETECTOR_ID)
    return {
        "threshold": float(spec.extra.get("threshold", 0.5)),
        "tolerance_px": 1,
        "all": prf(total),
        "light": prf(counts["light"]),
        "dark": prf(counts["dark"]),
        "clean_images_marked_fraction": round(clean_fp / max(1, clean_px), 5),
    }


def scratched_variants(img: np.ndarray, seed: int):
    """The thin-scratch protocol: (variant, scratched 8-bit copy, truth mask) for four light, then four dark
    scratches drawn on `img` (seeds `seed` and `seed` + 1)."""
    from llmvis_studio.training import masks

    for variant in ("light", "dark"):
        rng = np.random.default_rng(seed + (variant == "dark"))
        damaged = img.astype(np.float32) / 255.0
        truth = np.zeros(img.shape[:2], np.uint8)
        for _ in range(4):
            damaged, shape = masks.render_scratch(
                damaged, rng, light=variant == "light", strength=float(rng.uniform(0.5, 1.0))
            )
            truth = np.maximum(truth, shape)
        yield variant, np.clip(np.round(damaged * 255), 0, 255).astype(np.uint8), truth


def bench_timing(images, model_id: str | None) -> dict:
    """Seconds for a 4000×3000 photo with a few small masks, with the learned model when installed (else the
    default fill)."""
    from llmvis_studio.core.requests import EditRequest
    from llmvis_studio.engine import Engine

    src = images.get("Set14/lenna", next(iter(images.values())))
    big = cv2.resize(src, (4000, 3000), interpolation=cv2.INTER_CUBIC)
    mask = np.zeros((3000, 4000), np.uint8)
    rng = np.random.default_rng(7)
    for _ in range(5):
        x, y = int(rng.integers(200, 3700)), int(rng.integers(200, 2700))
        cv2.line(
            mask,
            (x, y),
            (x + int(rng.integers(-120, 120)), y + int(rng.integers(-120, 120))),
            255,
            int(rng.integers(9, 22)),
        )
    for _ in range(3):
        x, y = int(rng.integers(200, 3500)), int(rng.integers(200, 2500))
        cv2.line(mask, (x, y), (x + int(rng.integers(100, 400)), y + int(rng.integers(-50, 50))), 255, 2)
    engine = Engine(threads=2)
    request = EditRequest.build("inpaint", big, mask, model_id=model_id, device="cpu")
    t = time.perf_counter()
    res = engine.run(request)
    first = time.perf_counter() - t
    runs = []
    for _ in range(3):
        t = time.perf_counter()
        engine.run(request)
        runs.append(time.perf_counter() - t)
    return {
        "size": "4000x3000",
        "mask_fraction": round(float((mask > 0).mean()), 5),
        "model": res.model_id,
        "threads": 2,
        "first_run_s": round(first, 2),
        "best_of_3_s": round(min(runs), 2),
        "target_s": 10,
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--update-manifest", action="store_true")
    ap.add_argument("--no-timing", action="store_true")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    from llmvis_studio.engine import Engine

    images = load_images()
    engine = Engine(threads=a.threads)
    ids = set(engine.catalog.ids())
    result: dict = {"images": len(images), "sets": ["Set5", "Set14"], "psnr": "RGB over hole pixels, 8-bit"}
    t = time.time()
    result.update(bench_inpaint(engine, images, INPAINT_ID in ids))
    result["inpaint_seconds"] = round(time.time() - t, 1)
    if DETECTOR_ID in ids:
        result["detector"] = bench_detector(engine, images)
    if not a.no_timing:
        result["timing"] = bench_timing(images, INPAINT_ID if INPAINT_ID in ids else None)
    if a.update_manifest:
        update_manifest(result)
    emit(result)
    return 0


def update_manifest(result: dict) -> None:
    if "learned" in result["inpaint"]["thin"]:
        m = {}
        for kind in ("thin", "stroke"):
            r = result["inpaint"][kind]
            for metric in ("psnr", "ssim"):
                m[f"set5_set14_{kind}_hole_{metric}"] = {f: r[f][metric] for f in ("learned", "ns", "telea")}
        if "timing" in result and result["timing"]["model"] == INPAINT_ID:
            m["seconds_4000x3000_few_masks_2_threads"] = result["timing"]["best_of_3_s"]
        record_metrics(INPAINT_ID, m, "inpaint_quality.py")
    if "detector" in result:
        d = result["detector"]
        record_metrics(
            DETECTOR_ID,
            {
                "set5_set14_thin_scratches_1px_tolerance": d["all"],
                "set5_set14_light_dark_f1": {"light": d["light"]["f1"], "dark": d["dark"]["f1"]},
                "clean_images_marked_fraction": d["clean_images_marked_fraction"],
            },
            "inpaint_quality.py",
        )


if __name__ == "__main__":
    raise SystemExit(main())
