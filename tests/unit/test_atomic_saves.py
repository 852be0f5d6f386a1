"""Saves under a full disk, read-only folders, umasks, write-protected files and stale temp files.

The disk-full and read-only cases run on a real small tmpfs when this machine may mount one (as
root in CI); the simulated ENOSPC tests run everywhere.
"""

import errno
import os
import stat
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from llmvis_studio.core.errors import ImageSaveError
from llmvis_studio.files import atomic, imageio, load_image, save_image
from llmvis_studio.files.atomic import WriteProtectedError, remove_stale_temp_files
from llmvis_studio.files.project import load_project, save_project
from tests.unit.test_project import make_project


def noisy(size: int, seed: int) -> np.ndarray:
    """Incompressible: the PNG is about as large as the pixels."""
    return np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)


def litter(folder):
    return [p.name for p in folder.iterdir() if p.name.endswith(".part")]


@pytest.fixture
def small_disk(tmp_path):
    """A 16 MB tmpfs; skipped where mounting is not allowed."""
    point = tmp_path / "disk"
    point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m,mode=0755", "tmpfs", str(point)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield point
    finally:
        subprocess.run(["umount", "-l", str(point)], check=False)


def fill_until_free(folder, free_bytes: int) -> None:
    """Take space with real data until about `free_bytes` remain."""
    with open(folder / "filler.bin", "ab") as stream:
        while True:
            room = atomic.free_bytes(folder) - free_bytes
            if room <= 0:
                break
            stream.write(b"\xa5" * min(room, 1 << 20))
            stream.flush()
            os.fsync(stream.fileno())


def saved_twice(folder):
    """good.png (second version) with good.png~ (first version) beside it."""
    target = folder / "good.png"
    save_image(target, noisy(1000, 1))
    save_image(target, noisy(1000, 2))
    return target, target.read_bytes(), (folder / "good.png~").read_bytes()


# --- disk full ---------------------------------------------------------------------------------
def test_disk_full_on_a_real_small_disk_keeps_the_file_and_its_backup(small_disk):
    target, current, backup = saved_twice(small_disk)
    fill_until_free(small_disk, 2 << 20)  # passes the 1 MB pre-check; the ~3 MB PNG cannot fit
    with pytest.raises(ImageSaveError) as caught:
        save_image(target, noisy(1000, 3))
    message = caught.value.user_message
    assert "disk is full" in message and "No space left" in message and "MB free in" in message
    assert "good.png and its backup good.png~ are unchanged" in message
    assert target.read_bytes() == current and (small_disk / "good.png~").read_bytes() == backup
    assert load_image(small_disk / "good.png~")[0].shape == (1000, 1000, 3), "the backup still loads"
    assert litter(small_disk) == []


def test_a_save_that_fits_keeps_a_whole_backup_even_when_a_backup_copy_would_not_fit(small_disk):
    """The case that used to truncate `~`: room for the new file, none for copying the old one."""
    target, current, _ = saved_twice(small_disk)
    fill_until_free(small_disk, 4 << 20)
    new = noisy(1000, 3)
    save_image(target, new)
    np.testing.assert_array_equal(load_image(target)[0], new)
    assert (small_disk / "good.png~").read_bytes() == current, "the backup is the previous version, whole"
    assert litter(small_disk) == []


def test_almost_full_disk_is_refused_before_writing(small_disk):
    target, current, backup = saved_twice(small_disk)
    fill_until_free(small_disk, 300 << 10)
    with pytest.raises(ImageSaveError, match=r"disk is full .*KB free in"):
        save_image(target, noisy(8, 3))
    assert target.read_bytes() == current and (small_disk / "good.png~").read_bytes() == backup
    assert litter(small_disk) == []


def test_backup_copy_that_cannot_fit_is_refused_where_there_are_no_hard_links(small_disk, monkeypatch):
    target, current, backup = saved_twice(small_disk)
    fill_until_free(small_disk, 4 << 20)  # the new ~3 MB file fits, a ~3 MB backup copy beside it does not

    def no_links(source, link):
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(atomic.os, "link", no_links)
    with pytest.raises(ImageSaveError, match="disk is full") as caught:
        save_image(target, noisy(1000, 3))
    assert "good.png and its backup good.png~ are unchanged" in caught.value.user_message
    assert target.read_bytes() == current and (small_disk / "good.png~").read_bytes() == backup
    assert litter(small_disk) == []


def test_read_only_file_system_is_named(small_disk):
    target, current, _ = saved_twice(small_disk)
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    with pytest.raises(ImageSaveError, match="read-only file system") as caught:
        save_image(target, noisy(8, 3))
    assert "unexpected" not in caught.value.user_message
    assert target.read_bytes() == current


def test_simulated_disk_full_mid_write_keeps_the_file_and_its_backup(tmp_path, monkeypatch):
    target = tmp_path / "good.png"
    save_image(target, noisy(64, 1))
    save_image(target, noisy(64, 2))
    current, backup = target.read_bytes(), (tmp_path / "good.png~").read_bytes()

    def half_then_full(self, fp, *args, **kwargs):
        with open(fp, "wb") as stream:
            stream.write(b"\x89PNG half")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", half_then_full)
    with pytest.raises(ImageSaveError) as caught:
        save_image(target, noisy(64, 3))
    assert "disk is full (No space left on device" in caught.value.user_message
    assert "good.png and its backup good.png~ are unchanged" in caught.value.user_message
    assert target.read_bytes() == current and (tmp_path / "good.png~").read_bytes() == backup
    assert litter(tmp_path) == []


def test_simulated_disk_full_during_a_backup_copy_keeps_the_old_backup(tmp_path, monkeypatch):
    target = tmp_path / "good.png"
    save_image(target, noisy(64, 1))
    save_image(target, noisy(64, 2))
    current, backup = target.read_bytes(), (tmp_path / "good.png~").read_bytes()
    monkeypatch.setattr(atomic.os, "link", lambda *a: (_ for _ in ()).throw(OSError(errno.EPERM, "no links")))

    def copy_half(source, destination):
        with open(destination, "wb") as stream:
            stream.write(Path(source).read_bytes()[:100])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.shutil, "copyfile", copy_half)
    with pytest.raises(ImageSaveError, match="disk is full"):
        save_image(target, noisy(64, 3))
    assert target.read_bytes() == current and (tmp_path / "good.png~").read_bytes() == backup
    assert litter(tmp_path) == []


def test_a_new_file_that_fails_says_nothing_was_written(tmp_path, monkeypatch):
    monkeypatch.setattr(atomic.os, "replace", lambda *a: (_ for _ in ()).throw(OSError(errno.ENOSPC, "full")))
    with pytest.raises(ImageSaveError, match="Nothing was written"):
        save_image(tmp_path / "new.png", noisy(8, 1))
    assert os.listdir(tmp_path) == []


def test_permission_denied_is_named(tmp_path, monkeypatch):
    real_open = os.open

    def refuse(path, *args, **kwargs):
        if str(path).endswith(".part"):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(atomic.os, "open", refuse)
    with pytest.raises(ImageSaveError, match=f"permission denied: this user may not write in the folder {tmp_path}"):
        save_image(tmp_path / "x.png", noisy(8, 1))


# --- modes -------------------------------------------------------------------------------------
@pytest.fixture
def umask():
    def set_to(value):
        os.umask(value)

    previous = os.umask(0o022)
    yield set_to
    os.umask(previous)


@pytest.mark.parametrize("mask,expected", [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_new_files_follow_the_umask(tmp_path, umask, mask, expected):
    umask(mask)
    save_image(tmp_path / "new.png", noisy(8, 1))
    save_project(tmp_path / "new.llmvis", make_project())
    assert stat.S_IMODE(os.stat(tmp_path / "new.png").st_mode) == expected
    assert stat.S_IMODE(os.stat(tmp_path / "new.llmvis").st_mode) == expected


@pytest.mark.parametrize("mode", [0o600, 0o664, 0o640])
def test_replacing_keeps_the_mode_and_the_backup_keeps_the_old_one(tmp_path, umask, mode):
    target = tmp_path / "kept.png"
    save_image(target, noisy(8, 1))
    os.chmod(target, mode)
    save_image(target, noisy(8, 2))
    assert stat.S_IMODE(os.stat(target).st_mode) == mode
    assert stat.S_IMODE(os.stat(tmp_path / "kept.png~").st_mode) == mode


def test_write_protected_files_are_refused_unless_asked(tmp_path, umask):
    target = tmp_path / "locked.png"
    save_image(target, noisy(8, 1))
    os.chmod(target, 0o444)
    before = target.read_bytes()
    with pytest.raises(WriteProtectedError, match="write-protected"):
        save_image(target, noisy(8, 2))
    with pytest.raises(WriteProtectedError):
        save_project(tmp_path / "locked.png", make_project())
    assert target.read_bytes() == before and litter(tmp_path) == []
    save_image(target, noisy(8, 2), replace_protected=True)
    assert target.read_bytes() != before
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o444, "still write-protected afterwards"


# --- temp files ----------------------------------------------------------------------------------
def test_temp_files_carry_the_pid(tmp_path, monkeypatch):
    names = []

    def spy(self, fp, *args, **kwargs):
        names.append(os.path.basename(fp))
        raise OSError(errno.EIO, "stop here")

    monkeypatch.setattr(Image.Image, "save", spy)
    with pytest.raises(ImageSaveError):
        save_image(tmp_path / "photo.png", noisy(8, 1))
    assert names and names[0].startswith(f".photo.png.llmvis-{os.getpid()}-") and names[0].endswith(".part")


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid  # gone; a reuse within the test is vanishingly unlikely


def test_stale_temp_files_go_and_live_ones_stay(tmp_path):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        files = {
            "dead": tmp_path / f".a.png.llmvis-{dead_pid()}-0badc0de.part",
            "live": tmp_path / f".b.png.llmvis-{sleeper.pid}-0badc0de.part",
            "mine": tmp_path / f".c.png.llmvis-{os.getpid()}-0badc0de.part",
            "foreign": tmp_path / ".d.png.somethingelse.part",
            "old_live": tmp_path / f".e.png.llmvis-{sleeper.pid}-00000001.part",
        }
        for path in files.values():
            path.write_bytes(b"x")
        week_ago = time.time() - 7 * 24 * 3600
        os.utime(files["old_live"], (week_ago, week_ago))
        (tmp_path / "sub").mkdir()
        nested = tmp_path / "sub" / f".f.png.llmvis-{dead_pid()}-0badc0de.part"
        nested.write_bytes(b"x")

        assert remove_stale_temp_files(tmp_path) == 2
        assert not files["dead"].exists() and not files["old_live"].exists()
        assert files["live"].exists() and files["mine"].exists() and files["foreign"].exists()
        assert nested.exists(), "only batch looks into sub-folders"
        assert remove_stale_temp_files(tmp_path, recursive=True) == 1 and not nested.exists()
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_save_cleans_stale_temp_files_in_its_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(atomic, "CLEAN_EVERY_S", 0.0)
    stale = tmp_path / f".old.png.llmvis-{dead_pid()}-{uuid.uuid4().hex[:8]}.part"
    stale.write_bytes(b"x" * 1000)
    save_image(tmp_path / "new.png", noisy(8, 1))
    assert not stale.exists()


def test_a_save_after_one_killed_past_its_backup_step_leaves_no_temp_file(tmp_path):
    """A save killed after NAME~ became a link to NAME (before its final rename) leaves the two as one file. The next
    save keeps that as the backup; linking it again would leave a temp name behind (rename onto another link of the
    same file does nothing), as test_kill_during_save once caught."""
    target, backup = tmp_path / "photo.png", tmp_path / "photo.png~"
    old, new = noisy(8, 1), noisy(8, 2)
    save_image(target, old)
    os.link(target, backup)  # what the killed save left
    save_image(target, new)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photo.png", "photo.png~"]
    assert np.array_equal(load_image(target)[0], new) and np.array_equal(load_image(backup)[0], old)


def test_project_round_trip_after_the_new_writer(tmp_path):
    """Backups of projects are whole projects too."""
    save_project(tmp_path / "p.llmvis", make_project())
    save_project(tmp_path / "p.llmvis", make_project())
    assert load_project(tmp_path / "p.llmvis~").prompts == make_project().prompts


def test_imageio_still_wraps_encoder_errors(tmp_path, monkeypatch):
    monkeypatch.setattr(Image.Image, "save", lambda *a, **k: (_ for _ in ()).throw(ValueError("bad option")))
    with pytest.raises(ImageSaveError, match="Could not write PNG: bad option. Nothing was written."):
        imageio.save_image(tmp_path / "x.png", noisy(8, 1))
    assert litter(tmp_path) == []
