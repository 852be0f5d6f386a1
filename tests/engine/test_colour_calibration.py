"""The calibrated chroma gain (fit, manifest round trip, use by the engine) and the prediction cache that lets the
strength slider skip the net. Real model: the shipped colourize-unet."""
import json

import numpy as np
import onnxruntime as ort
import pytest

from llmvis_studio.core.errors import InputError
from llmvis_studio.engine.ops.colour_calibration import ChromaCalibration, fit_gains
from llmvis_studio.engine.ops.colourize import ColourizeParams, PredictionCache, colourize
from llmvis_studio.paths import models_dir
from tests.engine.test_colourize import dot_hints, grey_of, photo  # noqa: F401  (fixture)


def test_fit_recovers_per_cell_gains_and_shrinks_empty_cells_to_the_global_gain():
    rng = np.random.default_rng(0)
    cells = rng.integers(0, 3, 6000)
    pred = rng.normal(size=(6000, 2))
    true_gain = np.array([0.5, 1.2, 0.0])[cells]
    truth = pred * true_gain[:, None] + rng.normal(scale=0.05, size=(6000, 2))
    gains = fit_gains(cells, pred, truth, np.ones(6000), n_cells=4, shrink=0.0)
    np.testing.assert_allclose(gains[:3], [0.5, 1.2, 0.0], atol=0.02)
    shrunk = fit_gains(cells, pred, truth, np.ones(6000), n_cells=4, shrink=1.0)
    assert abs(shrunk[3] - (truth * pred).sum() / (pred * pred).sum()) < 1e-6  # no data: the global gain


def test_calibration_round_trips_and_malformed_tables_are_refused():
    table = ChromaCalibration(2, (5.0,), (50.0,), (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8), multiplier=2.0)
    assert ChromaCalibration.from_json(json.loads(json.dumps(table.to_json()))) == table
    with pytest.raises(InputError):
        ChromaCalibration.from_json({**table.to_json(), "gains": [1.0]})
    with pytest.raises(InputError):
        ChromaCalibration.from_json({"hue_sectors": 2})
    lightness = np.array([[40.0, 60.0]])
    ab = np.array([[[3.0, 1.0], [3.0, 1.0]]])
    vivid, safe = table.apply(lightness, ab), table.apply(lightness, ab, vivid=False)
    np.testing.assert_allclose(safe * 2.0, vivid, rtol=1e-6)  # without hints the table is m × the PSNR-best one


@pytest.fixture(scope="module")
def shipped():
    manifest = json.loads((models_dir() / "manifest.json").read_text())
    entry = next(e for e in manifest["models"] if e["id"] == "colourize-unet")
    session = ort.InferenceSession(str(models_dir() / entry["file"]), providers=["CPUExecutionProvider"])
    return entry, lambda x: session.run(["ab"], {"input": x})[0]


def test_shipped_calibration_colours_more_than_the_single_gain(shipped, photo):  # noqa: F811
    entry, infer = shipped
    table = ChromaCalibration.from_json(entry["chroma_calibration"])
    grey = grey_of(photo[::2, ::2])
    chroma = lambda im: np.abs(im.astype(int) - im.mean(axis=2, keepdims=True)).mean()  # noqa: E731
    calibrated = colourize(grey, infer, ColourizeParams(calibration=table))
    single = colourize(grey, infer, ColourizeParams(gain=entry["chroma_gain"]))
    assert chroma(calibrated) > 1.5 * chroma(single)


def test_strength_changes_reuse_the_cached_net_output(shipped, photo):  # noqa: F811
    entry, infer = shipped
    calls = []
    cache = PredictionCache()
    cached = cache.memoised("colourize-unet", lambda x: calls.append(1) or infer(x))
    grey = grey_of(photo[::2, ::2])
    hints = dot_hints(photo[::2, ::2], 10)
    full = colourize(grey, cached, ColourizeParams(hints=hints, strength=1.0))
    half = colourize(grey, cached, ColourizeParams(hints=hints, strength=0.5))
    assert len(calls) == 1 and cache.hits == 1 and not np.array_equal(full, half)
    np.testing.assert_array_equal(colourize(grey, infer, ColourizeParams(hints=hints, strength=0.5)), half)
    colourize(grey, cached, ColourizeParams(hints=dot_hints(photo[::2, ::2], 11)))  # new hints: the net runs
    assert len(calls) == 2
