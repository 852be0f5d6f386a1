"""Scanner and camera files (issue 13): a corpus written by the test itself, opened, processed and saved with the
bit depth kept; healthy files are never called damaged."""

import io
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import tifffile
from PIL import Image, ImageCms

from llmvis_studio.core.errors import ImageLoadError
from llmvis_studio.files import load_image, save_image
from tests.helpers import photo

SAMPLE = Path(__file__).resolve().parents[2] / "resources" / "sample.png"
CMYK_PROFILE = Path("/usr/share/color/icc/ghostscript/default_cmyk.icc")  # Debian libgs-common (scripts/system-deps.sh)


def picture(depth: int, channels: int, h: int = 48, w: int = 64) -> np.ndarray:
    rgb = photo(h, w)
    if channels == 1:
        rgb = rgb[..., :1]
    elif channels == 4:
        alpha = np.tile(np.linspace(0, 255, w, dtype=np.uint8), (h, 1))[..., None]
        rgb = np.concatenate([rgb, alpha], axis=2)
    if depth == 16:  # use the low bits too, so an 8-bit detour would show
        return rgb.astype(np.uint16) * 257 + np.arange(rgb.size, dtype=np.uint16).reshape(rgb.shape) % 251
    return rgb


def as_rgb(expected: np.ndarray) -> np.ndarray:
    return np.repeat(expected, 3, axis=2) if expected.shape[2] == 1 else expected


def write_tiff(path: Path, data: np.ndarray, **options) -> None:
    photometric = "minisblack" if data.shape[2] == 1 else "rgb"
    extras = {"extrasamples": ["unassalpha"]} if data.shape[2] == 4 else {}
    tifffile.imwrite(path, data[..., 0] if data.shape[2] == 1 else data, photometric=photometric, **extras, **options)


LOSSLESS = ["lzw", "zlib", "packbits", "none"]


@pytest.mark.parametrize("compression", LOSSLESS)
@pytest.mark.parametrize("depth", [8, 16])
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_lossless_tiff_opens_and_saves_with_its_bit_depth(tmp_path, compression, depth, channels):
    if compression == "packbits" and depth == 16:
        pytest.skip("PackBits is a byte-oriented scheme; scanners use it for 8-bit files only")
    data = picture(depth, channels)
    src = tmp_path / f"scan-{compression}.tif"
    write_tiff(src, data, compression=None if compression == "none" else compression)
    loaded, meta = load_image(src)
    assert loaded.dtype == data.dtype
    np.testing.assert_array_equal(loaded, as_rgb(data))
    assert meta.grey == (channels == 1)
    out = tmp_path / "saved.tif"
    save_image(out, loaded, meta)
    again, _ = load_image(out)
    assert again.dtype == data.dtype
    np.testing.assert_array_equal(again, as_rgb(data))


def test_tiled_bigtiff_and_jpeg_compressed_tiff(tmp_path):
    data = picture(16, 3, 100, 130)
    tifffile.imwrite(tmp_path / "tiled.tif", data, photometric="rgb", tile=(32, 32), compression="zlib", bigtiff=True)
    loaded, _ = load_image(tmp_path / "tiled.tif")
    np.testing.assert_array_equal(loaded, data)
    eight = picture(8, 3, 64, 64)
    tifffile.imwrite(tmp_path / "jpeg.tif", eight, photometric="rgb", compression="jpeg")
    loaded, _ = load_image(tmp_path / "jpeg.tif")
    assert loaded.dtype == np.uint8 and np.abs(loaded.astype(int) - eight).mean() < 6


def test_multi_page_tiff_opens_the_first_page_with_a_notice(tmp_path):
    first, second = picture(8, 3), picture(8, 3)[::-1]
    with tifffile.TiffWriter(tmp_path / "pages.tif") as writer:
        writer.write(first, photometric="rgb", compression="lzw")
        writer.write(second, photometric="rgb", compression="lzw")
    loaded, meta = load_image(tmp_path / "pages.tif")
    np.testing.assert_array_equal(loaded, first)
    assert any("first" in n for n in meta.notices)


def test_min_is_white_and_dpi(tmp_path):
    grey = picture(8, 1)
    tifffile.imwrite(
        tmp_path / "w.tif",
        255 - grey[..., 0],
        photometric="miniswhite",
        compression="lzw",
        resolution=(600, 600),
        resolutionunit="INCH",
    )
    loaded, meta = load_image(tmp_path / "w.tif")
    np.testing.assert_array_equal(loaded, as_rgb(grey))
    assert meta.dpi == pytest.approx((600, 600))


def test_sixteen_bit_png_grey_and_rgb(tmp_path):
    for channels in (1, 3):
        data = picture(16, channels)
        bgr = data[..., ::-1] if channels == 3 else data[..., 0]
        cv2.imwrite(str(tmp_path / f"g{channels}.png"), np.ascontiguousarray(bgr))
        loaded, _ = load_image(tmp_path / f"g{channels}.png")
        assert loaded.dtype == np.uint16
        np.testing.assert_array_equal(loaded, as_rgb(data))


def test_progressive_jpeg_webp_and_avif(tmp_path):
    data = picture(8, 3, 64, 80)
    Image.fromarray(data).save(tmp_path / "p.jpg", progressive=True, quality=95)
    Image.fromarray(data).save(tmp_path / "a.webp", lossless=True)
    for name in ("p.jpg", "a.webp"):
        loaded, _ = load_image(tmp_path / name)
        assert loaded.shape == data.shape and np.abs(loaded.astype(int) - data).mean() < 3
    Image.fromarray(data).save(tmp_path / "a.avif", quality=95)
    loaded, _ = load_image(tmp_path / "a.avif")
    assert loaded.shape == data.shape and np.abs(loaded.astype(int) - data).mean() < 8


@pytest.mark.skipif(not CMYK_PROFILE.exists(), reason="needs Debian's libgs-common (make system-deps)")
def test_cmyk_jpeg_is_converted_with_its_icc_profile(tmp_path):
    src = np.asarray(Image.open(SAMPLE).convert("RGB"))[:160, :160]  # a real photo: in gamut, unlike a test pattern
    profile = ImageCms.ImageCmsProfile(io.BytesIO(CMYK_PROFILE.read_bytes()))
    srgb = ImageCms.createProfile("sRGB")
    cmyk = ImageCms.profileToProfile(Image.fromarray(src), srgb, profile, outputMode="CMYK")
    cmyk.save(tmp_path / "c.jpg", quality=98, icc_profile=CMYK_PROFILE.read_bytes())
    loaded, meta = load_image(tmp_path / "c.jpg")
    exact = np.asarray(ImageCms.profileToProfile(cmyk, profile, srgb, outputMode="RGB")).astype(int)
    naive = np.asarray(Image.open(tmp_path / "c.jpg").convert("RGB")).astype(int)
    assert np.abs(loaded.astype(int) - exact).mean() < 1.5  # only the JPEG's own loss
    assert np.abs(loaded.astype(int) - src).mean() < 0.5 * np.abs(naive - src).mean()  # the profile matters
    assert meta.icc_profile == b""  # pixels are sRGB now
    assert any("profile" in n for n in meta.notices)


def test_messages_name_the_real_cause(tmp_path, monkeypatch):
    src = tmp_path / "lzw.tif"
    write_tiff(src, picture(16, 3), compression="lzw")
    import imagecodecs

    def missing(*args, **kwargs):
        raise ValueError("<COMPRESSION.LZW: 5> requires the 'imagecodecs' package")

    monkeypatch.setattr(imagecodecs, "lzw_decode", missing)
    monkeypatch.setattr(tifffile.TiffPage, "asarray", lambda self, *a, **k: missing())
    with pytest.raises(ImageLoadError) as info:
        load_image(src)
    assert "LZW" in str(info.value) and "imagecodecs" in str(info.value)
    assert "damaged" not in str(info.value)


def test_truncated_tiff_is_called_damaged(tmp_path):
    src = tmp_path / "t.tif"
    write_tiff(src, picture(16, 3, 200, 200), compression="lzw")
    data = src.read_bytes()
    src.write_bytes(data[: len(data) // 3])
    with pytest.raises(ImageLoadError) as info:
        load_image(src)
    assert "damaged" in str(info.value) or "truncated" in str(info.value)


def test_sixteen_bit_lzw_scan_through_the_cli(tmp_path):
    src, out = tmp_path / "scan.tif", tmp_path / "out.tif"
    write_tiff(src, picture(16, 1, 64, 64), compression="lzw")
    run = subprocess.run(
        [sys.executable, "-m", "llmvis_studio", "denoise", str(src), str(out), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if "unrecognized arguments: --json" in run.stderr:
        run = subprocess.run(
            [sys.executable, "-m", "llmvis_studio", "denoise", str(src), str(out)],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert run.returncode == 0, run.stderr
    result, meta = load_image(out)
    assert result.dtype == np.uint16 and meta.grey
    with tifffile.TiffFile(out) as tif:
        assert tif.pages.first.dtype == np.uint16 and tif.pages.first.samplesperpixel == 1
