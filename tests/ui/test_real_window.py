"""The real editor window on a real X server (Xvfb, xcb platform), as a person would see it."""

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from llmvis_studio.files import load_image
from llmvis_studio.paths import sample_image

pytestmark = pytest.mark.xvfb


@pytest.fixture
def xvfb_display():
    if shutil.which("Xvfb") is None:
        pytest.fail("Xvfb is missing: `make test` installs it (scripts/system-deps.sh)")
    read_fd, write_fd = os.pipe()
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1280x900x24", "-nolisten", "tcp"],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        number = pipe.readline().strip()
    try:
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(10)


def test_screenshot_of_the_real_window_shows_the_image(tmp_path, xvfb_display):
    shot = tmp_path / "window.png"
    env = dict(
        os.environ,
        QT_QPA_PLATFORM="xcb",
        DISPLAY=xvfb_display,
        LLMVIS_DATA_DIR=str(tmp_path / "data"),
        LLMVIS_SETTINGS=str(tmp_path / "settings.ini"),
    )
    proc = subprocess.run(
        [sys.executable, "-m", "llmvis_studio", str(sample_image()), "--screenshot", str(shot)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    picture, _ = load_image(shot)
    height, width = picture.shape[:2]
    assert width >= 640 and height >= 400
    colours = np.unique(picture[..., :3].reshape(-1, 3), axis=0)
    assert len(colours) > 3000, "the window shows no photo"  # a bare window has a few dozen colours
    sample, _ = load_image(sample_image())
    # The astronaut's suit is near-white and her flag red: both must be on screen.
    reddish = (picture[..., 0] > 150) & (picture[..., 1] < 80) & (picture[..., 2] < 80)
    assert reddish.sum() > 100 and sample.shape == (512, 512, 3)
