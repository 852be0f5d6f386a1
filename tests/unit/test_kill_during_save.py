"""SIGKILL at random moments while saving: the file is always the old or the new version, and the
temp files a killed save leaves behind are removed by the next save into that folder."""

import os
import signal
import subprocess
import sys
import time

import numpy as np

from llmvis_studio.files import atomic, load_image, save_image

KILLS = 16
CHILD = r"""
import sys, numpy as np
from llmvis_studio.files import save_image
target = sys.argv[1]
versions = [np.full((300, 400, 3), v, np.uint8) for v in (10, 200)]
for v in versions:
    v[::7, ::5] = 255 - v[0, 0, 0]  # some structure so PNG encoding takes real time
print("ready", flush=True)
i = 0
while True:
    save_image(target, versions[i % 2])
    print("saved", flush=True)
    i += 1
"""


def temp_files(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


def test_sigkill_during_saves_never_corrupts_the_file_and_litter_is_cleaned(tmp_path, monkeypatch):
    target = tmp_path / "photo.png"
    first = np.full((300, 400, 3), 10, np.uint8)
    first[::7, ::5] = 245
    save_image(target, first)
    rng = np.random.default_rng(7)
    seen_values = set()
    litter_seen = 0
    for _ in range(KILLS):
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(target)], stdout=subprocess.PIPE, text=True)
        assert child.stdout.readline().strip() == "ready"
        for _ in range(int(rng.integers(0, 3))):  # let 0-2 saves finish, then kill inside the next one
            assert child.stdout.readline().strip() == "saved"
        time.sleep(float(rng.uniform(0.0, 0.03)))
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        image, _ = load_image(target)  # must load, whole
        assert image.shape == (300, 400, 3)
        seen_values.add(int(image[1, 1, 0]))
        assert seen_values <= {10, 200}
        backup, _ = load_image(tmp_path / "photo.png~")  # the backup is always whole too
        assert int(backup[1, 1, 0]) in (10, 200)
        left = temp_files(tmp_path)
        litter_seen += bool(left)
        # each child's first save removed what the previous killed child left: never more than one save's worth
        assert len(left) <= 2, left
        assert all(f".llmvis-{child.pid}-" in name for name in left), "only the last killed child's files remain"
    assert len(seen_values) == 2  # the kills landed while both versions were being written
    assert litter_seen, "some kill must land inside a save, or the cleanup was never tested"
    monkeypatch.setattr(atomic, "CLEAN_EVERY_S", 0.0)  # this process saved here moments ago
    save_image(target, first)
    assert temp_files(tmp_path) == [], "the next save removed the dead child's temp files"
