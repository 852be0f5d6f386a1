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


def stored_list(settings: QSettings, key: str) -> list[str]:
    """The string list under `key` (empty when missing)."""
    value = settings.value(key, [])
    if isinstance(value, str):  # INI stores a one-element list as a plain string
        value = [value]
    return [str(item) for item in (value or [])]


def store_first(settings: QSettings, key: str, item: str, items: list[str], limit: int) -> None:
    """Save `item` followed by `items` without it, at most `limit` entries, most recent first."""
    settings.setValue(key, ([item] + [p for p in items if p != item])[:limit])
    settings.sync()


class RecentFiles:
    def __init__(self, settings: QSettings) -> None:
        self.settings = settings

    def paths(self) -> list[str]:
        return stored_list(self.settings, RECENT_KEY)

    def add(self, path: Path | str) -> None:
        store_first(self.settings, RECENT_KEY, str(Path(path).resolve()), self.paths(), MAX_RECENT)

    def remove(self, path: str) -> None:
        self.settings.setValue(RECENT_KEY, [p for p in self.paths() if p != path])
        self.settings.sync()
