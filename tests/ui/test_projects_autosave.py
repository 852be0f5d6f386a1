"""Projects in the editor, autosave, crash recovery, the large-image question and failed saves."""

from __future__ import annotations

import errno
import json
import os

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QMessageBox

from llmvis_studio.core.document import Document
from llmvis_studio.core.errors import LargeImageError
from llmvis_studio.core.geometry import Bounds
from llmvis_studio.files import atomic, load_image
from llmvis_studio.files.project import Project, load_project
from llmvis_studio.files.recovery import INFO_NAME, PROJECT_NAME, recovery_dir, write_recovery
from llmvis_studio.ui import file_controller as file_controller_module
from llmvis_studio.ui.app import build_main_window
from llmvis_studio.ui.canvas.tools import invert_mask
from llmvis_studio.ui.main_window import MainWindow
from tests.unit.test_fuzz_loaders import forged_png

JOB_TIMEOUT_MS = 10_000
WAIT_MS = 5_000


@pytest.fixture
def dialogs(monkeypatch):
    """Every message box the code under test opens, answered without showing it."""
    shown = []

    def record(kind):
        def show(parent, title, text, *rest):
            shown.append((kind, title, text))
            return QMessageBox.Ok

        return show

    for kind in ("warning", "critical", "information"):
        monkeypatch.setattr(QMessageBox, kind, record(kind))
    return shown


def run_job(qtbot, window, op: str, prompt: str) -> None:
    panel = window.prompt_panel
    panel.op_combo.setCurrentIndex(panel.op_combo.findData(op))
    panel.prompt_edit.setPlainText(prompt)
    with qtbot.waitSignal(window.client.jobFinished, timeout=JOB_TIMEOUT_MS):
        panel.run_button.click()


def select_rectangle(window, bounds: Bounds) -> None:
    window.document.mask[bounds.slices] = 255
    window.doc.maskChanged.emit(bounds)


def drop(window, path) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    window.dropEvent(QDropEvent(QPointF(10, 10), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier))


def recovery_files():
    folder = recovery_dir()
    return folder / PROJECT_NAME, folder / INFO_NAME


def close_quietly(window) -> None:
    window.doc.mark_saved()
    window.close()
    window.deleteLater()


# --- projects ------------------------------------------------------------------------------
def test_project_keeps_image_mask_original_jobs_and_prompts(qtbot, window, tmp_path, dialogs):
    loaded = window.document.image.copy()
    select_rectangle(window, Bounds(20, 10, 50, 40))
    run_job(qtbot, window, "inpaint", "remove the scratch")
    invert_mask(window.doc)  # a mask edit after the job
    doc = window.doc
    assert len(doc.jobs) == 1, "the applied job is recorded"
    job = doc.jobs[0]
    assert (job["op"], job["prompt"], job["provider"], job["seconds"]) == (
        "inpaint",
        "remove the scratch",
        "FakeCPU",
        1.25,
    )
    assert job["model"] == window.prompt_panel.model_id and isinstance(job["params"], dict) and job["time"]
    assert doc.prompts == ["remove the scratch"]
    np.testing.assert_array_equal(doc.original, loaded)
    assert not np.array_equal(window.document.image, loaded), "the job changed the image"
    image, mask = window.document.image.copy(), window.document.mask.copy()

    path = tmp_path / "work.llmvis"
    assert window.save_project_to(path)
    assert not doc.modified and window.windowTitle().startswith("work.llmvis — ")
    on_disk = load_project(path)
    assert on_disk.jobs == doc.jobs and on_disk.prompts == ["remove the scratch"]

    assert window.open_path(tmp_path / "synthetic.png")  # something else, then the project back by drop
    assert window.doc.jobs == [] and window.doc.prompts == []
    drop(window, path)
    assert window.project_path == path and not window.doc.modified
    np.testing.assert_array_equal(window.document.image, image)
    np.testing.assert_array_equal(window.document.mask, mask)
    np.testing.assert_array_equal(window.doc.original, loaded)
    assert window.doc.jobs == on_disk.jobs and window.doc.prompts == ["remove the scratch"]
    assert not window.doc.original.flags.writeable, "the original cannot be edited in place"
    assert dialogs == []

    invert_mask(window.doc)  # Save on an opened project writes the project
    assert window.save() and not window.doc.modified
    np.testing.assert_array_equal(load_project(path).document.mask, window.document.mask)


def test_project_opens_from_the_recent_menu(window, tmp_path):
    path = tmp_path / "recent.llmvis"
    assert window.save_project_to(tmp_path / "recent")  # the suffix is added
    assert window.open_path(tmp_path / "synthetic.png")
    window.refresh_recent_menu()
    action = next(a for a in window.recent_menu.actions() if a.text() == "recent.llmvis")
    window.recent_menu.triggered.emit(action)
    assert window.project_path == path and window.windowTitle().startswith("recent.llmvis — ")


def test_a_damaged_project_gives_a_plain_warning(window, tmp_path, dialogs):
    before = window.document.image.copy()
    bad = tmp_path / "bad.llmvis"
    bad.write_bytes(b"PK\x03\x04 not a zip at all")
    assert not window.open_path(bad)
    assert len(dialogs) == 1 and "Traceback" not in dialogs[0][2] and "bad.llmvis" in dialogs[0][2]
    np.testing.assert_array_equal(window.document.image, before)


# --- failed saves --------------------------------------------------------------------------
@pytest.fixture
def disk_full(monkeypatch):
    def replace(source, target):
        raise OSError(errno.ENOSPC, "No space left on device")

    def arm():
        monkeypatch.setattr(atomic.os, "replace", replace)

    return arm


@pytest.mark.parametrize("kind", ["project", "image"])
def test_failed_save_keeps_the_document_modified_and_the_file_intact(window, tmp_path, dialogs, disk_full, kind):
    path = tmp_path / ("saved.llmvis" if kind == "project" else "saved.png")
    save = window.save_project_to if kind == "project" else window.save_to
    assert save(path)
    before = path.read_bytes()
    invert_mask(window.doc)
    window.document.image[:5] = 0
    window.doc.imageChanged.emit()
    disk_full()
    assert not window.save(), "Save goes to the same file and fails"
    assert window.doc.modified and "*" in window.windowTitle()
    assert path.read_bytes() == before, "the original file is intact"
    assert not list(tmp_path.glob("*.part")), "no temp file left behind"
    assert len(dialogs) == 1
    kind_, title, text = dialogs[0]
    assert "No space left" in text and "Traceback" not in text


# --- autosave ------------------------------------------------------------------------------
def test_autosave_writes_after_changes_only_and_a_save_removes_it(qtbot, window, tmp_path):
    project_file, info_file = recovery_files()
    writes = []
    window.autosaver.saved.connect(writes.append)
    window.autosaver.set_interval_ms(20)
    qtbot.wait(250)
    assert writes == [] and not project_file.exists(), "nothing changed: nothing written"

    invert_mask(window.doc)
    qtbot.waitUntil(lambda: len(writes) == 1, timeout=WAIT_MS)
    back = load_project(project_file)
    np.testing.assert_array_equal(back.document.mask, window.document.mask)
    np.testing.assert_array_equal(back.original, window.doc.original)
    info = json.loads(info_file.read_text())
    assert info["source_path"] == str(window.document.path) and info["time"]

    qtbot.wait(250)
    assert len(writes) == 1, "no new changes: no new write"
    window.document.image[:3] = 7
    window.doc.imageChanged.emit()
    qtbot.waitUntil(lambda: len(writes) == 2, timeout=WAIT_MS)
    np.testing.assert_array_equal(load_project(project_file).document.image, window.document.image)

    assert window.save_to(tmp_path / "saved.png")
    assert not project_file.exists() and not info_file.exists(), "a save removes the recovery copy"
    qtbot.wait(250)
    assert len(writes) == 2 and not project_file.exists(), "saved and unchanged: nothing to autosave"


def _break_folder(folder, how: str) -> None:
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.write_text("a file where the recovery folder should be")


def _repair_folder(folder, how: str) -> None:
    folder.unlink()


# A file where the recovery folder should be fails for every user (root ignores read-only folders,
# and CI runs as root), so that is the failure this test provokes.
@pytest.mark.parametrize("how", ["blocked"])
def test_failing_autosave_is_quiet_keeps_editing_and_recovers(qtbot, window, dialogs, monkeypatch, how):
    questions = []
    monkeypatch.setattr(QMessageBox, "question", lambda *args, **kwargs: questions.append(args))
    folder = recovery_dir()
    _break_folder(folder, how)
    saver = window.autosaver
    saver.set_interval_ms(20)
    try:
        invert_mask(window.doc)
        qtbot.waitUntil(lambda: saver.failures >= 2, timeout=WAIT_MS)  # failed, then retried
        assert "Autosave failed" in window.statusBar().currentMessage()
        steps = window.doc.undo_stack.count()
        invert_mask(window.doc)  # editing goes on while autosave fails
        assert window.doc.undo_stack.count() == steps + 1
        assert dialogs == [] and questions == [], "never a dialog"
    finally:
        _repair_folder(folder, how)
    qtbot.waitUntil(lambda: (folder / PROJECT_NAME).is_file() and saver.failures == 0, timeout=WAIT_MS)
    np.testing.assert_array_equal(load_project(folder / PROJECT_NAME).document.mask, window.document.mask)


def test_closing_cleanly_removes_the_recovery_copy(qtbot, window, monkeypatch):
    project_file, info_file = recovery_files()
    window.autosaver.set_interval_ms(20)
    invert_mask(window.doc)
    qtbot.waitUntil(project_file.exists, timeout=WAIT_MS)
    monkeypatch.setattr(window, "ask_unsaved", lambda: QMessageBox.Discard)
    assert window.close()
    # a write still in flight finishes first; the removal is queued behind it on the same thread
    qtbot.waitUntil(lambda: not project_file.exists() and not info_file.exists(), timeout=WAIT_MS)
    assert not list(recovery_dir().iterdir()), "no temp files left either"


# --- recovery at start-up --------------------------------------------------------------------
def lost_work(tmp_path) -> Project:
    rng = np.random.default_rng(7)
    image = rng.integers(0, 65536, size=(24, 32, 3), dtype=np.uint16)
    mask = np.zeros((24, 32), np.uint8)
    mask[4:9, 6:20] = 255
    original = rng.integers(0, 65536, size=(24, 32, 3), dtype=np.uint16)
    jobs = [
        {
            "op": "inpaint",
            "model": "opencv-telea",
            "params": {},
            "prompt": "remove it",
            "device": "auto",
            "tile": None,
            "provider": "CPUExecutionProvider",
            "seconds": 0.5,
            "time": "2024-05-01T10:00:00+00:00",
        }
    ]
    return Project(Document(image=image, mask=mask, path=tmp_path / "lost.tif"), original, jobs, ["remove it"])


@pytest.fixture
def start_image(tmp_path):
    path = tmp_path / "start.png"
    Image.fromarray(np.full((10, 10, 3), 40, np.uint8)).save(path)
    return path


def test_start_up_offers_recovery_and_restores_the_work(qtbot, client, catalog, tmp_path, start_image, monkeypatch):
    project = lost_work(tmp_path)
    write_recovery(recovery_dir(), project, project_path=tmp_path / "lost.llmvis")
    asked = []
    monkeypatch.setattr(MainWindow, "ask_recover", lambda self, info: asked.append(info) or QMessageBox.Yes)
    window = build_main_window(client, catalog, start_image, offer_recovery=True)
    try:
        assert len(asked) == 1 and asked[0].when()
        np.testing.assert_array_equal(window.document.image, project.document.image)
        np.testing.assert_array_equal(window.document.mask, project.document.mask)
        np.testing.assert_array_equal(window.doc.original, project.original)
        assert window.doc.jobs == project.jobs and window.doc.prompts == ["remove it"]
        assert window.doc.modified and window.windowTitle().startswith("lost.llmvis* — ")
        assert window.project_path == tmp_path / "lost.llmvis"
        project_file, info_file = recovery_files()
        assert project_file.exists(), "kept until the work is saved"
        monkeypatch.setattr(window, "ask_unsaved", lambda: QMessageBox.Discard)
        assert window.close()
        assert not project_file.exists() and not info_file.exists(), "a clean close removes it"
    finally:
        close_quietly(window)


def test_declined_recovery_is_deleted(qtbot, client, catalog, tmp_path, start_image, monkeypatch):
    write_recovery(recovery_dir(), lost_work(tmp_path))
    monkeypatch.setattr(MainWindow, "ask_recover", lambda self, info: QMessageBox.No)
    window = build_main_window(client, catalog, start_image, offer_recovery=True)
    try:
        assert not any(path.exists() for path in recovery_files())
        assert window.document.path == start_image and not window.doc.modified
    finally:
        close_quietly(window)


def test_damaged_recovery_file_gives_a_plain_message_and_is_deleted(
    qtbot, client, catalog, start_image, dialogs, monkeypatch
):
    folder = recovery_dir()
    folder.mkdir(parents=True)
    (folder / PROJECT_NAME).write_bytes(b"PK\x03\x04" + os.urandom(200))
    monkeypatch.setattr(MainWindow, "ask_recover", lambda self, info: pytest.fail("asked about a damaged file"))
    window = build_main_window(client, catalog, start_image, offer_recovery=True)
    try:
        assert len(dialogs) == 1 and "damaged" in dialogs[0][2] and "Traceback" not in dialogs[0][2]
        assert not (folder / PROJECT_NAME).exists()
        assert window.document.path == start_image, "the app carries on"
    finally:
        close_quietly(window)


def test_screenshot_start_never_offers_recovery(qtbot, client, catalog, tmp_path, start_image, monkeypatch):
    write_recovery(recovery_dir(), lost_work(tmp_path))
    monkeypatch.setattr(MainWindow, "ask_recover", lambda self, info: pytest.fail("asked during --screenshot"))
    window = build_main_window(client, catalog, start_image)  # offer_recovery defaults to False
    try:
        assert window.document.path == start_image
        assert recovery_files()[0].exists()
    finally:
        window.autosaver.set_interval_ms(0)
        window.deleteLater()  # not closed: a clean close would remove the other run's recovery copy


# --- large images --------------------------------------------------------------------------
def test_large_image_asks_first_and_no_keeps_the_document(window, tmp_path, dialogs, monkeypatch):
    huge = tmp_path / "huge.png"
    huge.write_bytes(forged_png(12_000, 9_000))  # 108 MP declared, almost no data
    asked = []
    monkeypatch.setattr(window, "ask_open_large", lambda error: asked.append(error) or QMessageBox.No)
    before, path = window.document.image.copy(), window.document.path
    assert not window.open_path(huge)
    assert len(asked) == 1 and isinstance(asked[0], LargeImageError) and "megapixels" in asked[0].user_message
    np.testing.assert_array_equal(window.document.image, before)
    assert window.document.path == path and dialogs == []
    assert str(huge.resolve()) not in window.recent.paths()

    window.recent.add(huge)  # from the Recent menu: declining keeps the entry
    window.refresh_recent_menu()
    window.recent_menu.triggered.emit(next(a for a in window.recent_menu.actions() if a.text() == "huge.png"))
    assert len(asked) == 2 and str(huge.resolve()) in window.recent.paths()


def test_large_image_yes_loads_with_allow_large(window, tmp_path, monkeypatch):
    calls = []
    small = np.full((8, 9, 3), 99, np.uint8)

    def fake_load_image(path, allow_large=False):
        calls.append(allow_large)
        if not allow_large:
            raise LargeImageError("big.png is 20000×6000 (120 megapixels). Open it anyway?", 120.0)
        return small.copy(), load_image(tmp_path / "synthetic.png")[1]

    monkeypatch.setattr(file_controller_module, "load_image", fake_load_image)
    monkeypatch.setattr(window, "ask_open_large", lambda error: QMessageBox.Yes)
    assert window.open_path(tmp_path / "big.png")
    assert calls == [False, True]
    np.testing.assert_array_equal(window.document.image, small)
    np.testing.assert_array_equal(window.doc.original, small)


# --- hostile files and protected targets (issue 24) ----------------------------------------------
def crafted_project(path, header) -> None:
    """A project whose project.json is `header` (anything JSON), everything else intact."""
    import zipfile

    from llmvis_studio.files.project import save_project

    save_project(path, lost_work(path.parent), backup=False)
    with zipfile.ZipFile(path) as source:
        kept = [(info, source.read(info)) for info in source.infolist() if info.filename != "project.json"]
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("project.json", json.dumps(header))
        for info, data in kept:
            archive.writestr(info, data)


@pytest.mark.parametrize(
    "header",
    [
        [1, 2],
        {"format": "llmvis-project", "version": 1, "jobs": 5},
        {"format": "llmvis-project", "version": 1, "source_path": 5},
    ],
)
def test_crafted_project_headers_give_a_plain_warning(window, tmp_path, dialogs, header):
    before = window.document.image.copy()
    crafted_project(tmp_path / "crafted.llmvis", header)
    assert not window.open_path(tmp_path / "crafted.llmvis")
    assert len(dialogs) == 1 and "crafted.llmvis" in dialogs[0][2] and "Traceback" not in dialogs[0][2]
    np.testing.assert_array_equal(window.document.image, before)


def test_recovery_offer_runs_with_the_error_hook_in_place(qtbot, client, catalog, start_image, dialogs, monkeypatch):
    import sys

    from llmvis_studio.ui import app as app_module

    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # restored after the test
    folder = recovery_dir()
    folder.mkdir(parents=True)
    crafted_project(folder / PROJECT_NAME, {"format": "llmvis-project", "version": 1, "jobs": 5})
    hooks_seen = []
    real_offer = MainWindow.offer_recovery
    monkeypatch.setattr(
        MainWindow, "offer_recovery", lambda self: hooks_seen.append(sys.excepthook) or real_offer(self)
    )
    monkeypatch.setattr(MainWindow, "ask_recover", lambda self, info: pytest.fail("asked about a damaged file"))
    window = build_main_window(client, catalog, start_image, offer_recovery=True, error_hook=True)
    try:
        assert hooks_seen and hooks_seen[0] is not sys.__excepthook__
        assert hooks_seen[0].__qualname__.startswith(app_module.install_error_hook.__name__)
        assert len(dialogs) == 1 and "damaged" in dialogs[0][2]
        assert not (folder / PROJECT_NAME).exists() and window.document.path == start_image
    finally:
        close_quietly(window)


@pytest.mark.parametrize("kind", ["image", "project"])
@pytest.mark.parametrize("answer", [QMessageBox.No, QMessageBox.Yes])
def test_a_write_protected_file_is_replaced_only_after_asking(window, tmp_path, dialogs, monkeypatch, kind, answer):
    path = tmp_path / ("locked.llmvis" if kind == "project" else "locked.png")
    save = window.save_project_to if kind == "project" else window.save_to
    assert save(path)
    os.chmod(path, 0o444)
    before = path.read_bytes()
    asked = []
    monkeypatch.setattr(window, "ask_replace_protected", lambda p: asked.append(p) or answer)
    window.document.image[:4] = 3
    invert_mask(window.doc)  # marks the document modified
    assert save(path) == (answer == QMessageBox.Yes)
    assert asked == [path] and dialogs == []
    if answer == QMessageBox.Yes:
        assert path.read_bytes() != before and not window.doc.modified
        assert os.stat(path).st_mode & 0o777 == 0o444, "its mode is kept"
    else:
        assert path.read_bytes() == before and window.doc.modified
        assert "write-protected" in window.statusBar().currentMessage()


@pytest.mark.parametrize("answer", [QMessageBox.No, QMessageBox.Yes])
def test_a_large_project_asks_first(window, tmp_path, dialogs, monkeypatch, answer):
    from llmvis_studio.files import project as project_module
    from llmvis_studio.files.project import save_project

    work = lost_work(tmp_path)
    save_project(tmp_path / "large.llmvis", work)
    monkeypatch.setattr(project_module, "ASK_PIXELS", 100)  # 24×32 counts as large here
    asked = []
    monkeypatch.setattr(window, "ask_open_large", lambda error: asked.append(error) or answer)
    before = window.document.image.copy()
    assert window.open_path(tmp_path / "large.llmvis") == (answer == QMessageBox.Yes)
    assert len(asked) == 1 and "Open it anyway?" in asked[0].user_message and dialogs == []
    expected = work.document.image if answer == QMessageBox.Yes else before
    np.testing.assert_array_equal(window.document.image, expected)
