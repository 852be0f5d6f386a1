"""Default ×4 upscale speed through the engine, int8 vs fp32 in one run, as a fraction of this machine's peak.

A 1000×750 photo → 4000×3000 with the catalog's default ×4 model (sr-compact-x4-int8 on the CPU) and with the fp32
net it was quantised from, alternating runs, best of N. Reports output MP/s, the int8 / fp32 ratio, conv GFLOP per
run (counted from the ONNX graph; int8 multiply-adds counted like fp32 ones) and the fraction of a measured fp32
matmul peak, so the figure means the same on AVX2 and AVX-512 machines. Peak: numpy sgemm 2048² on the same threads.

    python benchmarks/upscale_speed.py [--size 1000x750] [--repeats 2] [--threads 2]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import onnx
from _common import ROOT, emit
from PIL import Image


def conv_macs_per_input_pixel(path) -> float:
    """Σ Cin·k·k·Cout over the Conv nodes (all run at the input resolution in the compact nets)."""
    model = onnx.load(str(path))
    weights = {i.name: tuple(i.dims) for i in model.graph.initializer}
    total = 0.0
    for node in model.graph.node:
        if node.op_type == "Conv":
            dims = weights.get(node.input[1])
            if dims is None:  # QDQ graphs: the weight passes through DequantizeLinear
                source = next((n.input[0] for n in model.graph.node if n.output and n.output[0] == node.input[1]), None)
                dims = weights.get(source)
            if dims:
                total += float(np.prod(dims))
    return total


def matmul_peak_gflops(threads: int) -> float:
    from threadpoolctl import threadpool_limits

    a = np.random.default_rng(0).random((2048, 2048), dtype=np.float32)
    with threadpool_limits(threads):
        a @ a
        best = min(_timed(lambda: a @ a) for _ in range(5))
    return 2 * 2048**3 / best / 1e9


def _timed(function) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def photo(width: int, height: int) -> np.ndarray:
    with Image.open(ROOT / "resources" / "sample.png") as im:
        return np.asarray(im.convert("RGB").resize((width, height), Image.BICUBIC))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="1000x750")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    width, height = (int(v) for v in args.size.split("x"))

    from llmvis_studio.core.requests import EditRequest
    from llmvis_studio.engine.engine import Engine

    engine = Engine(threads=args.threads)
    default = engine.catalog.default_for("upscale", 4)
    fp32 = engine.catalog.get(default.extra.get("quantised_from", default.id))
    image = photo(width, height)
    times: dict[str, list[float]] = {default.id: [], fp32.id: []}
    for spec in (default, fp32):  # warm-up: session creation is not part of a job's speed
        engine.run(EditRequest.build("upscale", image[:64, :64], model_id=spec.id, params={"scale": 4}))
    for _ in range(args.repeats):
        for spec in (default, fp32):
            request = EditRequest.build("upscale", image, model_id=spec.id, params={"scale": 4})
            times[spec.id].append(_timed(lambda request=request: engine.run(request)))
    output_mp = width * height * 16 / 1e6
    peak = matmul_peak_gflops(args.threads)
    result = {
        "benchmark": "upscale_speed",
        "input": f"{width}x{height}",
        "output": f"{width * 4}x{height * 4}",
        "threads": args.threads,
        "default_x4_model": default.id,
        "matmul_peak_gflops": round(peak, 1),
    }
    for spec in (default, fp32):
        seconds = min(times[spec.id])
        gflop = 2 * conv_macs_per_input_pixel(ROOT / "models" / spec.file.name) * width * height / 1e9
        result[spec.id] = {
            "seconds": round(seconds, 2),
            "output_mp_per_s": round(output_mp / seconds, 2),
            "conv_gflop": round(gflop, 1),
            "gflops": round(gflop / seconds, 1),
            "fraction_of_fp32_peak": round(gflop / seconds / peak, 3),
        }
    result["speedup_default_over_fp32"] = round(min(times[fp32.id]) / min(times[default.id]), 2)
    emit(result)


if __name__ == "__main__":
    main()
