"""Colourize: luminance kept exactly, 16-bit kept, hints help (shipped model, a photo it never saw), CLI and errors.

The photo is the bundled sample (scikit-image's astronaut): not in the colourizer's training photos, not a benchmark.
"""

import cv2
import numpy as np
import pytest

from llmvis_studio.core import lab
from llmvis_studio.core.metrics import dot_hints, grey_of, psnr
from llmvis_studio.core.requests import EditRequest
from llmvis_studio.engine import Engine
from llmvis_studio.files import load_image, save_image
from llmvis_studio.paths import sample_image
from tests.engine.test_cli import assert_one_line_error, cli


@pytest.fixture(scope="module")
def engine():
    return Engine(threads=2)


@pytest.fixture(scope="module")
def photo():
    image, _ = load_image(sample_image())
    return image[..., :3]


def run(engine, image, **params):
    return engine.run(EditRequest.build("colourize", image, params=params)).image


def test_grey_pixels_round_trip_exactly_in_8_and_16_bit():
    ramp8 = np.repeat(np.arange(256, dtype=np.uint8)[None, :, None], 3, axis=2)
    ramp16 = np.repeat(np.arange(0, 65536, 7, dtype=np.uint16)[None, :, None], 3, axis=2)
    for ramp, top in ((ramp8, 255), (ramp16, 65535)):
        y = lab.luminance(ramp)
        assert np.array_equal(lab.compose(y, np.ones(y.shape + (3,), np.float32), top), ramp)


def test_output_luminance_equals_the_input_within_one_level(engine, photo):
    grey = grey_of(photo)
    out = run(engine, grey, hints=dot_hints(photo, 50))
    assert out.shape == grey.shape and out.dtype == np.uint8
    assert not lab_is_grey(out)  # it did colour the photo
    exact = np.abs(lab.rgb_to_lab(out)[..., 0] - lab.rgb_to_lab(grey)[..., 0]).max() * 2.55
    opencv = np.abs(
        cv2.cvtColor(out, cv2.COLOR_RGB2LAB)[..., 0].astype(int)
        - cv2.cvtColor(grey, cv2.COLOR_RGB2LAB)[..., 0].astype(int)
    ).max()
    assert exact <= 1.0 and opencv <= 1


def lab_is_grey(rgb):
    return np.abs(lab.rgb_to_lab(rgb)[..., 1:]).max() < 1.0


def test_16_bit_grey_scan_stays_16_bit_with_its_luminance(engine, photo):
    grey16 = grey_of(photo[:256, :256].astype(np.uint16) * 257 + 100)
    out = run(engine, grey16)
    assert out.dtype == np.uint16 and out.shape == grey16.shape
    # L* in 16-bit levels (L*·65535/100): off by well under one 8-bit level (257 of them)
    dl = np.abs(lab.rgb_to_lab(out)[..., 0] - lab.rgb_to_lab(grey16)[..., 0]).max() * 655.35
    assert dl <= 16
    assert not lab_is_grey(out)


def test_sepia_is_neutralised_and_strength_scales_the_colour(engine, photo):
    grey = grey_of(photo[:200, :200])
    sepia = np.clip(grey.astype(float) * [1.07, 0.95, 0.78], 0, 255).astype(np.uint8)
    none = run(engine, sepia, strength=0.0)
    assert lab_is_grey(none)  # the tint is gone
    assert np.abs(lab.rgb_to_lab(none)[..., 0] - lab.rgb_to_lab(sepia)[..., 0]).max() * 2.55 <= 1.0
    half, full = run(engine, sepia, strength=0.5), run(engine, sepia, strength=1.0)
    chroma = lambda im: np.hypot(*np.moveaxis(lab.rgb_to_lab(im)[..., 1:], -1, 0)).mean()  # noqa: E731
    assert 0.3 * chroma(full) < chroma(half) < 0.7 * chroma(full)


def test_hints_improve_psnr_on_a_photo_never_trained_on(engine, photo):
    grey = grey_of(photo)
    auto = psnr(run(engine, grey), photo)
    ten = psnr(run(engine, grey, hints=dot_hints(photo, 10)), photo)
    fifty = psnr(run(engine, grey, hints=dot_hints(photo, 50)), photo)
    assert auto >= psnr(grey, photo) - 0.5
    assert ten > auto + 0.5 and fifty > auto + 2.0, (auto, ten, fifty)


def test_cli_colourizes_with_hints(tmp_path, photo):
    source, hints_png, out = tmp_path / "grey.png", tmp_path / "hints.png", tmp_path / "out.png"
    small = cv2.resize(photo, (128, 128), interpolation=cv2.INTER_AREA)
    save_image(source, grey_of(small))
    save_image(hints_png, dot_hints(small, 30))
    proc = cli("colourize", source, out, "--hints", hints_png, "--strength", "0.8")
    assert proc.returncode == 0, proc.stderr
    result, _ = load_image(out)
    assert result.shape == (128, 128, 3) and not lab_is_grey(result)


def test_cli_bad_inputs_give_one_line_and_write_nothing(tmp_path, photo):
    source, out = tmp_path / "grey.png", tmp_path / "out.png"
    save_image(source, grey_of(photo[:64, :64]))
    no_alpha, wrong_size = tmp_path / "rgb.png", tmp_path / "small.png"
    save_image(no_alpha, photo[:64, :64])
    save_image(wrong_size, dot_hints(photo[:32, :32], 3))
    for args, words in (
        ((source, out, "--hints", no_alpha), "alpha"),
        ((source, out, "--hints", wrong_size), "same size"),
        ((source, out, "--strength", "1.5"), "between 0 and 1"),
        ((tmp_path / "missing.png", out), "missing.png"),
    ):
        proc = cli("colourize", *args)
        assert_one_line_error(proc)
        assert words in proc.stderr
        assert not out.exists()
