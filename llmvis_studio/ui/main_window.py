"""The main window: canvas, docks, menus, toolbar, status bar, file handling and job wiring.

The caller injects the EngineClient and the Catalog and shuts the client down after
app.exec(); closing the window only cancels its running job.

Files: images, and `.llmvis` projects (original, current image, mask, applied jobs, prompts).
While a document has unsaved changes an Autosaver keeps a recovery copy in the user's data
folder; `offer_recovery()` (called at start-up) offers it back after a crash.
"""
from __future__ import annotations

import copy
import logging
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

import numpy as np
from PySide6.QtCore import QSettings, Qt, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QFileDialog, QLabel, QMainWindow, QMessageBox, QSlider, QWidget

from ..catalog import Catalog
from ..core.document import Document
from ..core.errors import LargeImageError, StudioError
from ..files import load_image, load_mask, save_image, save_mask
from ..files.atomic import is_write_protected
from ..files.project import Project, load_project, save_project
from ..files.recovery import RecoveryInfo, find_recovery
from ..worker.client import EngineClient
from .canvas.tools import (
    BrushSettings, BrushTool, LassoTool, RectangleTool, Tool, clear_mask, feather_mask, grow_mask, invert_mask,
    replace_mask, shrink_mask,
)
from .autosave import Autosaver
from .canvas.view import CanvasView
from .colourize_panel import install_colourize
from .document_model import DocumentModel
from .jobs import JobController
from .panels.prompt import PromptPanel
from .panels.tools_panel import ToolsPanel
from .routing import PromptRoutingController
from .settings import RecentFiles, autosave_minutes, make_settings

log = logging.getLogger(__name__)

APP_NAME = "LLMVis Studio"
PROJECT_SUFFIX = ".llmvis"
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.tif *.tiff *.webp *.bmp);;All files (*)"
OPEN_FILTER = ("Images and projects (*.png *.jpg *.jpeg *.tif *.tiff *.webp *.bmp *.llmvis);;"
               "LLMVis projects (*.llmvis);;All files (*)")
PROJECT_FILTER = "LLMVis project (*.llmvis)"
MASK_FILTER = "Mask PNG (*.png)"
STATUS_TIMEOUT_MS = 8000
TOOL_KEYS = {"brush": "B", "eraser": "E", "rectangle": "R", "lasso": "L"}


def blank_document() -> Document:
    return Document(image=np.full((600, 800, 3), 255, dtype=np.uint8))


def is_project_path(path: Path | str) -> bool:
    return Path(path).suffix.lower() == PROJECT_SUFFIX


@contextmanager
def wait_cursor() -> Iterator[None]:
    QApplication.setOverrideCursor(Qt.WaitCursor)
    try:
        yield
    finally:
        QApplication.restoreOverrideCursor()


class MainWindow(QMainWindow):
    def __init__(self, client: EngineClient, catalog: Catalog, parent: Optional[QWidget] = None,
                 settings: Optional[QSettings] = None, device: str = "auto", trainer=None) -> None:
        super().__init__(parent)
        self.trainer = trainer  # training callable for the Train dialog (None: torch not installed)
        self.client = client
        self.catalog = catalog
        self.settings = settings if settings is not None else make_settings()
        self.recent = RecentFiles(self.settings)
        self.model = DocumentModel(blank_document(), self)
        self.project_path: Optional[Path] = None  # set while the document is a saved/opened project
        self._open_declined = False  # the last open stopped at the user's "No" to a large image
        self.brush = BrushSettings(parent=self)
        self.canvas = CanvasView(self.model, self.brush, self)
        self.setCentralWidget(self.canvas)
        self.tools = self._make_tools()
        self.prompt_panel = PromptPanel(catalog, self, device=device)
        self.tools_panel = ToolsPanel(self.brush, self)
        self.addDockWidget(Qt.RightDockWidgetArea, self.prompt_panel)
        self.addDockWidget(Qt.LeftDockWidgetArea, self.tools_panel)
        self.jobs = JobController(client, self.model, self)
        self.prompt_routing = PromptRoutingController(client, self.prompt_panel, self.model, self.settings, self)
        self.autosaver = Autosaver(self.model, self.autosave_snapshot,
                                   int(autosave_minutes(self.settings) * 60_000), self)
        self._create_actions()
        self._create_menus()
        self._create_toolbar()
        self._create_status_bar()
        self._connect()
        self.canvas.set_tool(self.tools["brush"])
        self.setAcceptDrops(True)
        self.resize(1280, 800)
        self.refresh_title()
        self.refresh_size_label()

    # --- construction ----------------------------------------------------------------
    def _make_tools(self) -> dict[str, Tool]:
        scene = self.canvas.scene()
        return {
            "brush": BrushTool(self.model, scene, self.brush),
            "eraser": BrushTool(self.model, scene, self.brush, erase=True),
            "rectangle": RectangleTool(self.model, scene),
            "lasso": LassoTool(self.model, scene),
        }

    def _action(self, text: str, slot, shortcut=None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        return action

    def _create_actions(self) -> None:
        self.open_action = self._action("&Open…", self.on_open, QKeySequence.Open)
        self.save_action = self._action("&Save", self.save, QKeySequence.Save)
        self.save_as_action = self._action("Save &As…", self.save_as, QKeySequence.SaveAs)
        self.save_project_action = self._action("Save &Project…", self.on_save_project)
        self.import_mask_action = self._action("&Import Mask…", self.on_import_mask)
        self.export_mask_action = self._action("&Export Mask…", self.on_export_mask)
        self.close_action = self._action("&Close Window", self.close, QKeySequence.Close)
        stack = self.model.undo_stack
        self.undo_action = self._action("&Undo", self.undo, QKeySequence.Undo)
        self.redo_action = self._action("&Redo", self.redo, QKeySequence.Redo)
        self.undo_action.setEnabled(False)
        self.redo_action.setEnabled(False)
        stack.canUndoChanged.connect(self.undo_action.setEnabled)
        stack.canRedoChanged.connect(self.redo_action.setEnabled)
        stack.undoTextChanged.connect(self.on_undo_text_changed)
        stack.redoTextChanged.connect(self.on_redo_text_changed)
        self.fit_action = self._action("&Fit", self.canvas.fit, "Ctrl+0")
        self.actual_size_action = self._action("&100 %", self.canvas.actual_size, "Ctrl+1")

    def _create_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        file_menu.addAction(self.open_action)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self.refresh_recent_menu)
        self.recent_menu.triggered.connect(self.on_recent_chosen)
        file_menu.addActions([self.save_action, self.save_as_action, self.save_project_action])
        file_menu.addSeparator()
        file_menu.addActions([self.import_mask_action, self.export_mask_action])
        file_menu.addSeparator()
        file_menu.addAction(self.close_action)
        self.menuBar().addMenu("&Edit").addActions([self.undo_action, self.redo_action])
        self.menuBar().addMenu("&View").addActions([self.fit_action, self.actual_size_action])
        self._create_mask_menu()
        self.train_action = self._action("&Train Generator…", self.on_train_generator)
        self.train_action.setEnabled(self.trainer is not None)
        self.train_action.setToolTip("Train a generator on your pictures" if self.trainer is not None else
                                     "training needs the train extra: pip install 'llmvis-studio[train]'")
        self.menuBar().addMenu("&Tools").addAction(self.train_action)
        install_colourize(self)  # Colour menu + Colourize panel with the colour hint brush (ui/colourize_panel.py)
        self.refresh_recent_menu()

    def _create_mask_menu(self) -> None:
        """Keyboard access to the tools panel; text fields keep their keys (Qt's shortcut override)."""
        menu = self.menuBar().addMenu("&Mask")
        for name, key in TOOL_KEYS.items():
            menu.addAction(name.capitalize(), QKeySequence(key)).setData(("tool", name))
        menu.addSeparator()
        menu.addAction("Smaller Brush", QKeySequence("[")).setData(("brush", -1))
        menu.addAction("Larger Brush", QKeySequence("]")).setData(("brush", 1))
        menu.addSeparator()
        for name in ("clear", "invert", "grow", "shrink", "feather"):
            menu.addAction(f"{name.capitalize()} Mask").setData(("command", name))
        menu.addSeparator()
        self.auto_mask_action = menu.addAction("Auto-mask Scratches and Dust")
        self.auto_mask_action.setData(("job", "detect-scratches"))
        self.restore_action = menu.addAction("Remove Scratches and Dust (Restore)")
        self.restore_action.setData(("job", "restore"))
        menu.triggered.connect(self.on_mask_menu)

    def _create_toolbar(self) -> None:
        toolbar = self.addToolBar("Main")
        toolbar.setObjectName("mainToolbar")
        toolbar.addActions([self.open_action, self.save_action])
        toolbar.addSeparator()
        toolbar.addActions([self.undo_action, self.redo_action])
        toolbar.addSeparator()
        toolbar.addActions([self.fit_action, self.actual_size_action])
        toolbar.addSeparator()
        toolbar.addWidget(QLabel(" Before | After "))
        self.split_slider = QSlider(Qt.Horizontal)
        self.split_slider.setRange(0, 100)
        self.split_slider.setFixedWidth(140)
        self.split_slider.setToolTip("Left of the line shows the image before the last job; hold \\ to see it whole")
        toolbar.addWidget(self.split_slider)

    def _create_status_bar(self) -> None:
        self.size_label = QLabel()
        self.zoom_label = QLabel()
        self.job_label = QLabel("Last job: none")
        for label in (self.size_label, self.zoom_label, self.job_label):
            self.statusBar().addPermanentWidget(label)

    def _connect(self) -> None:
        self.model.modifiedChanged.connect(self.refresh_title)
        self.model.imageChanged.connect(self.refresh_size_label)
        self.model.documentReplaced.connect(self.refresh_size_label)
        self.canvas.zoomChanged.connect(self.on_zoom_changed)
        self.split_slider.valueChanged.connect(self.canvas.set_split_percent)
        self.tools_panel.toolChosen.connect(self.on_tool_chosen)
        self.tools_panel.maskCommand.connect(self.on_mask_command)
        self.tools_panel.opacityChanged.connect(self.on_opacity_changed)
        self.prompt_panel.runRequested.connect(self.on_run_requested)
        self.prompt_panel.cancelRequested.connect(self.jobs.cancel)
        self.prompt_panel.cancelRequested.connect(self.prompt_routing.cancel)
        self.prompt_routing.runChosen.connect(self.run_chosen_op)
        self.prompt_routing.statusMessage.connect(self.show_status)
        self.jobs.busyChanged.connect(self.prompt_panel.set_busy)
        self.jobs.progressChanged.connect(self.prompt_panel.set_progress)
        self.jobs.statusMessage.connect(self.show_status)
        self.jobs.lastJobChanged.connect(self.job_label.setText)
        self.autosaver.failed.connect(self.show_status)

    # --- status and title ------------------------------------------------------------
    @property
    def document(self) -> Document:
        return self.model.document

    @Slot()
    def refresh_title(self) -> None:
        shown = self.project_path or self.document.path
        name = shown.name if shown else "Untitled"
        self.setWindowTitle(f"{name}{'*' if self.model.modified else ''} — {APP_NAME}")

    @Slot()
    def refresh_size_label(self) -> None:
        extent = self.document.extent
        self.size_label.setText(f"{extent.width}×{extent.height}, {self.document.bit_depth}-bit")

    @Slot(float)
    def on_zoom_changed(self, zoom: float) -> None:
        self.zoom_label.setText(f"{zoom * 100:.0f} %")

    @Slot(str)
    def show_status(self, message: str) -> None:
        self.statusBar().showMessage(message, STATUS_TIMEOUT_MS)

    def show_error(self, title: str, error: Exception) -> None:
        message = error.user_message if isinstance(error, StudioError) else str(error)
        QMessageBox.warning(self, title, message)

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
        self.model.replace_document(document)
        self.project_path = None
        self.recent.add(path)
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
        return QMessageBox.question(self, APP_NAME, question.user_message,
                                    QMessageBox.Yes | QMessageBox.No, QMessageBox.No)

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
        self.recent.add(path)
        self.show_status(f"Opened project {path.name}.")
        return True

    def _show_project(self, project: Project, project_path: Optional[Path]) -> None:
        self.jobs.cancel()
        self.model.replace_document(project.document, original=project.original, jobs=project.jobs,
                                    prompts=project.prompts)
        self.project_path = project_path
        self.refresh_title()

    def current_project(self, copy_arrays: bool = False) -> Project:
        """The document as a Project; with copy_arrays it is safe to hand to another thread."""
        doc = self.document
        if copy_arrays:  # the original is read-only: shared, not copied
            doc = Document(image=doc.image.copy(), mask=doc.mask.copy(), metadata=copy.deepcopy(doc.metadata),
                           path=doc.path)
        return Project(doc, self.model.original, copy.deepcopy(self.model.jobs), list(self.model.prompts))

    def autosave_snapshot(self) -> tuple[Project, Optional[Path]]:
        return self.current_project(copy_arrays=True), self.project_path

    @Slot()
    def on_open(self) -> None:
        if not self.confirm_discard():
            return
        path, _ = QFileDialog.getOpenFileName(self, "Open image or project", self._start_folder(), OPEN_FILTER)
        if path:
            self.open_path(path)

    def _start_folder(self) -> str:
        recent = self.recent.paths()
        return str(Path(recent[0]).parent) if recent else ""

    @Slot()
    def refresh_recent_menu(self) -> None:
        self.recent_menu.clear()
        for path in self.recent.paths():
            action = self.recent_menu.addAction(Path(path).name)
            action.setData(path)
            action.setToolTip(path)
        self.recent_menu.setEnabled(bool(self.recent.paths()))

    @Slot(QAction)
    def on_recent_chosen(self, action: QAction) -> None:
        path = action.data()
        if path and self.confirm_discard() and not self.open_path(path) and not self._open_declined:
            self.recent.remove(path)  # unreadable now; a declined "Open anyway?" keeps it

    @Slot()
    def save(self) -> bool:
        if self.project_path is not None:
            return self.save_project_to(self.project_path)
        if self.document.path is None:
            return self.save_as()
        return self.save_to(self.document.path)

    @Slot()
    def save_as(self) -> bool:
        suggested = str(self.document.path or "untitled.png")
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
        self.model.mark_saved()
        self.autosaver.discard()
        self.recent.add(path)
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
        return QMessageBox.question(self, APP_NAME, f"{path.name} is write-protected. Replace it anyway?",
                                    QMessageBox.Yes | QMessageBox.No, QMessageBox.No)

    @Slot()
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
        self.model.mark_saved()
        self.autosaver.discard()
        self.recent.add(path)
        self.refresh_title()
        self.show_status(f"Saved project {path.name}.")
        return True

    # --- crash recovery ---------------------------------------------------------------
    def ask_recover(self, info: RecoveryInfo) -> QMessageBox.StandardButton:
        """Separate so tests can answer it."""
        source = Path(info.project_path or info.source_path or "").name
        about = f" ({source})" if source else ""
        return QMessageBox.question(self, APP_NAME, f"Recover unsaved work from {info.when()}{about}?",
                                    QMessageBox.Yes | QMessageBox.No, QMessageBox.Yes)

    @Slot()
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
            QMessageBox.warning(self, APP_NAME, "Unsaved work from an earlier session was found but is damaged "
                                                "and cannot be recovered; it has been deleted.")
            return False
        if self.ask_recover(info) != QMessageBox.Yes:
            self.autosaver.discard()
            self.show_status("The unsaved work from the earlier session was deleted.")
            return False
        self._show_project(project, Path(info.project_path) if info.project_path else None)
        self.model.mark_modified()
        self.autosaver.adopt_existing()  # keep the copy on disk until the work is saved
        self.refresh_title()
        self.show_status(f"Recovered unsaved work from {info.when()}.")
        return True

    @Slot()
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
        replace_mask(self.model, mask)
        return True

    @Slot()
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
    def ask_unsaved(self) -> QMessageBox.StandardButton:
        """Separate so tests can answer it."""
        return QMessageBox.question(
            self, APP_NAME, "The image has unsaved changes. Save them first?",
            QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel, QMessageBox.Save,
        )

    def confirm_discard(self) -> bool:
        """True when it is fine to drop the current document (saved, discarded or unchanged)."""
        if not self.model.modified:
            return True
        answer = self.ask_unsaved()
        if answer == QMessageBox.Save:
            return self.save()
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

    def closeEvent(self, event) -> None:
        if not self.confirm_discard():
            event.ignore()
            return
        self.jobs.cancel()
        self.autosaver.close()  # a clean close: the recovery copy is no longer needed
        self.settings.sync()
        event.accept()

    # --- history -------------------------------------------------------------------
    @Slot()
    def undo(self) -> None:
        """Ctrl+Z during a stroke abandons the stroke; otherwise it undoes the last step."""
        if not self.canvas.cancel_tool():
            self.model.undo_stack.undo()

    @Slot()
    def redo(self) -> None:
        self.canvas.cancel_tool()
        self.model.undo_stack.redo()

    @Slot(str)
    def on_undo_text_changed(self, text: str) -> None:
        self.undo_action.setText(f"&Undo {text}".strip())

    @Slot(str)
    def on_redo_text_changed(self, text: str) -> None:
        self.redo_action.setText(f"&Redo {text}".strip())

    # --- tools, mask commands, jobs --------------------------------------------------
    @Slot(str)
    def on_tool_chosen(self, name: str) -> None:
        self.canvas.set_tool(self.tools[name])

    @Slot(QAction)
    def on_mask_menu(self, action: QAction) -> None:
        kind, value = action.data()
        if kind == "tool":
            self.tools_panel.choose_tool(value)
        elif kind == "brush":
            self.brush.step(value)
        elif kind == "job":
            self.run_defect_job(value)
        else:
            self.on_mask_command(value, self.tools_panel.radius_spin.value())

    def run_defect_job(self, op: str) -> Optional[int]:
        """One click: "detect-scratches" fills the mask layer (one undo step, editable afterwards); "restore"
        detects and fills the defects in the image. Both run on the worker like any other job."""
        from ..core.requests import EditRequest

        if not self.catalog.for_task("detect-scratches"):
            self.show_status("No scratch detector is installed (models/scratch-detector.onnx).")
            return None
        try:
            request = EditRequest.build(op, self.document.image, device=self.prompt_panel.device_combo.currentData())
        except StudioError as error:
            self.show_error("Cannot start the job", error)
            return None
        return self.jobs.submit(request)

    @Slot(str, int)
    def on_mask_command(self, name: str, radius: int) -> None:
        commands = {
            "clear": lambda: clear_mask(self.model),
            "invert": lambda: invert_mask(self.model),
            "grow": lambda: grow_mask(self.model, radius),
            "shrink": lambda: shrink_mask(self.model, radius),
            "feather": lambda: feather_mask(self.model, radius),
        }
        if not commands[name]():
            self.show_status("The mask did not change.")

    @Slot(float)
    def on_opacity_changed(self, opacity: float) -> None:
        self.canvas.item.set_overlay_opacity(opacity)

    @Slot()
    def on_train_generator(self):
        """Open the (non-modal) Train dialog; a model it finishes joins the model list."""
        from .train_dialog import TrainDialog

        if self.trainer is None:
            QMessageBox.information(self, APP_NAME, "Training needs the train extra: pip install 'llmvis-studio[train]'")
            return None
        dialog = TrainDialog(self.trainer, self)
        dialog.modelTrained.connect(self.on_model_trained)
        dialog.show()
        self.train_dialog = dialog
        return dialog

    @Slot(str)
    def on_model_trained(self, model_id: str) -> None:
        from ..catalog import load_catalog

        try:
            self.catalog = load_catalog()
        except StudioError as error:
            self.show_error("Cannot read the models", error)
            return
        self.prompt_panel.set_catalog(self.catalog, select_model=model_id)
        self.show_status(f"Model '{model_id}' is ready: choose Generate, paint a mask and Run.")

    @Slot()
    def on_run_requested(self) -> None:
        """A typed prompt is routed first (on the worker; see ui/routing.py); an empty one runs the listed op."""
        text = self.prompt_panel.prompt_text()
        if text and not self.jobs.busy and not self.prompt_routing.routing_in_flight:
            self.prompt_routing.start(text)
        elif not text:
            self.run_chosen_op()

    @Slot()
    def run_chosen_op(self) -> None:
        try:
            request = self.prompt_panel.build_request(self.document.image, self.document.mask)
        except StudioError as error:
            self.show_error("Cannot start the job", error)
            return
        if self.jobs.submit(request) is not None:
            self.model.add_prompt(request.prompt)
            self.prompt_routing.remember(request.prompt)


def _dropped_file(event) -> Optional[str]:
    urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
    if urls and urls[0].isLocalFile():
        return urls[0].toLocalFile()
    return None
