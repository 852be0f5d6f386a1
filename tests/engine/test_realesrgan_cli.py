"""The shipped Real-ESRGAN x4plus through the CLI, on a real photo."""
import numpy as np
import pytest
from PIL import Image

from llmvis_studio.files import load_image, save_image
from llmvis_studio.paths import models_dir
from tests.engine.test_cli import cli


@pytest.fixture(scope="module")
def crop128(tmp_path_factory):
    from llmvis_studio.paths import sample_image

    image, _ = load_image(sample_image())
    path = tmp_path_factory.mktemp("x4") / "crop.png"
    save_image(path, image[200:328, 150:278])
    return path


def test_upscale_x4_is_four_times_larger_and_not_bicubic(tmp_path, crop128):
    proc = cli("upscale", crop128, tmp_path / "x4.png", "--model", "realesrgan-x4plus", models=models_dir())
    assert proc.returncode == 0, proc.stderr
    out, _ = load_image(tmp_path / "x4.png")
    assert out.shape == (512, 512, 3)
    source, _ = load_image(crop128)
    bicubic = np.asarray(Image.fromarray(source).resize((512, 512), Image.BICUBIC))
    assert np.abs(out.astype(float) - bicubic).mean() > 3.0  # clearly its own result
    # GAN sharpening: more high-frequency energy than bicubic
    def detail(a):
        return np.abs(np.diff(a.astype(float), axis=1)).mean()
    assert detail(out) > 1.2 * detail(bicubic)


def test_tile_64_matches_untiled(tmp_path, crop128):
    whole = cli("upscale", crop128, tmp_path / "whole.png", "--model", "realesrgan-x4plus", "--tile", "0",
                models=models_dir())
    tiled = cli("upscale", crop128, tmp_path / "tiled.png", "--model", "realesrgan-x4plus", "--tile", "64",
                models=models_dir())
    assert whole.returncode == 0 and tiled.returncode == 0, whole.stderr + tiled.stderr
    a, _ = load_image(tmp_path / "whole.png")
    b, _ = load_image(tmp_path / "tiled.png")
    diff = np.abs(a.astype(int) - b.astype(int))
    # A 351-layer GAN's receptive field is far wider than any practical overlap, so seams are
    # not bit-exact; on average they agree within 2/255 and stray pixels stay bounded.
    assert diff.mean() <= 2.0
    assert np.percentile(diff, 99) <= 16
