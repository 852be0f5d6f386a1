"""Time `restore` (detect + fill) on a 4000×3000 damaged scan, stage by stage; optionally against another checkout.

The scan: Set14 `lenna` (reporting only) resized to 4000×3000, turned into an old print and damaged block by block
with the print-damage synthesiser (benchmarks/real_damage.big_print, seed 77: crack networks, folds, tears, emulsion
loss, dust, hairs, foxing, then scan grain and blur). It is cached as .npy (--scan-cache) because making it takes
longer than the restore.

Each measurement runs in a fresh subprocess (`--child`) with PYTHONPATH set to the checkout under test, through the
engine on --threads threads, under cProfile timed by the process's CPU clock: each stage's CPU seconds, all threads
counted (a stage's worker threads run while its function waits for them), which a loaded machine disturbs far less
than wall seconds:
- detect: the detector's probability map (detect_scratches.probabilities); of which `network` is onnxruntime;
- mask: threshold, speck removal, sizing to the damage;
- fill_and_tone: the fill and the tone step (whatever functions the checkout uses for them);
- rest: the remainder of the engine call (request checks, copies and conversions outside the stages above).
Wall, user and system CPU seconds, the load average before and after, and how many cores other processes kept busy
during the run (from /proc/stat) come with it: the machine is shared, and on a
loaded machine the wall time says more about the others than about the code; the ratio of two runs measured one after
the other says more than either.

With --compare DIR (a checkout of the code before a change) the two run alternately --repeats times, and their
outputs are compared: pixels that differ, the largest difference, and any change outside what either one changed.

    python benchmarks/restore_speed.py [--compare runs/base] [--repeats 1] [--model damage-detector]

runs/base can be made with `git archive <commit> -- llmvis_studio models | tar -x -C runs/base`: each checkout runs
with its own models folder, so "before" uses the models and default detector it had.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import ROOT, cpu_kind, emit

LOADED = 1.5  # 1-minute load average above which a 2-core measurement counts as loaded
STAGES = {  # stage → (file, function) pairs whose cumulative time it is; the first found of each stage's list counts
    "detect": [("detect_scratches.py", "probabilities")],
    "mask": [
        ("detect_scratches.py", "mask_from_probability"),
        ("mask.py", "drop_specks"),
        ("restore.py", "size_to_damage"),
    ],
    "fill_and_tone": [("restore.py", "fill"), ("inpaint.py", "run"), ("restore.py", "keep_tone")],
}


def scan(cache: Path) -> np.ndarray:
    if cache.is_file():
        return np.load(cache)
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import inpaint_quality as iq
    import real_damage as rd

    images = iq.load_images()
    made = rd.big_print(images.get("Set14/lenna", next(iter(images.values()))), 77)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.save(cache, made)
    return made


def stage_seconds(stats: pstats.Stats) -> dict:
    """Cumulative seconds per stage from a profile (see STAGES), the onnxruntime time, and the remainder."""
    by_name: dict[tuple[str, str], float] = {}
    network = 0.0
    for (filename, _, function), row in stats.stats.items():  # type: ignore[attr-defined]
        by_name[(Path(filename).name, function)] = by_name.get((Path(filename).name, function), 0.0) + row[3]
        if "onnxruntime" in function and "run" in function:
            network += row[2]
    total = max(v for (f, fn), v in by_name.items() if f == "engine.py" and fn == "run")
    out = {}
    for stage, names in STAGES.items():
        if stage == "fill_and_tone" and ("restore.py", "fill") in by_name:
            names = names[:1]  # the new restore: fill() holds the fill and the tone step
        out[stage] = round(sum(by_name.get(n, 0.0) for n in names), 2)
    out["detect_network"] = round(network, 2)
    out["rest"] = round(total - out["detect"] - out["mask"] - out["fill_and_tone"], 2)
    out["total"] = round(total, 2)
    return out


def machine_busy_s() -> float:
    """CPU seconds all processes on the machine have used since boot (/proc/stat: all but idle and iowait)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (sum(values) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")


def child(args: argparse.Namespace) -> int:
    """One restore in this process (the checkout on PYTHONPATH); JSON on stdout, the result saved to --out."""
    wanted = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    sys.path[:] = wanted + [p for p in sys.path if Path(p or ".").resolve() != ROOT]  # _common put ROOT first
    import llmvis_studio
    from llmvis_studio.core.requests import EditRequest
    from llmvis_studio.engine import Engine

    image = scan(Path(args.scan_cache))
    engine = Engine(threads=args.threads)
    model = {"model_id": args.model} if args.model else {}  # none: the checkout's default detector
    request = EditRequest.build("restore", image, device="cpu", params={"sensitivity": 0.5}, **model)
    load_before = os.getloadavg()[0]
    profile = cProfile.Profile(time.process_time)
    busy, before = machine_busy_s(), os.times()
    profile.enable()
    result = engine.run(request)
    profile.disable()
    after, busy = os.times(), machine_busy_s() - busy
    own = after.user - before.user + after.system - before.system
    wall = after.elapsed - before.elapsed
    np.save(args.out, result.image)
    report = {
        "checkout": str(Path(llmvis_studio.__file__).parent.parent),
        "detector": result.model_id,
        "wall_s": round(after.elapsed - before.elapsed, 2),
        "user_cpu_s": round(after.user - before.user, 2),
        "system_cpu_s": round(after.system - before.system, 2),
        "stages_cpu_s": stage_seconds(pstats.Stats(profile)),
        "load_1min_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "other_processes_cores_during_run": round(max(0.0, busy - own) / max(wall, 1e-9), 2),
        "note": result.notes[-1],
    }
    print(json.dumps(report))
    return 0


def measure(checkout: Path, args: argparse.Namespace, out: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(checkout), LLMVIS_MODELS_DIR=str(checkout / "models"))
    command = [sys.executable, __file__, "--child", "--out", str(out), "--scan-cache", args.scan_cache]
    command += ["--model", args.model, "--threads", str(args.threads)]
    proc = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"restore failed in {checkout}:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def compare_outputs(image: np.ndarray, before: np.ndarray, after: np.ndarray) -> dict:
    diff = np.abs(before.astype(np.int32) - after.astype(np.int32)).max(axis=2)
    changed = np.any(before != image, axis=2) | np.any(after != image, axis=2)
    return {
        "pixels_changed_before": int(np.count_nonzero(np.any(before != image, axis=2))),
        "pixels_changed_after": int(np.count_nonzero(np.any(after != image, axis=2))),
        "pixels_differing": int(np.count_nonzero(diff)),
        "max_difference": int(diff.max()),
        "differing_outside_changed": int(np.count_nonzero(diff[~changed])),
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--compare", help="a checkout of the code before the change (its folder holds llmvis_studio/)")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--model", default="", help="detector model id (default: each checkout's default detector)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--scan-cache", default=str(ROOT / "runs" / "restore_speed_scan_77.npy"))
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(args)
    image = scan(Path(args.scan_cache))
    result: dict = {"size": "4000x3000", "model": args.model or "default", "threads": args.threads, "cpu": cpu_kind()}
    runs: dict[str, list] = {"after": [], "before": []}
    with tempfile.TemporaryDirectory() as tmp:
        outs = {"after": Path(tmp) / "after.npy", "before": Path(tmp) / "before.npy"}
        for _ in range(args.repeats):
            if args.compare:
                runs["before"].append(measure(Path(args.compare).resolve(), args, outs["before"]))
            runs["after"].append(measure(ROOT, args, outs["after"]))
        if args.compare:
            result["outputs"] = compare_outputs(image, np.load(outs["before"]), np.load(outs["after"]))
    result["runs"] = {k: v for k, v in runs.items() if v}
    every = runs["after"] + runs["before"]
    loads = [x for r in every for x in r["load_1min_before_after"]]
    others = max(r["other_processes_cores_during_run"] for r in every)
    result["loaded"] = max(loads) >= LOADED or others >= LOADED - 1  # the others kept ≥ half a core busy
    result["best_after_wall_s"] = min(r["wall_s"] for r in runs["after"])
    if args.compare:
        pairs = zip(runs["before"], runs["after"])
        result["wall_ratio_before_over_after"] = [round(b["wall_s"] / a["wall_s"], 2) for b, a in pairs]
        cpu = lambda r: r["user_cpu_s"] + r["system_cpu_s"]  # noqa: E731
        result["cpu_ratio_before_over_after"] = [
            round(cpu(b) / cpu(a), 2) for b, a in zip(runs["before"], runs["after"])
        ]
    result["target_s"] = 15
    emit(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
