"""Score the fitted prompt router on the held-out prompts and record the figures in the manifest.

    python -m llmvis_studio.training.evaluate_router --models models

Reads tests/engine/data/router_heldout*.json (never read by the fit), routes every prompt with the
installed router exactly as `prompt - --json` does, prints accuracy overall and per op, `generate`
accuracy, `none` recall and the time to route 200 prompts, and stores them under
"router" → "heldout" in the text encoder's manifest entry (the router file itself is not touched).
"""

from __future__ import annotations

import datetime
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from llmvis_studio.training.tool_cli import model_tool_main

HELD_OUT = Path(__file__).resolve().parents[2] / "tests" / "engine" / "data"
HELD_OUT_FILES = ("router_heldout.json", "router_heldout_fresh.json")
SPEED_LINES = 200


def score(expected: Sequence[Mapping[str, Any]], routed: Sequence[Any]) -> dict[str, Any]:
    """Accuracy overall and per op, `none` recall, `then` agreement and the misses, for routings
    (objects with .op and .then) against held-out entries ({"prompt", "op", optional "then"})."""
    total, hits = Counter(), Counter()
    misses = []
    for want, got in zip(expected, routed):
        total[want["op"]] += 1
        if got.op == want["op"]:
            hits[want["op"]] += 1
        else:
            misses.append({"prompt": want["prompt"], "want": want["op"], "got": got.op})
    with_then = [(w, g) for w, g in zip(expected, routed) if "then" in w and g.op == w["op"]]
    per_op = {op: round(hits[op] / total[op], 4) for op in sorted(total)}
    return {
        "prompts": len(expected),
        "accuracy": round(sum(hits.values()) / max(1, len(expected)), 4),
        "per_op": per_op,
        "generate": per_op.get("generate"),
        "none_recall": per_op.get("none"),
        "then_agreement": round(sum(g.then == w["then"] for w, g in with_then) / len(with_then), 4)
        if with_then
        else None,
        "misses": misses,
    }


def load_held_out(name: str) -> list[dict[str, Any]]:
    return json.loads((HELD_OUT / name).read_text(encoding="utf-8"))["prompts"]


def time_lines(router, prompts: Sequence[str], lines: int = SPEED_LINES) -> tuple[float, float]:
    """(wall, CPU) seconds to route `lines` distinct prompts in one batch, the model already loaded.
    CPU time is reported too: on shared cores the wall time mostly measures the other processes."""
    batch = list(dict.fromkeys(prompts))[:lines]
    router.route_many(batch[:8])  # warm-up: the first run of a session allocates
    wall, cpu = time.perf_counter(), time.process_time()
    router.route_many(batch)
    return time.perf_counter() - wall, time.process_time() - cpu


def evaluate(models: Path, record: bool = True) -> dict[str, Any]:
    from llmvis_studio.catalog import load_catalog
    from llmvis_studio.engine.text.router import load_router
    from llmvis_studio.training import manifest_tools

    catalog = load_catalog(models)
    router = load_router(catalog)
    results: dict[str, Any] = {}
    for name in HELD_OUT_FILES:
        if (HELD_OUT / name).exists():
            prompts = load_held_out(name)
            results[name] = score(prompts, router.route_many([p["prompt"] for p in prompts]))
    everything = [p["prompt"] for name in results for p in load_held_out(name)]
    wall, cpu = time_lines(router, everything)
    results["seconds_for_200_prompts"] = {
        "wall": round(wall, 3),
        "cpu": round(cpu, 3),
        "cores": os.cpu_count(),
        "load_average": round(os.getloadavg()[0], 1),
    }
    results["measured_on"] = f"{datetime.date.today().isoformat()} CPU"
    print(json.dumps(results, indent=1))
    if record:
        spec = catalog.default_for("text-encoder")
        manifest = json.loads((models / "manifest.json").read_text(encoding="utf-8"))
        entry = next(e for e in manifest["models"] if e["id"] == spec.id)
        entry.setdefault("router", {})["heldout"] = {
            name: {k: v for k, v in r.items() if k != "misses"} if isinstance(r, dict) else r
            for name, r in results.items()
        }
        entry["router"]["evaluate"] = "python -m llmvis_studio.training.evaluate_router --models models"
        manifest_tools.upsert_entry(models / "manifest.json", entry)
    return results


def main(argv: list[str] | None = None) -> int:
    def more(parser) -> None:
        parser.add_argument("--no-record", action="store_true", help="print only; leave the manifest alone")

    return model_tool_main(
        argv,
        __doc__.splitlines()[0],
        lambda a: evaluate(a.models, not a.no_record),
        folder_option="--models",
        folder_help="models folder (with the text encoder and router)",
        more_options=more,
    )


if __name__ == "__main__":
    sys.exit(main())
