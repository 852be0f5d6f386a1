"""Load and save images as uint8/uint16 RGB(A) arrays with EXIF, ICC and DPI kept.

Pillow reads most formats but turns 16-bit RGB into 8-bit, so 16-bit PNG goes through OpenCV and every TIFF
(LZW, Deflate, JPEG, tiled, BigTIFF… as scanners write them) through tifffile (files/tiff.py). CMYK JPEGs are
converted with their embedded ICC profile (files/colour.py).
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from struct import error as struct_error
from typing import Optional

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..core.document import Document, ImageMetadata
from ..core.errors import ImageLoadError, ImageSaveError, InputError, LargeImageError
from .atomic import write_atomically
from .colour import cmyk_to_srgb
from .tiff import is_tiff, read_tiff

ASK_PIXELS = 100_000_000  # above this, ask before decoding (a possible decompression bomb)
MAX_PIXELS = 250_000_000  # hard limit: refuse above this (about 1 GB of 8-bit RGBA)
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
SAVE_FORMATS = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".webp": "WEBP",
    ".bmp": "BMP",
}
SIXTEEN_BIT_FORMATS = {"PNG", "TIFF"}


def _check_readable(path: Path) -> None:
    if not path.exists():
        raise ImageLoadError(f"File not found: {path}")
    if path.is_dir():
        raise ImageLoadError(f"{path} is a folder, not an image.")


def _is_sixteen_bit_png(head: bytes) -> bool:
    return head[:8] == b"\x89PNG\r\n\x1a\n" and len(head) > 24 and head[24] == 16


def _read_sixteen_bit(data: bytes) -> np.ndarray:
    array = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if array is None:
        raise ImageLoadError("The file is damaged: the 16-bit image could not be decoded.")
    return _to_rgb_layout(array, bgr=True)


def _to_rgb_layout(array: np.ndarray, bgr: bool) -> np.ndarray:
    if array.ndim == 2:
        return np.repeat(array[..., None], 3, axis=2)
    if array.shape[2] == 2:  # grey + alpha
        return np.concatenate([np.repeat(array[..., :1], 3, axis=2), array[..., 1:2]], axis=2)
    if bgr:
        order = [2, 1, 0, 3][: array.shape[2]]
        array = array[..., order]
    return np.ascontiguousarray(array[..., :4])


def _pillow_to_array(picture: Image.Image) -> tuple[np.ndarray, list[str]]:
    notices: list[str] = []
    if picture.mode in ("I;16", "I;16B", "I;16L", "I"):
        grey = np.asarray(picture).astype(np.uint16 if picture.mode != "I" else np.int64)
        return _to_rgb_layout(np.clip(grey, 0, 65535).astype(np.uint16), bgr=False), notices
    if picture.mode == "CMYK":
        rgb, profiled = cmyk_to_srgb(picture, picture.info.get("icc_profile", b""))
        notices.append(
            "CMYK image converted to RGB with its colour profile."
            if profiled
            else "CMYK image converted to RGB without a colour profile; colours may shift."
        )
        return np.asarray(rgb).copy(), notices
    has_alpha = picture.mode in ("RGBA", "LA", "PA") or (picture.mode == "P" and "transparency" in picture.info)
    converted = picture.convert("RGBA" if has_alpha else "RGB")
    return np.asarray(converted).copy(), notices


def _check_size(picture: Image.Image | _HeaderSize, name: str, allow_large: bool) -> None:
    """Decide from the header alone, before any pixel is decoded."""
    width, height = picture.size
    pixels = width * height
    if width <= 0 or height <= 0:
        raise ImageLoadError(f"{name} declares an empty image.")
    if pixels > MAX_PIXELS:
        raise ImageLoadError(
            f"{name} is {width}×{height} ({pixels / 1e6:.0f} megapixels), above the "
            f"{MAX_PIXELS // 1_000_000} megapixel limit; refused."
        )
    if pixels > ASK_PIXELS and not allow_large:
        raise LargeImageError(
            f"{name} is {width}×{height} ({pixels / 1e6:.0f} megapixels) and needs a lot of memory. Open it anyway?",
            pixels / 1e6,
        )


def load_image(path: Path | str, allow_large: bool = False) -> tuple[np.ndarray, ImageMetadata]:
    """Read an image file into an H×W×3|4 uint8/uint16 array and its metadata.

    Above ASK_PIXELS a LargeImageError asks the caller to confirm (allow_large=True).
    """
    path = Path(path)
    _check_readable(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImageLoadError(f"Cannot read {path.name}: {exc.strerror or exc}.") from exc
    if is_tiff(data[:4]):
        return _load_tiff(data, path.name, allow_large)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            picture: Image.Image = Image.open(io.BytesIO(data))
            _check_size(picture, path.name, allow_large)
            notices = []
            if getattr(picture, "n_frames", 1) > 1:
                notices.append("The file has several frames or pages; only the first was opened.")
            metadata = ImageMetadata(
                format=picture.format or "PNG",
                exif=picture.info.get("exif", b""),
                icc_profile=picture.info.get("icc_profile", b""),
                dpi=picture.info.get("dpi"),
                grey=picture.mode in ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L"),
            )
            if _is_sixteen_bit_png(data[:32]):
                array = _read_sixteen_bit(data)
            else:
                picture = ImageOps.exif_transpose(picture)
                picture.load()
                array, more = _pillow_to_array(picture)
                notices.extend(more)
                if picture.mode == "CMYK":
                    metadata.icc_profile = b""  # the pixels are sRGB now
    except LargeImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageLoadError(f"{path.name} is larger than {MAX_PIXELS // 1_000_000} megapixels; refused.") from None
    except UnidentifiedImageError:
        raise ImageLoadError(f"{path.name} is not an image this app can read.") from None
    except ImageLoadError:
        raise
    except (
        OSError,
        SyntaxError,
        ValueError,
        EOFError,
        MemoryError,
        IndexError,
        TypeError,
        struct_error,
        ZeroDivisionError,
        RuntimeError,
    ) as exc:
        raise ImageLoadError(f"{path.name} is damaged or truncated and cannot be opened.", detail=repr(exc)) from exc
    metadata.notices = tuple(notices)
    return array, metadata


def _load_tiff(data: bytes, name: str, allow_large: bool) -> tuple[np.ndarray, ImageMetadata]:
    """TIFF through tifffile; the size is checked from the header before any pixel is decoded."""
    _check_tiff_size(data, name, allow_large)
    tiff = read_tiff(data, name)
    metadata = ImageMetadata(format="TIFF", icc_profile=tiff.icc_profile, dpi=tiff.dpi, grey=tiff.grey)
    metadata.notices = tuple(tiff.notices)
    return tiff.array, metadata


def _check_tiff_size(data: bytes, name: str, allow_large: bool) -> None:
    import tifffile

    try:
        with tifffile.TiffFile(io.BytesIO(data)) as tif:
            shape = tif.pages.first.shape
            height, width = (
                (shape[1], shape[2])
                if len(shape) == 3 and shape[0] in (3, 4) and shape[2] > 4
                else (shape[0], shape[1])
            )
    except Exception as exc:  # noqa: BLE001 - any header failure is reported by read_tiff with its cause
        del exc
        return
    _check_size(_HeaderSize(int(width), int(height)), name, allow_large)


class _HeaderSize:
    """The one attribute _check_size reads, for decoders other than Pillow."""

    def __init__(self, width: int, height: int) -> None:
        self.size = (width, height)


def load_document(path: Path | str) -> Document:
    image, metadata = load_image(path)
    return Document(image=image, metadata=metadata, path=Path(path))


def format_for(path: Path) -> str:
    try:
        return SAVE_FORMATS[path.suffix.lower()]
    except KeyError:
        raise InputError(
            f"Cannot save as '{path.suffix or 'no extension'}'. Use one of: {', '.join(sorted(SAVE_FORMATS))}."
        ) from None


def save_image(
    path: Path | str,
    image: np.ndarray,
    metadata: Optional[ImageMetadata] = None,
    backup: bool = True,
    replace_protected: bool = False,
) -> list[str]:
    """Write atomically in the format the extension names; returns notices (e.g. 16→8 bit).

    With backup, a file being replaced is kept as `NAME~`. A write-protected file is replaced
    only with replace_protected (see files.atomic).
    """
    path = Path(path)
    fmt = format_for(path)
    metadata = metadata or ImageMetadata()
    notices: list[str] = []
    if image.dtype == np.uint16 and fmt not in SIXTEEN_BIT_FORMATS:
        notices.append(f"{fmt} holds only 8 bits per channel; the 16-bit image was reduced.")
        image = (image.astype(np.uint32) * 255 // 65535).astype(np.uint8)
    if fmt == "JPEG" and image.shape[2] == 4:
        notices.append("JPEG has no transparency; the alpha channel was dropped.")
        image = image[..., :3]

    if metadata.grey and image.shape[2] == 3 and _channels_equal(image):
        image = image[..., :1]  # keep a grey source grey

    def write(temp: Path) -> None:
        if image.dtype == np.uint16:
            _write_sixteen_bit(temp, fmt, image)
        else:
            _write_pillow(temp, fmt, image, metadata)

    write_atomically(path, write, keep_backup=backup, replace_protected=replace_protected)
    return notices


def _channels_equal(image: np.ndarray) -> bool:
    return bool((image[..., 0] == image[..., 1]).all() and (image[..., 1] == image[..., 2]).all())


def _write_pillow(temp: Path, fmt: str, image: np.ndarray, metadata: ImageMetadata) -> None:
    modes = {1: "L", 3: "RGB", 4: "RGBA"}
    picture = Image.fromarray(image[..., 0] if image.shape[2] == 1 else image, modes[image.shape[2]])
    options: dict = {}
    if metadata.exif and fmt in ("JPEG", "PNG", "WEBP", "TIFF"):
        options["exif"] = _exif_without_orientation(metadata.exif)
    if metadata.icc_profile and fmt in ("JPEG", "PNG", "WEBP", "TIFF"):
        options["icc_profile"] = metadata.icc_profile
    if metadata.dpi and fmt in ("JPEG", "PNG", "TIFF", "BMP"):
        options["dpi"] = tuple(float(v) for v in metadata.dpi)
    if fmt == "JPEG":
        options.update(quality=95, subsampling=0)
    try:
        picture.save(temp, format=fmt, **options)
    except (OSError, ValueError) as exc:
        raise ImageSaveError(f"Could not write {fmt}: {exc}", detail=repr(exc)) from exc


def _exif_without_orientation(exif: bytes) -> bytes:
    """Pixels were already rotated on open, so the saved EXIF must say 'upright'."""
    parsed = Image.Exif()
    parsed.load(exif)
    if parsed.get(0x0112, 1) != 1:
        parsed[0x0112] = 1
    return parsed.tobytes()


def _write_sixteen_bit(temp: Path, fmt: str, image: np.ndarray) -> None:
    if fmt == "TIFF":
        import tifffile

        grey = image.shape[2] == 1
        tifffile.imwrite(temp, image[..., 0] if grey else image, photometric="minisblack" if grey else "rgb")
        return
    order = [2, 1, 0, 3][: image.shape[2]] if image.shape[2] > 1 else [0]
    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(image[..., order]))
    if not ok:
        raise ImageSaveError("Could not encode the 16-bit PNG.")
    temp.write_bytes(encoded.tobytes())


def load_mask(path: Path | str, expected_shape: Optional[tuple[int, int]] = None) -> np.ndarray:
    """A mask file (white = selected) as an H×W uint8 array."""
    image, _ = load_image(path)
    grey = image[..., :3].astype(np.float32).mean(axis=2)
    if image.dtype == np.uint16:
        grey /= 257.0
    mask = np.clip(np.rint(grey), 0, 255).astype(np.uint8)
    if expected_shape is not None and mask.shape != tuple(expected_shape):
        raise InputError(
            f"The mask is {mask.shape[1]}×{mask.shape[0]} but the image is "
            f"{expected_shape[1]}×{expected_shape[0]}; they must be the same size."
        )
    return mask


def save_mask(path: Path | str, mask: np.ndarray, replace_protected: bool = False) -> None:
    path = Path(path)
    if format_for(path) != "PNG":
        raise InputError("Masks are saved as PNG.")
    write_atomically(
        path,
        lambda temp: Image.fromarray(mask, "L").save(temp, format="PNG"),
        keep_backup=False,
        replace_protected=replace_protected,
    )
