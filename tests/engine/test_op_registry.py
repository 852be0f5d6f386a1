"""The op registry: one entry per op, typed params, and misspelt parameters refused with the allowed names."""

import numpy as np
import pytest

from llmvis_studio.catalog import load_catalog
from llmvis_studio.core.errors import InputError, ParamError
from llmvis_studio.core.requests import OPS, EditRequest
from llmvis_studio.engine import Engine
from llmvis_studio.engine.ops.params import PARAMS, InpaintParams, UpscaleParams, parse_params
from llmvis_studio.engine.ops.registry import REGISTRY, task_of
from tests.helpers import fake_spec, photo, write_tiny_catalog


def test_every_op_name_has_one_registry_entry_and_one_params_class():
    assert set(REGISTRY) == set(PARAMS) == set(OPS)
    assert task_of("restore") == "detect-scratches" and task_of("remove-background") == "select-subject"
    assert all(entry.params is PARAMS[name] for name, entry in REGISTRY.items())


def test_params_are_converted_to_their_declared_types():
    params = parse_params("upscale", {"scale": "4"})
    assert params == UpscaleParams(scale=4) and isinstance(params.scale, int)
    inpaint = parse_params("inpaint", {"margin": np.int64(32), "feather": 2})
    assert isinstance(inpaint, InpaintParams) and inpaint.margin == 32 and isinstance(inpaint.feather, float)
    assert parse_params("denoise", {}) == PARAMS["denoise"]()


def test_a_misspelt_parameter_is_a_value_error_naming_the_allowed_ones():
    with pytest.raises(ValueError) as caught:
        parse_params("inpaint", {"methd": "ns"})
    message = str(caught.value)
    assert "'methd'" in message and "method" in message and "feather" in message
    assert isinstance(caught.value, InputError)  # the CLI and the editor show it as one line


def test_a_wrong_type_is_a_clear_error():
    with pytest.raises(ParamError, match="'scale' must be a whole number"):
        parse_params("upscale", {"scale": "four"})
    with pytest.raises(ParamError, match="'color_match' must be true or false"):
        parse_params("inpaint", {"color_match": "no"})


def test_the_engine_refuses_an_unknown_parameter_before_running(tmp_path):
    engine = Engine(load_catalog(write_tiny_catalog(tmp_path / "models", scales=(2,))), threads=1)
    with pytest.raises(ParamError, match="Allowed: scale"):
        engine.run(EditRequest.build("upscale", photo(20, 24), params={"scael": 2}))
    assert engine.run(EditRequest.build("upscale", photo(20, 24), params={"scale": 2})).image.shape == (40, 48, 3)


def _spec(extra):
    return fake_spec("m", "detect-scratches", extra=extra)


def test_model_settings_are_typed_from_the_manifest_and_a_bad_value_names_the_model():
    from llmvis_studio.core.errors import ModelError

    settings = _spec({"threshold": "0.4", "calibrated": True, "presets": {"file": "p.json"}}).settings
    assert settings.threshold == 0.4 and settings.calibrated and settings.chroma_gain == 1.0
    with pytest.raises(ModelError, match="Model 'm'.*'threshold' must be a number"):
        _spec({"threshold": "high"})
