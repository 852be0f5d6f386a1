"""select-subject / remove-background / detect-text as a user runs them: real models, exit codes, one-line
errors, 16 bits kept."""

from __future__ import annotations

import numpy as np
import pytest

from llmvis_studio.catalog import load_catalog
from llmvis_studio.files import load_image, load_mask, save_image
from tests.engine.test_cli import assert_one_line_error, cli

pytestmark = pytest.mark.skipif(
    not load_catalog().for_task("select-subject") or not load_catalog().for_task("detect-text"),
    reason="smart-mask models not installed (make models)",
)


def subject_photo(height: int = 120, width: int = 160) -> np.ndarray:
    """A red disc on a soft blue-grey gradient: one obvious subject."""
    yy, xx = np.mgrid[:height, :width]
    image = np.stack([90 + yy // 3, 110 + xx // 4, 150 + 0 * xx], axis=2).astype(np.float32)
    disc = (xx - width * 0.5) ** 2 + (yy - height * 0.5) ** 2 < (height * 0.28) ** 2
    image[disc] = (210, 40, 30)
    return image.astype(np.uint8), disc


def test_select_subject_writes_a_mask(tmp_path):
    image, disc = subject_photo()
    save_image(tmp_path / "in.png", image)
    proc = cli("select-subject", tmp_path / "in.png", tmp_path / "mask.png")
    assert proc.returncode == 0, proc.stderr
    mask = load_mask(tmp_path / "mask.png")
    assert mask.shape == disc.shape
    assert (mask >= 128)[disc].mean() > 0.9 and (mask >= 128)[~disc].mean() < 0.1


def test_remove_background_keeps_16_bits_and_adds_alpha(tmp_path):
    image, disc = subject_photo()
    deep = image.astype(np.uint16) * 257 + 3
    save_image(tmp_path / "in.png", deep)
    proc = cli("remove-background", tmp_path / "in.png", tmp_path / "out.png")
    assert proc.returncode == 0, proc.stderr
    out, _ = load_image(tmp_path / "out.png")
    assert out.dtype == np.uint16 and out.shape == deep.shape[:2] + (4,)
    np.testing.assert_array_equal(out[..., :3], deep)
    assert np.median(out[..., 3][disc]) > 60000 and np.median(out[..., 3][~disc]) < 2000


def test_detect_text_writes_a_mask_over_the_letters(tmp_path):
    import cv2

    image = np.full((200, 480, 3), 70, np.uint8)
    cv2.putText(image, "2004 08 21", (40, 120), cv2.FONT_HERSHEY_SIMPLEX, 1.6, (255, 160, 40), 4, cv2.LINE_AA)
    letters = np.abs(image.astype(int) - 70).sum(axis=2) > 150
    save_image(tmp_path / "in.png", image)
    proc = cli("detect-text", tmp_path / "in.png", tmp_path / "text.png", "--grow", "1")
    assert proc.returncode == 0, proc.stderr
    mask = load_mask(tmp_path / "text.png") > 0
    assert mask[letters].mean() > 0.9 and mask.sum() < 3 * letters.sum()


@pytest.mark.parametrize("command", ["select-subject", "remove-background", "detect-text"])
def test_help_shows_an_example(command):
    proc = cli(command, "--help")
    assert proc.returncode == 0 and "example:" in proc.stdout and f"llmvis-studio {command}" in proc.stdout


def test_bad_input_gets_one_line(tmp_path):
    image, _ = subject_photo(40, 40)
    save_image(tmp_path / "in.png", image)
    assert_one_line_error(cli("select-subject", tmp_path / "missing.png", tmp_path / "mask.png"))
    assert_one_line_error(cli("detect-text", tmp_path / "in.png", tmp_path / "mask.jpg"))
    proc = cli("remove-background", tmp_path / "in.png", tmp_path / "out.jpg")
    assert_one_line_error(proc)
    assert "transparency" in proc.stderr and not (tmp_path / "out.jpg").exists()
    (tmp_path / "broken.png").write_bytes(b"not an image")
    assert_one_line_error(cli("remove-background", tmp_path / "broken.png", tmp_path / "out.png"))
    assert not (tmp_path / "out.png").exists()
