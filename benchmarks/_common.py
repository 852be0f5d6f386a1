"""Small helpers shared by the benchmark scripts (each script prints JSON on its last line)."""

from __future__ import annotations

import json
import os
import platform
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def cpu_kind() -> str:
    """Model name and the vector extensions that decide speed (AVX2 only vs AVX-512 / bf16 / AMX)."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine()
    name = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")), "?")
    flags = next((line.split(":", 1)[1].split() for line in info.splitlines() if line.startswith("flags")), [])
    wanted = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "avx512_vnni", "avx_vnni")
    return f"{name} ({' '.join(f for f in wanted if f in flags) or 'no AVX2'})"


def machine() -> dict:
    return {
        "cpus": os.cpu_count(),
        "cpu_kind": cpu_kind(),
        "python": platform.python_version(),
        "machine": platform.machine(),
    }


def emit(result: dict) -> None:
    result.setdefault("machine", machine())
    print(json.dumps(result))


MANIFEST = ROOT / "models" / "manifest.json"


def measured_note(previous: str, script: str, day: str) -> str:
    """The entry's `measured` line with this script's date replaced or added; other scripts' dates are kept (an
    entry's metrics come from several benchmarks)."""
    kept = [part for part in previous.split("; ") if part and script not in part]
    return "; ".join([*kept, f"benchmarks/{script}, {day}"])


def record_metrics(model_id: str, metrics: dict, script: str) -> None:
    """Merge `metrics` into the model's entry in models/manifest.json, saying which script measured them and when."""
    import time

    from llmvis_studio.training.export import manifest_entry_of
    from llmvis_studio.training.manifest_tools import upsert_entry

    entry = manifest_entry_of(MANIFEST.parent, model_id)
    known = entry.setdefault("metrics", {})
    note = measured_note(str(known.get("measured", "")), script, time.strftime("%Y-%m-%d"))
    known.update(metrics, measured=note)
    upsert_entry(MANIFEST, entry)
