"""The texture generator's model card: measured numbers into the card and into the installed manifest entry."""

from __future__ import annotations

import json

from llmvis_studio.training.texture_card import write


def bench(class_match: float, grass_detail: float) -> dict:
    fill = {"repetition": 0.1, "detail": 0.9, "seam": 1.2, "seam_original_photo": 1.0, "outside_unchanged": True}
    return {
        "class_match": class_match,
        "classifier_accuracy_on_real_heldout": 0.98,
        "repetition_max": 0.1,
        "detail_min": 0.2,
        "per_class": {
            "grass": {"repetition": 0.1, "detail": 0.2, "class_match": 0.1, "confused_with": "foliage"},
            "sand": {"repetition": 0.1, "detail": 1.0, "class_match": 1.0, "confused_with": "sand"},
        },
        "must_show": {"grass": {**fill, "detail": grass_detail}, "sand": fill},
        "timing_1mp": {"wall_s": 1.5, "cpu_s": 1.4, "load_average": 2.0},
        "machine": {"cpu_kind": "test CPU", "cpus": 2},
    }


def test_the_card_and_the_manifest_carry_the_measured_quality(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "sources.json").write_text(json.dumps({"work_side": 512, "classes": {}}))
    run = tmp_path / "run"
    run.mkdir()
    entry = {
        "id": "texture-gan",
        "name": "T",
        "parameters": 10,
        "reproduce": "python -m x --resume",
        "resumed_from": ["python -m x (to step 5)"],
        "metrics": {"steps": 9, "train_minutes": 1.0, "onnx_vs_torch_max_abs": 1e-5},
    }
    (run / "model.json").write_text(json.dumps(entry))
    models = tmp_path / "models"
    models.mkdir()
    (models / "manifest.json").write_text(json.dumps({"schema": 1, "models": [{**entry, "file": "t.onnx"}]}))
    (tmp_path / "bench.json").write_text("log line\n" + json.dumps(bench(0.7, 0.3)))
    card = write(tmp_path / "data", run, tmp_path / "bench.json", None, models).read_text()
    assert "resuming `python -m x (to step 5)`" in card
    assert "Class match 0.7 is below the 0.8" in card and "grass → foliage" in card
    assert "detail below 0.5 of the class's real crops: grass 0.3" in card
    quality = json.loads((models / "manifest.json").read_text())["models"][0]["metrics"]["quality"]
    assert quality["class_match"] == 0.7 and quality["must_show_detail_min"] == 0.3
    assert quality["must_show_seam_max"] == 1.2 and quality["fill_1mp_wall_s"] == 1.5

    (tmp_path / "bench.json").write_text(json.dumps(bench(0.85, 0.6)))
    card = write(tmp_path / "data", run, tmp_path / "bench.json", None, models).read_text()
    assert "below the 0.8" not in card and "detail below 0.5" not in card


def test_the_card_names_bsds500_regions_with_their_terms():
    from llmvis_studio.training.texture_card import bsds_note

    row = {"file": "photo:bsds500/train-1.jpg", "box": [0, 0.5, 1, 1], "licence": "BSDS500 (Corel images ...)"}
    other = {"file": "stk:grass2.jpg", "box": [0, 0, 1, 1], "licence": "CC-BY-SA-3.0"}
    assert "photo:bsds500/train-1.jpg (0, 0.5, 1, 1)" in bsds_note({"classes": {"grass": [other, row]}})
    assert "commercial release" in bsds_note({"classes": {"grass": [row]}})
    assert bsds_note({"classes": {"grass": [other]}}) == ""
