"""A typed prompt is routed on the worker, the panel shows what it understood, then runs it or asks.

The FakeEngine's keyword router (conftest.FAKE_ROUTES) stands in for the text encoder.
"""

from __future__ import annotations

import json
import threading

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from llmvis_studio.catalog import BUILTIN_MODELS, Catalog, ModelSpec
from llmvis_studio.core.geometry import Bounds
from llmvis_studio.ui.panels.prompt_extras import HISTORY_KEY, NOT_AN_EDIT
from tests.helpers import fake_spec

JOB_TIMEOUT_MS = 10_000
STYLES = ("watercolour", "pencil-sketch", "mosaic")  # conftest.FAKE_STYLES: what the fake router knows


def routed_spec(model_id: str, task: str, folder, scale: int = 1, **extra) -> ModelSpec:
    return fake_spec(model_id, task, folder=folder, scale=scale, extra=extra)


@pytest.fixture
def catalog(tmp_path) -> Catalog:
    """The shared test catalog plus a stylize model with presets and a generator (no restore model)."""
    folder = tmp_path / "models"
    folder.mkdir()
    presets = [{"name": name, "description": f"{name} look", "vector": [0.0]} for name in STYLES]
    (folder / "presets.json").write_text(json.dumps({"presets": presets}), encoding="utf-8")
    style = routed_spec("fake-style", "stylize", folder, presets={"file": "presets.json", "sha256": "0" * 64})
    upscale = routed_spec("fake-x2", "upscale", folder, scale=2)
    return Catalog(BUILTIN_MODELS + (upscale, style, routed_spec("fake-gen", "generate", folder)))


def choose_op(window, op: str) -> None:
    combo = window.prompt_panel.op_combo
    combo.setCurrentIndex(combo.findData(op))


def paint_mask(window) -> None:
    bounds = Bounds(20, 10, 50, 40)
    window.document.mask[bounds.slices] = 255
    window.doc.maskChanged.emit(bounds)


def route(qtbot, window, text: str, runs: bool):
    """Type `text`, press Run; wait for the routing and, when `runs`, for the job it starts."""
    panel = window.prompt_panel
    panel.prompt_edit.setPlainText(text)
    if runs:
        with qtbot.waitSignals([window.client.promptRouted, window.client.jobFinished], timeout=JOB_TIMEOUT_MS):
            panel.run_button.click()
    else:
        with qtbot.waitSignal(window.client.promptRouted, timeout=JOB_TIMEOUT_MS):
            panel.run_button.click()
    return window.client.fake


def test_a_clear_prompt_routes_on_the_worker_then_runs_the_routed_op(qtbot, window):
    panel = window.prompt_panel
    choose_op(window, "inpaint")
    panel.style_controls.strength_slider.setValue(60)
    fake = route(qtbot, window, "make it look like a pencil sketch", runs=True)

    assert fake.routed == ["make it look like a pencil sketch"]
    assert fake.route_threads[0] != threading.main_thread().name, "routing ran on the GUI thread"
    [request] = fake.requests
    assert (request.op, dict(request.params)) == ("stylize", {"style": "pencil-sketch", "strength": 0.6})
    assert request.prompt == "make it look like a pencil sketch" and request.model_id == "fake-style"
    assert panel.understood_label.text() == "Understood: Stylize · style “pencil-sketch” · 92 %"
    assert panel.op == "stylize" and panel.style_controls.style == "pencil-sketch"
    assert panel.style_controls.isVisibleTo(panel)
    assert window.doc.prompts == ["make it look like a pencil sketch"]
    assert window.doc.undo_stack.count() == 1


def test_generate_gets_the_content_and_upscale_the_scale(qtbot, window):
    panel = window.prompt_panel
    paint_mask(window)
    fake = route(qtbot, window, "fill this with clouds", runs=True)
    assert panel.understood_label.text() == "Understood: Generate · “clouds” · 81 %"
    assert fake.requests[-1].op == "generate" and fake.requests[-1].params["prompt"] == "clouds"
    assert fake.requests[-1].prompt == "fill this with clouds"

    choose_op(window, "inpaint")
    panel.scale_combo.setCurrentIndex(panel.scale_combo.findData(4))
    route(qtbot, window, "upscale x2", runs=True)
    assert (fake.requests[-1].op, dict(fake.requests[-1].params)) == ("upscale", {"scale": 2})
    assert panel.understood_label.text() == "Understood: Upscale · ×2 · 95 %"
    assert window.document.image.shape[:2] == (300, 400)


def test_an_unsure_prompt_shows_the_choices_and_runs_only_the_one_picked(qtbot, window):
    panel = window.prompt_panel
    fake = route(qtbot, window, "fix it somehow", runs=False)
    qtbot.wait(100)
    assert fake.requests == [] and not window.jobs.busy, "an unsure routing must not run"
    assert panel.understood_label.text() == (
        "Not sure what you mean. Did you mean: Stylize 41 % · Inpaint 33 % · Restore 9 %"
    )
    buttons = panel.choice_bar.buttons
    assert [b.text() for b in buttons] == ["Stylize 41 %", "Inpaint 33 %", "Restore 9 %"]
    assert [b.isEnabled() for b in buttons] == [True, True, False], "no installed model can restore"
    assert panel.choice_bar.isVisibleTo(panel) and panel.run_button.isEnabled()

    with qtbot.waitSignal(window.client.jobFinished, timeout=JOB_TIMEOUT_MS):
        panel.choice_bar.button_for("inpaint").click()
    [request] = fake.requests
    assert request.op == "inpaint" and request.prompt == "fix it somehow"
    assert panel.understood_label.text() == "Understood: Inpaint · 33 %"
    assert not panel.choice_bar.isVisibleTo(panel)


def test_not_an_edit_shows_a_message_and_runs_nothing(qtbot, window):
    panel = window.prompt_panel
    fake = route(qtbot, window, "what is the capital of France?", runs=False)
    qtbot.wait(100)
    assert panel.understood_label.text() == NOT_AN_EDIT
    assert fake.requests == [] and not window.jobs.busy and panel.run_button.isEnabled()
    assert window.doc.prompts == []


def test_an_op_no_installed_model_can_do_is_named_and_not_run(qtbot, window):
    panel = window.prompt_panel
    fake = route(qtbot, window, "restore the old photo", runs=False)
    qtbot.wait(100)
    assert panel.understood_label.text() == (
        "Understood: Restore · 88 % — but no installed model can restore yet, so nothing was run."
    )
    assert fake.requests == []


@pytest.mark.parametrize(
    "text, op, understood",
    [
        ("colourize my grandfather's photo", "colourize", "Understood: Colourize · 93 %"),
        ("remove the date stamp", "detect-text", "Understood: Detect text · then Inpaint · 86 %"),
    ],
)
def test_a_new_op_this_build_cannot_run_is_named_and_not_run(qtbot, window, text, op, understood):
    """The router knows ops that are built separately (colourize, the smart masks); until they are here
    the editor says so instead of running something else or failing."""
    from llmvis_studio.core.requests import OPS

    panel = window.prompt_panel
    fake = route(qtbot, window, text, runs=False)
    qtbot.wait(100)
    label = panel.understood_label.text()
    assert label.startswith(understood), label
    if op in OPS:  # once the op is in the build, the ordinary "no installed model" message applies
        assert "no installed model can" in label
    else:
        assert label.endswith("is not available in this build, so nothing was run."), label
    assert fake.requests == [] and not window.jobs.busy and window.doc.prompts == []


def test_an_empty_prompt_runs_the_listed_op_without_routing(qtbot, window):
    choose_op(window, "inpaint")
    with qtbot.waitSignal(window.client.jobFinished, timeout=JOB_TIMEOUT_MS):
        window.prompt_panel.run_button.click()
    assert window.client.fake.routed == [] and window.client.fake.requests[0].op == "inpaint"


def test_without_a_router_the_listed_op_runs(qtbot, make_window, make_client):
    window = make_window(make_client("no-router"))
    choose_op(window, "inpaint")
    window.prompt_panel.prompt_edit.setPlainText("make it look like a watercolour")
    with qtbot.waitSignals([window.client.routeFailed, window.client.jobFinished], timeout=JOB_TIMEOUT_MS):
        window.prompt_panel.run_button.click()
    assert window.client.fake.routed == ["make it look like a watercolour"]
    assert window.client.fake.requests[0].op == "inpaint"
    assert "running Inpaint as chosen" in window.prompt_panel.understood_label.text()


def test_enter_runs_and_shift_enter_makes_a_new_line(qtbot, window):
    panel = window.prompt_panel
    panel.prompt_edit.setPlainText("remove the scratch")
    panel.prompt_edit.moveCursor(panel.prompt_edit.textCursor().MoveOperation.End)
    QTest.keyClick(panel.prompt_edit, Qt.Key_Return, Qt.ShiftModifier)
    assert panel.prompt_edit.toPlainText() == "remove the scratch\n" and window.client.fake.routed == []
    with qtbot.waitSignal(window.client.jobFinished, timeout=JOB_TIMEOUT_MS):
        QTest.keyClick(panel.prompt_edit, Qt.Key_Return, Qt.ControlModifier)
    assert window.client.fake.routed == ["remove the scratch"]
    assert window.client.fake.requests[0].op == "inpaint"


def test_style_from_an_image_goes_into_the_request(qtbot, window, tmp_path, monkeypatch):
    panel = window.prompt_panel
    choose_op(window, "stylize")
    picture = tmp_path / "my style.png"
    monkeypatch.setattr(panel.style_controls, "ask_style_image", lambda: str(picture))
    panel.style_controls.image_button.click()
    assert panel.style_controls.style_combo.currentText() == "Image: my style.png"
    request = panel.build_request(window.document.image, window.document.mask)
    assert dict(request.params) == {"style": str(picture), "strength": 1.0}


def test_prompt_history_per_document_and_across_sessions(qtbot, window, make_window):
    panel = window.prompt_panel
    route(qtbot, window, "remove the scratch", runs=True)
    route(qtbot, window, "erase the dust spot", runs=True)
    assert window.doc.prompts == ["remove the scratch", "erase the dust spot"]
    assert panel.history_box.items[:2] == ["erase the dust spot", "remove the scratch"]

    # Up / Down on the prompt box walk the history; the draft comes back at the end.
    panel.prompt_edit.setPlainText("draft")
    panel.prompt_edit.setFocus()
    QTest.keyClick(panel.prompt_edit, Qt.Key_Up)
    assert panel.prompt_edit.toPlainText() == "erase the dust spot"
    QTest.keyClick(panel.prompt_edit, Qt.Key_Up)
    assert panel.prompt_edit.toPlainText() == "remove the scratch"
    QTest.keyClick(panel.prompt_edit, Qt.Key_Down)
    QTest.keyClick(panel.prompt_edit, Qt.Key_Down)
    assert panel.prompt_edit.toPlainText() == "draft"

    # The combo recalls one into the box, to edit and run.
    combo = panel.history_box.combo
    combo.activated.emit(combo.findData("remove the scratch"))
    assert panel.prompt_edit.toPlainText() == "remove the scratch" and combo.currentIndex() == 0

    # A later session (new window, same settings) offers them too; a project's own prompts come first.
    later = make_window(window.client)
    assert later.prompt_panel.history_box.items == ["erase the dust spot", "remove the scratch"]
    later.doc.replace_document(later.document, prompts=["add a boat"])
    assert later.prompt_panel.history_box.items == ["add a boat", "erase the dust spot", "remove the scratch"]
    assert window.settings.value(HISTORY_KEY) == ["erase the dust spot", "remove the scratch"]

    combo = later.prompt_panel.history_box.combo
    combo.activated.emit(combo.count() - 1)  # "Clear saved prompts": the project's own stay
    assert later.prompt_panel.history_box.items == ["add a boat"]


def test_after_the_first_step_of_a_two_step_prompt_the_second_is_selected(qtbot, window):
    """ "remove the date stamp" = detect-text, then inpaint: once the text mask is there (for review), the
    panel selects inpaint and says to press Run; a failed first step or another job selects nothing."""
    routing, panel = window.prompt_routing, window.prompt_panel
    choose_op(window, "stylize")
    routing.pending_then = ("detect-text", "inpaint")
    window.jobs.jobEnded.emit("detect-text", False)
    assert panel.op == "stylize" and routing.pending_then is None
    routing.pending_then = ("detect-text", "inpaint")
    window.jobs.jobEnded.emit("detect-text", True)
    assert panel.op == "inpaint"
    assert "press Run" in panel.understood_label.text()


def test_the_request_comes_from_the_routing_not_from_the_widgets(qtbot, window, monkeypatch):
    """With the panel's display of the routing switched off, the routed op and its scale still reach the engine:
    the request is built from the PromptRouting, not read back from the widgets."""
    panel = window.prompt_panel
    monkeypatch.setattr(panel, "show_routing", lambda routing, op=None: None)
    choose_op(window, "inpaint")
    panel.scale_combo.setCurrentIndex(panel.scale_combo.findData(4))
    fake = route(qtbot, window, "upscale x2", runs=True)
    assert panel.op == "inpaint", "the list was left alone"
    assert (fake.requests[-1].op, dict(fake.requests[-1].params)) == ("upscale", {"scale": 2})
    assert fake.requests[-1].prompt == "upscale x2"
