"""Real-ESRGAN x4plus: onnxruntime (the app's engine session) vs the PyTorch module, same input.

Reports seconds per run, the ORT / torch-eager speed ratio, achieved GFLOP/s (conv FLOPs counted
from the module's layers) and the fraction of a measured fp32 matmul peak on this machine.
Needs the train extra (torch). Usage: python benchmarks/engine_vs_torch.py [--size 96] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from _common import emit


def conv_flops(model, height: int, width: int) -> float:
    """2·MACs of every Conv2d for an H×W input (RRDBNet upsamples before its last convs)."""
    import torch

    total = [0.0]

    def hook(module, inputs, output):
        kernel = module.weight.shape[1] * module.weight.shape[2] * module.weight.shape[3]
        total[0] += 2.0 * kernel * output.numel()

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    with torch.inference_mode():
        model(torch.zeros(1, 3, height, width))
    for handle in handles:
        handle.remove()
    return total[0]


def matmul_peak_gflops(threads: int) -> float:
    import torch

    torch.set_num_threads(threads)
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    torch.mm(a, b)
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - started)
    return 2 * 2048**3 / best / 1e9


def best_of(function, repeats: int) -> float:
    function()  # warm-up
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=96)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    threads = os.cpu_count() or 1

    import numpy as np
    import torch

    from llmvis_studio.engine.session import SessionCache
    from llmvis_studio.paths import models_dir
    from llmvis_studio.training.convert_realesrgan import build_model, locate_source, photo_crop

    torch.set_num_threads(threads)
    model = build_model(locate_source())
    image = photo_crop(args.size)
    tensor = np.ascontiguousarray(image.transpose(2, 0, 1)[None], dtype=np.float32)
    session = SessionCache(threads=threads).get(Path(models_dir()) / "realesrgan-x4plus.onnx", "cpu")

    def run_ort():
        return session.run(tensor)

    def run_torch():
        with torch.inference_mode():
            return model(torch.from_numpy(tensor))

    ort_s = best_of(run_ort, args.repeats)
    torch_s = best_of(run_torch, args.repeats)
    difference = float(np.abs(run_ort() - run_torch().numpy()).max())
    flops = conv_flops(model, args.size, args.size)
    peak = matmul_peak_gflops(threads)
    emit(
        {
            "benchmark": "engine_vs_torch",
            "model": "realesrgan-x4plus",
            "input": f"{args.size}x{args.size}",
            "threads": threads,
            "ort_s": round(ort_s, 3),
            "torch_eager_s": round(torch_s, 3),
            "ort_speedup_vs_torch": round(torch_s / ort_s, 2),
            "gflop_per_run": round(flops / 1e9, 1),
            "ort_gflops": round(flops / ort_s / 1e9, 1),
            "torch_gflops": round(flops / torch_s / 1e9, 1),
            "matmul_peak_gflops": round(peak, 1),
            "ort_fraction_of_peak": round(flops / ort_s / 1e9 / peak, 3),
            "output_mp_per_s_ort": round((args.size * 4) ** 2 / 1e6 / ort_s, 3),
            "max_abs_difference": difference,
        }
    )


if __name__ == "__main__":
    main()
