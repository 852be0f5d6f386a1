"""Small helpers shared by the benchmark scripts (each script prints JSON on its last line)."""
from __future__ import annotations

import json
import os
import platform
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def machine() -> dict:
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "machine": platform.machine()}


def emit(result: dict) -> None:
    result.setdefault("machine", machine())
    print(json.dumps(result))
