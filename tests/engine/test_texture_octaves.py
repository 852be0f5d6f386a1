"""Large-scale structure for texture fills (engine/ops/texture_octaves.py) and its manifest field."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest

from llmvis_studio.catalog import load_catalog
from llmvis_studio.core.errors import ModelError
from llmvis_studio.engine import Engine
from llmvis_studio.engine.ops import texture_fill
from llmvis_studio.engine.ops import texture_octaves as octaves

MODEL = "texture-gan"


def mottle(height: int, width: int, seed: int) -> np.ndarray:
    """A stand-in generator: blurred noise blobs of one size (σ 3 px), grey and a blue cast; no coarse shapes."""
    rng = np.random.default_rng(seed)
    blobs = cv2.GaussianBlur(rng.standard_normal((height, width)).astype(np.float32), (0, 0), 3.0)
    blobs *= 0.08 / max(float(blobs.std()), 1e-6)
    rgb = np.stack([0.5 + blobs, 0.55 + blobs, 0.7 + blobs], axis=-1)
    return np.clip(rgb, 0.0, 1.0).astype(np.float32)


def sky_with_clouds(height: int, width: int, seed: int) -> np.ndarray:
    """The mottle with large soft light and shade on top (σ 40 px), as a cloudy sky has."""
    rng = np.random.default_rng(seed + 1)
    large = cv2.GaussianBlur(rng.standard_normal((height, width)).astype(np.float32), (0, 0), 40.0)
    large *= 0.15 / max(float(large.std()), 1e-6)
    return np.clip(mottle(height, width, seed) + large[..., None], 0.0, 1.0)


def test_the_band_ratios_tell_a_cloudy_sky_from_a_uniform_mottle():
    flat = octaves.band_ratios([mottle(400, 400, s) for s in range(2)])
    cloudy = octaves.band_ratios([sky_with_clouds(400, 400, s) for s in range(2)])
    assert len(flat) == len(cloudy) == octaves.OCTAVES
    assert all(r is not None for r in flat + cloudy)
    assert cloudy[-1] > 20 * flat[-1] and cloudy[-1] > 0.5  # the coarsest band holds the clouds
    assert octaves.band_ratios([mottle(100, 100, 0)])[-1] is None  # too small to hold σ 24-48 px
    assert octaves.band_ratios([]) == [None] * octaves.OCTAVES


def test_painting_with_octaves_gives_the_class_its_coarse_bands_in_luminance_only():
    ratios = octaves.band_ratios([sky_with_clouds(400, 400, s) for s in range(2)])
    base = mottle(360, 480, 7)
    painted = octaves.paint_with_octaves(mottle, 360, 480, 7, ratios)
    assert painted.shape == base.shape and painted.dtype == np.float32
    got = octaves.band_ratios([painted])
    before = octaves.band_ratios([base])
    assert ratios[-1] / 1.5 < got[-1] < ratios[-1] * 1.5, (got, ratios)  # the coarsest band as the class's
    for k in range(octaves.OCTAVES - 1):  # the finer ones near theirs (a layer also shows in its neighbours)
        assert ratios[k] / 2 < got[k] < ratios[k] * 3, (k, got, ratios)
    assert got[-1] > 10 * before[-1]
    delta = painted - base
    inside = (painted > 0.01).all(-1) & (painted < 0.99).all(-1)  # unclipped pixels: the same change in R, G, B
    assert np.abs(delta[..., 0] - delta[..., 2])[inside].max() < 1e-5
    assert np.abs(delta).max() > 0.05


def test_no_ratios_or_too_small_a_box_keep_the_paint_as_it_is():
    base = mottle(200, 300, 3)
    assert np.array_equal(octaves.paint_with_octaves(mottle, 200, 300, 3, [None, None, None]), base)
    tiny = mottle(20, 20, 3)
    assert np.array_equal(octaves.paint_with_octaves(mottle, 20, 20, 3, [1.0, 1.0, 1.0]), tiny)


@pytest.fixture(scope="module")
def engine():
    return Engine(load_catalog(), threads=1)


def test_the_shipped_classes_carry_octave_ratios_and_clouds_get_more_than_grass(engine):
    spec = engine.catalog.get(MODEL)
    info = texture_fill.TextureInfo.of(spec)
    clouds, grass = (info.octaves[info.names.index(n)] for n in ("clouds", "grass"))
    assert len(clouds) == octaves.OCTAVES and clouds[-1] > 20 * grass[-1]
    old = [{k: v for k, v in c.items() if k != "octave_ratios"} for c in spec.extra["classes"]]
    info = texture_fill.TextureInfo.of(dataclasses.replace(spec, extra={**spec.extra, "classes": old}))
    assert set(info.octaves) == {()}  # an old manifest paints at one scale
    broken = [{**c, "octave_ratios": "lots"} for c in spec.extra["classes"]]
    with pytest.raises(ModelError, match="not a texture generator"):
        texture_fill.TextureInfo.of(dataclasses.replace(spec, extra={**spec.extra, "classes": broken}))


def test_a_cloud_paint_gets_large_light_and_shade_a_one_scale_paint_lacks(engine):
    spec = engine.catalog.get(MODEL)
    info = texture_fill.TextureInfo.of(spec)
    model = engine.open_model(spec, "cpu")
    k = info.names.index("clouds")
    weights = np.eye(len(info.names), dtype=np.float32)[k]
    c = info.vector(weights, np.random.default_rng(0))
    one_scale = texture_fill.paint(model, info, c, 320, 320, 5)
    structured = texture_fill.paint_class(model, info, c, 320, 320, 5, weights)
    assert octaves.band_ratios([structured])[-1] > 5 * octaves.band_ratios([one_scale])[-1]
    fine = [octaves.energy(octaves.band(octaves.luminance(x), 0)) for x in (one_scale, structured)]
    assert fine[1] == pytest.approx(fine[0], rel=0.25)  # the grain stays the generator's own
