"""Print-damage detection and restore on synthetic old prints made from Set5/Set14, clean-photo false marks,
and the time of detect + restore on a 4000×3000 scan.

Images: Set5 + Set14 (../shared/benchmarks/sr; LLMVIS_BENCHMARKS overrides) — reporting only, never trained or tuned
on. No real damaged scans with a licence that allows redistribution were available offline, so every damage figure
here is on synthetic prints (llmvis_studio.training.print_damage, seeded); the held-back real prints are checked by
the project, not here.

- prints: each image → old-print look + print damage (cracks, folds, tears, emulsion loss, dust, hairs, foxing) +
  scan texture, seeded; `detect-scratches` through the engine at sensitivity 0.5; precision / recall / F1 with 1 px
  tolerance pooled over all pixels; marked area / reference area.
- thin: the old protocol (benchmarks/inpaint_quality.py bench_detector: 4 light or 4 dark thin scratches per image).
- clean: fraction of pixels marked on the undamaged photos and on their undamaged old-print looks.
- restore: crack contrast removed = 1 − mean|restored − clean| / mean|damaged − clean| over the reference mask (luma).
- timing: a 4000×3000 synthetic print, `restore` (detect + fill) through the engine on 2 threads; first and second run,
  wall and process CPU seconds and the load average (on a shared machine the wall time says more about the others).
- sheets: before / mask / after PNGs under --sheets.

    python benchmarks/real_damage.py [--update-manifest] [--no-timing] [--sheets runs/real_damage]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import inpaint_quality as iq
import numpy as np
from _common import cpu_kind, emit, record_metrics

MODEL_ID = "damage-detector"
LUMA = np.array([0.299, 0.587, 0.114], np.float32)


def synthetic_print(img: np.ndarray, seed: int, amount: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(clean old-print look uint8, damaged scan uint8, reference mask): the same scan texture on both."""
    from llmvis_studio.training import print_damage as pd

    rng = np.random.default_rng(seed)
    look, paper = pd.old_print_look(rng, img)
    damaged, truth = pd.add_print_damage(rng, look, paper, amount)
    clean, scanned, truth = pd.scan_pair(rng, look, damaged, truth)  # label = visible after the scan
    to8 = lambda a: np.clip(np.round(a * 255), 0, 255).astype(np.uint8)  # noqa: E731
    return to8(clean), to8(scanned), truth


def big_print(src: np.ndarray, seed: int, w: int = 4000, h: int = 3000, block: int = 500) -> np.ndarray:
    """A w×h damaged print, damaged block by block (the synthesiser is made for crops)."""
    from llmvis_studio.training import print_damage as pd

    rng = np.random.default_rng(seed)
    look, paper = pd.old_print_look(rng, cv2.resize(src, (w, h), interpolation=cv2.INTER_CUBIC))
    for y in range(0, h, block):
        for x in range(0, w, block):
            tile = look[y : y + block, x : x + block]
            look[y : y + block, x : x + block], _ = pd.add_print_damage(rng, tile, paper, 0.6)
    return np.clip(np.round(pd.scan(rng, look) * 255), 0, 255).astype(np.uint8)


def luma(a: np.ndarray) -> np.ndarray:
    return a[..., :3].astype(np.float32) @ LUMA


def crack_errors(damaged: np.ndarray, restored: np.ndarray, clean: np.ndarray, truth: np.ndarray, out: tuple) -> None:
    """Append one print's mean |damaged − clean| and mean |restored − clean| over its reference mask (luma) to the
    (before, after) lists in `out`; a print without damage adds nothing."""
    hole = truth > 0
    if hole.any():
        out[0].append(float(np.abs(luma(damaged) - luma(clean))[hole].mean()))
        out[1].append(float(np.abs(luma(restored) - luma(clean))[hole].mean()))


def contrast_removed(errors: tuple) -> float:
    """Crack contrast removed over the prints: 1 − mean of the per-print after-errors / mean of the before-errors."""
    before, after = errors
    return round(1 - float(np.mean(after)) / max(1e-9, float(np.mean(before))), 4)


def bench_prints(engine, images: dict, sheets: Path | None) -> dict:
    from llmvis_studio.core.requests import EditRequest

    counts = [0, 0, 0, 0]
    errors: tuple = ([], [])
    marked, ref, clean_marked, clean_px = 0, 0, 0, 0
    rows = []
    for idx, img in enumerate(images.values()):
        clean, damaged, truth = synthetic_print(img, 31_000 + idx)
        det = engine.run(
            EditRequest.build("detect-scratches", damaged, model_id=MODEL_ID, device="cpu", params={"sensitivity": 0.5})
        )
        pred = det.image[..., 0]
        counts = [a + b for a, b in zip(counts, iq.tolerant_counts(pred, truth))]
        marked += int(np.count_nonzero(pred))
        ref += int(np.count_nonzero(truth))
        res = engine.run(
            EditRequest.build("restore", damaged, model_id=MODEL_ID, device="cpu", params={"sensitivity": 0.5})
        )
        crack_errors(damaged, res.image, clean, truth, errors)
        for photo in (img, clean):  # undamaged photo and its undamaged old-print look
            c = engine.run(
                EditRequest.build(
                    "detect-scratches", photo, model_id=MODEL_ID, device="cpu", params={"sensitivity": 0.5}
                )
            )
            clean_marked += int(np.count_nonzero(c.image[..., 0]))
            clean_px += photo.shape[0] * photo.shape[1]
        if sheets is not None and len(rows) < 6 and min(img.shape[:2]) >= 256:
            rows.append(_sheet_row(damaged, pred, res.image, truth))
    if sheets is not None and rows:
        _save_sheet(sheets / "prints_before_mask_after.png", rows)
    out = iq.prf(counts)
    out.update(
        {
            "marked_over_reference_area": round(marked / max(1, ref), 3),
            "crack_contrast_removed": contrast_removed(errors),
            "clean_marked_fraction": round(clean_marked / max(1, clean_px), 5),
        }
    )
    return out


def _sheet_row(damaged, pred, restored, truth, side: int = 256) -> np.ndarray:
    h, w = damaged.shape[:2]
    y, x = (h - side) // 2, (w - side) // 2
    crop = lambda a: a[y : y + side, x : x + side]  # noqa: E731
    overlay = crop(damaged).copy()
    overlay[crop(pred) > 0] = (255, 0, 0)
    miss = (crop(truth) > 0) & (crop(pred) == 0)
    overlay[miss] = (0, 160, 255)
    return np.concatenate([crop(damaged), overlay, crop(restored)[..., :3]], 1)


def _save_sheet(path: Path, rows: list[np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(np.concatenate(rows, 0), cv2.COLOR_RGB2BGR))


def bench_timing(images: dict, threads: int, sheets: Path | None) -> dict:
    from llmvis_studio.core.requests import EditRequest
    from llmvis_studio.engine import Engine

    src = images.get("Set14/lenna", next(iter(images.values())))
    scan = big_print(src, 77)
    engine = Engine(threads=threads)
    request = EditRequest.build("restore", scan, model_id=MODEL_ID, device="cpu", params={"sensitivity": 0.5})
    runs, cpu, res = [], [], None
    for _ in range(2):
        t, c = time.perf_counter(), time.process_time()
        res = engine.run(request)
        runs.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    if sheets is not None:
        _save_sheet(
            sheets / "scan_4000x3000_before_after.png",
            [np.concatenate([scan[1000:1512, 1500:2012], res.image[1000:1512, 1500:2012]], 1)],
        )
    changed = float(np.mean(np.any(res.image != scan, axis=2)))
    return {
        "size": "4000x3000",
        "threads": threads,
        "first_run_s": round(runs[0], 2),
        "second_run_s": round(runs[1], 2),
        "second_run_cpu_s": round(cpu[1], 2),
        "load_average_1min": round(__import__("os").getloadavg()[0], 1),
        "changed_fraction": round(changed, 4),
        "notes": list(res.notes),
        "target_s": 15,
        "cpu": cpu_kind(),
    }


def main() -> int:  # noqa: C901
    ap = argparse.ArgumentParser()
    ap.add_argument("--update-manifest", action="store_true")
    ap.add_argument("--no-timing", action="store_true")
    ap.add_argument("--timing-only", action="store_true", help="only the 4000×3000 detect + restore timing")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--sheets", default="runs/real_damage", help="folder for contact sheets ('' = none)")
    ap.add_argument("--model", default="damage-detector", help="detector model id")
    a = ap.parse_args()
    global MODEL_ID
    MODEL_ID = a.model
    from llmvis_studio.engine import Engine

    images = iq.load_images()
    engine = Engine(threads=a.threads)
    sheets = Path(a.sheets) if a.sheets else None
    iq.DETECTOR_ID = MODEL_ID  # the thin-scratch protocol of inpaint_quality.py, run on this detector
    if a.timing_only:
        result = {"model": MODEL_ID, "timing": bench_timing(images, a.threads, sheets)}
        if a.update_manifest:
            update_manifest(result)
        emit(result)
        return 0
    t = time.time()
    result: dict = {
        "images": len(images),
        "sets": ["Set5", "Set14"],
        "model": MODEL_ID,
        "sensitivity": 0.5,
        "synthetic_prints": bench_prints(engine, images, sheets),
        "thin": iq.bench_detector(engine, images),
    }
    result["quality_seconds"] = round(time.time() - t, 1)
    if not a.no_timing:
        result["timing"] = bench_timing(images, a.threads, sheets)
    if a.update_manifest:
        update_manifest(result)
    emit(result)
    return 0


def update_manifest(result: dict) -> None:
    m = {}
    if "timing" in result:
        t = result["timing"]
        m["restore_seconds_4000x3000_2_threads"] = t["second_run_s"]
        m["restore_4000x3000_timing"] = {
            k: t[k] for k in ("second_run_s", "second_run_cpu_s", "load_average_1min", "changed_fraction", "cpu")
        }
    if "synthetic_prints" in result:  # not --timing-only
        thin = result["thin"]
        m.update(
            {
                "set5_set14_synthetic_prints_1px_tolerance": result["synthetic_prints"],
                "set5_set14_thin_scratches_1px_tolerance": thin["all"],
                "set5_set14_light_dark_f1": {"light": thin["light"]["f1"], "dark": thin["dark"]["f1"]},
                "clean_images_marked_fraction": thin["clean_images_marked_fraction"],
            }
        )
    record_metrics(MODEL_ID, m, "real_damage.py")


if __name__ == "__main__":
    raise SystemExit(main())
