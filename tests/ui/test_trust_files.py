"""Issue 20: saving never defaults to overwriting the photo; recent files, welcome page, per-image reset."""

from __future__ import annotations

import numpy as np
from PIL import Image
from PySide6.QtWidgets import QFileDialog, QMessageBox

from llmvis_studio.core.geometry import Bounds
from llmvis_studio.files import load_image
from llmvis_studio.paths import sample_image
from llmvis_studio.ui.canvas.tools import invert_mask
from llmvis_studio.ui.main_window import MainWindow


def write_png(path, image):
    Image.fromarray(image).save(path)
    return path


def test_unsaved_prompt_defaults_to_save_as_and_never_overwrites_the_photo(window, tmp_path, monkeypatch):
    photo = write_png(tmp_path / "photo.png", np.full((20, 30, 3), 90, np.uint8))
    assert window.open_path(photo)
    window.document.image[:5] = 10  # an edit (as an undo step so the document is modified)
    invert_mask(window.doc)
    box = window.unsaved_box()
    default = box.defaultButton()
    assert default is box.button(QMessageBox.Save) and default.text() == "Save As…"

    suggested = []
    target = tmp_path / "photo-edited.png"

    def save_dialog(parent, caption, start, filters):
        suggested.append(start)
        return str(target), filters

    monkeypatch.setattr(QFileDialog, "getSaveFileName", save_dialog)
    monkeypatch.setattr(window, "ask_unsaved", lambda: QMessageBox.Save)  # what Enter answers
    assert window.confirm_discard()
    assert suggested == [str(tmp_path / "photo-edited.png")], "Save As suggests a new name"
    assert load_image(photo)[0].max() == 90, "the original photo is untouched"
    assert load_image(target)[0].min() == 10


def test_unsaved_prompt_for_a_project_defaults_to_cancel(window, tmp_path):
    assert window.save_project_to(tmp_path / "work.llmvis")
    invert_mask(window.doc)
    box = window.unsaved_box()
    assert box.defaultButton() is box.button(QMessageBox.Cancel)


def test_open_recent_works_at_once_without_a_restart(qtbot, client, catalog, tmp_path):
    window = MainWindow(client, catalog)
    try:
        assert not window.recent_menu.isEnabled(), "nothing recent yet"
        first = write_png(tmp_path / "first.png", np.zeros((10, 10, 3), np.uint8))
        second = write_png(tmp_path / "second.png", np.full((12, 14, 3), 200, np.uint8))
        assert window.open_path(first) and window.open_path(second)
        assert window.recent_menu.isEnabled()
        action = next(a for a in window.recent_menu.actions() if a.text() == "first.png")
        window.recent_menu.triggered.emit(action)
        assert window.document.path == first
    finally:
        window.close()
        window.deleteLater()


def test_another_image_resets_prompt_answer_progress_last_job_and_compare(window, tmp_path):
    panel = window.prompt_panel
    panel.prompt_edit.setPlainText("remove the scratch")
    panel.show_understood("Understood: Inpaint · 90 %")
    panel.set_progress(1.0, "Done")
    window.job_label.setText("Last job: FakeCPU, 1.2 s")
    window.split_slider.setValue(50)
    assert window.open_path(write_png(tmp_path / "next.png", np.zeros((8, 8, 3), np.uint8)))
    assert panel.prompt_text() == "" and not panel.understood_label.isVisibleTo(panel)
    assert panel.progress_bar.value() == 0 and panel.progress_label.text() == ""
    assert window.job_label.text() == "Last job: none"
    assert window.split_slider.value() == 0 and window.canvas.split == 0.0


def test_started_without_a_file_shows_the_welcome_page(qtbot, client, catalog, tmp_path):
    recent = write_png(tmp_path / "earlier.png", np.full((10, 16, 3), 50, np.uint8))
    window = MainWindow(client, catalog)
    window.recent.add(recent)
    window.show_welcome()
    window.show()
    qtbot.waitExposed(window)
    try:
        assert window.showing_welcome and not window.canvas.isVisible(), "no blank canvas with the brush armed"
        assert not window.prompt_panel.run_button.isEnabled() or not window.prompt_panel.widget().isEnabled()
        assert not window.save_action.isEnabled()
        items = [window.welcome.recent_list.item(i).text() for i in range(window.welcome.recent_list.count())]
        assert items == ["earlier.png"]
        window.welcome.recent_list.itemClicked.emit(window.welcome.recent_list.item(0))
        assert window.document.path == recent and not window.showing_welcome and window.canvas.isVisible()
        assert window.prompt_panel.widget().isEnabled() and window.save_action.isEnabled()
    finally:
        window.close()
        window.deleteLater()


def test_the_welcome_page_opens_the_sample(qtbot, client, catalog):
    window = MainWindow(client, catalog)
    try:
        assert window.welcome.sample_button.isVisibleTo(window.welcome) == sample_image().is_file()
        window.welcome.sample_button.click()
        assert window.document.path == sample_image() and not window.showing_welcome
    finally:
        window.close()
        window.deleteLater()


def test_reopening_a_project_keeps_the_mask_and_only_applied_jobs(qtbot, window, tmp_path):
    from llmvis_studio.files.project import load_project

    window.document.mask[Bounds(5, 5, 10, 10).slices] = 255
    window.doc.maskChanged.emit(Bounds(5, 5, 10, 10))
    assert window.save_project_to(tmp_path / "p.llmvis")
    assert window.open_path(tmp_path / "p.llmvis")
    assert window.document.mask[8, 8] == 255 and window.doc.jobs == load_project(tmp_path / "p.llmvis").jobs


def test_opening_a_project_says_what_it_keeps_and_what_not(window, tmp_path):
    assert window.save_project_to(tmp_path / "kept.llmvis")
    assert window.open_path(tmp_path / "kept.llmvis")
    message = window.statusBar().currentMessage()
    assert "undo history" in message and "original" in message


def test_the_first_picture_after_the_welcome_page_fills_the_view(qtbot, client, catalog, tmp_path):
    window = MainWindow(client, catalog)
    window.resize(1000, 700)
    window.show()
    qtbot.waitExposed(window)
    try:
        assert window.showing_welcome
        assert window.open_path(write_png(tmp_path / "big.png", np.zeros((400, 600, 3), np.uint8)))
        qtbot.waitUntil(lambda: window.canvas.zoom > 0.5, timeout=2000)
        shown = window.canvas.mapFromScene(window.canvas.item.boundingRect()).boundingRect()
        viewport = window.canvas.viewport().rect()
        assert shown.width() > 0.8 * viewport.width() or shown.height() > 0.8 * viewport.height()
    finally:
        window.close()
        window.deleteLater()
