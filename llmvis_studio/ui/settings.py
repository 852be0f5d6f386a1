"""Where the UI keeps its preferences, and the recent-files list.

LLMVIS_SETTINGS names an INI file to use instead of the platform store (tests point it at a
temporary folder so they never read or write a real user's settings).
"""
from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QSettings

ORGANISATION, APPLICATION = "LLMVis", "LLMVis Studio"
RECENT_KEY = "recentFiles"
MAX_RECENT = 10


def make_settings() -> QSettings:
    override = os.environ.get("LLMVIS_SETTINGS")
    if override:
        return QSettings(override, QSettings.IniFormat)
    return QSettings(QSettings.IniFormat, QSettings.UserScope, ORGANISATION, APPLICATION)


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
