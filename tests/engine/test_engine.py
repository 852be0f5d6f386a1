import numpy as np
import pytest

from llmvis_studio.catalog import load_catalog
from llmvis_studio.core.errors import Cancelled, InputError, ModelIntegrityError
from llmvis_studio.core.progress import Progress
from llmvis_studio.core.requests import EditRequest
from llmvis_studio.engine import Engine
from tests.helpers import photo, tiny_upscaler_onnx, write_tiny_catalog


@pytest.fixture
def engine(tmp_path):
    return Engine(load_catalog(write_tiny_catalog(tmp_path / "models", scales=(2, 4))), threads=1)


def test_upscale_through_onnxruntime_reports_the_provider(engine):
    image = photo(40, 52)
    result = engine.run(EditRequest.build("upscale", image, params={"scale": 2}))
    assert result.image.shape == (80, 104, 3) and result.image.dtype == np.uint8
    assert result.model_id == "tiny-x2"
    assert result.provider == "CPU"  # no GPU here; the provider is read back from the session
    assert result.changed is None


def test_tiled_matches_untiled_for_a_real_onnx_model(engine):
    image = photo(90, 70)
    whole = engine.run(EditRequest.build("upscale", image, params={"scale": 4}, tile=0)).image
    tiled = engine.run(EditRequest.build("upscale", image, params={"scale": 4}, tile=24)).image
    assert np.abs(whole.astype(int) - tiled.astype(int)).max() <= 1


def test_sixteen_bit_and_alpha_survive_upscaling(engine):
    rgb = photo(20, 24).astype(np.uint16) * 257
    alpha = np.full((20, 24, 1), 40000, np.uint16)
    result = engine.run(EditRequest.build("upscale", np.concatenate([rgb, alpha], axis=2), params={"scale": 2}))
    assert result.image.dtype == np.uint16 and result.image.shape == (40, 48, 4)
    assert (result.image[..., 3] == 40000).all()


def test_a_tampered_model_is_refused_before_a_session_opens(tmp_path):
    folder = write_tiny_catalog(tmp_path / "models")
    tiny_upscaler_onnx(folder / "tiny-x2.onnx", seed=123)
    with pytest.raises(ModelIntegrityError):
        Engine(load_catalog(folder)).run(EditRequest.build("upscale", photo(16, 16), params={"scale": 2}))


def test_wrong_model_for_the_op_is_a_clear_error(engine):
    with pytest.raises(InputError, match="does 'inpaint'"):
        engine.run(EditRequest.build("upscale", photo(16, 16), model_id="opencv-telea"))


@pytest.mark.parametrize("model_id", ["opencv-telea", "opencv-ns"])
def test_classical_inpaint_changes_only_masked_pixels(engine, model_id):
    image = photo(64, 64)
    mask = np.zeros((64, 64), np.uint8)
    mask[30:33, 5:60] = 255  # a thin scratch
    damaged = image.copy()
    damaged[mask > 0] = 255
    result = engine.run(EditRequest.build("inpaint", damaged, mask, model_id=model_id))
    np.testing.assert_array_equal(result.image[mask == 0], damaged[mask == 0])
    err_before = np.abs(damaged[mask > 0].astype(float) - image[mask > 0]).mean()
    err_after = np.abs(result.image[mask > 0].astype(float) - image[mask > 0]).mean()
    assert err_after < err_before / 3
    assert result.changed is not None and result.changed.height == 3


def test_inpaint_without_a_mask_says_so(engine):
    with pytest.raises(InputError, match="mask"):
        engine.run(EditRequest.build("inpaint", photo(16, 16), np.zeros((16, 16), np.uint8)))


def test_cancel_stops_a_tiled_job(engine):
    token = Progress()
    token.cancel()
    with pytest.raises(Cancelled):
        engine.run(EditRequest.build("upscale", photo(64, 64), params={"scale": 2}, tile=24), token)


def test_requests_are_frozen_copies():
    image = photo(8, 8)
    request = EditRequest.build("upscale", image)
    image[:] = 0
    assert request.image.any() and not request.image.flags.writeable
    with pytest.raises(InputError, match="same size"):
        EditRequest.build("inpaint", image, np.zeros((4, 4), np.uint8))
