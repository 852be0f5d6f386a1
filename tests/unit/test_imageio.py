import io
import os

import numpy as np
import pytest
from PIL import Image

from llmvis_studio.core.document import ImageMetadata
from llmvis_studio.core.errors import ImageLoadError, ImageSaveError, InputError
from llmvis_studio.files import load_image, load_mask, save_image, save_mask
from tests.helpers import photo


def test_png_round_trip_8_bit(tmp_path):
    image = photo(40, 50)
    save_image(tmp_path / "a.png", image)
    loaded, meta = load_image(tmp_path / "a.png")
    np.testing.assert_array_equal(loaded, image)
    assert meta.format == "PNG"


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_16_bit_stays_16_bit(tmp_path, suffix):
    image = np.random.default_rng(0).integers(0, 65536, size=(20, 30, 3)).astype(np.uint16)
    save_image(tmp_path / f"a{suffix}", image)
    loaded, _ = load_image(tmp_path / f"a{suffix}")
    assert loaded.dtype == np.uint16
    np.testing.assert_array_equal(loaded, image)


def test_jpeg_keeps_exif_and_icc(tmp_path):
    exif = Image.Exif()
    exif[0x010F] = "TestCam"  # Make
    icc = b"\x00" * 128 + b"fake-profile"
    meta = ImageMetadata(format="JPEG", exif=exif.tobytes(), icc_profile=icc, dpi=(300, 300))
    save_image(tmp_path / "a.jpg", photo(32, 32), meta)
    _, loaded = load_image(tmp_path / "a.jpg")
    assert loaded.icc_profile == icc
    parsed = Image.Exif()
    parsed.load(loaded.exif)
    assert parsed[0x010F] == "TestCam"
    assert round(loaded.dpi[0]) == 300


def test_exif_orientation_is_applied_on_open(tmp_path):
    image = np.zeros((10, 20, 3), np.uint8)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    Image.fromarray(image).save(tmp_path / "o.jpg", exif=exif.tobytes())
    loaded, _ = load_image(tmp_path / "o.jpg")
    assert loaded.shape[:2] == (20, 10)


def test_missing_corrupt_and_non_image_files_raise_typed_errors(tmp_path):
    with pytest.raises(ImageLoadError, match="not found"):
        load_image(tmp_path / "nope.png")
    (tmp_path / "t.png").write_text("hello")
    with pytest.raises(ImageLoadError, match="not an image"):
        load_image(tmp_path / "t.png")
    buffer = io.BytesIO()
    Image.fromarray(photo(64, 64)).save(buffer, format="PNG")
    (tmp_path / "cut.png").write_bytes(buffer.getvalue()[:400])
    with pytest.raises(ImageLoadError, match="damaged"):
        load_image(tmp_path / "cut.png")


def test_failed_save_keeps_the_original(tmp_path, monkeypatch):
    target = tmp_path / "keep.png"
    save_image(target, photo(16, 16, seed=3))
    original = target.read_bytes()

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", disk_full)
    with pytest.raises(ImageSaveError, match="No space left"):
        save_image(target, photo(16, 16, seed=4))
    assert target.read_bytes() == original
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".part")]


def test_unknown_extension_is_refused(tmp_path):
    with pytest.raises(InputError, match="Cannot save"):
        save_image(tmp_path / "a.xyz", photo(8, 8))


def test_mask_round_trip_and_size_check(tmp_path):
    mask = np.zeros((12, 14), np.uint8)
    mask[3:6, 4:9] = 255
    save_mask(tmp_path / "m.png", mask)
    np.testing.assert_array_equal(load_mask(tmp_path / "m.png", expected_shape=(12, 14)), mask)
    with pytest.raises(InputError, match="same size"):
        load_mask(tmp_path / "m.png", expected_shape=(10, 10))


@pytest.mark.parametrize("suffix,dtype", [(".png", np.uint8), (".png", np.uint16), (".tif", np.uint16)])
def test_grey_sources_are_saved_grey(tmp_path, suffix, dtype):
    grey = (np.arange(20 * 30).reshape(20, 30) % 251).astype(dtype) * (257 if dtype == np.uint16 else 1)
    source = tmp_path / f"grey{suffix}"
    if dtype == np.uint8:
        Image.fromarray(grey, "L").save(source)
    else:
        save_image(source, np.repeat(grey[..., None], 3, axis=2))
        source_grey = tmp_path / f"g16{suffix}"
        import cv2
        import tifffile

        if suffix == ".tif":
            tifffile.imwrite(source_grey, grey)
        else:
            cv2.imwrite(str(source_grey), grey)
        source = source_grey
    image, meta = load_image(source)
    assert meta.grey and image.shape == (20, 30, 3) and image.dtype == dtype
    save_image(tmp_path / f"out{suffix}", image, meta)
    with Image.open(tmp_path / f"out{suffix}") as saved:
        assert saved.mode in ("L", "I;16", "I;16B", "I")
    back, _ = load_image(tmp_path / f"out{suffix}")
    np.testing.assert_array_equal(back, image)
