"""The open Document, its QUndoStack, and signals that say which part changed.

Every edit goes through `push_atom`: the caller has already changed the document, and the atom
(core/history.py) records a bounding-box before/after patch. Atoms are idempotent, so the
QUndoStack's automatic first redo() just rewrites the same pixels.

Besides the document the model keeps what a project file needs: the original image (as first
loaded, read-only), the history of applied jobs and the prompts submitted, and a `revision`
that bumps on every change so the autosaver knows whether there is anything new to write.
"""
from __future__ import annotations

from typing import Any, Iterable, Optional

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QUndoCommand, QUndoStack

from ..core.document import Document
from ..core.geometry import Bounds
from ..core.history import Atom, PatchAtom


class AtomCommand(QUndoCommand):
    """One undo step wrapping one history atom."""

    def __init__(self, model: "DocumentModel", atom: Atom) -> None:
        super().__init__(atom.label)
        self.model = model
        self.atom = atom

    def redo(self) -> None:
        self.atom.redo(self.model.document)
        self.model.notify_atom(self.atom)

    def undo(self) -> None:
        self.atom.undo(self.model.document)
        self.model.notify_atom(self.atom)


class DocumentModel(QObject):
    maskChanged = Signal(object)  # Bounds of the changed region
    imageChanged = Signal()  # pixels (and maybe the size) of the image changed
    documentReplaced = Signal()  # a new file was opened
    modifiedChanged = Signal(bool)
    interrupted = Signal()  # an edit from outside the canvas is about to land: abandon unfinished strokes

    def __init__(self, document: Document, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.document = document
        self.undo_stack = QUndoStack(self)
        self.image_revision = 0  # bumps on every image change; a job result for an older revision is stale
        self.before_image: np.ndarray = document.image  # shown by before/after; replaced by each job
        self.original: np.ndarray = read_only_copy(document.image)  # the image as first loaded
        self.jobs: list[dict[str, Any]] = []  # one record per applied job (see jobs.job_record)
        self.prompts: list[str] = []  # texts submitted from the prompt panel
        self.revision = 0  # bumps on any change (pixels, mask, history, jobs, prompts)
        self.undo_stack.cleanChanged.connect(self._on_clean_changed)
        self.undo_stack.indexChanged.connect(self._on_index_changed)
        self.maskChanged.connect(self._on_mask_changed)
        self.imageChanged.connect(self.bump_revision)

    # --- edits -----------------------------------------------------------------------
    def push_atom(self, atom: Atom) -> None:
        self.undo_stack.push(AtomCommand(self, atom))

    def interrupt_edits(self) -> None:
        self.interrupted.emit()

    def notify_atom(self, atom: Atom) -> None:
        if isinstance(atom, PatchAtom) and atom.layer == "mask":
            self.maskChanged.emit(atom.bounds)
            return
        self.image_revision += 1
        self.imageChanged.emit()
        if not isinstance(atom, PatchAtom):  # whole-image replacement also replaced the mask
            self.maskChanged.emit(Bounds.of_array(self.document.mask))

    def replace_document(self, document: Document, original: Optional[np.ndarray] = None,
                         jobs: Iterable[dict[str, Any]] = (), prompts: Iterable[str] = ()) -> None:
        """A new current document; `original` (handed over, made read-only) defaults to a copy of its image."""
        self.document = document
        self.before_image = document.image
        if original is None:
            original = read_only_copy(document.image)
        else:
            original.setflags(write=False)
        self.original = original
        self.jobs = [dict(job) for job in jobs]
        self.prompts = [str(text) for text in prompts]
        self.image_revision += 1
        self.revision += 1
        self.undo_stack.clear()
        self.undo_stack.setClean()
        document.modified = False
        self.documentReplaced.emit()
        self.modifiedChanged.emit(False)

    def mark_saved(self) -> None:
        self.undo_stack.setClean()
        self.document.modified = False

    def mark_modified(self) -> None:
        """Unsaved without an undo step (e.g. work recovered after a crash)."""
        self.undo_stack.resetClean()
        self.document.modified = True

    def add_job(self, record: dict[str, Any]) -> None:
        self.jobs.append(dict(record))
        self.bump_revision()

    def add_prompt(self, text: str) -> None:
        if text:
            self.prompts.append(text)
            self.bump_revision()

    @Slot()
    def bump_revision(self) -> None:
        self.revision += 1

    @Slot(int)
    def _on_index_changed(self, _index: int) -> None:
        self.revision += 1

    @Slot(object)
    def _on_mask_changed(self, _bounds: object) -> None:
        self.revision += 1

    @property
    def modified(self) -> bool:
        return not self.undo_stack.isClean()

    @Slot(bool)
    def _on_clean_changed(self, clean: bool) -> None:
        self.document.modified = not clean
        self.modifiedChanged.emit(not clean)


def read_only_copy(array: np.ndarray) -> np.ndarray:
    """A private copy nobody can edit in place (so the autosaver may share it without copying)."""
    copy = np.array(array, copy=True)
    copy.setflags(write=False)
    return copy
