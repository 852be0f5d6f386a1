"""Smart masks: quality on the reference photos and time on a 12 MP photo (2 threads). Prints JSON.

    python benchmarks/smart_masks.py [--quick]

Quality: select-subject IoU against the reference masks, detect-text recall (1 px tolerance) and marked area
over text area, hole PSNR of detect-text → inpaint against OpenCV NS given the exact text mask (training
photos; see llmvis_studio/training/smart_mask_samples.py). Time: select-subject, remove-background and
detect-text on a 4000×3000 photo with a rendered date stamp, the models already loaded, wall clock and the
process's CPU seconds (on a shared machine the CPU seconds say more: wall ≈ CPU / 2 on two free cores).
"""

from __future__ import annotations

import argparse
import os
import time

import cv2
import numpy as np
from _common import emit

from llmvis_studio.core.requests import EditRequest
from llmvis_studio.engine import Engine
from llmvis_studio.training import smart_mask_samples as samples

THREADS = 2


def twelve_megapixel(sample: samples.TextSample) -> tuple[np.ndarray, np.ndarray]:
    """The first text sample scaled to 4000×3000 (text scaled with it), plus its text coverage."""
    image = cv2.resize(sample.image, (4000, 3000), interpolation=cv2.INTER_CUBIC)
    coverage = cv2.resize(sample.coverage, (4000, 3000), interpolation=cv2.INTER_LINEAR)
    return image, coverage


def timed(engine: Engine, request: EditRequest, repeats: int) -> dict:
    engine.run(request)  # sessions open on the first run
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        engine.run(request)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return {"wall_s": round(min(walls), 3), "cpu_s": round(min(cpus), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one timing run each, no quality pass")
    args = parser.parse_args()
    if not samples.available():
        emit({"skipped": "training photos not installed"})
        return
    engine = Engine(threads=THREADS)
    result: dict = {"threads": THREADS, "load_average_1min": round(os.getloadavg()[0], 2)}
    if not args.quick:
        result.update(samples.measure_subject())
        result.update(samples.measure_text())
    text = samples.text_samples()[0]
    image, coverage = twelve_megapixel(text)
    repeats = 1 if args.quick else 3
    result["time_12mp"] = {
        op: timed(engine, EditRequest(op, image, device="cpu"), repeats)
        for op in ("select-subject", "remove-background", "detect-text")
    }
    mask = engine.run(EditRequest("detect-text", image, device="cpu")).image[..., 0]
    result["text_12mp"] = {k: round(v, 4) for k, v in samples.text_scores(mask > 0, coverage).items()}
    result["load_average_1min_after"] = round(os.getloadavg()[0], 2)
    emit(result)


if __name__ == "__main__":
    main()
