"""The prompt panel: what to do (op, model, options), Run / Cancel and the progress bar.

Run with a typed prompt asks the prompt router first (ui/routing.py drives it through the worker):
the panel shows what it understood and the request is built from the router's answer itself
(`build_request(..., routing=...)`: op, style, scale, content), or it shows the choices when unsure.
An empty prompt runs the operation chosen in the list. The typed text travels in EditRequest.prompt.
Enter runs; Up / Down or the combo recall earlier prompts.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ...catalog import Catalog, style_presets
from ...core.requests import DEVICES, GENERATE_VARIATIONS, OPS, EditRequest, PromptRouting, generate_params
from ..jobs import MASK_SCOPED_OPS, NEEDS_MASK_OPS
from .prompt_extras import ChoiceBar, PromptEdit, PromptHistoryBox, StyleControls

UPSCALE_FACTORS = (2, 4)
TILE_AUTO, TILE_OFF, TILE_CUSTOM = "Auto", "No tiling", "Custom"
DEVICE_LABELS = {"auto": "Auto (GPU if present)", "cpu": "CPU", "cuda": "CUDA GPU"}


def scope_text(op: Optional[str], mask_pixels: int) -> str:
    """What Run will change, said before Run: "Applies to: mask (1,234 px)" or "Applies to: whole image"."""
    if op in NEEDS_MASK_OPS and mask_pixels == 0:
        return "Applies to: nothing yet. Paint a mask over what to fill."
    if op in MASK_SCOPED_OPS and mask_pixels > 0:
        return f"Applies to: mask ({mask_pixels:,} px)"
    if op not in MASK_SCOPED_OPS and mask_pixels > 0:
        return "Applies to: whole image (this operation ignores the mask)"
    return "Applies to: whole image"


AUTO_INPAINT = "Auto (by hole size)"  # model None: the engine picks learned for scratches, remove-object for objects


class PromptPanel(QDockWidget):
    runRequested = Signal()
    cancelRequested = Signal()
    sampleFromMaskRequested = Signal()  # "use the painted mask as the area remove-object copies from"
    choiceChosen = Signal(str)  # the op the user picked among the router's choices
    historyClearRequested = Signal()

    def __init__(self, catalog: Catalog, parent: Optional[QWidget] = None, device: str = "auto") -> None:
        super().__init__("Edit", parent)
        self.setObjectName("promptPanel")
        self.catalog = catalog
        self._busy = False
        self.mask_pixels = 0  # how many mask pixels are set (the main window keeps it current)
        self.sample_from: Optional[np.ndarray] = None  # inpaint: where remove-object may copy texture from
        self._build_widgets()
        self.device_combo.setCurrentIndex(max(0, self.device_combo.findData(device)))
        self._fill_operations()
        self.set_busy(False)

    # --- construction ----------------------------------------------------------------
    def _build_widgets(self) -> None:
        self.prompt_edit = PromptEdit()  # Enter runs, Up / Down recall
        self.prompt_edit.setPlaceholderText('Describe the edit, e.g. "remove the scratch"')
        self.prompt_edit.setMaximumHeight(90)
        self.history_box = PromptHistoryBox(self.prompt_edit, self)
        self.understood_label = QLabel("")  # what the router understood, or why nothing ran
        self.understood_label.setWordWrap(True)
        self.understood_label.setVisible(False)
        self.choice_bar = ChoiceBar()  # the router's top choices when it is unsure
        self.scope_label = QLabel(scope_text(None, 0))  # what Run will change
        self.scope_label.setObjectName("scopeLabel")
        self.style_controls = StyleControls(style_presets(self.catalog))
        self.op_combo = QComboBox()
        self.model_combo = QComboBox()
        self.scale_combo = QComboBox()
        for factor in UPSCALE_FACTORS:
            self.scale_combo.addItem(f"×{factor}", factor)
        self.tile_combo = QComboBox()
        self.tile_combo.addItems([TILE_AUTO, TILE_OFF, TILE_CUSTOM])
        self.tile_spin = QSpinBox()
        self.tile_spin.setRange(64, 4096)
        self.tile_spin.setSingleStep(64)
        self.tile_spin.setValue(512)
        self.tile_spin.setSuffix(" px")
        self.seed_spin = QSpinBox()  # generate: which noise; variation: which of VARIATIONS samples
        self.seed_spin.setRange(0, 1_000_000)
        self.variation_spin = QSpinBox()
        self.variation_spin.setRange(1, GENERATE_VARIATIONS)
        self.variation_spin.setPrefix("variation ")
        self.variation_spin.setSuffix(f" of {GENERATE_VARIATIONS}")
        self.device_combo = QComboBox()
        for device in DEVICES:
            self.device_combo.addItem(DEVICE_LABELS.get(device, device), device)
        self.sample_button = QPushButton("Use mask")
        self.sample_button.setToolTip(
            "Remove object: paint where the fill may copy texture from, click here, then paint the object"
        )
        self.sample_clear_button = QPushButton("Around the hole")
        self.sample_clear_button.setToolTip("Copy texture from the surroundings of the hole (the default)")
        self.run_button = QPushButton("Run")
        self.cancel_button = QPushButton("Cancel")
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setTextVisible(False)
        self.progress_label = QLabel("")
        self._lay_out()
        self.op_combo.currentIndexChanged.connect(self.on_op_changed)
        self.scale_combo.currentIndexChanged.connect(self.on_scale_changed)
        self.tile_combo.currentIndexChanged.connect(self.on_tile_mode_changed)
        self.sample_button.clicked.connect(self.sampleFromMaskRequested)
        self.sample_clear_button.clicked.connect(self.clear_sample_from)
        self.run_button.clicked.connect(self.runRequested)
        self.cancel_button.clicked.connect(self.cancelRequested)
        self.history_box.submitted.connect(self.on_submit_key)
        self.history_box.clearRequested.connect(self.historyClearRequested)
        self.choice_bar.chosen.connect(self.choiceChosen)
        self.prompt_edit.textChanged.connect(self.on_prompt_edited)

    def _lay_out(self) -> None:
        form = QFormLayout()
        form.addRow("Operation", self.op_combo)
        form.addRow("Model", self.model_combo)
        form.addRow(self.style_controls)
        self.scale_label = QLabel("Scale")
        form.addRow(self.scale_label, self.scale_combo)
        tile_row = QHBoxLayout()
        tile_row.addWidget(self.tile_combo)
        tile_row.addWidget(self.tile_spin)
        form.addRow("Tile size", tile_row)
        form.addRow("Device", self.device_combo)
        self.sample_label = QLabel("Sample from")
        sample_row = QHBoxLayout()
        sample_row.addWidget(self.sample_button)
        sample_row.addWidget(self.sample_clear_button)
        form.addRow(self.sample_label, sample_row)
        self.seed_label = QLabel("Seed")
        seed_row = QHBoxLayout()
        seed_row.addWidget(self.seed_spin)
        seed_row.addWidget(self.variation_spin)
        form.addRow(self.seed_label, seed_row)
        form.addRow(self.scope_label)
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.cancel_button)
        column = QVBoxLayout()
        column.addWidget(self.prompt_edit)
        column.addWidget(self.history_box.combo)
        column.addWidget(self.understood_label)
        column.addWidget(self.choice_bar)
        column.addLayout(form)
        column.addLayout(buttons)
        column.addWidget(self.progress_bar)
        column.addWidget(self.progress_label)
        column.addStretch(1)
        body = QWidget()
        body.setLayout(column)
        self.setWidget(body)

    def set_catalog(self, catalog: Catalog, select_model: Optional[str] = None) -> None:
        """A re-read catalog (e.g. after training a generator); keeps the operation, selects `select_model`."""
        current = self.op
        self.catalog = catalog
        self.style_controls.set_presets(style_presets(catalog))
        self.op_combo.blockSignals(True)
        self.op_combo.clear()
        self.op_combo.blockSignals(False)
        self._fill_operations()
        wanted = catalog.get(select_model).task if select_model and select_model in catalog.ids() else current
        index = self.op_combo.findData(wanted)
        if index >= 0:
            self.op_combo.setCurrentIndex(index)
        if select_model:
            self.model_combo.setCurrentIndex(max(0, self.model_combo.findData(select_model)))

    def _fill_operations(self) -> None:
        for task in self.catalog.tasks():
            if task in OPS:  # a manifest may list tasks this version cannot run yet
                self.op_combo.addItem(task.replace("-", " ").capitalize(), task)
        self.on_op_changed()

    # --- reactions -------------------------------------------------------------------
    @property
    def op(self) -> Optional[str]:
        return self.op_combo.currentData()

    @property
    def model_id(self) -> Optional[str]:
        return self.model_combo.currentData()

    @Slot()
    def on_op_changed(self) -> None:
        op = self.op
        self.model_combo.clear()
        specs = self.catalog.for_task(op) if op else []
        first = 1 if op == "inpaint" and specs else 0
        if first:
            self.model_combo.addItem(AUTO_INPAINT, None)
        for spec in specs:
            self.model_combo.addItem(spec.name, spec.id)
        defaults = [i for i, spec in enumerate(specs) if spec.default]
        if defaults:
            self.model_combo.setCurrentIndex(defaults[0] + first)
        self._show_sample_row(op == "inpaint")
        self.style_controls.setVisible(op == "stylize")
        is_upscale = op == "upscale"
        self.scale_label.setVisible(is_upscale)
        self.scale_combo.setVisible(is_upscale)
        if is_upscale:
            self.on_scale_changed()
        for widget in (self.seed_label, self.seed_spin, self.variation_spin):
            widget.setVisible(op == "generate")
        self.on_tile_mode_changed()
        self.run_button.setEnabled(bool(specs) and not self._busy)
        self.refresh_scope()

    def set_mask_pixels(self, count: int) -> None:
        self.mask_pixels = int(count)
        self.refresh_scope()

    def refresh_scope(self) -> None:
        self.scope_label.setText(scope_text(self.op, self.mask_pixels))

    @Slot()
    def on_scale_changed(self) -> None:
        """Prefer the model made for the chosen factor (a ×4 model resized to ×2 is slower)."""
        if self.op != "upscale" or not self.catalog.for_task("upscale"):
            return
        best = self.catalog.default_for("upscale", self.scale_combo.currentData())
        index = self.model_combo.findData(best.id)
        if index >= 0:
            self.model_combo.setCurrentIndex(index)

    @Slot()
    def on_tile_mode_changed(self) -> None:
        self.tile_spin.setEnabled(self.tile_combo.currentText() == TILE_CUSTOM)

    # --- what the run button means -------------------------------------------------------
    def device(self) -> str:
        return str(self.device_combo.currentData())

    def params(self, op: Optional[str] = None, routing: Optional[PromptRouting] = None) -> dict[str, Any]:
        """`op`'s params: what the router understood where it said something, the panel's settings otherwise."""
        op = op or self.op
        if op == "generate":
            # the same params as `llmvis-studio fill --seed S --variation V`
            content = routing.content if routing is not None and routing.content else ""
            return generate_params(self.seed_spin.value(), self.variation_spin.value() - 1, content)
        if op == "stylize":
            params = self.style_controls.params()
            if routing is not None and routing.style and self.style_controls.knows(routing.style):
                params["style"] = routing.style  # a preset the router named (and the list knows)
            return params
        if op == "upscale":
            routed = routing.params.get("scale") if routing is not None else None
            return {"scale": int(routed or self.scale_combo.currentData())}
        return {}

    def tile(self) -> Optional[int]:
        mode = self.tile_combo.currentText()
        if mode == TILE_AUTO:
            return None
        return 0 if mode == TILE_OFF else int(self.tile_spin.value())

    def build_request(
        self, image: np.ndarray, mask: np.ndarray, routing: Optional[PromptRouting] = None, op: Optional[str] = None
    ) -> EditRequest:
        """A frozen request from copies of the document's arrays (the user may keep painting): for `op` as the
        router understood it (`routing`), or for the operation chosen in the list."""
        op = op or (routing.op if routing is not None else self.op) or ""
        sample = self.sample_from
        if op != "inpaint" or sample is None or sample.shape != image.shape[:2]:
            sample = None  # a sample area from before a resize or crop no longer fits
        return EditRequest.build(
            op,
            image,
            mask if mask.any() else None,
            model_id=self.model_id if op == self.op else None,
            params=self.params(op, routing),
            prompt=self.prompt_text(),
            tile=self.tile(),
            device=self.device(),
            sample_from=sample,
        )

    # --- remove object: where to copy texture from ----------------------------------------
    def set_sample_from(self, mask: np.ndarray) -> bool:
        """Keep a copy of `mask` as the sample-from area; False (and nothing kept) when it is empty."""
        if not mask.any():
            return False
        self.sample_from = mask.copy()
        self.sample_clear_button.setEnabled(True)
        self.sample_button.setText(f"Use mask (set: {100 * float((mask > 0).mean()):.0f} %)")
        return True

    @Slot()
    def clear_sample_from(self) -> None:
        self.sample_from = None
        self.sample_clear_button.setEnabled(False)
        self.sample_button.setText("Use mask")

    def _show_sample_row(self, visible: bool) -> None:
        for widget in (self.sample_label, self.sample_button, self.sample_clear_button):
            widget.setVisible(visible)
        self.sample_clear_button.setEnabled(self.sample_from is not None)

    # --- the typed prompt -------------------------------------------------------------
    def prompt_text(self) -> str:
        return self.prompt_edit.toPlainText().strip()

    def can_run(self, op: str) -> bool:
        """An op listed here with at least one installed model."""
        return self.op_combo.findData(op) >= 0 and bool(self.catalog.for_task(op))

    def show_routing(self, routing: PromptRouting, op: Optional[str] = None) -> None:
        """Show what the router understood (or the alternative the user picked): op, style, scale. Display only:
        the request is built from `routing` itself."""
        op = op or routing.op
        self.select_op(op)
        if op == "stylize" and routing.style:
            self.style_controls.select_style(routing.style)
        if op == "upscale" and routing.params.get("scale"):
            index = self.scale_combo.findData(int(routing.params["scale"]))
            if index >= 0:
                self.scale_combo.setCurrentIndex(index)

    def select_op(self, op: str) -> None:
        self.op_combo.setCurrentIndex(self.op_combo.findData(op))

    def style_name(self) -> str:
        """The style shown in the list, as the user reads it."""
        return self.style_controls.style_label()

    def show_choices(self, choices) -> None:
        """(op, score, runnable) each: the router's top choices as buttons (choiceChosen when one is clicked)."""
        self.choice_bar.show_choices(choices)

    def clear_choices(self) -> None:
        self.choice_bar.clear()

    def set_history(self, prompts) -> None:
        self.history_box.set_items(prompts)

    def show_understood(self, text: str) -> None:
        self.understood_label.setText(text)
        self.understood_label.setVisible(bool(text))

    @Slot()
    def on_submit_key(self) -> None:
        """Enter / Ctrl+Enter in the prompt box: the same as clicking Run."""
        if self.run_button.isEnabled():
            self.runRequested.emit()

    @Slot()
    def on_prompt_edited(self) -> None:
        self.choice_bar.clear()

    def submitted(self) -> None:
        """A job was submitted from the typed text: the text stays, but Ctrl+Z in the box no longer
        undoes its typing, so it reaches the document (see ui/undo_routing.py)."""
        self.prompt_edit.document().clearUndoRedoStacks()

    def reset_for_new_image(self) -> None:
        """Another image was opened: nothing of the previous one's prompt, answer or progress stays."""
        self.prompt_edit.clear()
        self.prompt_edit.document().clearUndoRedoStacks()
        self.show_understood("")
        self.choice_bar.clear()
        self.progress_bar.setValue(0)
        self.progress_label.setText("")

    # --- job state -------------------------------------------------------------------
    @Slot(bool)
    def set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.run_button.setEnabled(not busy and self.model_combo.count() > 0)
        self.cancel_button.setEnabled(busy)
        if busy:
            self.set_progress(0.0, "Starting…")
        else:
            self.progress_label.setText("")

    @Slot(float, str)
    def set_progress(self, fraction: float, message: str = "") -> None:
        self.progress_bar.setValue(int(round(fraction * 1000)))
        self.progress_label.setText(message or f"{fraction * 100:.0f} %")
