"""`batch upscale` on a private Ray head (127.0.0.1 only): images per second with 1 and 2 workers, next to the
local engine, on the same 40 crops of the bundled photo; checks every Ray output against the local engine's
(decoded pixels) and that the inputs are untouched.

Each run is timed end to end as a user sees it once the cluster is up: listing, starting the actors, loading the
model once per worker, every image written. Ray's own start-up (once per run of the CLI) is reported apart.

    python benchmarks/batch_scaling.py [--count 40] [--size 96] [--scale 4]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import emit

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # the private head listens on 127.0.0.1 only


def make_inputs(folder: Path, count: int, size: int) -> None:
    from llmvis_studio.files import load_image, save_image
    from llmvis_studio.paths import sample_image

    photo, _ = load_image(sample_image())
    rng = np.random.default_rng(40)
    folder.mkdir()
    for i in range(count):
        y, x = int(rng.integers(0, photo.shape[0] - size)), int(rng.integers(0, photo.shape[1] - size))
        save_image(folder / f"scan{i:03d}.png", np.ascontiguousarray(photo[y : y + size, x : x + size]))


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def same_pixels(ours: Path, reference: Path) -> bool:
    from llmvis_studio.files import load_image

    names = sorted(p.name for p in reference.glob("*.png"))
    return names == sorted(p.name for p in ours.glob("*.png")) and all(
        np.array_equal(load_image(ours / n)[0], load_image(reference / n)[0]) for n in names
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--size", type=int, default=96, help="crop side in pixels")
    parser.add_argument("--scale", type=int, default=4)
    args = parser.parse_args()

    import ray

    from llmvis_studio.batch import BatchJob, run_batch
    from llmvis_studio.batch_ray import run_batch_ray
    from llmvis_studio.engine import Engine

    work = Path(tempfile.mkdtemp(prefix="batch-scaling-"))
    inputs = work / "in"
    make_inputs(inputs, args.count, args.size)
    before = digest(inputs)

    def job(out: str) -> BatchJob:
        return BatchJob(op="upscale", input_dir=inputs, output_dir=work / out, params={"scale": args.scale})

    local = run_batch(job("local"), Engine().run)
    results = {
        "local_engine": {
            "images_per_s": round(local.done / local.seconds, 2),
            "seconds": round(local.seconds, 2),
            "note": "one process, onnxruntime on all cores",
        }
    }
    started = time.monotonic()
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    ray_start = time.monotonic() - started
    try:
        node_ip = ray.util.get_node_ip_address()
        identical = True
        for workers in (1, 2):
            summary = run_batch_ray(job(f"ray{workers}"), workers=workers)
            assert summary.done == args.count and not summary.failed, summary.errors
            identical = identical and same_pixels(work / f"ray{workers}", work / "local")
            results[f"ray_{workers}_worker{'s' if workers > 1 else ''}"] = {
                "images_per_s": round(summary.done / summary.seconds, 2),
                "seconds": round(summary.seconds, 2),
                "note": "one onnxruntime thread per worker; actor start and model load included",
            }
    finally:
        ray.shutdown()
    one, two = results["ray_1_worker"]["images_per_s"], results["ray_2_workers"]["images_per_s"]
    emit(
        {
            "benchmark": "batch_scaling",
            "images": args.count,
            "size": f"{args.size}x{args.size}",
            "op": f"upscale x{args.scale} (catalog default)",
            **results,
            "speedup_2_vs_1_workers": round(two / one, 2),
            "ray_start_s": round(ray_start, 1),
            "outputs_identical_to_local": identical,
            "inputs_untouched": digest(inputs) == before,
            "ray_node_ip": node_ip,
        }
    )
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
