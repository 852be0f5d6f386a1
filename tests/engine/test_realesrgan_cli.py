"""The shipped Real-ESRGAN x4plus through the CLI, on a real photo."""

import numpy as np
import pytest
from PIL import Image

from llmvis_studio.files import load_image, save_image
from llmvis_studio.paths import models_dir
from tests.engine.test_cli import cli


@pytest.fixture(scope="module")
def crop(tmp_path_factory):
    """A 128×64 crop of the bundled photo: with --tile 64 it splits into two tiles, so the seam test sees one
    seam through real detail at half the GAN time of a 128×128 crop (the suite's slowest test before)."""
    from llmvis_studio.paths import sample_image

    image, _ = load_image(sample_image())
    path = tmp_path_factory.mktemp("x4") / "crop.png"
    save_image(path, image[200:264, 150:278])
    return path


@pytest.fixture(scope="module")
def untiled_x4(crop, tmp_path_factory):
    """One untiled ×4 run of the 16.7 M-parameter GAN (the slow part), shared by both tests."""
    out = tmp_path_factory.mktemp("x4_out") / "whole.png"
    proc = cli("upscale", crop, out, "--model", "realesrgan-x4plus", "--tile", "0", models=models_dir())
    assert proc.returncode == 0, proc.stderr
    return out


def test_upscale_x4_is_four_times_larger_and_not_bicubic(crop, untiled_x4):
    out, _ = load_image(untiled_x4)
    assert out.shape == (256, 512, 3)
    source, _ = load_image(crop)
    bicubic = np.asarray(Image.fromarray(source).resize((512, 256), Image.BICUBIC))
    assert np.abs(out.astype(float) - bicubic).mean() > 3.0  # clearly its own result

    # GAN sharpening: more high-frequency energy than bicubic
    def detail(a):
        return np.abs(np.diff(a.astype(float), axis=1)).mean()

    assert detail(out) > 1.2 * detail(bicubic)


def test_tile_64_matches_untiled(tmp_path, crop, untiled_x4):
    tiled = cli(
        "upscale", crop, tmp_path / "tiled.png", "--model", "realesrgan-x4plus", "--tile", "64", models=models_dir()
    )
    assert tiled.returncode == 0, tiled.stderr
    a, _ = load_image(untiled_x4)
    b, _ = load_image(tmp_path / "tiled.png")
    diff = np.abs(a.astype(int) - b.astype(int))
    # A 351-layer GAN's receptive field is far wider than any practical overlap, so seams are
    # not bit-exact; on average they agree within 2/255 and stray pixels stay bounded.
    assert diff.mean() <= 2.0
    assert np.percentile(diff, 99) <= 16
