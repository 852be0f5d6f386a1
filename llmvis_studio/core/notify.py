"""One Qt-free path for failures and notes: the detail goes to the log file, the one-line message to whoever
shows it (the editor's status bar or a dialog; nobody in the CLI, which prints its own `error:` line).

    worker / autosave / training / error hook → notify(message, detail, ...) → log file (with the detail)
                                                                             → every subscriber (ui/notices.py)

napari's `utils/notifications.py` has the same shape. Subscribers are held weakly when they are bound methods,
so a closed window's bridge drops out by itself; a subscriber that raises is logged and dropped, never allowed to
break the code that reported the failure.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

log = logging.getLogger("llmvis_studio.notify")
LOG_NAME = "llmvis.log"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
TITLES = {"job": "The job failed", "training": "Training failed", "autosave": "Autosave failed"}
LEVELS = {"info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


@dataclass(frozen=True)
class Notice:
    message: str  # one plain line for the user, never a traceback
    detail: str = ""  # traceback or technical detail: the log file only
    severity: str = "error"  # info | warning | error
    source: str = ""  # who reports: job, prompt, training, autosave, unhandled...
    dialog: bool = False  # True: the user must see it (a dialog); False: a status-bar note is enough

    @property
    def title(self) -> str:
        """A dialog title: "The job failed", "Training failed"..."""
        return TITLES.get(self.source, "LLMVis Studio")


Subscriber = Callable[[Notice], None]
_Ref = Union["weakref.WeakMethod[Subscriber]", Callable[[], Optional[Subscriber]]]


class NotificationHub:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: list[_Ref] = []

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Call `subscriber(notice)` for every notice from now on; returns the function that unsubscribes."""
        ref: _Ref
        if hasattr(subscriber, "__self__") and hasattr(subscriber, "__func__"):
            ref = weakref.WeakMethod(subscriber)
        else:
            ref = lambda s=subscriber: s  # plain functions are held strongly
        with self._lock:
            self._subscribers.append(ref)
        return lambda: self._drop(ref)

    def _drop(self, ref: _Ref) -> None:
        with self._lock:
            if ref in self._subscribers:
                self._subscribers.remove(ref)

    def notify(self, notice: Notice) -> Notice:
        level = LEVELS.get(notice.severity, logging.ERROR)
        if notice.detail:
            log.log(level, "%s: %s\n%s", notice.source or "notice", notice.message, notice.detail.rstrip())
        else:
            log.log(level, "%s: %s", notice.source or "notice", notice.message)
        with self._lock:
            refs = list(self._subscribers)
        for ref in refs:
            subscriber = ref()
            if subscriber is None:
                self._drop(ref)
                continue
            try:
                subscriber(notice)
            except Exception:  # a broken display must not break the reporter
                log.exception("a notice subscriber failed; dropped")
                self._drop(ref)
        return notice


hub = NotificationHub()


def notify(
    message: str, detail: str = "", *, source: str = "", severity: str = "error", dialog: bool = False
) -> Notice:
    """Log `message` (with `detail`) and pass it to every subscriber; the Notice is returned."""
    return hub.notify(Notice(message, detail, severity, source, dialog))


def attach_log_file(folder: Path, logger_name: str = "llmvis_studio") -> Optional[Path]:
    """Append the package's log records (INFO and up) to FOLDER/llmvis.log; None when the folder cannot be
    written (the app runs on, without a log file)."""
    root = logging.getLogger(logger_name)
    path = Path(folder) / LOG_NAME
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.FileHandler(path, encoding="utf-8")
    except OSError:
        handler, path = logging.NullHandler(), None  # type: ignore[assignment]
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return path
