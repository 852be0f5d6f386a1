"""The main window: canvas (or the welcome page), docks, menus, toolbar, status bar and job wiring.

The caller injects the EngineClient and the Catalog and shuts the client down after
app.exec(); closing the window only cancels its running job. Opening, saving, projects,
recent files and crash recovery live in ui/file_controller.py (the FileActions mixin).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional

import numpy as np
from PySide6.QtCore import QSettings, Qt, QTimer, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QLabel, QMainWindow, QMessageBox, QSlider, QStackedWidget, QStyle, QWidget

from ..catalog import Catalog
from ..core.document import Document
from ..core.errors import StudioError
from ..core.requests import PromptRouting
from ..paths import sample_image
from ..worker.client import EngineClient
from .appearance import AppearanceMenus
from .autosave import Autosaver
from .canvas.tools import BrushSettings, BrushTool, LassoTool, RectangleTool, Tool, clear_mask
from .canvas.view import CanvasView
from .colourize_panel import install_colourize
from .defects import DefectReview
from .document_model import DocumentModel
from .file_controller import APP_NAME, FileActions
from .jobs import JobController
from .mask_commands import MaskCommands
from .notices import NoticeBridge, show_notice
from .panels.prompt import PromptPanel
from .panels.tools_panel import ToolsPanel
from .routing import PromptRoutingController
from .settings import RecentFiles, autosave_minutes, make_settings
from .undo_routing import route_undo_to_document
from .welcome import WelcomePage

log = logging.getLogger(__name__)

STATUS_TIMEOUT_MS = 8000
MASK_COUNT_DELAY_MS = 120  # "applies to: mask (N px)" is recounted this long after the last mask change


def blank_document() -> Document:
    return Document(image=np.full((600, 800, 3), 255, dtype=np.uint8))


class MainWindow(FileActions, QMainWindow):
    def __init__(
        self,
        client: EngineClient,
        catalog: Catalog,
        parent: Optional[QWidget] = None,
        settings: Optional[QSettings] = None,
        device: str = "auto",
        trainer=None,
    ) -> None:
        super().__init__(parent)
        self.trainer = trainer  # training callable for the Train dialog (None: torch not installed)
        self.client = client
        self.catalog = catalog
        self.settings = settings if settings is not None else make_settings()
        self.recent = RecentFiles(self.settings)
        self.doc = DocumentModel(blank_document(), self)
        self.project_path: Optional[Path] = None  # set while the document is a saved/opened project
        self._open_declined = False  # the last open stopped at the user's "No" to a large image
        self.brush = BrushSettings(parent=self)
        self.canvas = CanvasView(self.doc, self.brush, self)
        self._welcome: Optional[WelcomePage] = None  # built when first shown (most starts open a file)
        self._no_picture = QWidget()  # stands in for the welcome page until the window is shown
        self.pages = QStackedWidget(self)  # the welcome page until a picture is open, then the canvas
        self.pages.addWidget(self._no_picture)
        self.pages.addWidget(self.canvas)
        self.setCentralWidget(self.pages)
        self.tools = self._make_tools()
        self.prompt_panel = PromptPanel(catalog, self, device=device)
        self.tools_panel = ToolsPanel(self.brush, self)
        self.addDockWidget(Qt.RightDockWidgetArea, self.prompt_panel)
        self.addDockWidget(Qt.LeftDockWidgetArea, self.tools_panel)
        self.jobs = JobController(client, self.doc, self, self.settings)
        self.defects = DefectReview(self, self)
        self.prompt_routing = PromptRoutingController(client, self.prompt_panel, self.doc, self.settings, self)
        self.jobs.jobEnded.connect(self.prompt_routing.on_job_ended)  # two-step prompts (detect-text → inpaint)
        self.autosaver = Autosaver(
            self.doc, self.autosave_snapshot, int(autosave_minutes(self.settings) * 60_000), self
        )
        self._create_actions()
        self._create_menus()
        self._create_toolbar()
        self._create_status_bar()
        self._connect()
        self.canvas.set_tool(self.tools["brush"])
        self.setAcceptDrops(True)
        self.resize(1280, 800)
        self.undo_routing = route_undo_to_document(self)
        self._set_editing_enabled(False)  # no picture yet
        self.refresh_title()
        self.refresh_size_label()

    # --- construction ----------------------------------------------------------------
    def _make_tools(self) -> dict[str, Tool]:
        scene = self.canvas.scene()
        return {
            "brush": BrushTool(self.doc, scene, self.brush),
            "eraser": BrushTool(self.doc, scene, self.brush, erase=True),
            "rectangle": RectangleTool(self.doc, scene),
            "lasso": LassoTool(self.doc, scene),
        }

    def _action(self, text: str, slot, shortcut=None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        return action

    def _create_actions(self) -> None:
        self.open_action = self._action("&Open…", self.on_open, QKeySequence.Open)
        self.open_sample_action = self._action("Open the Sample &Photo", self.open_sample)
        self.save_action = self._action("&Save", self.save, QKeySequence.Save)
        self.save_as_action = self._action("Save &As…", self.save_as, QKeySequence.SaveAs)
        self.save_project_action = self._action("Save &Project…", self.on_save_project)
        self.save_project_action.setToolTip(
            "Keeps the picture, its mask, the original and the applied jobs (not the undo history)"
        )
        self.import_mask_action = self._action("&Import Mask…", self.on_import_mask)
        self.export_mask_action = self._action("&Export Mask…", self.on_export_mask)
        self.close_action = self._action("&Close Window", self.close, QKeySequence.Close)
        stack = self.doc.undo_stack
        self.undo_action = self._action("&Undo", self.undo, QKeySequence.Undo)
        self.redo_action = self._action("&Redo", self.redo, QKeySequence.Redo)
        for action, icon, label in (
            (self.open_action, QStyle.SP_DialogOpenButton, "Open"),
            (self.save_action, QStyle.SP_DialogSaveButton, "Save"),
            (self.undo_action, QStyle.SP_ArrowBack, "Undo"),
            (self.redo_action, QStyle.SP_ArrowForward, "Redo"),
        ):
            action.setIcon(self.style().standardIcon(icon))
            action.setIconText(label)  # the toolbar shows this short text; the menu the full "Undo …"
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
        file_menu.addActions([self.open_action, self.open_sample_action])
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self.refresh_recent_menu)
        self.recent_menu.triggered.connect(self.on_recent_chosen)
        file_menu.addActions([self.save_action, self.save_as_action, self.save_project_action])
        file_menu.addSeparator()
        file_menu.addActions([self.import_mask_action, self.export_mask_action])
        file_menu.addSeparator()
        file_menu.addAction(self.close_action)
        self.menuBar().addMenu("&Edit").addActions([self.undo_action, self.redo_action])
        view_menu = self.menuBar().addMenu("&View")
        view_menu.addActions([self.fit_action, self.actual_size_action])
        view_menu.addSeparator()
        self.appearance = AppearanceMenus(
            self.settings, self.canvas, view_menu.addMenu("Mask &Colour"), view_menu.addMenu("&Theme"), self
        )
        self.mask_menu = self.menuBar().addMenu("&Mask")
        self.mask_commands = MaskCommands(self, self.mask_menu, self.brush, self.defects, self.open_restore_dialog)
        self.train_action = self._action("&Train Generator…", self.on_train_generator)
        self.train_action.setEnabled(self.trainer is not None)
        self.train_action.setToolTip(
            "Train a generator on your pictures"
            if self.trainer is not None
            else "training needs the train extra: pip install 'llmvis-studio[train]'"
        )
        self.menuBar().addMenu("&Tools").addAction(self.train_action)
        install_colourize(self)  # Colour menu + Colourize panel with the colour hint brush (ui/colourize_panel.py)
        self.refresh_recent_menu()

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
        self.split_slider.setToolTip(
            "Left of the divider shows the image before the last job (drag the divider on "
            "the picture too); hold \\ to see it whole"
        )
        toolbar.addWidget(self.split_slider)

    def _create_status_bar(self) -> None:
        self.size_label = QLabel()
        self.zoom_label = QLabel()
        self.job_label = QLabel("Last job: none")
        for label in (self.size_label, self.zoom_label, self.job_label):
            self.statusBar().addPermanentWidget(label)

    def _connect(self) -> None:
        self.doc.modifiedChanged.connect(self.refresh_title)
        self.doc.imageChanged.connect(self.refresh_size_label)
        self.doc.documentReplaced.connect(self.refresh_size_label)
        self.canvas.zoomChanged.connect(self.on_zoom_changed)
        self.split_slider.valueChanged.connect(self.canvas.set_split_percent)
        self.canvas.splitChanged.connect(self.on_split_dragged)
        self.doc.documentReplaced.connect(self.on_document_opened)
        self.doc.maskChanged.connect(self.schedule_mask_count)
        self.doc.documentReplaced.connect(self.schedule_mask_count)
        self.mask_count_timer = QTimer(self)
        self.mask_count_timer.setSingleShot(True)
        self.mask_count_timer.setInterval(MASK_COUNT_DELAY_MS)
        self.mask_count_timer.timeout.connect(self.count_mask)
        self.tools_panel.toolChosen.connect(self.on_tool_chosen)
        self.tools_panel.opacityChanged.connect(self.on_opacity_changed)
        self.prompt_panel.runRequested.connect(self.on_run_requested)
        self.prompt_panel.sampleFromMaskRequested.connect(self.on_sample_from_mask)
        self.prompt_panel.cancelRequested.connect(self.jobs.cancel)
        self.prompt_panel.cancelRequested.connect(self.prompt_routing.cancel)
        self.prompt_routing.runChosen.connect(self.run_chosen_op)
        self.prompt_routing.runRouted.connect(self.run_routed_op)
        self.prompt_routing.statusMessage.connect(self.show_status)
        self.jobs.busyChanged.connect(self.prompt_panel.set_busy)
        self.jobs.progressChanged.connect(self.prompt_panel.set_progress)
        self.jobs.statusMessage.connect(self.show_status)
        self.jobs.lastJobChanged.connect(self.job_label.setText)
        self.notices = NoticeBridge(self)  # worker, autosave and training failures (core.notify)
        self.notices.noticed.connect(self.on_notice)

    # --- welcome page and per-image state --------------------------------------------
    @property
    def welcome(self) -> WelcomePage:
        if self._welcome is None:
            self._welcome = WelcomePage(self)
            self._welcome.set_sample_available(sample_image().is_file())
            self._welcome.openRequested.connect(self.on_open)
            self._welcome.sampleRequested.connect(self.open_sample)
            self._welcome.recentChosen.connect(self.open_recent)
            self.pages.insertWidget(0, self._welcome)
        return self._welcome

    def show_welcome(self) -> None:
        """No picture yet: the welcome page instead of a blank canvas, and nothing to edit or save."""
        self.welcome.set_recent(self.recent.paths())
        self.pages.setCurrentWidget(self.welcome)
        self._set_editing_enabled(False)

    @property
    def showing_welcome(self) -> bool:
        return self.pages.currentWidget() is not self.canvas

    def showEvent(self, event) -> None:
        if self.pages.currentWidget() is self._no_picture:
            self.show_welcome()  # shown without a picture: open / drop / recent / sample
        super().showEvent(event)

    def _set_editing_enabled(self, enabled: bool) -> None:
        for widget in (self.prompt_panel, self.tools_panel):
            widget.widget().setEnabled(enabled)
        for action in (
            self.save_action,
            self.save_as_action,
            self.save_project_action,
            self.import_mask_action,
            self.export_mask_action,
            self.fit_action,
            self.actual_size_action,
        ):
            action.setEnabled(enabled)
        self.mask_menu.setEnabled(enabled)
        self.split_slider.setEnabled(enabled)

    @Slot()
    def on_document_opened(self) -> None:
        """Another picture: the canvas replaces the welcome page and nothing of the last picture's
        prompt, answer, progress, last job or before/after stays on screen."""
        if self.showing_welcome:
            self.pages.setCurrentWidget(self.canvas)
            self._set_editing_enabled(True)
            self.refresh_size_label()
            self.on_zoom_changed(self.canvas.zoom)
        self.prompt_panel.reset_for_new_image()
        self.job_label.setText("Last job: none")
        self.split_slider.setValue(0)

    def show_split(self, percent: int) -> None:
        """Put the before/after divider at `percent` of the picture (slider and canvas follow)."""
        self.split_slider.setValue(percent)

    @Slot(int)
    def on_split_dragged(self, percent: int) -> None:
        if self.split_slider.value() != percent:
            self.split_slider.blockSignals(True)
            self.split_slider.setValue(percent)
            self.split_slider.blockSignals(False)

    @Slot()
    def schedule_mask_count(self) -> None:
        self.mask_count_timer.start()  # counting a 24 MP mask on every brush dab would be wasted work

    @Slot()
    def count_mask(self) -> None:
        self.prompt_panel.set_mask_pixels(int(np.count_nonzero(self.document.mask)))

    def keyPressEvent(self, event) -> None:
        """Hold \\ anywhere (outside text fields, which take the key first) to see the before image."""
        if event.key() == Qt.Key_Backslash and not event.isAutoRepeat() and not self.showing_welcome:
            self.canvas.set_show_before(True)
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:
        if event.key() == Qt.Key_Backslash and not event.isAutoRepeat():
            self.canvas.set_show_before(False)
            return
        super().keyReleaseEvent(event)

    # --- status and title ------------------------------------------------------------
    @property
    def document(self) -> Document:
        return self.doc.document

    @Slot()
    def refresh_title(self) -> None:
        shown = self.project_path or self.document.path
        name = shown.name if shown else "Untitled"
        self.setWindowTitle(f"{name}{'*' if self.doc.modified else ''} — {APP_NAME}")

    @Slot()
    def refresh_size_label(self) -> None:
        if self.showing_welcome:
            self.size_label.setText("No picture open")
            return
        extent = self.document.extent
        self.size_label.setText(f"{extent.width}×{extent.height}, {self.document.bit_depth}-bit")

    @Slot(float)
    def on_zoom_changed(self, zoom: float) -> None:
        self.zoom_label.setText("" if self.showing_welcome else f"{zoom * 100:.0f} %")

    @Slot(str)
    def show_status(self, message: str) -> None:
        self.statusBar().showMessage(message, STATUS_TIMEOUT_MS)

    @Slot(object)
    def on_notice(self, notice) -> None:
        show_notice(self, notice, self.show_status)

    def show_error(self, title: str, error: Exception) -> None:
        message = error.user_message if isinstance(error, StudioError) else str(error)
        QMessageBox.warning(self, title, message)

    def closeEvent(self, event) -> None:
        if not self.confirm_discard():
            event.ignore()
            return
        self.jobs.cancel()
        self.notices.close()
        self.autosaver.close()  # a clean close: the recovery copy is no longer needed
        self.settings.sync()
        event.accept()

    # --- history -------------------------------------------------------------------
    @Slot()
    def undo(self) -> None:
        """Ctrl+Z during a stroke abandons the stroke; otherwise it undoes the last step."""
        if not self.canvas.cancel_tool():
            self.doc.undo_stack.undo()

    @Slot()
    def redo(self) -> None:
        self.canvas.cancel_tool()
        self.doc.undo_stack.redo()

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

    def open_restore_dialog(self):
        from .restore_dialog import RestoreDialog

        dialog = RestoreDialog(self, self)
        dialog.show()  # non-modal: the user compares each step on the canvas
        self.restore_dialog = dialog
        return dialog

    @Slot()
    def on_sample_from_mask(self) -> None:
        """Remove object: the painted mask becomes the sample-from area and is cleared for painting the object."""
        if not self.prompt_panel.set_sample_from(self.document.mask):
            self.show_status("Paint the area to copy texture from first, then click Use mask.")
            return
        clear_mask(self.doc)
        self.show_status("Sample-from area set. Now paint over the object and Run.")

    @Slot(float)
    def on_opacity_changed(self, opacity: float) -> None:
        self.canvas.set_overlay_opacity(opacity)

    @Slot()
    def on_train_generator(self):
        """Open the (non-modal) Train dialog; a model it finishes joins the model list."""
        from .train_dialog import TrainDialog

        if self.trainer is None:
            QMessageBox.information(
                self, APP_NAME, "Training needs the train extra: pip install 'llmvis-studio[train]'"
            )
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

    @Slot(object, str)
    def run_routed_op(self, routing: PromptRouting, op: str) -> None:
        self.run_chosen_op(routing, op)

    @Slot()
    def run_chosen_op(self, routing: Optional[PromptRouting] = None, op: Optional[str] = None) -> None:
        """Run what the router understood (`routing`, `op`), or without them the operation chosen in the list."""
        if self.defects.wants_defects_found(op):
            self.defects.find_for_review()
            return
        try:
            request = self.prompt_panel.build_request(self.document.image, self.document.mask, routing, op)
        except StudioError as error:
            self.show_error("Cannot start the job", error)
            return
        if self.jobs.submit(request) is not None:
            self.prompt_panel.submitted()
            self.doc.add_prompt(request.prompt)
            self.prompt_routing.remember(request.prompt)
