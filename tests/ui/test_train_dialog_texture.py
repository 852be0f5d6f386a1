"""The Train dialog's default kind: the full-resolution texture generator, trained for real (a few steps) through the
dialog's job path, registered, and used by the engine to fill a mask larger than any training crop."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from llmvis_studio.files import load_image
from llmvis_studio.paths import sample_image
from llmvis_studio.ui.train_dialog import KIND_STEPS, TrainDialog

TINY = {"crop": 32, "batch": 2, "threads": 1}  # test-sized: the real trainer, smaller crops and batches


def tiny_real_trainer(settings, report, should_stop):
    """The editor's real trainer (__main__.dialog_trainer calls this function), with test-sized crops."""
    from llmvis_studio.training.cli_train import dialog_trainer

    return dialog_trainer({**settings, **TINY}, report, should_stop)


def texture_folder(root: Path) -> Path:
    """Two classes cut from the bundled photo (the sky and the suit), one sub-folder each."""
    photo, _ = load_image(sample_image())
    for name, region in {"sky": photo[0:120, 280:500], "suit": photo[250:370, 150:300]}.items():
        (root / name).mkdir(parents=True)
        Image.fromarray(np.ascontiguousarray(region[..., :3])).save(root / name / "a.png")
    return root


def dialog_for(qtbot, folder: Path, run: Path) -> TrainDialog:
    """A Train dialog (the tiny real trainer) with its picture folder and run folder filled in."""
    dialog = TrainDialog(tiny_real_trainer)
    qtbot.addWidget(dialog)
    dialog.folder_edit.setText(str(folder))
    dialog.out_edit.setText(str(run))
    return dialog


def test_the_default_kind_is_the_full_resolution_texture_generator(qtbot):
    dialog = TrainDialog(tiny_real_trainer)
    qtbot.addWidget(dialog)
    settings = dialog.settings()
    assert settings["kind"] == "texture" and settings["batch"] == 8 and settings["steps"] == KIND_STEPS["texture"]
    assert "Full-resolution" in dialog.kind_combo.currentText()
    assert not dialog.size_combo.isEnabled(), "the texture generator has no fixed size"
    dialog.kind_combo.setCurrentIndex(dialog.kind_combo.findData("vae"))  # the old kinds are still offered
    assert dialog.size_combo.isEnabled() and dialog.steps_spin.value() == KIND_STEPS["vae"]
    assert dialog.settings()["kind"] == "vae" and dialog.settings()["batch"] == 16
    dialog.steps_spin.setValue(777)
    dialog.kind_combo.setCurrentIndex(dialog.kind_combo.findData("texture"))
    assert dialog.steps_spin.value() == 777, "a typed step count is kept"
    assert dialog.kind_combo.findData("gan") >= 0


def test_a_tiny_texture_training_from_the_dialog_fills_a_large_mask(qtbot, tmp_path, monkeypatch):
    from llmvis_studio.catalog import load_catalog
    from llmvis_studio.core.requests import EditRequest
    from llmvis_studio.engine import Engine

    monkeypatch.setenv("LLMVIS_DATA_DIR", str(tmp_path / "user"))
    dialog = dialog_for(qtbot, texture_folder(tmp_path / "pictures"), tmp_path / "run")
    dialog.steps_spin.setValue(10)  # the spin's minimum
    with qtbot.waitSignal(dialog.modelTrained, timeout=60000) as blocker:
        assert dialog.start()
    qtbot.waitUntil(lambda: dialog.task is None, timeout=10000)
    assert blocker.args == ["texture-run"] and dialog.state == "done", dialog.status_label.text()
    assert len(dialog.loss_plot.series["stats"]) >= 2 and dialog.progress_bar.value() == 1000
    assert dialog.sample_label.pixmap() is not None and not dialog.sample_label.pixmap().isNull()

    catalog = load_catalog()  # what the editor reloads on modelTrained: the user's models folder included
    spec = catalog.get("texture-run")
    assert spec.task == "generate" and spec.extra["kind"] == "texture-gan"
    image = np.asarray(Image.open(sample_image()).convert("RGB"))[:300, :400].copy()
    mask = np.zeros(image.shape[:2], np.uint8)
    mask[40:260, 60:360] = 255  # 300×220 px: far larger than the 32 px training crops
    request = EditRequest.build("generate", image, mask, model_id="texture-run", prompt="sky", params={"seed": 1})
    result = Engine(catalog, threads=1).run(request)
    filled = result.image
    assert filled.shape == image.shape
    assert np.array_equal(filled[mask == 0], image[mask == 0]), "outside the mask bit-exact"
    assert np.abs(filled[mask > 0].astype(int) - image[mask > 0]).mean() > 3


def write_picture(path: Path, side: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((side, side, 3), 120, np.uint8)).save(path)


@pytest.mark.parametrize(
    "layout, words",
    [
        ({}, "is empty"),
        ({"a.png": 20, "b.png": 24}, "pictures/ are too small"),  # loose pictures: one class named after the folder
        ({"sky/a.png": 20, "sky/b.png": 24, "grass/c.png": 200}, "sky/ are too small (the largest is 24×24 px)"),
    ],
)
def test_a_folder_the_texture_trainer_cannot_learn_from_gets_a_sentence(qtbot, tmp_path, layout, words):
    folder = tmp_path / "pictures"
    folder.mkdir()
    for name, side in layout.items():
        write_picture(folder / name, side)
    dialog = dialog_for(qtbot, folder, tmp_path / "run")
    assert dialog.start()
    qtbot.waitUntil(lambda: dialog.state == "failed", timeout=30000)
    text = dialog.status_label.text()
    assert words in text and "Traceback" not in text and "unexpectedly" not in text, text
    assert not (tmp_path / "run").exists(), "nothing half-written"


def test_stop_and_resume_a_texture_run_and_refuse_resuming_it_as_another_kind(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("LLMVIS_DATA_DIR", str(tmp_path / "user"))
    dialog = dialog_for(qtbot, texture_folder(tmp_path / "pictures"), tmp_path / "run")
    dialog.steps_spin.setValue(100_000)
    assert dialog.start()
    qtbot.waitUntil(lambda: dialog.progress_bar.value() > 0 or dialog.state != "running", timeout=30000)
    dialog.cancel_button.click()
    qtbot.waitUntil(lambda: dialog.state == "cancelled", timeout=10000)
    assert "stopped at step" in dialog.status_label.text() and dialog.resume_button.isEnabled()

    dialog.kind_combo.setCurrentIndex(dialog.kind_combo.findData("vae"))  # the wrong kind: one sentence, no damage
    dialog.resume_button.click()
    qtbot.waitUntil(lambda: dialog.state == "failed", timeout=30000)
    assert "holds a full-resolution texture run" in dialog.status_label.text(), dialog.status_label.text()

    dialog.kind_combo.setCurrentIndex(dialog.kind_combo.findData("texture"))
    stopped_at = len(dialog.loss_plot.series["stats"])
    dialog.steps_spin.setValue(10)
    with qtbot.waitSignal(dialog.modelTrained, timeout=60000):
        dialog.resume_button.click()
    qtbot.waitUntil(lambda: dialog.task is None, timeout=10000)
    assert "resumed at step" in (tmp_path / "run" / "train.log").read_text()
    assert stopped_at >= 1 and dialog.state == "done"


def test_a_gan_or_vae_run_folder_is_not_resumed_as_a_texture_run(qtbot, tmp_path):
    import torch

    (tmp_path / "run").mkdir()
    torch.save({"kind": "vae", "config": "{}"}, tmp_path / "run" / "checkpoint.pt")  # what train vae keeps
    dialog = dialog_for(qtbot, texture_folder(tmp_path / "pictures"), tmp_path / "run")
    dialog.resume_button.click()
    qtbot.waitUntil(lambda: dialog.state == "failed", timeout=30000)
    assert "holds a VAE run, not a texture run" in dialog.status_label.text(), dialog.status_label.text()
