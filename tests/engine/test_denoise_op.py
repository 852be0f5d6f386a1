import numpy as np
import pytest

from llmvis_studio.catalog import load_catalog
from llmvis_studio.core.metrics import psnr
from llmvis_studio.core.requests import EditRequest
from llmvis_studio.engine import Engine
from llmvis_studio.files import load_image, save_image
from tests.engine.test_cli import cli
from tests.helpers import add_tiny_denoiser, photo, write_tiny_catalog


@pytest.fixture
def models(tmp_path):
    folder = write_tiny_catalog(tmp_path / "models")
    add_tiny_denoiser(folder)
    return folder


def noisy(clean, sigma=25, seed=0):
    rng = np.random.default_rng(seed)
    return np.clip(clean + rng.normal(0, sigma, clean.shape), 0, 255).astype(np.uint8)


def test_denoise_improves_a_noisy_photo_and_keeps_odd_sizes(models):
    clean = photo(61, 77)
    dirty = noisy(clean)
    result = Engine(load_catalog(models)).run(EditRequest.build("denoise", dirty, tile=32))
    assert result.image.shape == clean.shape  # padded to the stride of 2 and cropped back
    assert psnr(result.image, clean) > psnr(dirty, clean) + 2


def test_denoise_inside_a_mask_only(models):
    dirty = noisy(photo(40, 40))
    mask = np.zeros((40, 40), np.uint8)
    mask[10:20, 10:30] = 255
    result = Engine(load_catalog(models)).run(EditRequest.build("denoise", dirty, mask))
    np.testing.assert_array_equal(result.image[mask == 0], dirty[mask == 0])
    assert (result.image[mask > 0] != dirty[mask > 0]).any()


def test_denoise_cli(tmp_path, models):
    save_image(tmp_path / "in.png", noisy(photo(32, 48)))
    proc = cli("denoise", tmp_path / "in.png", tmp_path / "out.png", models=models)
    assert proc.returncode == 0, proc.stderr
    out, _ = load_image(tmp_path / "out.png")
    assert out.shape == (32, 48, 3)
