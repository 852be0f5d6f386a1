"""The open Document, its QUndoStack, and signals that say which part changed.

Every edit goes through `push_atom`: the caller has already changed the document, and the atom
(core/history.py) records a bounding-box before/after patch. Atoms are idempotent, so the
QUndoStack's automatic first redo() just rewrites the same pixels.
"""
from __future__ import annotations

from typing import Optional

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
        self.undo_stack.cleanChanged.connect(self._on_clean_changed)

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

    def replace_document(self, document: Document) -> None:
        self.document = document
        self.before_image = document.image
        self.image_revision += 1
        self.undo_stack.clear()
        self.undo_stack.setClean()
        document.modified = False
        self.documentReplaced.emit()
        self.modifiedChanged.emit(False)

    def mark_saved(self) -> None:
        self.undo_stack.setClean()
        self.document.modified = False

    @property
    def modified(self) -> bool:
        return not self.undo_stack.isClean()

    @Slot(bool)
    def _on_clean_changed(self, clean: bool) -> None:
        self.document.modified = not clean
        self.modifiedChanged.emit(not clean)
