"""The window's file half: open, save, projects, recent files, masks on disk, crash recovery,
the unsaved-changes question and file drops.

`FileActions` is a mixin of MainWindow (it uses the window's doc, autosaver, recent list,
status bar and dialogs); kept apart so main_window.py stays about the window itself.

Files: images, and `.llmvis` projects (original, current image, mask, applied jobs, prompts).
While a document has unsaved changes an Autosaver keeps a recovery copy in the user's data
folder; `offer_recovery()` (called at start-up) offers it back after a crash.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Optional

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

from ..core.document import Document
from ..core.errors import LargeImageError, StudioError
from ..files import load_image, load_mask, save_image, save_mask
from ..files.atomic import is_write_protected
from ..files.project import Project, load_project, save_project
from ..files.recovery import RecoveryInfo, find_recovery
from ..paths import sample_image
from .canvas.tools import replace_mask

log = logging.getLogger(__name__)

APP_NAME = "LLMVis Studio"
PROJECT_SUFFIX = ".llmvis"
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.tif *.tiff *.webp *.bmp);;All files (*)"
OPEN_FILTER = (
    "Images and projects (*.png *.jpg *.jpeg *.tif *.tiff *.webp *.bmp *.llmvis);;"
    "LLMVis projects (*.llmvis);;All files (*)"
)
PROJECT_FILTER = "LLMVis project (*.llmvis)"
MASK_FILTER = "Mask PNG (*.png)"
PROJECT_KEEPS = (
    "A project keeps the picture, its mask, the original and the applied jobs; undo history and "
    "before/after start afresh."
)


def edited_name(path: Path) -> Path:
    """Save As suggests a new file next to the original: photo.jpg → photo-edited.jpg."""
    stem = path.stem if path.stem.endswith("-edited") else f"{path.stem}-edited"
    return path.with_name(stem + path.suffix)


def is_project_path(path: Path | str) -> bool:
    return Path(path).suffix.lower() == PROJECT_SUFFIX


@contextmanager
def wait_cursor() -> Iterator[None]:
    QApplication.setOverrideCursor(Qt.WaitCursor)
    try:
        yield
    finally:
        QApplication.restoreOverrideCursor()


class FileActions:
    """Mixin for MainWindow: everything that reads or writes files."""

    # --- files -----------------------------------------------------------------------
    def open_path(self, path: Path | str) -> bool:
        """Load an image or a `.llmvis` project, replacing the current document (no unsaved-changes
        question here). Above ASK_PIXELS the user is asked first."""
        if is_project_path(path):
            return self.open_project(path)
        document = self._load_image_document(Path(path))
        if document is None:
            return False
        self.jobs.cancel()  # a running job's result would belong to the old image
        self.project_path = None
        self.doc.replace_document(document)
        self.remember_recent(path)
        self.refresh_title()
        self.show_status(" ".join(document.metadata.notices) or f"Opened {Path(path).name}.")
        return True

    def _load_image_document(self, path: Path) -> Optional[Document]:
        self._open_declined = False
        try:
            try:
                image, metadata = load_image(path)
            except LargeImageError as question:
                if self.ask_open_large(question) != QMessageBox.Yes:
                    self._open_declined = True
                    self.show_status(f"Did not open {path.name}.")
                    return None
                with wait_cursor():
                    image, metadata = load_image(path, allow_large=True)
            return Document(image=image, metadata=metadata, path=path)
        except StudioError as error:
            self.show_error("Cannot open the image", error)
            return None

    def ask_open_large(self, question: LargeImageError) -> QMessageBox.StandardButton:
        """Separate so tests can answer it. The message already ends with "Open it anyway?"."""
        return QMessageBox.question(
            self, APP_NAME, question.user_message, QMessageBox.Yes | QMessageBox.No, QMessageBox.No
        )

    def open_project(self, path: Path | str) -> bool:
        path = Path(path)
        self._open_declined = False
        try:
            try:
                with wait_cursor():
                    project = load_project(path)
            except LargeImageError as question:  # asked before anything was inflated
                if self.ask_open_large(question) != QMessageBox.Yes:
                    self._open_declined = True
                    self.show_status(f"Did not open {path.name}.")
                    return False
                with wait_cursor():
                    project = load_project(path, allow_large=True)
        except StudioError as error:
            self.show_error("Cannot open the project", error)
            return False
        self._show_project(project, path)
        self.remember_recent(path)
        self.show_status(f"Opened project {path.name}. {PROJECT_KEEPS}")
        return True

    def _show_project(self, project: Project, project_path: Optional[Path]) -> None:
        self.jobs.cancel()
        self.doc.replace_document(
            project.document, original=project.original, jobs=project.jobs, prompts=project.prompts, hints=project.hints
        )
        self.project_path = project_path
        self.refresh_title()

    def current_project(self, copy_arrays: bool = False) -> Project:
        """The document as a Project; with copy_arrays it is safe to hand to another thread."""
        doc = self.document
        if copy_arrays:  # the original is read-only: shared, not copied
            doc = Document(
                image=doc.image.copy(), mask=doc.mask.copy(), metadata=copy.deepcopy(doc.metadata), path=doc.path
            )
        hints = None if self.doc.hints.is_empty() else self.doc.hints.rgba.copy()
        return Project(doc, self.doc.original, copy.deepcopy(self.doc.jobs), list(self.doc.prompts), hints)

    def autosave_snapshot(self) -> tuple[Project, Optional[Path]]:
        return self.current_project(copy_arrays=True), self.project_path

    def on_open(self) -> None:
        if not self.confirm_discard():
            return
        path, _ = QFileDialog.getOpenFileName(self, "Open image or project", self._start_folder(), OPEN_FILTER)
        if path:
            self.open_path(path)

    def open_sample(self) -> bool:
        if not self.confirm_discard():
            return False
        return self.open_path(sample_image())

    def open_recent(self, path: str) -> bool:
        """Open a recent file; one that cannot be read any more leaves the list (a declined
        "Open anyway?" keeps it)."""
        if not path or not self.confirm_discard():
            return False
        if self.open_path(path):
            return True
        if not self._open_declined:
            self.recent.remove(path)
            self.refresh_recent_menu()
        return False

    def remember_recent(self, path: Path | str) -> None:
        """Add to the recent files; the menu and the welcome page show it at once (no restart)."""
        self.recent.add(path)
        self.refresh_recent_menu()

    def _start_folder(self) -> str:
        recent = self.recent.paths()
        return str(Path(recent[0]).parent) if recent else ""

    def refresh_recent_menu(self) -> None:
        self.recent_menu.clear()
        for path in self.recent.paths():
            action = self.recent_menu.addAction(Path(path).name)
            action.setData(path)
            action.setToolTip(path)
        self.recent_menu.setEnabled(bool(self.recent.paths()))
        if self._welcome is not None:
            self._welcome.set_recent(self.recent.paths())

    def on_recent_chosen(self, action: QAction) -> None:
        self.open_recent(action.data())

    def save(self) -> bool:
        if self.project_path is not None:
            return self.save_project_to(self.project_path)
        if self.document.path is None:
            return self.save_as()
        return self.save_to(self.document.path)

    def save_as(self) -> bool:
        suggested = str(edited_name(self.document.path) if self.document.path else "untitled.png")
        path, _ = QFileDialog.getSaveFileName(self, "Save image as", suggested, IMAGE_FILTER)
        return self.save_to(path) if path else False

    def save_to(self, path: Path | str) -> bool:
        """Write atomically; on failure show why and keep the document marked modified."""
        replace = self.may_replace(Path(path))
        if replace is None:
            return False
        try:
            notices = save_image(path, self.document.image, self.document.metadata, replace_protected=replace)
        except StudioError as error:
            self.show_error("Cannot save the image", error)
            return False
        self.document.path = Path(path)
        self.project_path = None  # the document is now this image file
        self.doc.mark_saved()
        self.autosaver.discard()
        self.remember_recent(path)
        self.refresh_title()
        self.show_status(" ".join(notices) or f"Saved {Path(path).name}.")
        return True

    def may_replace(self, path: Path) -> Optional[bool]:
        """False: not write-protected; True: protected and the user said replace; None: keep it."""
        if not is_write_protected(path):
            return False
        if self.ask_replace_protected(path) == QMessageBox.Yes:
            return True
        self.show_status(f"Not saved: {path.name} is write-protected.")
        return None

    def ask_replace_protected(self, path: Path) -> QMessageBox.StandardButton:
        """Separate so tests can answer it."""
        return QMessageBox.question(
            self,
            APP_NAME,
            f"{path.name} is write-protected. Replace it anyway?",
            QMessageBox.Yes | QMessageBox.No,
            QMessageBox.No,
        )

    def on_save_project(self) -> bool:
        if self.project_path is not None:
            suggested = str(self.project_path)
        elif self.document.path is not None:
            suggested = str(self.document.path.with_suffix(PROJECT_SUFFIX))
        else:
            suggested = "untitled" + PROJECT_SUFFIX
        path, _ = QFileDialog.getSaveFileName(self, "Save project", suggested, PROJECT_FILTER)
        return self.save_project_to(path) if path else False

    def save_project_to(self, path: Path | str) -> bool:
        """Write the project atomically; on failure show why and keep the document marked modified."""
        path = Path(path)
        if not is_project_path(path):
            path = path.with_name(path.name + PROJECT_SUFFIX)
        replace = self.may_replace(path)
        if replace is None:
            return False
        try:
            with wait_cursor():
                save_project(path, self.current_project(), replace_protected=replace)
        except StudioError as error:
            self.show_error("Cannot save the project", error)
            return False
        self.project_path = path
        self.doc.mark_saved()
        self.autosaver.discard()
        self.remember_recent(path)
        self.refresh_title()
        self.show_status(f"Saved project {path.name}.")
        return True

    # --- crash recovery ---------------------------------------------------------------
    def ask_recover(self, info: RecoveryInfo) -> QMessageBox.StandardButton:
        """Separate so tests can answer it."""
        source = Path(info.project_path or info.source_path or "").name
        about = f" ({source})" if source else ""
        return QMessageBox.question(
            self,
            APP_NAME,
            f"Recover unsaved work from {info.when()}{about}?",
            QMessageBox.Yes | QMessageBox.No,
            QMessageBox.Yes,
        )

    def offer_recovery(self) -> bool:
        """At start-up: if an earlier run left a recovery copy, offer it back. Yes → it becomes the
        current document, marked modified; No → it is deleted; a damaged copy is reported and deleted."""
        info = find_recovery(self.autosaver.folder)
        if info is None:
            return False
        try:
            with wait_cursor():
                project = load_project(info.project, allow_large=True)  # this app's own copy of the work
        except StudioError as error:
            log.warning("Damaged recovery file %s: %s %s", info.project, error.user_message, error.detail)
            self.autosaver.discard()
            QMessageBox.warning(
                self,
                APP_NAME,
                "Unsaved work from an earlier session was found but is damaged "
                "and cannot be recovered; it has been deleted.",
            )
            return False
        if self.ask_recover(info) != QMessageBox.Yes:
            self.autosaver.discard()
            self.show_status("The unsaved work from the earlier session was deleted.")
            return False
        self._show_project(project, Path(info.project_path) if info.project_path else None)
        self.doc.mark_modified()
        self.autosaver.adopt_existing()  # keep the copy on disk until the work is saved
        self.refresh_title()
        self.show_status(f"Recovered unsaved work from {info.when()}.")
        return True

    def on_import_mask(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import mask", self._start_folder(), MASK_FILTER)
        if path:
            self.import_mask(path)

    def import_mask(self, path: Path | str) -> bool:
        try:
            mask = load_mask(path, expected_shape=self.document.mask.shape)
        except StudioError as error:
            self.show_error("Cannot import the mask", error)
            return False
        replace_mask(self.doc, mask)
        return True

    def on_export_mask(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export mask", "mask.png", MASK_FILTER)
        if path:
            self.export_mask(path)

    def export_mask(self, path: Path | str) -> bool:
        try:
            save_mask(path, self.document.mask)
        except StudioError as error:
            self.show_error("Cannot export the mask", error)
            return False
        self.show_status(f"Mask saved to {Path(path).name}.")
        return True

    # --- unsaved changes, drops, closing ---------------------------------------------
    def unsaved_box(self) -> QMessageBox:
        """The unsaved-changes question. Its Save never overwrites the opened photo: for an image it is
        "Save As…" (and the default, as Enter then only asks for a name); for a project it saves the
        project, and Cancel is the default."""
        box = QMessageBox(
            QMessageBox.Question,
            APP_NAME,
            "The picture has unsaved changes. Save them first?",
            QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel,
            self,
        )
        is_project = self.project_path is not None
        box.button(QMessageBox.Save).setText("Save Project" if is_project else "Save As…")
        box.button(QMessageBox.Discard).setText("Discard Changes")
        box.setDefaultButton(QMessageBox.Cancel if is_project else QMessageBox.Save)
        box.setEscapeButton(QMessageBox.Cancel)
        return box

    def ask_unsaved(self) -> QMessageBox.StandardButton:
        """Separate so tests can answer it."""
        box = self.unsaved_box()
        box.exec()
        return box.standardButton(box.clickedButton()) if box.clickedButton() else QMessageBox.Cancel

    def confirm_discard(self) -> bool:
        """True when it is fine to drop the current document (saved, discarded or unchanged)."""
        if not self.doc.modified:
            return True
        answer = self.ask_unsaved()
        if answer == QMessageBox.Save:
            return self.save_project_to(self.project_path) if self.project_path is not None else self.save_as()
        return answer == QMessageBox.Discard

    def dragEnterEvent(self, event) -> None:
        if _dropped_file(event) is not None:
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        path = _dropped_file(event)
        if path is not None:
            event.acceptProposedAction()
            if self.confirm_discard():
                self.open_path(path)


def _dropped_file(event) -> Optional[str]:
    urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
    if urls and urls[0].isLocalFile():
        return urls[0].toLocalFile()
    return None
