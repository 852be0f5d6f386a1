"""SIGKILL at random moments while saving: the file is always the old or the new version."""
import os
import signal
import subprocess
import sys
import time

import numpy as np

from llmvis_studio.files import load_image, save_image

KILLS = 50
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
    i += 1
"""


def test_sigkill_during_saves_never_corrupts_the_file(tmp_path):
    target = tmp_path / "photo.png"
    first = np.full((300, 400, 3), 10, np.uint8)
    first[::7, ::5] = 245
    save_image(target, first)
    rng = np.random.default_rng(7)
    seen_values = set()
    for _ in range(KILLS):
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(target)], stdout=subprocess.PIPE, text=True)
        assert child.stdout.readline().strip() == "ready"
        time.sleep(float(rng.uniform(0.0, 0.06)))
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        image, _ = load_image(target)  # must load, whole
        assert image.shape == (300, 400, 3)
        seen_values.add(int(image[1, 1, 0]))
        assert seen_values <= {10, 200}
    assert len(seen_values) == 2  # the kills landed while both versions were being written
