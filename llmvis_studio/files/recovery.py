"""The crash-recovery copy of the open project: `user_data_dir()/recovery/autosave.llmvis`
plus `autosave.json` beside it (what was being edited, and when).

No Qt here: the UI's autosaver calls `write_recovery` from a background Python thread.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Optional

from ..core.errors import ImageSaveError
from ..paths import user_data_dir
from .atomic import is_stale, owner_pid, write_atomically
from .project import Project, save_project

log = logging.getLogger(__name__)

PROJECT_NAME = "autosave.llmvis"
INFO_NAME = "autosave.json"


def recovery_dir() -> Path:
    return user_data_dir() / "recovery"


@dataclass(frozen=True)
class RecoveryInfo:
    project: Path  # the .llmvis file to load
    saved_at: datetime  # local time, aware
    source_path: Optional[str] = None  # the image the document came from
    project_path: Optional[str] = None  # the project file it was saved as, if any

    def when(self) -> str:
        return self.saved_at.strftime("%Y-%m-%d %H:%M")


def write_recovery(folder: Path, project: Project, project_path: Optional[Path] = None) -> None:
    """Write the project, then the small JSON; raises ImageSaveError (the old copy stays intact)."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ImageSaveError(
            f"Cannot create the recovery folder {folder}: {exc.strerror or exc}.", detail=repr(exc)
        ) from exc
    save_project(folder / PROJECT_NAME, project, backup=False)
    source = project.document.path
    info = {
        "source_path": str(source) if source else None,
        "project_path": str(project_path) if project_path else None,
        "time": datetime.now().astimezone().isoformat(timespec="seconds"),
        "pid": os.getpid(),
    }
    text = json.dumps(info, indent=1)
    write_atomically(folder / INFO_NAME, lambda temp: temp.write_text(text, encoding="utf-8"), keep_backup=False)


def find_recovery(folder: Path) -> Optional[RecoveryInfo]:
    """The recovery copy left by an earlier run, or None. A missing or broken JSON is tolerated."""
    folder = Path(folder)
    project = folder / PROJECT_NAME
    if not project.is_file():
        return None
    info: dict = {}
    try:
        loaded = json.loads((folder / INFO_NAME).read_text(encoding="utf-8"))
        info = loaded if isinstance(loaded, dict) else {}
    except (OSError, ValueError) as exc:
        log.info("No usable %s (%r); using the file's time", INFO_NAME, exc)
    saved_at = _parse_time(info.get("time"))
    if saved_at is None:
        try:
            saved_at = datetime.fromtimestamp(project.stat().st_mtime).astimezone()
        except OSError:
            saved_at = datetime.now().astimezone()
    return RecoveryInfo(
        project, saved_at, _text_or_none(info.get("source_path")), _text_or_none(info.get("project_path"))
    )


def remove_recovery(folder: Path) -> None:
    """Delete the recovery copy and leftovers of interrupted writes; failures are only logged."""
    folder = Path(folder)
    names = [PROJECT_NAME, INFO_NAME]
    with contextlib.suppress(OSError):  # leftovers of this process's interrupted writes, and of dead processes'
        names += [p.name for p in folder.glob(".autosave.*.part") if owner_pid(p) == os.getpid() or is_stale(p)]
    for name in names:
        try:
            (folder / name).unlink(missing_ok=True)
        except OSError as exc:
            log.warning("Could not remove %s: %r", folder / name, exc)


def _parse_time(value: object) -> Optional[datetime]:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.astimezone()  # a naive time is taken as local


def _text_or_none(value: object) -> Optional[str]:
    return value if isinstance(value, str) and value else None
