"""Run a typed prompt: route it on the worker, show what was understood, then run it or ask.

    Run with text → EngineClient.route(text) (worker thread) → promptRouted →
      op "none"            → a friendly "not an edit" message, nothing runs
      ask (unsure)         → the top choices as buttons; the one picked runs
      op no model can do   → a message naming the op, nothing runs (or: not in this build, for ops the
                             router knows but this build lacks, e.g. colourize while it is being built)
      otherwise            → the panel shows the op (style, scale) and `runRouted(routing, op)` fires: the
                             request is built from that routing, not read back from the panel's widgets
    routeFailed (e.g. no text encoder installed) → `runChosen`: the operation chosen in the list runs.

The client's signals are re-emitted in the GUI thread and connect only to @Slot methods here.
Also keeps the prompt history: this document's prompts and the last 50 of past sessions (QSettings).
"""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QObject, QSettings, Signal, Slot

from ..core.requests import PromptRouting
from ..worker.client import EngineClient
from .document_model import DocumentModel
from .panels.prompt import PromptPanel
from .panels.prompt_extras import (
    NOT_AN_EDIT,
    PromptHistory,
    cannot_text,
    choices_text,
    in_this_build,
    op_label,
    routing_summary,
)


class PromptRoutingController(QObject):
    runChosen = Signal()  # run the operation chosen in the panel's list
    runRouted = Signal(object, str)  # PromptRouting, the op to run (the routed one or the choice picked)
    statusMessage = Signal(str)

    def __init__(
        self,
        client: EngineClient,
        panel: PromptPanel,
        doc: DocumentModel,
        settings: QSettings,
        parent: Optional[QObject] = None,
    ) -> None:
        super().__init__(parent)
        self.client = client
        self.panel = panel
        self.doc = doc
        self.history = PromptHistory(settings)
        self.pending: Optional[int] = None  # the route() request we wait for
        self.waiting_choice: Optional[PromptRouting] = None  # an unsure routing whose choices are shown
        self.pending_then: Optional[tuple[str, str]] = None  # (op running now, op to select after it)
        client.promptRouted.connect(self.on_routed)
        client.routeFailed.connect(self.on_route_failed)
        panel.choiceChosen.connect(self.on_choice)
        panel.historyClearRequested.connect(self.on_clear_history)
        doc.documentReplaced.connect(self.refresh_history)
        doc.documentReplaced.connect(self.cancel)  # an answer for the old picture must not run on the new
        self.refresh_history()

    @property
    def routing_in_flight(self) -> bool:
        return self.pending is not None

    # --- routing ---------------------------------------------------------------------
    def start(self, text: str) -> int:
        """Route `text` on the worker; the panel waits (Run disabled) until the answer."""
        self.waiting_choice = None
        self.panel.clear_choices()
        self.pending = self.client.route(text)
        self.panel.set_busy(True)
        self.panel.set_progress(0.0, "Understanding the prompt…")
        return self.pending

    @Slot()
    def cancel(self) -> None:
        if self.pending is not None:
            self.pending = None
            self.panel.set_busy(False)
            self.panel.show_understood("")

    def _take(self, request_id: int) -> bool:
        if request_id != self.pending:
            return False  # cancelled, or an older request
        self.pending = None
        self.panel.set_busy(False)
        return True

    @Slot(int, object)
    def on_routed(self, request_id: int, routing: PromptRouting) -> None:
        if not self._take(request_id):
            return
        if routing.op == "none":
            self.panel.show_understood(NOT_AN_EDIT)
            self.statusMessage.emit("Not an edit: nothing was run.")
        elif routing.ask:
            self.waiting_choice = routing
            self.panel.show_understood(choices_text(routing))
            self.panel.show_choices(
                [(op, score, self.panel.can_run(op)) for op, score in routing.alternatives if op != "none"]
            )
            self.statusMessage.emit("Not sure what the prompt asks for: pick one of the choices.")
        else:
            self.run(routing, routing.op)

    @Slot(int, str)
    def on_route_failed(self, request_id: int, message: str) -> None:
        if not self._take(request_id):
            return
        chosen = op_label(self.panel.op or "")
        self.panel.show_understood(f"The prompt could not be understood; running {chosen} as chosen in the list.")
        # `message` (and its detail) already reached the log and the status bar through core.notify
        self.runChosen.emit()

    @Slot(str)
    def on_choice(self, op: str) -> None:
        routing, self.waiting_choice = self.waiting_choice, None
        self.panel.clear_choices()
        if routing is not None:
            self.run(routing, op)

    def run(self, routing: PromptRouting, op: str) -> None:
        if not self.panel.can_run(op):
            self.panel.show_understood(cannot_text(routing, op))
            self.statusMessage.emit(
                f"{op_label(op)} is not available in this build."
                if not in_this_build(op)
                else f"No installed model can {op} yet."
            )
            return
        self.panel.show_routing(routing, op)
        # "remove the date stamp": detect-text first, then the fill; the found mask is shown for review before it
        self.pending_then = (op, routing.then) if routing.then and op == routing.op else None
        style = self.panel.style_name() if op == "stylize" and not routing.style else None
        self.panel.show_understood(routing_summary(routing, op, style=style))
        self.runRouted.emit(routing, op)

    @Slot(str, bool)
    def on_job_ended(self, op: str, applied: bool) -> None:
        """After the first half of a two-step prompt, select the second and say how to run it."""
        pending, self.pending_then = self.pending_then, None
        if pending is None or pending[0] != op or not applied:
            return
        then = pending[1]
        if not self.panel.can_run(then):
            return
        self.panel.select_op(then)
        self.panel.show_understood(f"{op_label(op)} done: check the mask, then press Run to {op_label(then).lower()}.")
        self.statusMessage.emit(f"Next: {op_label(then)} — press Run to fill what was found.")

    # --- history ---------------------------------------------------------------------
    def remember(self, text: str) -> None:
        """A prompt that ran (already in the document's list): also keep it for later sessions."""
        self.history.add(text)
        self.refresh_history()

    @Slot()
    def refresh_history(self) -> None:
        self.panel.set_history(self.history.merged(self.doc.prompts))

    @Slot()
    def on_clear_history(self) -> None:
        self.history.clear()
        self.refresh_history()
        self.statusMessage.emit("Saved prompts cleared (this picture's own prompts stay in its project).")
