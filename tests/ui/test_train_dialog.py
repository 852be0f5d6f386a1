"""The Train dialog with a fake trainer (progress, plot, cancel, finish) and the editor's generate fill."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from llmvis_studio.catalog import BUILTIN_MODELS, Catalog, load_catalog
from llmvis_studio.core.errors import Cancelled
from llmvis_studio.ui.train_dialog import TrainDialog
from llmvis_studio.worker import EngineClient
from tests.generator_helpers import write_generator_catalog


def synthetic_image(width: int = 200, height: int = 150) -> np.ndarray:
    yy, xx = np.mgrid[:height, :width]
    return np.stack([xx % 256, yy % 256, (xx + yy) % 256], axis=2).astype(np.uint8)


def fake_trainer(calls: list, finish_after=None, sample=None):
    def train(settings, report, should_stop):
        calls.append(settings)
        step = 0
        while True:
            if should_stop():
                raise Cancelled(f"Training stopped at step {step}; the checkpoint is kept, resume to continue.")
            step += 1
            report(
                {
                    "step": step,
                    "steps": settings["steps"],
                    "losses": {"D": 1.0 / step, "G": 0.5 + 0.01 * step},
                    "rate": 100.0,
                    "sample": sample if step == 2 else None,
                }
            )
            time.sleep(0.005)
            if finish_after is not None and step >= finish_after:
                return {"model_id": "gan-fake", "steps": step}

    return train


@pytest.fixture
def pictures(tmp_path):
    folder = tmp_path / "pictures"
    (folder / "sky").mkdir(parents=True)
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(folder / "sky" / "a.png")
    return folder


def test_cancel_stops_the_trainer_and_its_thread(qtbot, pictures, tmp_path):
    calls: list = []
    sample = tmp_path / "grid.png"
    Image.fromarray(np.full((20, 40, 3), 90, np.uint8)).save(sample)
    dialog = TrainDialog(fake_trainer(calls, sample=str(sample)))
    qtbot.addWidget(dialog)
    dialog.folder_edit.setText(str(pictures))
    dialog.out_edit.setText(str(tmp_path / "run"))
    dialog.steps_spin.setValue(100000)
    dialog.size_combo.setCurrentIndex(1)
    assert dialog.start()
    assert not dialog.start_button.isEnabled() and dialog.cancel_button.isEnabled()
    qtbot.waitUntil(
        lambda: dialog.progress_bar.value() > 0 and len(dialog.loss_plot.series.get("D", [])) > 3, timeout=5000
    )
    assert calls[0]["size"] == 64 and calls[0]["data"] == str(pictures) and calls[0]["out"] == str(tmp_path / "run")
    qtbot.waitUntil(
        lambda: dialog.sample_label.pixmap() is not None and not dialog.sample_label.pixmap().isNull(), timeout=5000
    )
    dialog.loss_plot.grab()  # paints the plot with data
    dialog.cancel_button.click()
    qtbot.waitUntil(lambda: dialog.state == "cancelled", timeout=5000)
    assert dialog.task is None and "stopped at step" in dialog.status_label.text()
    assert dialog.start_button.isEnabled() and not dialog.cancel_button.isEnabled()


def test_finished_training_announces_the_model(qtbot, pictures):
    dialog = TrainDialog(fake_trainer([], finish_after=5))
    qtbot.addWidget(dialog)
    dialog.folder_edit.setText(str(pictures))
    with qtbot.waitSignal(dialog.modelTrained, timeout=5000) as blocker:
        dialog.start()
    assert blocker.args == ["gan-fake"]
    qtbot.waitUntil(lambda: dialog.task is None, timeout=5000)
    assert dialog.state == "done" and dialog.progress_bar.value() == 1000


def test_a_failing_trainer_shows_a_sentence(qtbot, pictures):
    def broken(settings, report, should_stop):
        raise RuntimeError("boom")

    dialog = TrainDialog(broken)
    qtbot.addWidget(dialog)
    dialog.folder_edit.setText(str(pictures))
    dialog.start()
    qtbot.waitUntil(lambda: dialog.state == "failed", timeout=5000)
    assert "RuntimeError" in dialog.status_label.text()
    dialog.folder_edit.setText(str(pictures / "missing"))
    assert not dialog.start() and "existing folder" in dialog.status_label.text()


def fill_from_prompt_in_the_editor(qtbot, tmp_path, catalog, model_id: str, prompt: str, timeout: int = 20000) -> str:
    """Mask a box, choose Generate with `model_id`, type `prompt`, press Run; returns the status line."""
    from llmvis_studio.engine import Engine
    from llmvis_studio.ui.canvas.tools import replace_mask
    from llmvis_studio.ui.main_window import MainWindow

    client = EngineClient(lambda: Engine(catalog=catalog, threads=1))
    window = MainWindow(client, catalog, trainer=fake_trainer([]))
    try:
        path = tmp_path / "picture.png"
        Image.fromarray(synthetic_image()).save(path)
        assert window.open_path(path)
        before = window.document.image.copy()
        mask = np.zeros(before.shape[:2], np.uint8)
        mask[40:90, 60:140] = 255
        replace_mask(window.doc, mask)
        panel = window.prompt_panel
        panel.op_combo.setCurrentIndex(panel.op_combo.findData("generate"))
        panel.model_combo.setCurrentIndex(panel.model_combo.findData(model_id))
        assert panel.model_id == model_id and panel.seed_spin.isVisibleTo(panel)
        panel.prompt_edit.setPlainText(prompt)
        panel.variation_spin.setValue(2)
        assert panel.params() == {"seed": 0, "variations": 4, "variation": 1}
        panel.run_button.click()
        # with the real text encoder the prompt is routed on the worker first and the job starts after that; either
        # way the picture changes once the job's result is applied
        qtbot.waitUntil(
            lambda: not window.jobs.busy and not np.array_equal(window.document.image, before), timeout=timeout
        )
        after = window.document.image
        assert np.array_equal(after[mask == 0], before[mask == 0])
        assert np.abs(after[mask > 0].astype(int) - before[mask > 0]).mean() > 1
        assert window.train_action.isEnabled()
        return window.statusBar().currentMessage()
    finally:
        window.doc.mark_saved()
        window.close()
        client.shutdown()


def test_editor_fills_the_mask_from_a_prompt_with_a_generator(qtbot, tmp_path):
    catalog = load_catalog(write_generator_catalog(tmp_path / "models"))
    fill_from_prompt_in_the_editor(qtbot, tmp_path, catalog, "tiny-gen", "something red")


def test_editor_fills_the_mask_from_a_prompt_with_the_shipped_demo_generator(qtbot, tmp_path):
    catalog = load_catalog(user_folder=None)  # the bundled models/, text encoder and router included
    # routed by the real prompt router: op generate, content "gravel" (the demo's gravel class)
    status = fill_from_prompt_in_the_editor(
        qtbot, tmp_path, catalog, "demo-textures-gan", "fill the mask with gravel", timeout=60000
    )
    assert "gravel" in status, status


def test_train_menu_is_disabled_without_a_trainer(qtbot, make_window, client):
    window = make_window(client)
    assert not window.train_action.isEnabled()


def test_a_trained_model_joins_the_prompt_panel(qtbot, tmp_path, monkeypatch, make_window, client):
    user = tmp_path / "data" / "models"
    write_generator_catalog(user, "gan-new")  # what training registers
    window = make_window(client)
    assert window.prompt_panel.op_combo.findData("generate") < 0
    window.on_model_trained("gan-new")
    panel = window.prompt_panel
    assert panel.op == "generate" and panel.model_id == "gan-new"
    assert "gan-new" in window.catalog.ids() and not set(b.id for b in BUILTIN_MODELS) - set(window.catalog.ids())
    assert isinstance(window.catalog, Catalog)


def checkpointing_trainer(calls: list):
    """Like the real trainer: writes a checkpoint when stopped; resume continues from it."""

    def train(settings, report, should_stop):
        calls.append(dict(settings))
        out = Path(settings["out"])
        out.mkdir(parents=True, exist_ok=True)
        step = int((out / "checkpoint.pt").read_text()) if settings.get("resume") else 0
        while step < settings["steps"]:
            if should_stop():
                (out / "checkpoint.pt").write_text(str(step))
                raise Cancelled(f"Training stopped at step {step}; the checkpoint is kept, resume to continue.")
            step += 1
            report({"step": step, "steps": settings["steps"], "losses": {"D": 1.0, "G": 0.5}, "rate": 0.0})
            time.sleep(0.02)
        return {"model_id": "vae-fake", "steps": step}

    return train


def test_plain_words_time_left_from_measured_steps_and_resume(qtbot, pictures, tmp_path):
    calls: list = []
    dialog = TrainDialog(checkpointing_trainer(calls))
    qtbot.addWidget(dialog)
    assert "Generate" in dialog.intro_label.text(), "says where the model shows up"
    assert dialog.kind_combo.currentData() == "texture", "the full-resolution generator is the default"
    dialog.kind_combo.setCurrentIndex(dialog.kind_combo.findData("vae"))  # old runs keep their kinds
    assert dialog.steps_spin.value() <= 500, "minutes, not hours"
    dialog.folder_edit.setText(str(pictures))
    dialog.out_edit.setText(str(tmp_path / "run"))
    dialog.steps_spin.setValue(100_000)
    assert not dialog.resume_button.isEnabled(), "nothing to resume yet"
    assert dialog.start()
    qtbot.waitUntil(lambda: "left" in dialog.status_label.text(), timeout=5000)
    text = dialog.status_label.text()
    assert "steps/s" not in text and "D " not in text, f"no jargon: {text}"
    dialog.cancel_button.click()
    qtbot.waitUntil(lambda: dialog.state == "cancelled", timeout=5000)
    stopped_at = int((tmp_path / "run" / "checkpoint.pt").read_text())
    assert dialog.resume_button.isEnabled()

    dialog.steps_spin.setValue(stopped_at + 5)
    with qtbot.waitSignal(dialog.modelTrained, timeout=5000):
        dialog.resume_button.click()
    assert calls[-1]["resume"] is True and calls[-1]["out"] == str(tmp_path / "run")
    qtbot.waitUntil(lambda: dialog.task is None, timeout=5000)
    assert "Generate" in dialog.status_label.text()


def test_step_clock_measures_after_the_first_step():
    from llmvis_studio.ui.train_dialog import StepClock

    now = [30.0]  # loading the pictures took 30 s before step 1 arrived: it must not count
    clock = StepClock(lambda: now[0])
    assert clock.seconds_left(1, 101) is None
    now[0] = 31.0
    assert clock.seconds_left(2, 101) is None, "one step is too few to measure"
    now[0] = 32.0
    assert clock.seconds_left(5, 101) == pytest.approx(96 * 2.0 / 4)
