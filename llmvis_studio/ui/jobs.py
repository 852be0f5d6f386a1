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
from PySide6.QtCore import QObject, QSettings, QTimer, Signal, Slot
from PySide6.QtWidgets import QMessageBox, QWidget

from ..core.geometry import Bounds, nonzero_bounds
from ..core.history import Atom, PatchAtom, ReplaceImageAtom, changed_bounds, patch_atom
from ..core.mask import combined
from ..core.requests import EditRequest, EditResult
from ..worker.client import EngineClient
from .canvas.tools import replace_mask
from .document_model import DocumentModel
from .progress_clock import JobClock

LARGE_OUTPUT_PIXELS = 50_000_000  # above this a job's result is confirmed first (memory, time, file size)
PROGRESS_TICK_MS = 250  # the time-left text refreshes this often while a job runs
SPEED_KEY = "jobs/secondsPerMegapixel"

# results that fill the mask layer instead of changing the image, with their undo labels; a request's
# params["combine"] (replace/add/subtract/intersect) says how the found mask meets the painted one
MASK_OPS = {"detect-scratches": "Auto-mask scratches", "select-subject": "Select subject", "detect-text": "Find text"}
MASK_SCOPED_OPS = ("inpaint", "generate", "denoise", "stylize")  # change only inside the mask when there is one
NEEDS_MASK_OPS = ("inpaint", "generate")  # fail without a mask (the panel says so before Run)


def job_label(result: EditResult) -> str:
    return result.op.replace("-", " ").capitalize()


def resized_mask(mask: np.ndarray, width: int, height: int) -> np.ndarray:
    """The mask follows the image when a job changes its size (nearest keeps it binary)."""
    return cv2.resize(mask, (width, height), interpolation=cv2.INTER_NEAREST)


def result_atom(doc: DocumentModel, result: EditResult) -> Optional[Atom]:
    """The undo atom that applies a finished job, or None when it changed nothing; keeps the
    pre-job image for before/after.

    Same size and type: a patch of the changed rectangle. Otherwise (upscale): replace the
    image and resize the mask.
    """
    doc.interrupt_edits()  # a half-painted stroke would otherwise straddle the result
    document = doc.document
    if result.image.shape == document.image.shape and result.image.dtype == document.image.dtype:
        bounds = _changed_region(document.image, result)
        if bounds is None:
            return None
        doc.before_image = document.image.copy()
        return patch_atom(job_label(result), "image", bounds, document.image, result.image)
    height, width = result.image.shape[:2]
    doc.before_image = document.image  # never written in place again: undo restores a copy
    return ReplaceImageAtom(
        job_label(result),
        before_image=document.image,
        after_image=np.array(result.image),
        before_mask=document.mask,
        after_mask=resized_mask(document.mask, width, height),
    )


def clear_mask_atom(doc: DocumentModel) -> Optional[PatchAtom]:
    """After a job that used the mask: clear it (so the result is visible and the next job does not
    silently run inside the old mask). None when there is nothing to clear."""
    mask = doc.document.mask
    bounds = nonzero_bounds(mask)
    if bounds is None:
        return None
    return PatchAtom("Clear mask", "mask", bounds, mask[bounds.slices].copy(), np.zeros_like(mask[bounds.slices]))


def apply_result(
    doc: DocumentModel, result: EditResult, record: Optional[dict[str, Any]] = None, clear_mask: bool = False
) -> bool:
    """Apply a finished job as ONE undo step (with the mask clearing when asked). False: nothing changed."""
    atom = result_atom(doc, result)
    if atom is None:
        return False
    atoms: list[Atom] = [atom]
    if clear_mask:
        doc.last_job_mask = doc.document.mask.copy()
        cleared = clear_mask_atom(doc)
        if cleared is not None:
            atoms.append(cleared)
    doc.push_job(job_label(result), atoms, record)  # the push's redo() writes the pixels
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
        "op": result.op,
        "model": result.model_id,
        "params": params,
        "prompt": request.prompt,
        "device": request.device,
        "tile": request.tile,
        "provider": result.provider,
        "seconds": float(result.seconds),
        "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def output_size(request: EditRequest) -> tuple[int, int]:
    """Width and height of the job's result (only upscale changes the size)."""
    height, width = request.image.shape[:2]
    scale = int(request.params.get("scale", 1)) if request.op == "upscale" else 1
    return width * scale, height * scale


def large_output_question(width: int, height: int) -> str:
    megapixels = width * height / 1e6
    gigabytes = width * height * 3 * 4 / 1e9  # the float working copies dominate
    return (
        f"The result will be {width}×{height} ({megapixels:.0f} megapixels). That takes a long time and "
        f"about {gigabytes:.1f} GB of memory. Run it anyway?"
    )


def describe(result: EditResult) -> str:
    return f"Last job: {result.provider}, {result.seconds:.1f} s"


class JobController(QObject):
    busyChanged = Signal(bool)
    progressChanged = Signal(float, str)
    statusMessage = Signal(str)
    lastJobChanged = Signal(str)
    maskDetected = Signal(int)  # a detector filled the mask: how many pixels it marked
    jobEnded = Signal(str, bool)  # op, and whether its result was applied (False: failed, cancelled, stale)

    def __init__(
        self,
        client: EngineClient,
        doc: DocumentModel,
        dialog_parent: Optional[QWidget] = None,
        settings: Optional[QSettings] = None,
    ) -> None:
        super().__init__(dialog_parent)
        self.settings = settings  # remembers each op's speed, so even a first fill shows time left
        self.client = client
        self.doc = doc
        self.dialog_parent = dialog_parent
        self.current_job: Optional[int] = None
        self._request: Optional[EditRequest] = None
        self._revision_at_submit = -1
        self.clock = JobClock()
        self._ticker = QTimer(self)
        self._ticker.setInterval(PROGRESS_TICK_MS)
        self._ticker.timeout.connect(self._emit_progress)
        client.jobStarted.connect(self.on_started)
        client.jobProgress.connect(self.on_progress)
        client.jobFinished.connect(self.on_finished)
        client.jobFailed.connect(self.on_failed)
        client.jobCancelled.connect(self.on_cancelled)

    @property
    def busy(self) -> bool:
        return self.current_job is not None

    def submit(self, request: EditRequest) -> Optional[int]:
        """Queue the request unless a job is already running (one at a time) or the user declines a
        result above LARGE_OUTPUT_PIXELS."""
        if self.busy:
            return None
        width, height = output_size(request)
        if width * height > LARGE_OUTPUT_PIXELS and not self.ask_large_output(width, height):
            self.statusMessage.emit("Not run: the result would be too large.")
            return None
        self._revision_at_submit = self.doc.image_revision
        self._request = request
        self.current_job = self.client.submit(request)
        self.busyChanged.emit(True)
        self.statusMessage.emit(f"Running {request.op}…")
        height, width = request.image.shape[:2]
        self._recall_speed(request.op)
        self.clock.start(request.op, width, height)
        self._ticker.start()
        return self.current_job

    def _recall_speed(self, op: str) -> None:
        if self.settings is None or op in self.clock.seconds_per_mp:
            return
        try:
            rate = float(self.settings.value(f"{SPEED_KEY}/{op}", -1.0))
        except (TypeError, ValueError):
            return
        if rate > 0:
            self.clock.seconds_per_mp[op] = rate

    def _remember_speed(self, op: str) -> None:
        rate = self.clock.seconds_per_mp.get(op)
        if self.settings is not None and rate:
            self.settings.setValue(f"{SPEED_KEY}/{op}", rate)

    def ask_large_output(self, width: int, height: int) -> bool:
        """Separate so tests can answer it; No is the default."""
        answer = QMessageBox.question(
            self.dialog_parent,
            "Large result",
            large_output_question(width, height),
            QMessageBox.Yes | QMessageBox.No,
            QMessageBox.No,
        )
        return answer == QMessageBox.Yes

    @Slot()
    def _emit_progress(self) -> None:
        if self.busy:
            self.progressChanged.emit(self.clock.shown_fraction(), self.clock.text())

    @Slot()
    def cancel(self) -> None:
        if self.current_job is not None:
            self.client.cancel(self.current_job)
            self.statusMessage.emit("Cancelling…")

    def _finish(self, completed: bool = False) -> None:
        self._ticker.stop()
        if completed:
            self.clock.finish()
            self._remember_speed(self.clock.op)
        else:
            self.clock.stop()
        self.current_job = None
        self._request = None  # it holds a copy of the image
        self.busyChanged.emit(False)

    def _is_current(self, job_id: int) -> bool:
        return job_id == self.current_job

    @Slot(int)
    def on_started(self, job_id: int) -> None:
        if self._is_current(job_id):
            self._emit_progress()

    @Slot(int, float, str)
    def on_progress(self, job_id: int, fraction: float, message: str) -> None:
        if self._is_current(job_id):
            self.clock.report(fraction, message)
            self._emit_progress()

    @Slot(int, object)
    def on_finished(self, job_id: int, result: EditResult) -> None:
        if not self._is_current(job_id):
            return
        request = self._request
        self._finish(completed=True)
        if self.doc.image_revision != self._revision_at_submit:
            self.statusMessage.emit("The image changed while the job ran; its result was discarded.")
            self.jobEnded.emit(result.op, False)
            return
        if result.op in MASK_OPS:  # the found mask (white = found) goes into the mask layer: one undo step
            mode = str(request.params.get("combine", "replace")) if request is not None else "replace"
            found = combined(self.doc.document.mask, np.ascontiguousarray(result.image[..., 0]), mode)
            changed = replace_mask(self.doc, found, MASK_OPS[result.op])
            self.lastJobChanged.emit(describe(result))
            self.statusMessage.emit(" ".join(result.notes) if changed else "Done: the mask did not change.")
            self.maskDetected.emit(int(np.count_nonzero(self.doc.document.mask)))
            self.jobEnded.emit(result.op, True)
            return
        used_mask = request is not None and request.mask is not None and request.op in MASK_SCOPED_OPS
        record = job_record(request, result) if request is not None else None
        changed = apply_result(self.doc, result, record, clear_mask=used_mask)
        self.lastJobChanged.emit(describe(result))
        notes = " ".join(result.notes)
        self.statusMessage.emit(notes or ("Done." if changed else "Done: nothing changed."))
        self.jobEnded.emit(result.op, True)

    @Slot(int, str)
    def on_failed(self, job_id: int, message: str) -> None:
        if not self._is_current(job_id):
            return
        op = self._request.op if self._request is not None else ""
        self._finish()
        self.statusMessage.emit("The job failed.")  # its message and detail: core.notify (the client reports it)
        self.jobEnded.emit(op, False)

    @Slot(int)
    def on_cancelled(self, job_id: int) -> None:
        if self._is_current(job_id):
            op = self._request.op if self._request is not None else ""
            self._finish()
            self.statusMessage.emit("Cancelled; the image is unchanged.")
            self.jobEnded.emit(op, False)
