"""Submits one job at a time to the EngineClient and applies its result as one undo step.

EngineClient re-emits its worker's signals from the GUI thread; they are still connected to
@Slot methods only (a lambda on a worker-thread signal runs in that thread).
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Optional

import cv2
import numpy as np
from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QMessageBox, QWidget

from ..core.geometry import Bounds
from ..core.history import ReplaceImageAtom, changed_bounds, patch_atom
from ..core.mask import combined
from ..core.requests import EditRequest, EditResult
from ..worker.client import EngineClient
from .canvas.tools import replace_mask
from .document_model import DocumentModel

# results that fill the mask layer instead of changing the image, with their undo labels; a request's
# params["combine"] (replace/add/subtract/intersect) says how the found mask meets the painted one
MASK_OPS = {"detect-scratches": "Auto-mask scratches", "select-subject": "Select subject", "detect-text": "Find text"}


def job_label(result: EditResult) -> str:
    return result.op.replace("-", " ").capitalize()


def resized_mask(mask: np.ndarray, width: int, height: int) -> np.ndarray:
    """The mask follows the image when a job changes its size (nearest keeps it binary)."""
    return cv2.resize(mask, (width, height), interpolation=cv2.INTER_NEAREST)


def apply_result(model: DocumentModel, result: EditResult) -> bool:
    """Apply a finished job as ONE undo step; keep the pre-job image for before/after.

    Same size and type: a patch of the changed rectangle. Otherwise (upscale): replace the
    image and resize the mask. Returns False when the result changed nothing.
    """
    model.interrupt_edits()  # a half-painted stroke would otherwise straddle the result
    document = model.document
    if result.image.shape == document.image.shape and result.image.dtype == document.image.dtype:
        bounds = _changed_region(document.image, result)
        if bounds is None:
            return False
        atom = patch_atom(job_label(result), "image", bounds, document.image, result.image)
        model.before_image = document.image.copy()
        model.push_atom(atom)  # redo() writes the patch
        return True
    height, width = result.image.shape[:2]
    atom = ReplaceImageAtom(job_label(result), before_image=document.image, after_image=np.array(result.image),
                            before_mask=document.mask, after_mask=resized_mask(document.mask, width, height))
    model.before_image = document.image  # never written in place again: undo restores a copy
    model.push_atom(atom)
    return True


def _changed_region(image: np.ndarray, result: EditResult) -> Optional[Bounds]:
    if result.changed is None:
        return changed_bounds(image, result.image)
    bounds = result.changed.clipped(Bounds.of_array(image).extent)
    return None if bounds.is_empty else bounds


def job_record(request: EditRequest, result: EditResult) -> dict[str, Any]:
    """What a project keeps about one applied job; plain JSON types only, so it reads back equal."""
    params = json.loads(json.dumps(dict(request.params), default=str))
    return {
        "op": result.op, "model": result.model_id, "params": params, "prompt": request.prompt,
        "device": request.device, "tile": request.tile, "provider": result.provider,
        "seconds": float(result.seconds), "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def describe(result: EditResult) -> str:
    return f"Last job: {result.provider}, {result.seconds:.1f} s"


class JobController(QObject):
    busyChanged = Signal(bool)
    progressChanged = Signal(float, str)
    statusMessage = Signal(str)
    lastJobChanged = Signal(str)

    def __init__(self, client: EngineClient, model: DocumentModel, dialog_parent: Optional[QWidget] = None) -> None:
        super().__init__(dialog_parent)
        self.client = client
        self.model = model
        self.dialog_parent = dialog_parent
        self.current_job: Optional[int] = None
        self._request: Optional[EditRequest] = None
        self._revision_at_submit = -1
        client.jobStarted.connect(self.on_started)
        client.jobProgress.connect(self.on_progress)
        client.jobFinished.connect(self.on_finished)
        client.jobFailed.connect(self.on_failed)
        client.jobCancelled.connect(self.on_cancelled)

    @property
    def busy(self) -> bool:
        return self.current_job is not None

    def submit(self, request: EditRequest) -> Optional[int]:
        """Queue the request unless a job is already running (one at a time)."""
        if self.busy:
            return None
        self._revision_at_submit = self.model.image_revision
        self._request = request
        self.current_job = self.client.submit(request)
        self.busyChanged.emit(True)
        self.statusMessage.emit(f"Running {request.op}…")
        return self.current_job

    @Slot()
    def cancel(self) -> None:
        if self.current_job is not None:
            self.client.cancel(self.current_job)
            self.statusMessage.emit("Cancelling…")

    def _finish(self) -> None:
        self.current_job = None
        self._request = None  # it holds a copy of the image
        self.busyChanged.emit(False)

    def _is_current(self, job_id: int) -> bool:
        return job_id == self.current_job

    @Slot(int)
    def on_started(self, job_id: int) -> None:
        if self._is_current(job_id):
            self.progressChanged.emit(0.0, "")

    @Slot(int, float, str)
    def on_progress(self, job_id: int, fraction: float, message: str) -> None:
        if self._is_current(job_id):
            self.progressChanged.emit(fraction, message)

    @Slot(int, object)
    def on_finished(self, job_id: int, result: EditResult) -> None:
        if not self._is_current(job_id):
            return
        request = self._request
        self._finish()
        if self.model.image_revision != self._revision_at_submit:
            self.statusMessage.emit("The image changed while the job ran; its result was discarded.")
            return
        if result.op in MASK_OPS:  # the found mask (white = found) goes into the mask layer: one undo step
            mode = str(request.params.get("combine", "replace")) if request is not None else "replace"
            found = combined(self.model.document.mask, np.ascontiguousarray(result.image[..., 0]), mode)
            changed = replace_mask(self.model, found, MASK_OPS[result.op])
            self.lastJobChanged.emit(describe(result))
            self.statusMessage.emit(" ".join(result.notes) if changed else "Done: the mask did not change.")
            return
        changed = apply_result(self.model, result)
        if changed and request is not None:
            self.model.add_job(job_record(request, result))
        self.lastJobChanged.emit(describe(result))
        notes = " ".join(result.notes)
        self.statusMessage.emit(notes or ("Done." if changed else "Done: nothing changed."))

    @Slot(int, str)
    def on_failed(self, job_id: int, message: str) -> None:
        if not self._is_current(job_id):
            return
        self._finish()
        self.statusMessage.emit("The job failed.")
        QMessageBox.warning(self.dialog_parent, "The job failed", message)

    @Slot(int)
    def on_cancelled(self, job_id: int) -> None:
        if self._is_current(job_id):
            self._finish()
            self.statusMessage.emit("Cancelled; the image is unchanged.")
