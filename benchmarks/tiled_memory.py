"""Peak memory of a tiled ×4 upscale of a 2000×1500 photo (or --width/--height).

Runs the engine in this process and reads the peak resident set size from the kernel.
Reported: the output's own size, the peak RSS, and the peak above the RSS measured just before
the job (after imports and opening the model), which is what tiling is meant to bound.
Usage: python benchmarks/tiled_memory.py [--model ID] [--width 2000 --height 1500] [--tile N]
"""

from __future__ import annotations

import argparse
import resource
import time

from _common import emit


def rss_now_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def reset_peak() -> bool:
    """Linux ≥ 4.0: writing 5 to clear_refs resets VmHWM, so the peak is the job's alone."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
        return True
    except OSError:
        return False


def peak_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=None)
    parser.add_argument("--width", type=int, default=2000)
    parser.add_argument("--height", type=int, default=1500)
    parser.add_argument("--tile", type=int, default=None)
    args = parser.parse_args()

    import cv2

    from llmvis_studio.core.requests import EditRequest
    from llmvis_studio.engine import Engine
    from llmvis_studio.files import load_image
    from llmvis_studio.paths import sample_image

    sample, _ = load_image(sample_image())
    photo = cv2.resize(sample, (args.width, args.height), interpolation=cv2.INTER_CUBIC)
    engine = Engine()
    model = args.model or engine.catalog.default_for("upscale", 4).id
    engine.run(EditRequest(op="upscale", image=photo[:32, :32].copy(), model_id=model, params={"scale": 4}))
    before = rss_now_mb()
    exact = reset_peak()
    started = time.perf_counter()
    result = engine.run(EditRequest(op="upscale", image=photo, model_id=model, params={"scale": 4}, tile=args.tile))
    seconds = time.perf_counter() - started
    peak = peak_mb()
    output_mb = result.image.nbytes / 2**20
    emit(
        {
            "benchmark": "tiled_upscale_memory",
            "model": model,
            "input": f"{args.width}x{args.height}",
            "output": f"{result.image.shape[1]}x{result.image.shape[0]}",
            "seconds": round(seconds, 1),
            "output_mp_per_s": round(result.image.shape[0] * result.image.shape[1] / 1e6 / seconds, 3),
            "output_mb": round(output_mb, 1),
            "rss_before_job_mb": round(before, 1),
            "peak_rss_mb": round(peak, 1),
            "peak_above_before_mb": round(peak - before, 1),
            "peak_is_job_only": exact,
        }
    )


if __name__ == "__main__":
    main()
