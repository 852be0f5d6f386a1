"""Atomic file writes: write a temp file beside the target, fsync, then rename over it.

A crash, a kill or a full disk leaves either the old file or the new one, never half of one, and
never costs the last good backup. Design choices (issue 24):

- Order: the new file is written and fsynced under a temp name first; only then is the backup
  rotated and the temp renamed over the target. Whatever fails before the final rename leaves the
  target (and, before the rotation, its backup) exactly as they were, and the message says so.
- Backups: `NAME~` is made as a hard link to the file being replaced, under a temp name, then
  renamed over the old `NAME~`. That costs no disk space, so a full disk cannot truncate it. Where
  hard links are not supported (FAT, some network shares) the file is copied to a temp name,
  after checking that the copy fits, and renamed the same way.
- Free space: an encoded size is unknown until it is encoded (a flat PNG is a thousand times
  smaller than a noisy one), so the check before writing refuses only a disk with less than
  MIN_FREE_BYTES free; running out of space later is caught (ENOSPC) and reported the same way.
- Temp names: `.NAME.llmvis-<pid>-<random>.part`, created O_EXCL with mode 0666 so the user's
  umask applies (0644 under umask 022). Replacing a file keeps its mode (and owner, if allowed).
  A temp file whose owner process is gone is stale: it is removed by the next write into its
  folder (at most every CLEAN_EVERY_S seconds per folder) and by `batch` at start. A temp file of
  a live process is never touched; one untouched for STALE_AFTER_S is taken as stale even if its
  pid is alive again (pids are reused). Pids of another host or pid namespace writing the same
  folder cannot be told apart; such setups share a folder at their own risk.
- Write-protected targets (no owner write bit, or not writable for this user) are refused unless
  the caller passes replace_protected: the CLI's --overwrite, or the editor after asking.
- Messages name the cause: disk full (with the free space), read-only file system, permission.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import secrets
import shutil
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Optional

from ..core.errors import ImageSaveError

log = logging.getLogger(__name__)

TEMP_GLOB = ".*.llmvis-*.part"
_TEMP_NAME = re.compile(r"^\..*\.llmvis-(?P<pid>\d+)-[0-9a-f]+\.part$", re.DOTALL)
MIN_FREE_BYTES = 1 << 20  # refuse to start a write on a disk with less than this free
CLEAN_EVERY_S = 30.0  # a folder is scanned for stale temp files at most this often per process
STALE_AFTER_S = 24 * 3600.0  # a temp file untouched this long is stale whoever owns its pid
_MAX_NAME_IN_TEMP = 180  # keeps `.NAME.llmvis-pid-hex.part` under the usual 255-byte name limit

_NO_SPACE = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
_cleaned_at: dict[str, float] = {}
_clean_lock = threading.Lock()


class WriteProtectedError(ImageSaveError):
    """The target exists and is write-protected; the caller may ask and retry with replace_protected."""


# --- temp files -------------------------------------------------------------------------------
def temp_path_for(target: Path) -> Path:
    token = secrets.token_hex(4)
    return target.with_name(f".{target.name[:_MAX_NAME_IN_TEMP]}.llmvis-{os.getpid()}-{token}.part")


def owner_pid(path: Path) -> Optional[int]:
    """The pid in one of our temp names, or None for any other file."""
    match = _TEMP_NAME.match(path.name)
    return int(match.group("pid")) if match else None


def process_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    except OSError:
        return True  # unknown: keep the file
    return True


def is_stale(path: Path, now: Optional[float] = None) -> bool:
    pid = owner_pid(path)
    if pid is None or pid == os.getpid():
        return False  # not ours, or written by this process right now (e.g. the autosave thread)
    if not process_alive(pid):
        return True
    try:
        age = (now or time.time()) - path.stat().st_mtime
    except OSError:
        return False
    return age > STALE_AFTER_S


def remove_stale_temp_files(folder: Path, recursive: bool = False) -> int:
    """Remove temp files whose writer is gone; live writers' files are left alone. Returns the count."""
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    pattern = "**/" + TEMP_GLOB if recursive else TEMP_GLOB
    removed = 0
    now = time.time()
    try:
        candidates = list(folder.glob(pattern))
    except OSError as exc:
        log.info("Cannot list %s for stale temp files: %r", folder, exc)
        return 0
    for path in candidates:
        if is_stale(path, now):
            try:
                path.unlink()
                removed += 1
            except OSError as exc:  # already gone, or not ours to remove
                log.info("Could not remove stale %s: %r", path, exc)
    if removed:
        log.info("Removed %d stale temp file(s) in %s", removed, folder)
    return removed


def _clean_now_and_then(folder: Path) -> None:
    try:
        key = str(folder.resolve())
    except (OSError, RuntimeError):  # a symlink loop: the write itself will say what is wrong
        return
    now = time.monotonic()
    with _clean_lock:
        if now - _cleaned_at.get(key, -CLEAN_EVERY_S) < CLEAN_EVERY_S:
            return
        _cleaned_at[key] = now
    remove_stale_temp_files(folder)


def _create_temp(target: Path) -> Path:
    """An empty, new temp file beside target; mode 0666 & ~umask like any new file."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(8):
        temp = temp_path_for(target)
        try:
            os.close(os.open(temp, flags, 0o666))
            return temp
        except FileExistsError:
            continue
    raise OSError(errno.EEXIST, "could not pick a free temp name", str(target.parent))


# --- permissions --------------------------------------------------------------------------------
def is_write_protected(path: Path) -> bool:
    """True for an existing file without its owner write bit, or one this user may not write.

    The mode bit is checked too because root may write anything, yet a 0444 file is still a
    user's "do not touch"."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    if not stat.S_ISREG(mode) or _on_read_only_file_system(path):
        return False  # a read-only file system is reported as such when the write fails
    return not (mode & stat.S_IWUSR) or not os.access(path, os.W_OK)


def _on_read_only_file_system(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & getattr(os, "ST_RDONLY", 1))
    except (OSError, AttributeError):  # no statvfs (Windows)
        return False


def _take_over_mode(temp: Path, existing: os.stat_result) -> None:
    os.chmod(temp, stat.S_IMODE(existing.st_mode))
    if hasattr(os, "chown"):
        try:
            current = os.stat(temp)
            if (current.st_uid, current.st_gid) != (existing.st_uid, existing.st_gid):
                os.chown(temp, existing.st_uid, existing.st_gid)
        except OSError:  # only root may give a file away; the mode is what matters
            pass


def _fsync_file(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _fsync_folder(folder: Path) -> None:
    if os.name != "posix":
        return
    try:
        _fsync_file(folder)
    except OSError as exc:  # the rename happened; durability is best effort
        log.warning("fsync of %s failed: %r", folder, exc)


# --- free space and messages --------------------------------------------------------------------
def free_bytes(folder: Path) -> Optional[int]:
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return None


def _size_text(count: Optional[int]) -> str:
    if count is None:
        return "an unknown amount"
    if count < 1 << 20:
        return f"{count / 1024:.0f} KB"
    return f"{count / (1 << 20):.1f} MB"


def describe_os_error(exc: OSError, folder: Path) -> str:
    """The cause of a failed write in plain words."""
    code = exc.errno
    if code in _NO_SPACE:
        what = "the disk is full" if code == errno.ENOSPC else "the disk quota is used up"
        return f"{what} (No space left on device; {_size_text(free_bytes(folder))} free in {folder})"
    if code == errno.EROFS:
        return f"the folder {folder} is on a read-only file system"
    if code in (errno.EACCES, errno.EPERM):
        return f"permission denied: this user may not write in the folder {folder}"
    if code == errno.EFBIG:
        return "the file is too large for this file system"
    if code == errno.ENAMETOOLONG:
        return "the file name is too long"
    return exc.strerror or str(exc)


def _what_is_left(target: Path, existed: bool, had_backup: bool, backup_rotated: bool) -> str:
    name = target.name
    if backup_rotated:
        return f"{name} is unchanged; its backup {name}~ now holds a copy of it."
    if existed and had_backup:
        return f"{name} and its backup {name}~ are unchanged."
    if existed:
        return f"{name} is unchanged."
    return "Nothing was written."


def _check_free_space(folder: Path, need: int) -> None:
    """Refuse before writing; raised as ENOSPC so the message is the same as a write that ran out."""
    free = free_bytes(folder)
    if free is not None and free < need:
        raise OSError(errno.ENOSPC, f"{_size_text(free)} free, {_size_text(need)} needed", str(folder))


# --- the write ------------------------------------------------------------------------------------
def write_atomically(
    target: Path, write: Callable[[Path], object], keep_backup: bool = True, replace_protected: bool = False
) -> None:
    """Call `write(temp_path)`, then move the temp file onto `target`.

    With keep_backup an existing target becomes `target~` (the previous backup is replaced only
    once the new one is complete). A write-protected target raises WriteProtectedError unless
    replace_protected. Every failure is an ImageSaveError that names the cause and what is left.
    """
    target = Path(target)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise ImageSaveError(f"Cannot save: the folder {folder} does not exist.")
    if target.is_dir():
        raise ImageSaveError(f"Cannot save: {target} is a folder.")
    existing = _stat_or_none(target)
    if existing is not None and not replace_protected and is_write_protected(target):
        raise WriteProtectedError(f"{target.name} is write-protected; it was not replaced.")
    backup = target.with_name(target.name + "~")
    had_backup = backup.exists()
    _clean_now_and_then(folder)
    state = {"rotated": False}
    temp: Optional[Path] = None
    try:
        _check_free_space(folder, MIN_FREE_BYTES)
        temp = _create_temp(target)
        write(temp)
        _fsync_file(temp)
        if existing is not None:
            _take_over_mode(temp, existing)
        if keep_backup and existing is not None:
            _rotate_backup(target, backup, existing.st_size)
            state["rotated"] = True
        os.replace(temp, target)
    except ImageSaveError as exc:
        _remove(temp)
        cause = exc.__cause__ if isinstance(exc.__cause__, OSError) else None
        if cause is None or cause.errno is None:  # an encoder's own complaint: keep it, say what is left
            left = _what_is_left(target, existing is not None, had_backup, state["rotated"])
            raise ImageSaveError(f"{exc.user_message.rstrip('.')}. {left}", detail=exc.detail) from exc
        raise _save_error(target, cause, existing is not None, had_backup, state["rotated"]) from exc
    except OSError as exc:
        _remove(temp)
        raise _save_error(target, exc, existing is not None, had_backup, state["rotated"]) from exc
    except BaseException:
        _remove(temp)
        raise
    _fsync_folder(folder)


def _rotate_backup(target: Path, backup: Path, size: int) -> None:
    """Make `backup` the current target without ever leaving a partial backup."""
    if _same_file(target, backup):
        # A save killed between this step and its final rename leaves NAME~ as a hard link to NAME: it already is the
        # backup. Linking again would not help either: rename() onto another link of the same file does nothing and
        # would leave the temp name behind.
        return
    temp = temp_path_for(backup)
    try:
        try:
            os.link(target, temp)  # no data copied: a full disk cannot cut it short
        except OSError as exc:
            if exc.errno in _NO_SPACE | {errno.EROFS, errno.EACCES}:
                raise
            log.info("No hard link for the backup of %s (%r); copying", target, exc)
            _check_free_space(target.parent, size + MIN_FREE_BYTES)
            _copy_to_temp(target, temp)
        os.replace(temp, backup)
    except BaseException:
        _remove(temp)
        raise


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # b does not exist yet (the first backup), or cannot be checked: rotate as usual
        return False


def _copy_to_temp(source: Path, temp: Path) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    os.close(os.open(temp, flags, 0o666))
    shutil.copyfile(source, temp)
    shutil.copystat(source, temp)
    _fsync_file(temp)


def _save_error(target: Path, exc: OSError, existed: bool, had_backup: bool, rotated: bool) -> ImageSaveError:
    cause = describe_os_error(exc, target.parent if str(target.parent) else Path("."))
    left = _what_is_left(target, existed, had_backup, rotated)
    return ImageSaveError(f"Could not save {target.name}: {cause}. {left}", detail=repr(exc))


def _stat_or_none(path: Path) -> Optional[os.stat_result]:
    try:
        return os.stat(path)
    except OSError:
        return None


def _remove(path: Optional[Path]) -> None:
    if path is None:
        return
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        log.warning("Could not remove the temp file %s: %r", path, exc)
