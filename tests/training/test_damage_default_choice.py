"""The fast detector's default decision and card: damage_heldout --apply makes the winner the default (an int8 copy
carries its source's flag), and the student's card shows the decision it passed."""

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


def defaults_in(path: Path) -> set[str]:
    return {e["id"] for e in json.loads(path.read_text(encoding="utf-8"))["models"] if e["default"]}


def test_the_winner_becomes_the_default_and_the_old_int8_copy_gives_up_its_flag(tmp_path):
    apply_default = heldout_module().apply_default
    path = write_manifest(
        tmp_path, {"damage-detector": False, "damage-detector-int8": True, "damage-detector-fast": False}
    )
    apply_default("damage-detector-fast", "damage-detector-int8", True, path)
    assert defaults_in(path) == {"damage-detector-fast"}
    apply_default("damage-detector-fast", "damage-detector-int8", False, path)  # a later check it loses
    assert defaults_in(path) == {"damage-detector-int8"}  # the copy, not its fp32 source, carries the flag


def test_the_students_card_shows_the_decision_it_passed(tmp_path):
    from llmvis_studio.training import damage_card

    models, runs = tmp_path / "models", tmp_path / "runs"
    models.mkdir(), runs.mkdir()
    write_manifest(models, {"damage-detector": False, "damage-detector-int8": False, "damage-detector-fast": True})
    decision = {
        "photos": 19,
        "max_side": 800,
        "rule": "finds-more",
        "models": {
            "damage-detector-fast": {"prints": {"recall": 0.937}, "thin": {"f1": 0.8889}},
            "damage-detector-int8": {"prints": {"recall": 0.9185}, "thin": {"f1": 0.8693}},
        },
    }
    (runs / "damage_heldout_fast.log").write_text("noise\n" + json.dumps(decision) + "\n", encoding="utf-8")
    card = damage_card.write_student_card(models, runs, tmp_path / "no-sheets").read_text(encoding="utf-8")
    assert "`detect-scratches` (the default)" in card and "--rule finds-more" in card
    assert "| synthetic prints P / R / F1 | None / 0.937 / None | None / 0.9185 / None |" in card
    assert "{" + "status}" not in card and "8/24/48 channels" in card


def test_the_teachers_card_says_its_student_replaced_it(tmp_path):
    from llmvis_studio.training import damage_card

    models = tmp_path / "models"
    models.mkdir()
    write_manifest(models, {"damage-detector": False, "damage-detector-int8": False, "damage-detector-fast": True})
    card = damage_card.write_card(models, tmp_path / "runs", tmp_path / "sheets").read_text(encoding="utf-8")
    assert "## Status: replaced by its student" in card and "(not the default, see Status)" in card
    assert "`damage-detector-fast`" in card
