import numpy as np
import pytest

from llmvis_studio.core.geometry import Bounds, Extent, nonzero_bounds, pad_amount, pad_to_stride
from llmvis_studio.core.pixels import blend_inside_mask, from_float_rgb, to_float_rgb


def test_bounds_clip_union_and_slices():
    b = Bounds(-5, 10, 20, 30).clipped(Extent(12, 25))
    assert b == Bounds(0, 10, 12, 15)
    assert Bounds(0, 0, 2, 2).union(Bounds(5, 5, 1, 1)) == Bounds(0, 0, 6, 6)
    array = np.arange(100).reshape(10, 10)
    assert array[Bounds(2, 3, 4, 1).slices].tolist() == [[32, 33, 34, 35]]


def test_nonzero_bounds_finds_the_tight_box():
    mask = np.zeros((20, 30), np.uint8)
    assert nonzero_bounds(mask) is None
    mask[4:7, 10:15] = 255
    mask[12, 2] = 1
    assert nonzero_bounds(mask) == Bounds(2, 4, 13, 9)


@pytest.mark.parametrize("size,stride,expected", [(10, 8, 6), (16, 8, 0), (1, 32, 31), (7, 1, 0)])
def test_pad_amount(size, stride, expected):
    assert pad_amount(size, stride) == expected


def test_pad_to_stride_keeps_the_original_top_left():
    image = np.random.default_rng(0).random((13, 10, 3)).astype(np.float32)
    padded, ph, pw = pad_to_stride(image, 8)
    assert padded.shape == (16, 16, 3) and (ph, pw) == (3, 6)
    np.testing.assert_array_equal(padded[:13, :10], image)


@pytest.mark.parametrize("dtype,top", [(np.uint8, 255), (np.uint16, 65535)])
def test_float_round_trip_is_exact(dtype, top):
    image = np.random.default_rng(1).integers(0, top + 1, size=(8, 9, 3), dtype=np.int64).astype(dtype)
    np.testing.assert_array_equal(from_float_rgb(to_float_rgb(image), image), image)


def test_blend_inside_mask_leaves_outside_bit_exact():
    rng = np.random.default_rng(2)
    original = rng.integers(0, 65536, size=(10, 10, 3)).astype(np.uint16)
    edited = rng.integers(0, 65536, size=(10, 10, 3)).astype(np.uint16)
    mask = np.zeros((10, 10), np.uint8)
    mask[2:5, 2:5] = 255
    mask[6, 6] = 128
    out = blend_inside_mask(original, edited, mask)
    np.testing.assert_array_equal(out[mask == 0], original[mask == 0])
    np.testing.assert_array_equal(out[2:5, 2:5], edited[2:5, 2:5])
    expected = original[6, 6].astype(float) * (127 / 255) + edited[6, 6].astype(float) * (128 / 255)
    np.testing.assert_allclose(out[6, 6], expected, atol=1)
