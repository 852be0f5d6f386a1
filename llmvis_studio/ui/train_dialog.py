"""Train a generator on a folder of pictures, from the editor: settings, progress, loss plot, samples, cancel.

The dialog never imports the training code (torch is an optional extra and ui/ may not import it): it is
given a *trainer* callable, `trainer(settings: dict, report: Callable[[dict], None], should_stop:
Callable[[], bool]) -> dict`, and runs it as a worker.BackgroundTask (its own QThread, failures through
core.notify, the same rules as the engine's worker). `report` receives
{"step", "steps", "losses": {name: value}, "rate", "sample": PNG path or None}; the trainer raises
core.errors.Cancelled when `should_stop()` turned true. __main__.py passes a function that imports
llmvis_studio.training.cli_train dynamically; tests pass a fake.

Said in plain words: what it makes (a model for Edit ▸ Generate) and the time left, measured by the
dialog itself from the steps it has seen (the trainer's own rate is 0 until its first window ends).
Defaults are sized to finish in minutes on a laptop CPU; a stopped run can be resumed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, Optional

from PySide6.QtCore import QPointF, Qt, Signal, Slot
from PySide6.QtGui import QColor, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..paths import user_data_dir
from ..worker.emit import safe_emit
from ..worker.task import BackgroundTask

Trainer = Callable[[Mapping[str, Any], Callable[[dict], None], Callable[[], bool]], dict]
SIZES = (32, 64, 128)
DEFAULT_STEPS = 300  # about 5 minutes for the small VAE on one laptop core (1.2 steps/s measured, batch 16)
DEFAULT_BATCH = 16
# the full-resolution texture generator: 6.7 steps/s at batch 8 × 64 px on one AMD EPYC core, so ~5 minutes
KIND_STEPS = {"texture": 2000, "vae": DEFAULT_STEPS, "gan": DEFAULT_STEPS}
KIND_BATCH = {"texture": 8, "vae": DEFAULT_BATCH, "gan": DEFAULT_BATCH}
KINDS = (
    ("Full-resolution textures (fills any mask; recommended)", "texture"),
    ("Quick and steady (VAE; softer pictures)", "vae"),
    ("Sharper (GAN; needs longer training)", "gan"),
)
FIXED_SIZE_TIP = "The full-resolution generator has no fixed size: it paints any mask at the photo's own resolution."
CHECKPOINT_NAME = "checkpoint.pt"  # what training/gen_train.py keeps in the run folder (resume reads it)
MIN_STEPS_FOR_ESTIMATE = 3
MIN_SECONDS_FOR_ESTIMATE = 1.0
INTRO = (
    "Teaches a picture generator from your own photos: put them in a folder with one sub-folder per "
    "kind of picture (e.g. sky/, grass/). The recommended kind paints any mask at the photo's full resolution. "
    "When it is done, the new model appears in the Edit panel under "
    "the operation <b>Generate</b>: paint a mask, type what to put there (e.g. “sky”) and Run."
)
PLOT_HELP = (
    "How the training is going: each line is one of the model's error measures. Lines that fall and then "
    "settle mean it is learning; the numbers themselves do not matter."
)
REPORT_S = 0.05  # at most 20 progress updates a second reach the GUI thread
COLOURS = ("#d9534f", "#337ab7", "#5cb85c", "#f0ad4e")


class LossPlot(QWidget):
    """A small line plot of the loss history (one line per loss), drawn with QPainter."""

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.series: dict[str, list[tuple[int, float]]] = {}
        self.setMinimumSize(320, 140)

    def clear(self) -> None:
        self.series.clear()
        self.update()

    def add(self, step: int, losses: dict[str, float]) -> None:
        for name, value in losses.items():
            self.series.setdefault(name, []).append((int(step), float(value)))
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt name)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.Antialiasing)
        painter.fillRect(self.rect(), QColor("white"))
        margin_left, margin, width, height = 40, 8, self.width(), self.height()
        painter.setPen(QPen(QColor("#888888")))
        painter.drawRect(margin_left, margin, width - margin_left - margin, height - 2 * margin)
        points = [p for values in self.series.values() for p in values]
        if not points:
            painter.drawText(self.rect(), Qt.AlignCenter, "the training curve appears here")
            return
        steps = [p[0] for p in points]
        values = [p[1] for p in points]
        x0, x1 = min(steps), max(max(steps), min(steps) + 1)
        y0, y1 = min(values), max(values)
        if y1 - y0 < 1e-9:
            y0, y1 = y0 - 0.5, y1 + 0.5
        plot_w, plot_h = width - margin_left - margin, height - 2 * margin

        def at(step: int, value: float) -> QPointF:
            return QPointF(
                margin_left + (step - x0) / (x1 - x0) * plot_w, margin + (1 - (value - y0) / (y1 - y0)) * plot_h
            )

        painter.drawText(2, margin + 10, f"{y1:.2f}")
        painter.drawText(2, height - margin, f"{y0:.2f}")
        for index, (name, series) in enumerate(self.series.items()):
            stride = max(1, len(series) // max(1, plot_w))  # at most one point per pixel column
            shown = series[::stride]
            painter.setPen(QPen(QColor(COLOURS[index % len(COLOURS)]), 1.5))
            for a, b in zip(shown, shown[1:]):
                painter.drawLine(at(*a), at(*b))
            painter.drawText(margin_left + 6 + 60 * index, margin + 14, name)


def throttled(report: Callable[[dict], None], every_s: float = REPORT_S) -> Callable[[dict], None]:
    """`report` at most once every `every_s` (called on the training thread); a sample grid or the last step
    always goes through."""
    last = [0.0]

    def forward(info: dict) -> None:
        now = time.monotonic()
        if info.get("sample") or info.get("step", 0) >= info.get("steps", 0) or now - last[0] >= every_s:
            last[0] = now
            report(info)

    return forward


def minutes_text(seconds: float) -> str:
    if seconds < 60:
        return f"about {max(1, round(seconds))} s"
    return f"about {round(seconds / 60)} min"


class StepClock:
    """Time left from the steps this dialog has seen arrive (not from the trainer's rate)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.first: Optional[tuple[float, int]] = None

    def reset(self) -> None:
        self.first = None

    def seconds_left(self, step: int, steps: int) -> Optional[float]:
        now = self.clock()
        if self.first is None:
            self.first = (now, step)  # the first step includes loading the pictures: measure after it
            return None
        start, first_step = self.first
        done, elapsed = step - first_step, now - start
        if done < MIN_STEPS_FOR_ESTIMATE or elapsed < MIN_SECONDS_FOR_ESTIMATE:
            return None
        return (steps - step) * elapsed / done


def has_checkpoint(folder: str) -> bool:
    return bool(folder) and (Path(folder) / CHECKPOINT_NAME).is_file()


def default_run_folder(data: str) -> str:
    name = Path(data).name or "run"
    return str(user_data_dir() / "runs" / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}")


class TrainDialog(QDialog):
    modelTrained = Signal(str)  # the new model's id (it is now in the user's models folder)

    def __init__(self, trainer: Trainer, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Train a generator")
        self.trainer = trainer
        self.task: Optional[BackgroundTask] = None  # the running training
        self.result: Optional[dict] = None
        self.state = "idle"  # idle | running | stopping | done | failed | cancelled
        self.step_clock = StepClock()
        self._build()

    def _setting_widgets(self) -> QHBoxLayout:
        """The setting widgets; returns the folder row (a line edit and Browse…)."""
        self.folder_edit = QLineEdit()
        self.folder_edit.setPlaceholderText("a folder of pictures; one sub-folder per class")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self.on_browse)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder_edit)
        folder_row.addWidget(browse)
        self.out_edit = QLineEdit()
        self.out_edit.setPlaceholderText("run folder (default: in your data folder)")
        self.kind_combo = QComboBox()
        for label, kind in KINDS:
            self.kind_combo.addItem(label, kind)
        self.kind_combo.currentIndexChanged.connect(self.on_kind_changed)
        self.size_combo = QComboBox()
        for size in SIZES:
            self.size_combo.addItem(f"{size}×{size}", size)
        self.steps_spin = QSpinBox()
        self.steps_spin.setRange(10, 1_000_000)
        self.steps_spin.setSingleStep(100)
        self.steps_spin.setValue(KIND_STEPS[KINDS[0][1]])
        self.steps_spin.setToolTip(
            "More steps: better pictures, longer training. The time left is shown once the first steps are measured."
        )
        self.device_combo = QComboBox()
        for device, label in (("auto", "Auto (GPU if present)"), ("cpu", "CPU"), ("cuda", "CUDA GPU")):
            self.device_combo.addItem(label, device)
        return folder_row

    def _settings_form(self) -> QFormLayout:
        form = QFormLayout()
        form.addRow("Pictures", self._setting_widgets())
        form.addRow("Run folder", self.out_edit)
        form.addRow("Model", self.kind_combo)
        form.addRow("Image size", self.size_combo)
        form.addRow("Training steps", self.steps_spin)
        form.addRow("Device", self.device_combo)
        return form

    def _build(self) -> None:
        self.intro_label = QLabel(INTRO)
        self.intro_label.setWordWrap(True)
        form = self._settings_form()
        self.start_button = QPushButton("Start")
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Continue the stopped run in the run folder from its last checkpoint")
        self.cancel_button = QPushButton("Stop")
        self.close_button = QPushButton("Close")
        self.start_button.clicked.connect(self.start)
        self.resume_button.clicked.connect(self.resume)
        self.out_edit.textChanged.connect(self._refresh_buttons)
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button.clicked.connect(self.close)
        buttons = QHBoxLayout()
        for button in (self.start_button, self.resume_button, self.cancel_button, self.close_button):
            buttons.addWidget(button)
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 1000)
        self.status_label = QLabel("Choose a folder of pictures.")
        self.status_label.setWordWrap(True)
        self.loss_plot = LossPlot()
        self.loss_plot.setToolTip(PLOT_HELP)
        self.sample_label = QLabel("example pictures appear here\nas the training goes on")
        self.sample_label.setAlignment(Qt.AlignCenter)
        self.sample_label.setMinimumSize(200, 140)
        previews = QHBoxLayout()
        previews.addWidget(self.loss_plot, 3)
        previews.addWidget(self.sample_label, 2)
        column = QVBoxLayout(self)
        column.addWidget(self.intro_label)
        column.addLayout(form)
        column.addLayout(buttons)
        column.addWidget(self.progress_bar)
        column.addWidget(self.status_label)
        column.addLayout(previews)
        self.on_kind_changed()
        self._refresh_buttons()

    # --- settings ----------------------------------------------------------------------
    @Slot()
    def on_browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder of training pictures", self.folder_edit.text())
        if folder:
            self.folder_edit.setText(folder)

    @Slot()
    def on_kind_changed(self) -> None:
        """The texture generator has no image size and trains on the CPU; a step count still at the previous
        kind's default follows the new kind's default (a typed one is kept)."""
        kind = self.kind_combo.currentData()
        fixed_size = kind != "texture"
        for widget in (self.size_combo, self.device_combo):
            widget.setEnabled(fixed_size)
            widget.setToolTip(
                "" if fixed_size else FIXED_SIZE_TIP if widget is self.size_combo else "trains on the CPU"
            )
        if self.steps_spin.value() in KIND_STEPS.values():
            self.steps_spin.setValue(KIND_STEPS[kind])

    def settings(self) -> dict[str, Any]:
        data = self.folder_edit.text().strip()
        kind = self.kind_combo.currentData()
        return {
            "kind": kind,
            "data": data,
            "out": self.out_edit.text().strip() or default_run_folder(data),
            "size": int(self.size_combo.currentData()),
            "steps": int(self.steps_spin.value()),
            "batch": KIND_BATCH[kind],
            "device": self.device_combo.currentData(),
        }

    def _refresh_buttons(self) -> None:
        running = self.state in ("running", "stopping")
        self.start_button.setEnabled(not running)
        self.resume_button.setEnabled(not running and has_checkpoint(self.out_edit.text().strip()))
        self.cancel_button.setEnabled(self.state == "running")
        self.close_button.setEnabled(not running)

    # --- running -------------------------------------------------------------------------
    @Slot()
    def resume(self) -> bool:
        """Continue the run in the run folder (its checkpoint keeps the model and the step reached)."""
        if not has_checkpoint(self.out_edit.text().strip()):
            self.status_label.setText("The run folder holds no stopped run to resume.")
            return False
        return self.start(resume=True)

    @Slot()
    def start(self, resume: bool = False) -> bool:
        settings = MappingProxyType({**self.settings(), "resume": bool(resume)})  # the job's frozen settings
        if not settings["data"] or not Path(settings["data"]).is_dir():
            self.status_label.setText("Choose an existing folder of pictures first.")
            return False
        self.out_edit.setText(settings["out"])
        self.result = None
        if not resume:
            self.loss_plot.clear()
            self.progress_bar.setValue(0)
        self.step_clock.reset()
        trainer = self.trainer
        self.task = BackgroundTask(
            lambda report, should_stop: trainer(settings, throttled(report), should_stop), "training", self
        )
        self.task.progressed.connect(self.on_progress)
        self.task.finished.connect(self.on_finished)
        self.task.failed.connect(self.on_failed)
        self.task.cancelled.connect(self.on_cancelled)
        self.state = "running"
        self.status_label.setText(
            "Resuming: loading the pictures and the checkpoint…" if resume else "Loading the pictures…"
        )
        self._refresh_buttons()
        self.task.start()
        return True

    @Slot()
    def cancel(self) -> None:
        if self.task is not None and self.state == "running":
            self.task.stop()
            self.state = "stopping"
            self.status_label.setText("Stopping after this step (a checkpoint is kept)…")
            self._refresh_buttons()

    def _stop_thread(self) -> None:
        if self.task is not None:
            self.task.wait()
            self.task = None
        self._refresh_buttons()

    @Slot(object)
    def on_progress(self, info: dict) -> None:
        step, steps = int(info.get("step", 0)), max(1, int(info.get("steps", 1)))
        self.progress_bar.setValue(int(1000 * step / steps))
        losses = info.get("losses", {}) or {}
        self.loss_plot.add(step, losses)
        if self.state == "running":
            left = self.step_clock.seconds_left(step, steps)
            timing = f"{minutes_text(left)} left" if left is not None else "measuring the speed…"
            self.status_label.setText(f"Step {step} of {steps} · {timing}")
        sample = info.get("sample")
        if sample:
            self.show_sample(sample)

    def show_sample(self, path: str) -> None:
        pixmap = QPixmap(str(path))
        if not pixmap.isNull():
            self.sample_label.setPixmap(
                pixmap.scaled(self.sample_label.size(), Qt.KeepAspectRatio, Qt.SmoothTransformation)
            )

    @Slot(object)
    def on_finished(self, result: dict) -> None:
        self.result = result
        self.state = "done"
        self._stop_thread()
        self.progress_bar.setValue(1000)
        model_id = result.get("model_id")
        self.status_label.setText(
            f"Done: the model '{model_id}' is in the Edit panel under Generate: paint a "
            "mask, type what to put there and Run."
            if model_id
            else "Done."
        )
        if model_id:
            safe_emit(self.modelTrained, str(model_id))

    @Slot(str)
    def on_failed(self, message: str) -> None:
        self.state = "failed"
        self._stop_thread()
        self.status_label.setText(message)

    @Slot(str)
    def on_cancelled(self, message: str) -> None:
        self.state = "cancelled"
        self._stop_thread()
        self.status_label.setText(message)

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt name)
        if self.state in ("running", "stopping"):
            self.cancel()
            if self.task is not None:
                self.task.wait()  # the trainer checks the flag every step
        super().closeEvent(event)
