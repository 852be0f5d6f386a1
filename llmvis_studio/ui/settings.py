"""Where the UI keeps its preferences, and the recent-files list.

LLMVIS_SETTINGS names an INI file to use instead of the platform store (tests point it at a
temporary folder so they never read or write a real user's settings).
"""
from __future__ import annotations

import math
import os
from pathlib import Path

from PySide6.QtCore import QSettings

ORGANISATION, APPLICATION = "LLMVis", "LLMVis Studio"
RECENT_KEY = "recentFiles"
MAX_RECENT = 10
AUTOSAVE_KEY = "autosave/minutes"
DEFAULT_AUTOSAVE_MINUTES = 3.0


def make_settings() -> QSettings:
    override = os.environ.get("LLMVIS_SETTINGS")
    if override:
        return QSettings(override, QSettings.IniFormat)
    return QSettings(QSettings.IniFormat, QSettings.UserScope, ORGANISATION, APPLICATION)


def autosave_minutes(settings: QSettings) -> float:
    """Minutes between autosaves (0 = off); a missing or unreadable value gives the default."""
    try:
        minutes = float(settings.value(AUTOSAVE_KEY, DEFAULT_AUTOSAVE_MINUTES))
    except (TypeError, ValueError):
        return DEFAULT_AUTOSAVE_MINUTES
    return minutes if math.isfinite(minutes) and minutes >= 0 else DEFAULT_AUTOSAVE_MINUTES


class RecentFiles:
    def __init__(self, settings: QSettings) -> None:
        self.settings = settings

    def paths(self) -> list[str]:
        value = self.settings.value(RECENT_KEY, [])
        if isinstance(value, str):  # INI stores a one-element list as a plain string
            value = [value]
        return [str(item) for item in (value or [])]

    def add(self, path: Path | str) -> None:
        path = str(Path(path).resolve())
        paths = [path] + [p for p in self.paths() if p != path]
        self.settings.setValue(RECENT_KEY, paths[:MAX_RECENT])
        self.settings.sync()

    def remove(self, path: str) -> None:
        self.settings.setValue(RECENT_KEY, [p for p in self.paths() if p != path])
        self.settings.sync()
