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
    vivid, hinted = table.apply(lightness, ab), table.apply(lightness, ab, vivid=False, hinted=True)
    np.testing.assert_allclose(hinted * 2.0, vivid, rtol=1e-6)  # the stored table is m × the PSNR-best one
    older = {k: v for k, v in table.to_json().items() if k not in ("texture_edges", "automatic")}
    assert ChromaCalibration.from_json(older) == table  # tables written before those fields read as before
    automatic = ChromaCalibration.from_json({**table.to_json(), "automatic": 1.5})
    assert automatic is not None and ChromaCalibration.from_json(automatic.to_json()) == automatic
    np.testing.assert_allclose(automatic.apply(lightness, ab, vivid=False), hinted * 1.5, rtol=1e-6)
    with pytest.raises(InputError):
        ChromaCalibration.from_json({**table.to_json(), "automatic": 0})


def test_texture_bins_split_smooth_from_detailed_areas():
    table = ChromaCalibration(1, (), (), (0.2, 1.0), texture_edges=(2.0,))
    lightness = np.full((20, 40), 50.0, np.float32)
    lightness[:, 20:] += np.tile([0.0, 10.0], (20, 10))  # right half: stripes (local std 5)
    ab = np.full((20, 40, 2), 10.0, np.float32)
    out = table.apply(lightness, ab)
    assert np.allclose(out[:, :15], 2.0) and np.allclose(out[:, 25:], 10.0)  # smooth × 0.2, textured × 1.0
    assert ChromaCalibration.from_json(table.to_json()) == table


@pytest.fixture(scope="module")
def shipped():
    manifest = json.loads((models_dir() / "manifest.json").read_text())
    entry = next(e for e in manifest["models"] if e["id"] == "colourize-unet")
    session = ort.InferenceSession(str(models_dir() / entry["file"]), providers=["CPUExecutionProvider"])
    return entry, lambda x: session.run(["ab"], {"input": x})[0]


def test_shipped_default_is_the_automatic_share_of_the_vivid_table(shipped, photo):  # noqa: F811
    entry, infer = shipped
    table = ChromaCalibration.from_json(entry["chroma_calibration"])
    assert table is not None and 1.0 <= table.automatic <= table.multiplier
    grey = grey_of(photo[::2, ::2])
    chroma = lambda im: np.abs(im.astype(int) - im.mean(axis=2, keepdims=True)).mean()  # noqa: E731
    vivid = colourize(grey, infer, ColourizeParams(calibration=table, vivid=True))
    default = colourize(grey, infer, ColourizeParams(calibration=table))
    assert chroma(default) > 3.0, "the automatic default colours visibly"
    # the default: the vivid table × automatic / multiplier (8-bit rounding and gamut limits aside)
    share = table.automatic / table.multiplier
    assert 0.8 * share <= chroma(default) / chroma(vivid) <= 1.2 * share


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


def test_shadow_colours_keep_opencv_lightness_within_one_level():
    """OpenCV's 8-bit Lab is up to ±1.3 levels off in the shadows, so colours of exactly the grey's luminance can read
    2 levels apart there; the engine greys those few pixels and keeps the rest."""
    import cv2

    from llmvis_studio.core import lab
    from llmvis_studio.engine.ops.colourize import keep_opencv_lightness

    rng = np.random.default_rng(0)
    grey = np.repeat(rng.integers(20, 90, (200, 200), dtype=np.uint8)[..., None], 3, axis=2)
    y = lab.luminance(grey)
    ab = rng.normal(scale=25, size=(200, 200, 2)).astype(np.float32)
    out = lab.compose(y, lab.chroma_ratio(lab.lightness(y), ab), 255)
    opencv_l = lambda im: cv2.cvtColor(im, cv2.COLOR_RGB2LAB)[..., 0].astype(int)  # noqa: E731
    assert np.abs(opencv_l(out) - opencv_l(grey)).max() >= 2, "the case the guard exists for"
    coloured = out.copy()
    keep_opencv_lightness(out, grey, y)
    assert np.abs(opencv_l(out) - opencv_l(grey)).max() <= 1
    assert (out != coloured).any(axis=2).mean() < 0.05, "only a few pixels lose their colour"


def test_strong_hints_in_the_shadows_keep_opencv_lightness_within_one_level(shipped):
    """OpenCV's 8-bit Lab is up to ±1.3 levels off in the shadows; the engine greys the few pixels it would flag."""
    import cv2

    _, infer = shipped
    ramp = np.tile(np.linspace(0, 90, 256).astype(np.uint8), (128, 1))  # dark greys, L* 0–37
    grey = np.repeat(ramp[..., None], 3, axis=2)
    hints = np.zeros((128, 256, 4), np.uint8)
    rng = np.random.default_rng(1)
    for y, x in rng.integers(0, 125, (60, 2)) * [1, 2]:
        hints[y : y + 3, x : x + 3] = (*rng.choice([0, 255], 3), 255)  # saturated primaries and secondaries
    out = colourize(grey, infer, ColourizeParams(hints=hints))
    assert np.abs(out.astype(int) - out.mean(axis=2, keepdims=True)).max() > 10, "some colour was applied"
    before = cv2.cvtColor(grey, cv2.COLOR_RGB2LAB)[..., 0].astype(int)
    after = cv2.cvtColor(out, cv2.COLOR_RGB2LAB)[..., 0].astype(int)
    assert np.abs(after - before).max() <= 1
