"""The resolution-free texture generator (models/texture-gan.onnx) through the engine's generate op."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from llmvis_studio.catalog import load_catalog
from llmvis_studio.core.errors import ModelError
from llmvis_studio.core.requests import EditRequest
from llmvis_studio.engine import Engine
from llmvis_studio.engine.ops import texture_fill
from llmvis_studio.files import load_image
from llmvis_studio.paths import sample_image

MODEL = "texture-gan"


@pytest.fixture(scope="module")
def engine():
    return Engine(load_catalog(), threads=1)


@pytest.fixture(scope="module")
def photo():
    image, _ = load_image(sample_image())
    return np.ascontiguousarray(image[..., :3])


def box_mask(shape, y0, y1, x0, x1):
    mask = np.zeros(shape[:2], np.uint8)
    mask[y0:y1, x0:x1] = 255
    return mask


def fill(engine, image, mask, prompt, seed=0, variation=0):
    request = EditRequest.build(
        "generate",
        image,
        mask,
        model_id=MODEL,
        prompt=prompt,
        params={"seed": seed, "variations": 4, "variation": variation},
    )
    return engine.run(request)


def autocorrelation_peak(grey: np.ndarray, exclude: int = 12) -> float:
    """Highest normalised autocorrelation away from zero lag of the high-passed luminance (circular; enough to
    see a tiled 32 px texture; the low frequencies, a smooth gradient of light, are not a repeat)."""
    import cv2

    grey = grey.astype(np.float32)
    y = grey - cv2.GaussianBlur(grey, (0, 0), 8.0)
    y = y - y.mean()
    spectrum = np.fft.fft2(y)
    auto = np.fft.fftshift(np.real(np.fft.ifft2(spectrum * np.conj(spectrum))))
    auto /= auto.max()
    h, w = y.shape
    yy, xx = np.mgrid[-(h // 2) : h - h // 2, -(w // 2) : w - w // 2]
    return float(auto[yy**2 + xx**2 > exclude**2].max())


def test_the_default_generator_is_the_texture_model():
    spec = load_catalog().default_for("generate")
    assert spec.id == MODEL and texture_fill.is_texture_model(spec)
    assert len(texture_fill.TextureInfo.of(spec).names) >= 16


def test_a_real_fill_paints_the_whole_mask_once_and_keeps_the_outside_bit_exact(engine, photo):
    mask = box_mask(photo.shape, 100, 356, 60, 460)  # 400×256: far larger than any training crop
    result = fill(engine, photo, mask, "fill the mask with clouds")
    outside = mask == 0
    np.testing.assert_array_equal(result.image[outside], photo[outside])
    region = result.image[100:356, 60:460].astype(np.float32)
    assert np.abs(region - photo[100:356, 60:460]).mean() > 10  # new content
    grey = region.mean(axis=2)
    assert autocorrelation_peak(grey) < 0.5  # no tiles
    assert "clouds" in result.notes[0] and "no tiling" in result.notes[0]


def test_variations_differ_and_repeat_exactly(engine, photo):
    mask = box_mask(photo.shape, 40, 140, 300, 460)
    first = fill(engine, photo, mask, "grass", seed=2, variation=0).image
    again = fill(engine, photo, mask, "grass", seed=2, variation=0).image
    other = fill(engine, photo, mask, "grass", seed=2, variation=1).image
    np.testing.assert_array_equal(first, again)
    inside = mask > 0
    assert np.abs(first[inside].astype(int) - other[inside].astype(int)).mean() > 2


def test_16_bit_photos_stay_16_bit(engine, photo):
    deep = photo.astype(np.uint16) * 257 + 100
    mask = box_mask(deep.shape, 300, 380, 100, 220)
    out = fill(engine, deep, mask, "sand").image
    assert out.dtype == np.uint16
    np.testing.assert_array_equal(out[mask == 0], deep[mask == 0])


def test_the_edge_is_seamless(engine, photo):
    """Median gradient on the band across the mask's edge ≤ 1.5 × the ring's (the benchmark's seam measure)."""
    from llmvis_studio.training.removal_masks import scores

    mask = box_mask(photo.shape, 150, 350, 150, 350)
    for prompt in ("brick wall", "sand"):
        out = fill(engine, photo, mask, prompt).image
        assert scores(out, photo, mask > 0)["seam"] <= 1.5, prompt


def test_the_edge_is_seamless_next_to_a_smooth_sky(engine):
    """A mask in a smooth sky (a vertical blue gradient with faint sensor noise, as a clear sky is): textured fills
    fade their detail in from the edge instead of drawing a frame (seam ≤ 1.5 × the ring's median gradient)."""
    from llmvis_studio.training.removal_masks import scores

    rows = np.linspace(0.0, 1.0, 360, dtype=np.float32)[:, None, None]
    sky = np.array([70, 120, 200], np.float32) * (1 - rows) + np.array([170, 200, 235], np.float32) * rows
    noise = np.random.default_rng(0).normal(0.0, 1.5, (360, 480, 1)).astype(np.float32)
    photo = np.clip(np.rint(np.broadcast_to(sky, (360, 480, 3)) + noise), 0, 255).astype(np.uint8)
    mask = box_mask(photo.shape, 60, 300, 80, 400)
    for prompt in ("clouds", "brick wall"):
        out = fill(engine, photo, mask, prompt).image
        assert scores(out, photo, mask > 0)["seam"] <= 1.5, prompt


def test_painting_any_size_and_prompt_mixes(engine):
    spec = engine.catalog.get(MODEL)
    info = texture_fill.TextureInfo.of(spec)
    model = engine.open_model(spec, "cpu")
    for height, width in ((37, 53), (130, 300)):
        texture = texture_fill.paint(model, info, info.vectors[0], height, width, seed=1)
        assert texture.shape == (height, width, 3) and texture.min() >= 0.0 and texture.max() <= 1.0
    c, described, _ = info.condition("dark stormy clouds", engine.catalog, seed=0)
    assert described.startswith("storm clouds")


def test_push_pull_fills_gaps_smoothly():
    values = np.zeros((40, 40, 1), np.float32)
    weights = np.zeros((40, 40), np.float32)
    values[:, :20], values[:, 20:] = 1.0, 3.0
    weights[:, :2], weights[:, -2:] = 1.0, 1.0  # known only at the left and right edges
    filled = texture_fill.push_pull(values, weights)[..., 0]
    assert filled[:, 0].mean() == pytest.approx(1.0, abs=0.05) and filled[:, -1].mean() == pytest.approx(3.0, abs=0.05)
    assert 1.0 < filled[20, 20] < 3.0 and np.all(np.diff(filled[20]) > -0.05)  # a ramp, not a step


def test_a_manifest_without_the_noise_layout_is_refused(engine):
    spec = engine.catalog.get(MODEL)
    broken = dataclasses.replace(spec, extra={k: v for k, v in spec.extra.items() if k != "z_channels"})
    with pytest.raises(ModelError, match="not a texture generator"):
        texture_fill.TextureInfo.of(broken)


def test_the_look_whose_grain_suits_the_photo_comes_first():
    from llmvis_studio.engine.ops import texture_looks

    rng = np.random.default_rng(0)
    smooth = np.full((64, 64, 3), 0.5, np.float32) + np.linspace(0, 0.1, 64, dtype=np.float32)[:, None, None]
    sharp = np.clip(0.5 + 0.2 * rng.standard_normal((64, 64, 3)), 0, 1).astype(np.float32)
    looks = [sharp, smooth]
    ring = np.ones((64, 64), bool)
    assert texture_looks.ranked_looks(2, looks.__getitem__, smooth, ring) == [1, 0]
    assert texture_looks.ranked_looks(2, looks.__getitem__, sharp, ring) == [0, 1]
    assert texture_looks.ranked_looks(1, looks.__getitem__, sharp, ring) is None  # nothing to choose
    assert texture_looks.ranked_looks(2, looks.__getitem__, sharp, ring & False) is None  # no surroundings


def test_looks_are_ranked_around_the_class_grain_pulled_towards_the_ring():
    """Three looks of grain g0 < g1 < g2 and a ring as soft as look 0: ranked by the ring alone, look 0 wins;
    with a class grain far above, the target lands on look 1 (neither the ring's nor the class's own)."""
    from llmvis_studio.engine.ops import texture_looks

    rng = np.random.default_rng(0)
    looks = [np.clip(0.5 + a * rng.standard_normal((64, 64, 3)), 0, 1).astype(np.float32) for a in (0.01, 0.05, 0.25)]
    g0, g1, g2 = (texture_looks.grain(look) for look in looks)
    assert g0 + 2 < g1 < g2 - 2
    ring = np.ones((64, 64), bool)
    assert 0.0 < texture_looks.RING_PULL < 1.0
    class_grain = g0 + (g1 - g0) / (1.0 - texture_looks.RING_PULL)  # so that the pulled target is g1
    assert class_grain > g2
    assert texture_looks.target_grain(g0, class_grain) == pytest.approx(g1, abs=1e-6)
    assert texture_looks.ranked_looks(3, looks.__getitem__, looks[0], ring) == [0, 1, 2]  # ring only
    assert texture_looks.ranked_looks(3, looks.__getitem__, looks[0], ring, class_grain)[0] == 1
    assert texture_looks.ranked_looks(3, looks.__getitem__, looks[2], ring, class_grain) == [2, 1, 0]


def test_the_class_grain_comes_from_the_manifest_and_old_manifests_have_none(engine):
    spec = engine.catalog.get(MODEL)
    classes = [{**c, "grain": 1.5 + i} for i, c in enumerate(spec.extra["classes"])]
    info = texture_fill.TextureInfo.of(dataclasses.replace(spec, extra={**spec.extra, "classes": classes}))
    assert info.grains[:2] == (1.5, 2.5)
    old = [{k: v for k, v in c.items() if k != "grain"} for c in spec.extra["classes"]]
    info = texture_fill.TextureInfo.of(dataclasses.replace(spec, extra={**spec.extra, "classes": old}))
    assert set(info.grains) == {None}


def test_a_fill_in_a_sharp_photo_takes_a_sharper_look_than_in_a_soft_one(engine, photo):
    """The same prompt, seed and mask: next to blurred surroundings the fill's own grain is finer."""
    import cv2

    from llmvis_studio.engine.ops.texture_looks import grain

    mask = box_mask(photo.shape, 120, 300, 120, 360)
    soft = cv2.GaussianBlur(photo, (0, 0), 4.0)
    inside = (slice(140, 280), slice(140, 340))
    sharp_fill, soft_fill = (fill(engine, image, mask, "water") for image in (photo, soft))
    assert "fit to the surroundings" in sharp_fill.notes[0]
    assert grain(sharp_fill.image[inside] / 255.0) > grain(soft_fill.image[inside] / 255.0) + 0.5


def test_a_look_far_from_the_class_colour_ranks_below_a_typical_one_of_equal_grain():
    """Grass: a brown look and a green one with the very same grain (same noise, other colour). By grain alone
    they tie (the listed order stays); with the class's typical green, the green one comes first, and a brown
    water look ranks below a grey-blue one the same way."""
    from llmvis_studio.engine.ops import texture_looks

    rng = np.random.default_rng(0)
    noise = 0.08 * rng.standard_normal((64, 64, 1)).astype(np.float32)
    brown = np.clip(np.array([0.45, 0.35, 0.2], np.float32) + noise, 0, 1)
    green = np.clip(np.array([0.25, 0.45, 0.15], np.float32) + noise, 0, 1)
    looks = [brown, green]
    g = [texture_looks.grain(look) for look in looks]
    c = [texture_looks.colour(look) for look in looks]
    assert abs(g[0] - g[1]) < 0.2
    grass = np.array([42.7, -24.4, 37.2])  # the installed model's grass colour (a* < 0: green)
    assert texture_looks.rank(g, c, target=g[0]) == [0, 1]  # no class colour: grain alone, a tie
    assert texture_looks.rank(g, c, target=g[0], class_colour=grass) == [1, 0]
    assert texture_looks.rank(g, c, target=g[0], class_colour=grass, weight=0.0) == [0, 1]
    ring = np.ones((64, 64), bool)
    assert texture_looks.ranked_looks(2, looks.__getitem__, brown, ring, g[0], grass) == [1, 0]
    assert texture_looks.ranked_looks(2, looks.__getitem__, brown, ring, g[0]) == [0, 1]
    blue_grey = np.clip(np.array([0.4, 0.45, 0.52], np.float32) + noise, 0, 1)
    water = np.array([65.7, -5.3, -3.9])
    pair = [brown, blue_grey]
    assert texture_looks.ranked_looks(2, pair.__getitem__, brown, ring, g[0], water) == [1, 0]


def test_the_class_colour_comes_from_the_manifest_and_old_manifests_have_none(engine):
    spec = engine.catalog.get(MODEL)
    info = texture_fill.TextureInfo.of(spec)
    grass, water = (info.colours[info.names.index(name)] for name in ("grass", "water"))
    assert grass is not None and grass[1] < -10 < 10 < grass[2]  # green: a* well below 0, b* above
    assert water is not None and abs(water[1]) < 10 and water[2] < 5  # not brown: b* low
    old = [{k: v for k, v in c.items() if k != "colour"} for c in spec.extra["classes"]]
    info = texture_fill.TextureInfo.of(dataclasses.replace(spec, extra={**spec.extra, "classes": old}))
    assert set(map(type, info.colours)) == {type(None)}
    broken = [{**c, "colour": [1, 2]} for c in spec.extra["classes"]]
    with pytest.raises(ModelError, match="not a texture generator"):
        texture_fill.TextureInfo.of(dataclasses.replace(spec, extra={**spec.extra, "classes": broken}))


def test_a_grass_look_matching_the_grain_but_not_the_colour_is_not_first(engine):
    """The installed model's grass looks include a dry brown lawn. Aimed exactly at its grain, grain alone
    picks it; with the class's colour a green look of near grain comes first (the must-show photo's case)."""
    from llmvis_studio.engine.ops import texture_looks

    spec = engine.catalog.get(MODEL)
    info = texture_fill.TextureInfo.of(spec)
    model = engine.open_model(spec, "cpu")
    k = info.names.index("grass")
    weights = np.eye(len(info.names), dtype=np.float32)[k]
    previews = [
        texture_fill.paint(model, info, info.vector(weights, np.random.default_rng(0), (k, i)), 64, 64, 3000)
        for i in range(len(info.modes[k]))
    ]
    g = [texture_looks.grain(p) for p in previews]
    c = [texture_looks.colour(p) for p in previews]
    dry = int(np.argmax([lab[1] for lab in c]))  # the least green (highest a*)
    assert c[dry][1] > -10  # the model does have a brownish look
    assert texture_looks.rank(g, c, g[dry])[0] == dry  # grain alone: the dry lawn
    first = texture_looks.rank(g, c, g[dry], info.colours[k])[0]
    assert first != dry and c[first][1] < -15
