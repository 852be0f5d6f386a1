"""Atomic file writes: write a temp file beside the target, fsync, then rename over it.

A crash or a full disk leaves either the old file or the new one, never half of one.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable

from ..core.errors import ImageSaveError


def write_atomically(target: Path, write: Callable[[Path], None], keep_backup: bool = True) -> None:
    """Call `write(temp_path)`, then move the temp file onto `target`.

    With keep_backup an existing target is first copied to `target~`.
    """
    target = Path(target)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise ImageSaveError(f"Cannot save: the folder {folder} does not exist.")
    handle, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=folder)
    os.close(handle)
    temp = Path(temp_name)
    try:
        write(temp)
        with open(temp, "rb+") as stream:
            os.fsync(stream.fileno())
        if keep_backup and target.exists():
            shutil.copy2(target, target.with_name(target.name + "~"))
        os.replace(temp, target)
        _fsync_folder(folder)
    except ImageSaveError:
        temp.unlink(missing_ok=True)
        raise
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise ImageSaveError(f"Could not save {target.name}: {exc.strerror or exc}. The original is unchanged.",
                             detail=repr(exc)) from exc
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _fsync_folder(folder: Path) -> None:
    if os.name != "posix":
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
