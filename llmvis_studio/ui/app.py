"""Entry points for __main__.py: build the window, show errors as messages, take a screenshot."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Optional

from PySide6.QtCore import QSettings, QThread
from PySide6.QtWidgets import QApplication, QMessageBox

from ..catalog import Catalog
from ..core.errors import StudioError
from ..worker.client import EngineClient
from .main_window import APP_NAME, MainWindow

log = logging.getLogger(__name__)


def build_main_window(
    client: EngineClient,
    catalog: Catalog,
    image_path: Optional[Path | str] = None,
    settings: Optional[QSettings] = None,
    device: str = "auto",
    offer_recovery: bool = False,
    trainer=None,
    error_hook: bool = False,
) -> MainWindow:
    """A ready-to-show MainWindow; the caller owns the client and shuts it down after app.exec().

    With offer_recovery (the interactive start, never --screenshot) the window is shown and, if an
    earlier run left unsaved work behind, the user is asked whether to recover it; recovered work
    takes the place of `image_path`. With error_hook the error hook is installed before either, so
    a failure while recovering or opening is a message, not a traceback on the terminal.
    """
    window = MainWindow(client, catalog, settings=settings, device=device, trainer=trainer)
    if error_hook:
        install_error_hook(window)
    if offer_recovery:
        window.show()  # the question needs its window on screen
        if window.offer_recovery():
            return window
    if image_path is not None:
        window.open_path(image_path)
    return window


def save_screenshot(window: MainWindow, path: Path | str) -> bool:
    """Show the window, let it lay out and paint, fit the image, then save what it looks like."""
    window.show()
    app = QApplication.instance()
    for _ in range(3):  # layout, then paint
        app.processEvents()
    window.canvas.fit()
    app.processEvents()
    return window.grab().save(str(path))


def install_error_hook(window: MainWindow) -> None:
    """Unexpected exceptions (e.g. in a slot) become a plain message; the traceback goes to the log."""
    showing = [False]  # a dialog's own event loop must not stack a second one on a repeating error

    def hook(exc_type, exc, traceback) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, traceback)
            return
        log.error("Unhandled error", exc_info=(exc_type, exc, traceback))
        app = QApplication.instance()
        if showing[0] or app is None or QThread.currentThread() is not app.thread():
            return
        message = (
            exc.user_message
            if isinstance(exc, StudioError)
            else (f"Something went wrong ({exc_type.__name__}). The details are in the log file.")
        )
        showing[0] = True
        try:
            QMessageBox.critical(window, APP_NAME, message)
        finally:
            showing[0] = False

    sys.excepthook = hook
