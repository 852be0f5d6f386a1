"""Mask ▸ Auto-mask Damage…: run the damage detector once, then choose the sensitivity with a slider whose mask
preview updates live, and put the mask into the mask layer (one undo step) — then Fill or Restore as usual.

The detector runs on the worker as a `detect-scratches` job with params {"output": "score"}: the result is a uint8
score map (engine/ops/detect_scratches.score_map) where a pixel is marked at sensitivity s exactly when
score > 255·(1 − s) (then core.mask.damage_mask: specks dropped, faint stretches of cracks joined on a damaged print).
The dialog keeps that map (and a downscaled copy for the preview), so moving the slider reruns that rule on the
preview's map, never the network.

Hooked into the main window by one call, `install(window, menu)`, next to Remove Scratches and Dust.
"""

from __future__ import annotations

from typing import Optional

import cv2
import numpy as np
from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QMenu, QSlider, QVBoxLayout, QWidget

from ..core.errors import StudioError
from ..core.mask import damage_mask
from ..core.requests import EditResult
from .canvas.tools import replace_mask
from .editor import build_op_request

DEFAULT_SENSITIVITY = 50  # percent
PREVIEW_SIDE = 640


def _preview_size(h: int, w: int) -> tuple[int, int]:
    f = min(1.0, PREVIEW_SIDE / max(h, w, 1))
    return max(1, round(w * f)), max(1, round(h * f))


class DamageMaskDialog(QDialog):
    """Sensitivity slider + live preview over a cached score map. `maskAccepted(mask)` on OK."""

    maskAccepted = Signal(object)

    def __init__(self, image: np.ndarray, score: np.ndarray, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Auto-mask Damage")
        self.score = np.ascontiguousarray(score)
        h, w = score.shape
        size = _preview_size(h, w)
        # the preview works on small copies: a 12-megapixel scan still follows the slider
        rgb = image[..., :3]
        if rgb.dtype != np.uint8:
            rgb = (rgb.astype(np.float32) / 257.0).round().astype(np.uint8)
        self.small_image = np.ascontiguousarray(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA))
        self.small_score = cv2.resize(self.score, size, interpolation=cv2.INTER_NEAREST)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 100)
        self.slider.setValue(DEFAULT_SENSITIVITY)
        self.slider.setToolTip("Sensitivity: higher marks more (50 = the detector's best balance)")
        self.preview = QLabel()
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.summary = QLabel()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.preview)
        layout.addWidget(QLabel("Sensitivity"))
        layout.addWidget(self.slider)
        layout.addWidget(self.summary)
        layout.addWidget(buttons)
        self.slider.valueChanged.connect(self.on_sensitivity)
        self.on_sensitivity(self.slider.value())

    @property
    def sensitivity(self) -> float:
        return self.slider.value() / 100.0

    @property
    def cut(self) -> float:
        """The score a pixel must exceed at this sensitivity."""
        return 255.0 * (1.0 - self.sensitivity)

    def full_mask(self) -> np.ndarray:
        return damage_mask(self.score, self.cut)  # the engine's rule: specks dropped, faint stretches of cracks joined

    @Slot(int)
    def on_sensitivity(self, _value: int) -> None:
        # the preview and its count come from the small map: the full map's rule takes ~0.3 s on 12 MP, too slow
        # for every slider step; specks are kept there (at preview scale a real crack can be a few pixels)
        small = damage_mask(self.small_score, self.cut, min_pixels=1) > 0
        shown = self.small_image.copy()
        shown[small] = (shown[small] * 0.3 + np.array([255, 0, 0]) * 0.7).astype(np.uint8)
        h, w = shown.shape[:2]
        self._shown = shown  # QImage borrows the buffer
        self.preview.setPixmap(QPixmap.fromImage(QImage(shown.data, w, h, 3 * w, QImage.Format.Format_RGB888)))
        marked = float(np.count_nonzero(small)) / max(1, small.size)
        self.summary.setText(f"Sensitivity {self.slider.value()} %: about {100 * marked:.2f} % of the pixels marked")

    def accept(self) -> None:
        self.maskAccepted.emit(self.full_mask())
        super().accept()


class AutoMaskDamage(QObject):
    """Runs the score job on the window's worker client and opens the dialog with its result."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.job_id: Optional[int] = None
        self.image: Optional[np.ndarray] = None
        self.dialog: Optional[DamageMaskDialog] = None
        window.jobs.client.jobFinished.connect(self.on_finished)
        window.jobs.client.jobFailed.connect(self.on_failed)

    @Slot()
    def start(self) -> Optional[int]:
        window = self.window
        if not window.catalog.for_task("detect-scratches"):
            window.show_status("No damage detector is installed (models/damage-detector.onnx).")
            return None
        if self.job_id is not None or window.jobs.busy:
            window.show_status("Another job is running.")
            return None
        try:
            request = build_op_request(window, "detect-scratches", {"output": "score"})
        except StudioError as error:
            window.show_error("Cannot start the job", error)
            return None
        self.image = window.document.image
        self.job_id = window.jobs.client.submit(request)
        window.show_status("Looking for damage…")
        return self.job_id

    @Slot(int, object)
    def on_finished(self, job_id: int, result: EditResult) -> None:
        if job_id != self.job_id:
            return
        self.job_id = None
        if self.image is None or self.window.document.image.shape != self.image.shape:
            self.window.show_status("The image changed while the detector ran; its result was discarded.")
            return
        self.dialog = DamageMaskDialog(self.image, result.image[..., 0], self.window)
        self.dialog.maskAccepted.connect(self.on_mask)
        self.dialog.show()

    @Slot(int, str)
    def on_failed(self, job_id: int, message: str) -> None:
        if job_id == self.job_id:
            self.job_id = None
            self.window.show_status(f"Damage detection failed: {message}")

    @Slot(object)
    def on_mask(self, mask: np.ndarray) -> None:
        changed = replace_mask(self.window.doc, mask, "Auto-mask damage")
        marked = 100.0 * np.count_nonzero(mask) / max(1, mask.size)
        self.window.show_status(f"Marked {marked:.2f} % as damage." if changed else "The mask did not change.")


def install(window, menu: QMenu) -> AutoMaskDamage:
    """Add Mask ▸ Auto-mask Damage… to `menu` (the one hook in main_window)."""
    runner = AutoMaskDamage(window)
    window.auto_mask_damage_action = menu.addAction("Auto-mask Damage (sensitivity)…")
    window.auto_mask_damage_action.triggered.connect(runner.start)
    window.auto_mask_damage = runner
    return runner
