"""The learned fill's and the scratch detector's cards, rewritten where no training log is kept (a fresh checkout),
still say what their runs did (the recorded facts), not "?"."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from llmvis_studio.training import inpaint_card
from llmvis_studio.training.train_inpaint import INPAINT_ID, SCRATCH_ID

MODELS = Path(__file__).resolve().parents[2] / "models"


@pytest.mark.parametrize("model_id", [INPAINT_ID, SCRATCH_ID])
def test_a_card_written_without_training_logs_keeps_its_run_facts(tmp_path, model_id):
    models = tmp_path / "models"
    (models / "cards").mkdir(parents=True)
    shutil.copy(MODELS / "manifest.json", models / "manifest.json")
    card = inpaint_card.write_card(model_id, tmp_path / "no-runs", models).read_text(encoding="utf-8")
    run_line = next(line for line in card.splitlines() if "this run:" in line)
    assert "?" not in run_line and "steps in" in run_line
    assert "End of training: ?" not in card
    heldout_protocol = "`heldout_photos_*` (benchmarks/inpaint_heldout.py)" in card
    assert heldout_protocol == (model_id == INPAINT_ID)  # the fill's held-out benchmark is not the detector's


def test_the_fill_card_says_what_the_next_larger_ensemble_measured_when_it_was_not_taken():
    entry = {
        "ensemble": 4,
        "classical_within_px": 0.0,
        "metrics": {
            "heldout_defaults_choice": {
                kind: {
                    '{"classical_within_px": 0.0, "ensemble": 4}': 30.0,
                    '{"classical_within_px": 0.0, "ensemble": 8}': 30.0 + gain,
                }
                for kind, gain in (("thin", 0.041), ("stroke", 0.046))
            }
        },
    }
    note = inpaint_card.larger_ensemble_note(entry)
    assert "ensemble of 8" in note and "+0.041 dB on thin" in note and "+0.046 dB on strokes" in note
    entry["metrics"]["heldout_defaults_choice"]["stroke"]['{"classical_within_px": 0.0, "ensemble": 8}'] = 30.2
    assert inpaint_card.larger_ensemble_note(entry) == ""  # it would have been taken: nothing to explain
    assert inpaint_card.larger_ensemble_note({"ensemble": 8, "metrics": {}}) == ""
