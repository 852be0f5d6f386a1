"""Restore Photo: scratches and dust → noise → (optionally) a larger size, one step at a time.

Each step runs as an ordinary job and lands as its own undo step; after each one the before/after
divider is put in the middle of the view, so the user sees what that step did before running the
next one (or stopping, or undoing it). Steps whose model is not installed are listed but disabled.
"""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import Slot
from PySide6.QtWidgets import QCheckBox, QDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from .editor import Editor, submit_op

# (op, what the checkbox says, model task that must be installed, request params)
STEPS = (
    ("restore", "Fill scratches and dust", "detect-scratches", {}),
    ("denoise", "Reduce noise and grain", "denoise", {}),
    ("upscale", "Make it twice as large", "upscale", {"scale": 2}),
)
DEFAULT_ON = ("restore", "denoise")  # upscaling is a choice: it quadruples the file


class RestoreDialog(QDialog):
    def __init__(self, window: Editor, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Restore photo")
        self.main = window  # (not `window`: QWidget.window() is a Qt method)
        self.boxes: dict[str, QCheckBox] = {}
        self.running: Optional[str] = None
        column = QVBoxLayout(self)
        column.addWidget(
            QLabel(
                "Runs one step at a time. After each step, drag the divider on the picture to "
                "compare, then run the next step (Ctrl+Z undoes a step you do not like)."
            )
        )
        for op, text, task, _params in STEPS:
            box = QCheckBox(text)
            installed = bool(window.catalog.for_task(task))
            box.setChecked(installed and op in DEFAULT_ON)
            box.setEnabled(installed)
            if not installed:
                box.setToolTip(f"No model for this step is installed ({task}).")
            column.addWidget(box)
            self.boxes[op] = box
        self.status_label = QLabel("")
        self.status_label.setWordWrap(True)
        column.addWidget(self.status_label)
        self.next_button = QPushButton("Run the first step")
        self.close_button = QPushButton("Close")
        row = QHBoxLayout()
        row.addWidget(self.next_button)
        row.addWidget(self.close_button)
        column.addLayout(row)
        self.next_button.clicked.connect(self.run_next)
        self.close_button.clicked.connect(self.close)
        window.jobs.jobEnded.connect(self.on_job_ended)
        self.completed: list[str] = []
        self._refresh()

    def pending(self) -> list[tuple[str, str, dict]]:
        return [
            (op, text, params)
            for op, text, _task, params in STEPS
            if self.boxes[op].isChecked() and op not in self.completed
        ]

    def _refresh(self) -> None:
        pending = self.pending()
        busy = self.running is not None or self.main.jobs.busy
        self.next_button.setEnabled(bool(pending) and not busy)
        if pending:
            self.next_button.setText(f"Run: {pending[0][1]}" if self.completed else f"Start: {pending[0][1]}")
        else:
            self.next_button.setText("All steps done")

    @Slot()
    def run_next(self) -> Optional[int]:
        pending = self.pending()
        if not pending or self.main.jobs.busy:
            return None
        op, text, params = pending[0]
        job = submit_op(self.main, op, params, error_title="Cannot start the step")
        if job is not None:
            self.running = op
            self.status_label.setText(f"{text}…")
        self._refresh()
        return job

    @Slot(str, bool)
    def on_job_ended(self, op: str, applied: bool) -> None:
        if op != self.running:  # another job of the window's (the dialog only follows its own)
            return
        self.running = None
        text = next(t for o, t, _task, _p in STEPS if o == op)
        if applied:
            self.completed.append(op)
            self.main.show_split(50)  # show this step's before / after
            left = len(self.pending())
            self.status_label.setText(
                f"Done: {text.lower()}. Compare with the divider"
                + (", then run the next step." if left else "; the photo is restored.")
            )
        else:
            self.status_label.setText(f"{text}: stopped; the picture is as it was before this step.")
        self._refresh()
