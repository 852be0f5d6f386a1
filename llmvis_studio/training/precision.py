"""Training precision chosen by measurement: time a few steps in fp32 and in bf16 autocast, keep the faster.

Why: CPU bf16 autocast is about 2× faster than fp32 on CPUs with native bf16 (AVX-512-BF16, AMX) and about 20×
slower on AVX2-only CPUs (AMD EPYC, most laptops). Guessing from CPU flags breaks on the next CPU kind, so every
training entry point calls `choose_precision` with a probe that runs one real forward + backward pass.

The probe must not change the model: it runs forward + backward and the caller's probe zeroes the gradients
(no optimiser step). Probes run on a small batch (PROBE_BATCH samples), and a bf16 probe that is already far slower
than fp32 on its first step stops there, so an AVX2 machine spends about one slow small-batch step on finding out.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Literal

import torch

Precision = Literal["auto", "fp32", "bf16"]
CHOICES = ("auto", "fp32", "bf16")
# bf16 must beat fp32 by this factor to be chosen: numerics are better in fp32 when the two are close
BF16_MARGIN = 1.1


def autocast_context(use_bf16: bool, device_type: str = "cpu") -> AbstractContextManager:
    """The autocast context for one forward pass (a no-op context when bf16 is off)."""
    return torch.autocast(device_type, dtype=torch.bfloat16, enabled=use_bf16)


def _time_steps(probe: Callable[[bool], None], use_bf16: bool, steps: int, give_up_after: float) -> float:
    """Seconds per step after one warm-up step; gives up as soon as a step (warm-up included) exceeds
    `give_up_after` seconds: that step alone already says this precision loses."""
    t = time.perf_counter()
    probe(use_bf16)  # warm-up: kernel selection, allocator
    warm_up = time.perf_counter() - t
    if warm_up > give_up_after:
        return warm_up
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        probe(use_bf16)
        times.append(time.perf_counter() - t)
        if times[-1] > give_up_after:
            break
    return min(times)


def measure(probe: Callable[[bool], None], steps: int = 2) -> dict[str, float]:
    """Seconds per probe step for fp32 and bf16 (bf16 cut short where it is clearly slower)."""
    fp32 = _time_steps(probe, False, steps, give_up_after=float("inf"))
    # a first bf16 call may cost a few fp32 steps in one-time set-up; beyond 4× it cannot win
    bf16 = _time_steps(probe, True, steps, give_up_after=4.0 * fp32)
    return {"fp32": fp32, "bf16": bf16}


PROBE_BATCH = 4  # samples per probe step: enough to time the kernels, an eighth of a usual batch's cost


def choose_precision(
    requested: str, probe: Callable[[bool], None], log: Callable[[str], None] = print, device_type: str = "cpu"
) -> bool:
    """Whether to train in bf16 autocast. `requested` is auto|fp32|bf16; auto times `probe` both ways.

    On CUDA the callers use their own autocast policy; this function only decides for the CPU.
    """
    if requested not in CHOICES:
        raise ValueError(f"precision must be one of {', '.join(CHOICES)}, not {requested!r}")
    if requested != "auto" or device_type != "cpu":
        use = requested == "bf16"
        log(f"precision {'bf16' if use else 'fp32'} (asked for {requested})")
        return use
    timing = measure(probe)
    use = timing["bf16"] * BF16_MARGIN < timing["fp32"]
    log(
        f"precision {'bf16' if use else 'fp32'} (auto: fp32 {timing['fp32'] * 1000:.0f} ms/step, "
        f"bf16 {timing['bf16'] * 1000:.0f} ms/step on {torch.backends.cpu.get_cpu_capability()})"
    )
    return use


def add_precision_argument(parser) -> None:
    """--precision auto|fp32|bf16 (and the older --bf16/--no-bf16 as aliases for bf16/fp32)."""
    parser.add_argument(
        "--precision",
        choices=CHOICES,
        default="auto",
        help="training precision: auto times a few steps in fp32 and bf16 and keeps the faster",
    )
    parser.add_argument("--bf16", dest="precision", action="store_const", const="bf16", help="same as --precision bf16")
    parser.add_argument(
        "--no-bf16", dest="precision", action="store_const", const="fp32", help="same as --precision fp32"
    )
