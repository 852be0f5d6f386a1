"""Time from launching the editor to a rendered window (wall time of `--screenshot` runs).

The screenshot run starts Python, builds the window with the sample image, renders it, saves a
PNG and exits; so its wall time is an upper bound on launch → rendered window.
Usage: python benchmarks/launch_time.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

from _common import ROOT, emit


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    times = []
    with tempfile.TemporaryDirectory() as folder:
        env = dict(os.environ, LLMVIS_DATA_DIR=folder, LLMVIS_SETTINGS=os.path.join(folder, "s.ini"))
        env.setdefault("QT_QPA_PLATFORM", "offscreen")
        for i in range(args.runs + 1):  # the first run warms the disk cache and is dropped
            started = time.perf_counter()
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "llmvis_studio",
                    str(ROOT / "resources" / "sample.png"),
                    "--screenshot",
                    os.path.join(folder, f"s{i}.png"),
                ],
                check=True,
                env=env,
                cwd=ROOT,
            )
            if i:
                times.append(time.perf_counter() - started)
    emit(
        {
            "benchmark": "launch_to_rendered_window",
            "platform": env["QT_QPA_PLATFORM"],
            "median_s": round(statistics.median(times), 3),
            "max_s": round(max(times), 3),
            "runs": len(times),
        }
    )


if __name__ == "__main__":
    main()
