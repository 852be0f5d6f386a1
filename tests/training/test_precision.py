"""Training precision is chosen by timing, never assumed (issue 13)."""

import json
import os
import subprocess
import sys

import pytest
import torch

from llmvis_studio.training.precision import add_precision_argument, choose_precision, measure

PROBE_SCRIPT = r"""
import json, torch
from llmvis_studio.training.precision import choose_precision, measure
torch.set_num_threads(1)
net = torch.nn.Sequential(*[torch.nn.Conv2d(32, 32, 3, padding=1) for _ in range(4)])
x = torch.randn(8, 32, 48, 48)
def probe(bf16):
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        y = net(x)
    y.float().mean().backward()
    net.zero_grad(set_to_none=True)
print(json.dumps({"bf16": choose_precision("auto", probe, log=lambda m: None),
                  "capability": torch.backends.cpu.get_cpu_capability()}))
"""


def test_auto_picks_fp32_on_the_avx2_code_path():
    # ATEN_CPU_CAPABILITY=avx2 makes torch run its AVX2 kernels even on an AVX-512/AMX CPU, and ONEDNN_MAX_CPU_ISA=AVX2
    # does the same for oneDNN's convolutions (which pick their own ISA: on an AMD EPYC with AVX512-BF16 they ran bf16
    # 1.8x faster than fp32 under ATEN_CPU_CAPABILITY=avx2 alone). bf16 has no fast path on AVX2, so timing must
    # reject it on every machine this test runs on (measured 14x slower than fp32 there)
    env = {**os.environ, "ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2"}
    out = subprocess.run([sys.executable, "-c", PROBE_SCRIPT], env=env, capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["capability"] == "AVX2"
    assert result["bf16"] is False


def test_explicit_choices_are_kept_without_timing():
    calls = []
    assert choose_precision("bf16", calls.append, log=lambda m: None) is True
    assert choose_precision("fp32", calls.append, log=lambda m: None) is False
    assert calls == []
    with pytest.raises(ValueError):
        choose_precision("fp16", calls.append)


def test_probe_leaves_the_model_unchanged():
    net = torch.nn.Conv2d(3, 4, 3)
    before = [p.detach().clone() for p in net.parameters()]
    x = torch.randn(2, 3, 16, 16)

    def probe(bf16):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            net(x).float().mean().backward()
        net.zero_grad(set_to_none=True)

    timing = measure(probe)
    assert timing["fp32"] > 0 and timing["bf16"] > 0
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters()))
    assert all(p.grad is None for p in net.parameters())


def test_precision_flags_and_old_aliases():
    import argparse

    p = argparse.ArgumentParser()
    add_precision_argument(p)
    assert p.parse_args([]).precision == "auto"
    assert p.parse_args(["--no-bf16"]).precision == "fp32"
    assert p.parse_args(["--bf16"]).precision == "bf16"
    assert p.parse_args(["--precision", "fp32"]).precision == "fp32"
