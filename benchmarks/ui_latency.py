"""Largest event-loop gap in the editor while an upscale runs on the worker thread.

A 2 ms QTimer records when it fires; the largest interval between firings minus the interval
is the longest time the window could not respond. With --via-window the job goes through the
window's JobController (progress text, time left, applying the result as an undo step, re-fitting
the view), as a user's Run does. Usage:
  python benchmarks/ui_latency.py [--model realesrgan-x4plus] [--size 160] [--via-window]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from _common import emit  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=None, help="upscale model id (default: the catalog's ×4 default)")
    parser.add_argument("--size", type=int, default=160, help="input side in pixels")
    parser.add_argument("--via-window", action="store_true", help="submit through the window and apply the result")
    args = parser.parse_args()

    import numpy as np
    from PySide6.QtCore import QElapsedTimer, QTimer
    from PySide6.QtWidgets import QApplication

    from llmvis_studio.__main__ import engine_factory, gui_thread_count
    from llmvis_studio.catalog import load_catalog
    from llmvis_studio.core.requests import EditRequest
    from llmvis_studio.files import load_image
    from llmvis_studio.paths import sample_image
    from llmvis_studio.ui.app import build_main_window
    from llmvis_studio.worker import EngineClient

    app = QApplication([])
    catalog = load_catalog()
    client = EngineClient(engine_factory(gui_thread_count()))
    window = build_main_window(client, catalog, sample_image())
    window.show()
    image, _ = load_image(sample_image())
    crop = np.ascontiguousarray(image[: args.size, : args.size])
    model = args.model or catalog.default_for("upscale", 4).id

    clock = QElapsedTimer()
    stamps: list[int] = []
    ticker = QTimer()
    ticker.setInterval(2)
    ticker.timeout.connect(lambda: stamps.append(clock.nsecsElapsed()))  # GUI-thread timer, not a worker signal
    state = {"done": False}
    client.jobFinished.connect(lambda *a: state.update(done=True))
    client.jobFailed.connect(lambda job, msg: state.update(done=True, error=msg))

    # warm-up job: opens the session so the measurement covers inference, not loading
    client.submit(EditRequest.build("upscale", crop[:32, :32], model_id=model, params={"scale": 4}))
    while not state["done"]:
        app.processEvents()
        time.sleep(0.001)
    state["done"] = False
    clock.start()
    ticker.start()
    started = time.perf_counter()
    request = EditRequest.build("upscale", crop, model_id=model, params={"scale": 4})
    if args.via_window:
        window.jobs.submit(request)
        finished = lambda: not window.jobs.busy  # noqa: E731 (applied, re-fitted and painted)
    else:
        client.submit(request)
        finished = lambda: state["done"]  # noqa: E731
    while not finished():
        app.processEvents()
        time.sleep(0.0005)
    for _ in range(20):  # the paint after applying the result
        app.processEvents()
        time.sleep(0.002)
    seconds = time.perf_counter() - started
    ticker.stop()
    client.shutdown()
    gaps = np.diff(np.array(stamps, dtype=np.float64)) / 1e6
    emit(
        {
            "benchmark": "ui_event_loop_gap_during_upscale",
            "model": model,
            "input": f"{args.size}x{args.size}",
            "via_window": args.via_window,
            "job_s": round(seconds, 2),
            "max_gap_ms": round(float(gaps.max() - 2.0), 2),
            "p99_gap_ms": round(float(np.percentile(gaps, 99) - 2.0), 2),
            "ticks": len(stamps),
            "error": state.get("error"),
        }
    )


if __name__ == "__main__":
    main()
