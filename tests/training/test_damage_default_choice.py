"""The fast detector's default decision and card: damage_heldout --apply --old-stays-default-on writes a default that
depends on the CPU (catalog.cpu_defaults reads it), and the student's card says which detector runs where."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def heldout_module():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    return importlib.import_module("damage_heldout")


def write_manifest(folder: Path, defaults: dict[str, bool]) -> Path:
    real = {e["id"]: e for e in json.loads((ROOT / "models" / "manifest.json").read_text(encoding="utf-8"))["models"]}
    entries = [dict(real[model_id], default=flag) for model_id, flag in defaults.items()]
    path = folder / "manifest.json"
    path.write_text(json.dumps({"schema_version": 1, "models": entries}), encoding="utf-8")
    return path


def entries_of(path: Path) -> dict[str, dict]:
    return {e["id"]: e for e in json.loads(path.read_text(encoding="utf-8"))["models"]}


def test_a_faster_winner_leaves_the_old_int8_copy_the_default_only_on_the_cpus_named(tmp_path):
    apply_default = heldout_module().apply_default
    path = write_manifest(
        tmp_path, {"damage-detector": False, "damage-detector-int8": True, "damage-detector-fast": False}
    )
    apply_default("damage-detector-fast", "damage-detector-int8", True, ["avx512_vnni", "avx_vnni"], path)
    e = entries_of(path)
    assert e["damage-detector-fast"]["default"] and "default_if_cpu_has" not in e["damage-detector-fast"]
    assert e["damage-detector-int8"]["default"] and e["damage-detector-int8"]["default_if_cpu_has"] == [
        "avx512_vnni",
        "avx_vnni",
    ]
    assert not e["damage-detector"]["default"]  # the fp32 teacher: its int8 copy carries the flag
    apply_default("damage-detector-fast", "damage-detector-int8", False, [], path)  # a later check it loses
    e = entries_of(path)
    assert not e["damage-detector-fast"]["default"]
    assert e["damage-detector-int8"]["default"] and "default_if_cpu_has" not in e["damage-detector-int8"]


def test_the_students_card_says_where_it_is_the_default_and_shows_the_decision(tmp_path):
    from llmvis_studio.training import damage_card

    models, runs = tmp_path / "models", tmp_path / "runs"
    models.mkdir(), runs.mkdir()
    path = write_manifest(
        models, {"damage-detector": False, "damage-detector-int8": True, "damage-detector-fast": False}
    )
    heldout_module().apply_default("damage-detector-fast", "damage-detector-int8", True, ["avx_vnni"], path)
    decision = {
        "photos": 19,
        "max_side": 800,
        "models": {
            "damage-detector-fast": {"prints": {"recall": 0.9258}, "thin": {"f1": 0.8523}},
            "damage-detector-int8": {"prints": {"recall": 0.9185}, "thin": {"f1": 0.8693}},
        },
    }
    (runs / "damage_heldout_fast.log").write_text("noise\n" + json.dumps(decision) + "\n", encoding="utf-8")
    card = damage_card.write_student_card(models, runs, tmp_path / "no-sheets").read_text(encoding="utf-8")
    assert "(the default on CPUs without VNNI)" in card and "Where the CPU has avx_vnni" in card
    assert "| synthetic prints P / R / F1 | None / 0.9258 / None | None / 0.9185 / None |" in card
    assert "{" + "status}" not in card and "8/24/48 channels" in card
