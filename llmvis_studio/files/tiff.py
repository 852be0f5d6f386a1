"""TIFF files as scanners and cameras write them, read with tifffile (+ imagecodecs for the compressions).

Covers LZW / Deflate / PackBits / JPEG / uncompressed, 8 and 16 bit, grey (min-is-black and min-is-white), RGB,
RGBA, CMYK, palette, stripped or tiled, BigTIFF and multi-page (first page, with a notice). Pillow reads only part
of that (no BigTIFF, no 16-bit RGB), and a file it cannot read is not a damaged file: errors here name the real
cause, e.g. "uses LZW compression, which needs the imagecodecs package".
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Optional

import numpy as np

from ..core.errors import ImageLoadError

TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")  # classic and BigTIFF, both byte orders
MULTI_PAGE_NOTICE = "The file has several frames or pages; only the first was opened."


@dataclass
class TiffImage:
    array: np.ndarray  # H×W×3|4, uint8 or uint16, RGB(A)
    grey: bool
    icc_profile: bytes
    dpi: Optional[tuple[float, float]]
    notices: list[str]


def is_tiff(head: bytes) -> bool:
    return head[:4] in TIFF_MAGIC


def read_tiff(data: bytes, name: str) -> TiffImage:
    import tifffile

    try:
        with tifffile.TiffFile(io.BytesIO(data)) as tif:
            page = tif.pages.first
            notices = [MULTI_PAGE_NOTICE] if len(tif.pages) > 1 else []
            compression = _compression_name(page)
            raw = page.asarray()
            array, grey, more = _to_rgb(raw, page)
            return TiffImage(array, grey, _icc(page), _dpi(page), notices + more)
    except ImageLoadError:
        raise
    except Exception as exc:  # tifffile raises many types for one cause; the message tells them apart
        raise _read_error(name, exc, locals().get("compression")) from exc


def _compression_name(page) -> str:
    try:
        return page.compression.name.replace("ADOBE_", "").replace("_", " ")
    except AttributeError:
        return str(page.compression)


def _read_error(name: str, exc: Exception, compression: Optional[str]) -> ImageLoadError:
    text = str(exc)
    if "imagecodecs" in text:
        return ImageLoadError(
            f"{name} uses {compression or 'a'} compression, which needs the imagecodecs package "
            "(pip install imagecodecs); the file itself is fine.",
            detail=text,
        )
    if isinstance(exc, (NotImplementedError, KeyError)) or "not supported" in text or "unsupported" in text.lower():
        return ImageLoadError(f"{name} uses a TIFF feature this app cannot read: {text}.", detail=repr(exc))
    return ImageLoadError(f"{name} is a damaged or truncated TIFF file and cannot be opened.", detail=repr(exc))


def _to_rgb(raw: np.ndarray, page) -> tuple[np.ndarray, bool, list[str]]:
    photometric = int(page.photometric)
    notices: list[str] = []
    if photometric == 3 and page.colormap is not None:  # palette: indices into a 16-bit colormap
        raw = (page.colormap.T[raw.astype(np.intp)] >> 8).astype(np.uint8)
    if raw.dtype not in (np.uint8, np.uint16):
        raw, note = _to_integer(raw)
        notices.append(note)
    if raw.ndim == 3 and raw.shape[0] in (3, 4) and raw.shape[2] not in (3, 4):  # planar (separate) layout
        raw = raw.transpose(1, 2, 0)
    if photometric == 0:  # min-is-white: 0 is white
        raw = np.iinfo(raw.dtype).max - raw
    if photometric == 5 and raw.ndim == 3 and raw.shape[2] >= 4:  # separated = CMYK
        from .colour import cmyk_array_to_rgb

        notices.append("CMYK image converted to RGB.")
        return cmyk_array_to_rgb(raw[..., :4], _icc(page)), False, notices
    grey = raw.ndim == 2 or raw.shape[2] in (1, 2)
    return _rgb_layout(raw), grey, notices


def _to_integer(raw: np.ndarray) -> tuple[np.ndarray, str]:
    if raw.dtype == bool:
        return raw.astype(np.uint8) * 255, "1-bit image widened to 8 bits."
    if np.issubdtype(raw.dtype, np.floating):
        top = float(np.nanmax(raw)) if raw.size else 1.0
        scaled = np.clip(np.nan_to_num(raw) / (top if top > 1.0 else 1.0), 0, 1)
        return np.rint(scaled * 65535).astype(np.uint16), "Floating-point image converted to 16 bits."
    wide = raw.astype(np.int64)
    if raw.dtype.itemsize <= 1:
        return np.clip(wide, 0, 255).astype(np.uint8), "Signed image clipped to 8 bits."
    return np.clip(wide, 0, 65535).astype(np.uint16), "Image clipped to 16 bits."


def _rgb_layout(array: np.ndarray) -> np.ndarray:
    if array.ndim == 2:
        return np.repeat(array[..., None], 3, axis=2)
    if array.shape[2] == 1:
        return np.repeat(array, 3, axis=2)
    if array.shape[2] == 2:  # grey + alpha
        return np.concatenate([np.repeat(array[..., :1], 3, axis=2), array[..., 1:2]], axis=2)
    return np.ascontiguousarray(array[..., :4])


def _icc(page) -> bytes:
    tag = page.tags.get(34675)  # InterColorProfile
    value = tag.value if tag is not None else b""
    return bytes(value) if isinstance(value, (bytes, bytearray)) else b""


def _dpi(page) -> Optional[tuple[float, float]]:
    tags = page.tags
    x, y = tags.get(282), tags.get(283)  # XResolution, YResolution
    if x is None or y is None:
        return None
    unit = tags.get(296)  # ResolutionUnit: 2 inch, 3 centimetre
    factor = 2.54 if unit is not None and int(unit.value) == 3 else 1.0
    try:
        return (_rational(x.value) * factor, _rational(y.value) * factor)
    except (TypeError, ZeroDivisionError):
        return None


def _rational(value) -> float:
    return value[0] / value[1] if isinstance(value, tuple) else float(value)
