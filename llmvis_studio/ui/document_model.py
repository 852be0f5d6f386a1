"""The open Document, its QUndoStack, and signals that say which part changed.

Every edit goes through `push_atom`: the caller has already changed the document, and the atom
(core/history.py) records a bounding-box before/after patch. Atoms are idempotent, so the
QUndoStack's automatic first redo() just rewrites the same pixels.

Besides the document the model keeps what a project file needs: the original image (as first
loaded, read-only), the history of applied jobs and the prompts submitted, and a `revision`
that bumps on every change so the autosaver knows whether there is anything new to write.

A job is one `JobCommand` (its image atom plus the mask clearing that follows a masked job), so
one Ctrl+Z brings back both the picture and the mask. `jobs` is read from the undo stack: a job
that was undone (or never applied, e.g. cancelled) is not in the history a project saves.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Optional

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QUndoCommand, QUndoStack

from ..core.document import Document
from ..core.geometry import Bounds
from ..core.hint_layer import HintLayer
from ..core.history import Atom, PatchAtom


class AtomCommand(QUndoCommand):
    """One undo step wrapping one history atom."""

    def __init__(self, doc: DocumentModel, atom: Atom) -> None:
        super().__init__(atom.label)
        self.doc = doc
        self.atom = atom

    def redo(self) -> None:
        self.atom.redo(self.doc.document)
        self.doc.notify_atom(self.atom)

    def undo(self) -> None:
        self.atom.undo(self.doc.document)
        self.doc.notify_atom(self.atom)


class JobCommand(QUndoCommand):
    """One undo step for one applied job: its atoms in order, and the record a project keeps."""

    def __init__(self, doc: DocumentModel, label: str, atoms: list[Atom], record: Optional[dict[str, Any]]):
        super().__init__(label)
        self.doc = doc
        self.atoms = atoms
        self.record = record

    def redo(self) -> None:
        for atom in self.atoms:
            atom.redo(self.doc.document)
            self.doc.notify_atom(atom)

    def undo(self) -> None:
        for atom in reversed(self.atoms):
            atom.undo(self.doc.document)
            self.doc.notify_atom(atom)


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
        self.loaded_jobs: list[dict[str, Any]] = []  # jobs a project brought with it (no undo steps)
        self._commands: list[QUndoCommand] = []  # Python references to pushed commands (records live on them)
        self.last_job_mask: Optional[np.ndarray] = None  # the mask the last masked job used (Mask ▸ Reuse)
        self.prompts: list[str] = []  # texts submitted from the prompt panel
        self.hints = HintLayer()  # colour hints (Colourize panel); saved with the project
        self.revision = 0  # bumps on any change (pixels, mask, history, jobs, prompts)
        self.undo_stack.cleanChanged.connect(self._on_clean_changed)
        self.undo_stack.indexChanged.connect(self._on_index_changed)
        self.maskChanged.connect(self._on_mask_changed)
        self.imageChanged.connect(self.bump_revision)

    # --- edits -----------------------------------------------------------------------
    def push_atom(self, atom: Atom) -> None:
        self._push(AtomCommand(self, atom))

    def push_job(self, label: str, atoms: list[Atom], record: Optional[dict[str, Any]] = None) -> None:
        """One undo step for a job's atoms (already applied or not: atoms are idempotent)."""
        self._push(JobCommand(self, label, atoms, record))

    def push_command(self, command: QUndoCommand) -> None:
        """Any other undo step (e.g. a colour hint dot), kept in step with the job records."""
        self._push(command)

    def _push(self, command: QUndoCommand) -> None:
        self._commands = [c for c in self._commands[: self.undo_stack.index()]]  # the redo branch is dropped
        self._commands.append(command)
        self.undo_stack.push(command)

    @property
    def jobs(self) -> list[dict[str, Any]]:
        """Applied jobs: those a project brought, then each job command still on the undo side of the stack."""
        done = self._commands[: self.undo_stack.index()]
        return self.loaded_jobs + [c.record for c in done if isinstance(c, JobCommand) and c.record is not None]

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

    def replace_document(
        self,
        document: Document,
        original: Optional[np.ndarray] = None,
        jobs: Iterable[dict[str, Any]] = (),
        prompts: Iterable[str] = (),
        hints: Optional[np.ndarray] = None,
    ) -> None:
        """A new current document; `original` (handed over, made read-only) defaults to a copy of its image."""
        self.document = document
        self.before_image = document.image
        if original is None:
            original = read_only_copy(document.image)
        else:
            original.setflags(write=False)
        self.original = original
        self.loaded_jobs = [dict(job) for job in jobs]
        self.last_job_mask = None
        self.prompts = [str(text) for text in prompts]
        self.hints.rgba = hints if hints is not None and hints.shape[:2] == document.image.shape[:2] else None
        self.image_revision += 1
        self.revision += 1
        self.undo_stack.clear()
        self._commands = []
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
