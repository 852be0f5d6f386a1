"""What the editor's helper controllers (defect review, Restore Photo, smart masks, damage mask, colourize) may use
of the main window: the `Editor` protocol, and `submit_op` for their whole-image jobs.

They type against this small surface instead of importing main_window.py, which imports them: that would be an
import circle, and it would invite reaching into any widget of the window.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional, Protocol

from ..catalog import Catalog
from ..core.document import Document
from ..core.errors import StudioError
from ..core.requests import EditRequest
from .document_model import DocumentModel
from .jobs import JobController
from .panels.prompt import PromptPanel
from .panels.tools_panel import ToolsPanel


class Editor(Protocol):
    catalog: Catalog
    doc: DocumentModel
    jobs: JobController
    prompt_panel: PromptPanel
    tools_panel: ToolsPanel

    @property
    def document(self) -> Document: ...

    def show_status(self, message: str) -> None: ...

    def show_error(self, title: str, error: Exception) -> None: ...

    def show_split(self, percent: int) -> None: ...


def build_op_request(editor: Editor, op: str, params: Optional[Mapping[str, Any]] = None) -> EditRequest:
    """A frozen request for `op` on the whole current image, on the Edit panel's device."""
    return EditRequest.build(op, editor.document.image, params=dict(params or {}), device=editor.prompt_panel.device())


def submit_op(
    editor: Editor, op: str, params: Optional[Mapping[str, Any]] = None, error_title: str = "Cannot start the job"
) -> Optional[int]:
    """Queue `op` on the whole image as an ordinary job; None (and the reason shown) when it did not start."""
    try:
        request = build_op_request(editor, op, params)
    except StudioError as error:
        editor.show_error(error_title, error)
        return None
    return editor.jobs.submit(request)
