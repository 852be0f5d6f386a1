"""The `.llmvis` project file: a zip with the original and current image, the mask, the
history of applied jobs, the prompt history and (version 2, optional) the colour hints.

Arrays are stored as .npy (allow_pickle=False), so reading back is exact and runs no code.

Reading treats the file as hostile (issue 24); nothing is decompressed until it has passed:
- the zip directory: at most MAX_ENTRIES entries and MAX_DIRECTORY_BYTES, read from the end
  record before zipfile parses it (a million-entry directory would cost memory by itself);
- every entry: no `..`, absolute path or symlink; stored or deflated only (bzip2/lzma reach
  ratios of millions); a declared size within its limit (project.json MAX_HEADER_BYTES, exif.bin
  and icc.bin MAX_BLOB_BYTES, arrays MAX_ARRAY_BYTES); and, above RATIO_FREE_BYTES, a
  compression ratio of at most MAX_RATIO. save_project writes deflate level 1, which peaks at
  about 230:1 even on a blank image; a level-9 bomb reaches 1030:1.
- project.json: parsed and schema-checked (project_schema) before anything else is used;
- each array: its .npy header (shape, dtype) is read from the first bytes and checked against the
  image limits (imageio.MAX_PIXELS, 3/4 channels, uint8/uint16; the mask H×W uint8 matching the
  image) and against the entry's declared size, all three before any is read; above
  imageio.ASK_PIXELS the caller must confirm (LargeImageError, allow_large), as for a large image
  file. Then each is streamed into an array allocated at exactly that size. Memory is therefore bounded by the declared sizes, which are bounded by the
  limits: at most 2 × MAX_PIXELS × 8 bytes for the two images, MAX_PIXELS for the mask and
  2 × MAX_BLOB_BYTES + MAX_HEADER_BYTES for the rest (about 4.3 GB for a 250-megapixel 16-bit
  RGBA project, which is what such a project needs; a crafted file cannot ask for more).
Every failure is an ImageLoadError with one sentence; nothing else escapes.
"""

from __future__ import annotations

import io
import json
import stat
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO, Optional

import numpy as np

from ..core.document import Document, ImageMetadata
from ..core.errors import ImageLoadError, InputError, LargeImageError
from ..core.hint_layer import POINT_COLUMNS, from_points, to_points
from .atomic import write_atomically
from .imageio import ASK_PIXELS, MAX_PIXELS
from .project_schema import (
    FORMAT,
    MAX_HEADER_BYTES,
    VERSION,
    VERSION_WITHOUT_HINTS,
    NewerVersion,
    ProjectFormatError,
    check_header,
)

ARRAYS = ("original.npy", "image.npy", "mask.npy")
HINTS = "hints.npy"  # optional (version 2): N×6 uint32 rows y, x, r, g, b, a
MAX_HINT_POINTS = 1 << 22  # 4 M hinted pixels: far beyond any brushing, 100 MB at most
BLOBS = ("exif.bin", "icc.bin")
MAX_ENTRIES = 32
MAX_DIRECTORY_BYTES = 64 << 10
MAX_BLOB_BYTES = 16 << 20  # ICC profiles run to a few MB; EXIF to 64 KB in JPEG, more in TIFF
MAX_ARRAY_BYTES = MAX_PIXELS * 4 * 2 + 4096  # RGBA, 16-bit, plus the .npy header
MAX_RATIO = 300
RATIO_FREE_BYTES = 1 << 20  # small entries may compress as well as they like
COMPRESSION_LEVEL = 1  # MAX_RATIO assumes this level (see the docstring)
_CHUNK = 1 << 20
_IMAGE_DTYPES = (np.dtype("|u1"), np.dtype("<u2"))


@dataclass
class Project:
    document: Document
    original: np.ndarray
    jobs: list[dict[str, Any]] = field(default_factory=list)  # op, model, params, time
    prompts: list[str] = field(default_factory=list)
    hints: Optional[np.ndarray] = None  # H×W×4 uint8 colour hints (alpha > 0 = hinted), or None


class _Refused(Exception):
    """Internal: the file breaks a limit or the format; the text completes '<name> …'."""


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


def _metadata_json(meta: ImageMetadata) -> dict[str, Any]:
    return {"format": meta.format, "dpi": list(meta.dpi) if meta.dpi else None}


def save_project(path: Path | str, project: Project, backup: bool = True, replace_protected: bool = False) -> None:
    """Write atomically; with backup a project being replaced is kept as `NAME~`."""
    doc = project.document
    hints = project.hints
    has_hints = hints is not None and hints.shape[:2] == doc.image.shape[:2] and bool(hints[..., 3].any())
    header = {
        "format": FORMAT,
        "version": VERSION if has_hints else VERSION_WITHOUT_HINTS,
        "source_path": str(doc.path) if doc.path else None,
        "metadata": _metadata_json(doc.metadata),
        "jobs": project.jobs,
        "prompts": project.prompts,
    }

    def write(temp: Path) -> None:
        with zipfile.ZipFile(temp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=COMPRESSION_LEVEL) as archive:
            archive.writestr("project.json", json.dumps(header, indent=1))
            archive.writestr("original.npy", _npy_bytes(project.original))
            archive.writestr("image.npy", _npy_bytes(doc.image))
            archive.writestr("mask.npy", _npy_bytes(doc.mask))
            if has_hints and hints is not None:  # (has_hints implies it; said again for the type checker)
                archive.writestr(HINTS, _npy_bytes(to_points(hints)))
            if doc.metadata.exif:
                archive.writestr("exif.bin", doc.metadata.exif)
            if doc.metadata.icc_profile:
                archive.writestr("icc.bin", doc.metadata.icc_profile)

    write_atomically(Path(path), write, keep_backup=backup, replace_protected=replace_protected)


# --- checks before decompression ----------------------------------------------------------------
def check_directory(handle: BinaryIO) -> int:
    """Entry count and directory size from the end record, before zipfile reads the directory.

    Returns the archive's size in bytes."""
    handle.seek(0, io.SEEK_END)
    size = handle.tell()
    tail_length = min(size, 22 + 0xFFFF)  # the end record plus the longest comment
    handle.seek(size - tail_length)
    tail = handle.read(tail_length)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        raise _Refused("is damaged or not a project file")
    entries, directory_bytes = struct.unpack("<HI", tail[at + 10 : at + 16])
    if entries > MAX_ENTRIES or directory_bytes > MAX_DIRECTORY_BYTES:
        raise _Refused(f"has {entries} entries; a project has at most {MAX_ENTRIES}; refused")
    return size


def check_entry_is_safe(info: zipfile.ZipInfo) -> None:
    name = info.filename
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":") or ".." in parts:
        raise ImageLoadError(f"The project contains an unsafe path ('{name}'); refused.")
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise ImageLoadError(f"The project contains a symbolic link ('{name}'); refused.")


def _limit_for(name: str) -> int:
    if name == "project.json":
        return MAX_HEADER_BYTES
    if name in ARRAYS:
        return MAX_ARRAY_BYTES
    if name == HINTS:
        return MAX_HINT_POINTS * POINT_COLUMNS * 4 + 4096
    return MAX_BLOB_BYTES


def check_declared_size(info: zipfile.ZipInfo) -> None:
    """Declared size and compression ratio, read from the directory: nothing is inflated yet."""
    name = info.filename
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise _Refused(f"uses a compression LLMVis never writes ('{name}'); refused")
    limit = _limit_for(name)
    if info.file_size > limit:
        raise _Refused(
            f"declares '{name}' as {info.file_size / 1e6:.0f} MB, above the {limit / 1e6:.0f} MB limit; refused"
        )
    if info.file_size > RATIO_FREE_BYTES and info.file_size > MAX_RATIO * max(1, info.compress_size):
        raise _Refused(
            f"declares '{name}' as {info.file_size / 1e6:.0f} MB packed into "
            f"{info.compress_size / 1e6:.1f} MB, more than a project can compress; refused"
        )


# --- streaming reads ----------------------------------------------------------------------------
def _read_small(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """A whole entry whose declared size was checked; read no more than declared."""
    with archive.open(info) as stream:
        data = stream.read(info.file_size + 1)
    if len(data) != info.file_size:
        raise _Refused(f"is damaged ('{info.filename}' is not the size it declares)")
    return data


def _array_header(prefix: bytes) -> tuple[tuple[int, ...], np.dtype, int]:
    buffer = io.BytesIO(prefix)
    version = np.lib.format.read_magic(buffer)
    reader = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, fortran_order, dtype = reader(buffer, max_header_size=10_000)
    if fortran_order or dtype.hasobject:
        raise ValueError("unexpected array layout")
    return tuple(int(n) for n in shape), dtype, buffer.tell()


@dataclass(frozen=True)
class _Layout:
    """What an .npy entry declares, read from its first bytes only."""

    shape: tuple[int, ...]
    dtype: np.dtype
    header_length: int

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape)) * self.dtype.itemsize


def _peek_layout(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> _Layout:
    """The .npy header, checked against the entry's declared size; nothing else is inflated."""
    with archive.open(info) as stream:
        prefix = stream.read(min(info.file_size, 16 << 10))
    try:
        layout = _Layout(*_array_header(prefix))
    except (ValueError, EOFError, SyntaxError, TypeError) as exc:
        raise _Refused(f"is damaged ('{info.filename}' is not a plain array)") from exc
    if layout.header_length + layout.nbytes != info.file_size:
        raise _Refused(f"is damaged ('{info.filename}' is not the size it declares)")
    return layout


def _check_image_layout(name: str, layout: _Layout) -> int:
    """Returns the pixel count."""
    shape = layout.shape
    if len(shape) != 3 or shape[2] not in (3, 4) or layout.dtype not in _IMAGE_DTYPES:
        raise _Refused(f"is damaged ('{name}' is not an RGB(A) 8- or 16-bit image)")
    height, width = shape[:2]
    if height < 1 or width < 1 or height * width > MAX_PIXELS:
        raise _Refused(
            f"holds a {width}×{height} image, outside the 1 to {MAX_PIXELS // 1_000_000} megapixel limit; refused"
        )
    return height * width


def check_layouts(label: str, layouts: dict[str, _Layout], allow_large: bool) -> None:
    """Shapes and dtypes of all three arrays before any is read; above ASK_PIXELS ask first (as imageio does)."""
    pixels = max(_check_image_layout(name, layouts[name]) for name in ("image.npy", "original.npy"))
    mask, image = layouts["mask.npy"], layouts["image.npy"]
    if mask.shape != image.shape[:2] or mask.dtype != np.dtype("|u1"):
        raise _Refused("is damaged (the mask does not match the image)")
    if pixels > ASK_PIXELS and not allow_large:
        gigabytes = sum(layout.nbytes for layout in layouts.values()) / 1e9
        raise LargeImageError(
            f"{label} holds a {pixels / 1e6:.0f} megapixel image and needs about "
            f"{gigabytes:.1f} GB of memory. Open it anyway?",
            pixels / 1e6,
        )


def _read_array(archive: zipfile.ZipFile, info: zipfile.ZipInfo, layout: _Layout) -> np.ndarray:
    """Allocate exactly what the checked layout declares and stream the entry into it."""
    name = info.filename
    array = np.empty(layout.shape, layout.dtype)
    flat = array.reshape(-1).view(np.uint8)
    size = layout.nbytes
    with archive.open(info) as stream:
        if len(stream.read(layout.header_length)) != layout.header_length:
            raise _Refused(f"is damaged ('{name}' is cut short)")
        done = 0
        while done < size:
            chunk = stream.read(min(_CHUNK, size - done))
            if not chunk:
                raise _Refused(f"is damaged ('{name}' is cut short)")
            flat[done : done + len(chunk)] = np.frombuffer(chunk, np.uint8)
            done += len(chunk)
        if stream.read(1):  # reaching the end also makes zipfile check the CRC
            raise _Refused(f"is damaged ('{name}' is longer than it declares)")
    return array


# --- loading ------------------------------------------------------------------------------------
def load_project(path: Path | str, allow_large: bool = False) -> Project:
    """Above ASK_PIXELS a LargeImageError asks the caller to confirm (allow_large=True), as load_image does."""
    path = Path(path)
    if not path.is_file():
        raise ImageLoadError(f"File not found: {path}")
    try:
        return _load(path, allow_large)
    except ImageLoadError:
        raise
    except _Refused as exc:
        raise ImageLoadError(f"{path.name} {exc}.", detail=repr(exc.__cause__)) from exc
    except NewerVersion:
        raise ImageLoadError(f"{path.name} was written by a newer version of LLMVis Studio.") from None
    except ProjectFormatError as exc:
        raise ImageLoadError(f"{path.name} is not a valid project: {exc}.", detail=repr(exc)) from exc
    except MemoryError:
        raise ImageLoadError(f"{path.name} is too large for the memory available.") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, struct.error) as exc:
        raise ImageLoadError(f"{path.name} is damaged or not a project file.", detail=repr(exc)) from exc
    except (KeyError, ValueError, TypeError, OSError, RecursionError, OverflowError) as exc:
        raise ImageLoadError(f"{path.name} is incomplete or damaged.", detail=repr(exc)) from exc


def _load(path: Path, allow_large: bool) -> Project:
    with open(path, "rb") as handle:
        archive_size = check_directory(handle)
        handle.seek(0)
        with zipfile.ZipFile(handle) as archive:
            infos = {}
            for info in archive.infolist():
                check_entry_is_safe(info)
                check_declared_size(info)
                if info.filename in infos:
                    raise _Refused(f"is damaged ('{info.filename}' appears twice)")
                infos[info.filename] = info
            if sum(info.compress_size for info in infos.values()) > archive_size:
                # entries sharing data, or running past the end, would make the ratio check meaningless
                raise _Refused("is damaged (its entries overlap or run past the end of the file)")
            missing = [name for name in ("project.json",) + ARRAYS if name not in infos]
            if missing:
                raise _Refused(f"is incomplete or not a project file ({missing[0]} is missing)")
            header = check_header(json.loads(_read_small(archive, infos["project.json"])))
            layouts = {name: _peek_layout(archive, infos[name]) for name in ARRAYS}
            check_layouts(path.name, layouts, allow_large)
            original, image, mask = (_read_array(archive, infos[name], layouts[name]) for name in ARRAYS)
            blobs = {name: _read_small(archive, infos[name]) if name in infos else b"" for name in BLOBS}
            hints = _read_hints(archive, infos.get(HINTS), image.shape) if header.version >= 2 else None
    metadata = ImageMetadata(
        format=header.image_format, dpi=header.dpi, exif=blobs["exif.bin"], icc_profile=blobs["icc.bin"]
    )
    source = header.source_path
    try:
        document = Document(image=image, mask=mask, metadata=metadata, path=Path(source) if source else None)
    except InputError as exc:
        raise ImageLoadError(f"{path.name} holds an image this version cannot use.", detail=repr(exc)) from exc
    return Project(document, original, header.jobs, header.prompts, hints)


def _read_hints(
    archive: zipfile.ZipFile, info: Optional[zipfile.ZipInfo], shape: tuple[int, ...]
) -> Optional[np.ndarray]:
    """The colour hint layer, checked like the other arrays before it is read; None when the project has none."""
    if info is None:
        return None
    layout = _peek_layout(archive, info)
    if (
        len(layout.shape) != 2
        or layout.shape[1] != POINT_COLUMNS
        or layout.shape[0] > MAX_HINT_POINTS
        or layout.dtype != np.dtype("<u4")
    ):
        raise _Refused(f"is damaged ('{HINTS}' is not a list of hint points)")
    try:
        return from_points(_read_array(archive, info, layout), shape[0], shape[1])
    except ValueError as exc:
        raise _Refused(f"is damaged ({exc})") from exc
