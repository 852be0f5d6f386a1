"""The `.llmvis` project file: a zip with the original and current image, the mask, the
history of applied jobs and the prompt history.

Arrays are stored as .npy (allow_pickle=False), so reading back is exact and runs no code.
Entries with `..`, absolute paths or symlinks are refused before anything is extracted.
"""
from __future__ import annotations

import io
import json
import stat
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Optional

import numpy as np

from ..core.document import Document, ImageMetadata
from ..core.errors import ImageLoadError, InputError
from .atomic import write_atomically

FORMAT = "llmvis-project"
VERSION = 1
ARRAYS = ("original.npy", "image.npy", "mask.npy")
MAX_ENTRY_BYTES = 4 << 30


@dataclass
class Project:
    document: Document
    original: np.ndarray
    jobs: list[dict[str, Any]] = field(default_factory=list)  # op, model, params, time
    prompts: list[str] = field(default_factory=list)


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


def _metadata_json(meta: ImageMetadata) -> dict[str, Any]:
    return {"format": meta.format, "dpi": list(meta.dpi) if meta.dpi else None}


def save_project(path: Path | str, project: Project, backup: bool = True) -> None:
    """Write atomically; with backup a project being replaced is first copied to `NAME~`."""
    doc = project.document
    header = {
        "format": FORMAT, "version": VERSION, "source_path": str(doc.path) if doc.path else None,
        "metadata": _metadata_json(doc.metadata), "jobs": project.jobs, "prompts": project.prompts,
    }

    def write(temp: Path) -> None:
        with zipfile.ZipFile(temp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
            archive.writestr("project.json", json.dumps(header, indent=1))
            archive.writestr("original.npy", _npy_bytes(project.original))
            archive.writestr("image.npy", _npy_bytes(doc.image))
            archive.writestr("mask.npy", _npy_bytes(doc.mask))
            if doc.metadata.exif:
                archive.writestr("exif.bin", doc.metadata.exif)
            if doc.metadata.icc_profile:
                archive.writestr("icc.bin", doc.metadata.icc_profile)

    write_atomically(Path(path), write, keep_backup=backup)


def check_entry_is_safe(info: zipfile.ZipInfo) -> None:
    name = info.filename
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":") or ".." in parts:
        raise ImageLoadError(f"The project contains an unsafe path ('{name}'); refused.")
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise ImageLoadError(f"The project contains a symbolic link ('{name}'); refused.")
    if info.file_size > MAX_ENTRY_BYTES:
        raise ImageLoadError(f"The project entry '{name}' is implausibly large; refused.")


def _read_array(archive: zipfile.ZipFile, name: str) -> np.ndarray:
    try:
        return np.load(io.BytesIO(archive.read(name)), allow_pickle=False)
    except (ValueError, OSError, KeyError, EOFError, zlib.error, zipfile.BadZipFile) as exc:
        raise ImageLoadError(f"The project is damaged ({name} cannot be read).", detail=repr(exc)) from exc


def load_project(path: Path | str) -> Project:
    path = Path(path)
    if not path.is_file():
        raise ImageLoadError(f"File not found: {path}")
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                check_entry_is_safe(info)
            header = json.loads(archive.read("project.json"))
            if header.get("format") != FORMAT:
                raise ImageLoadError(f"{path.name} is not an LLMVis project.")
            if int(header.get("version", 0)) > VERSION:
                raise ImageLoadError(f"{path.name} was written by a newer version of LLMVis Studio.")
            original, image, mask = (_read_array(archive, name) for name in ARRAYS)
            names = set(archive.namelist())
            meta = header.get("metadata") or {}
            metadata = ImageMetadata(
                format=meta.get("format", "PNG"), dpi=tuple(meta["dpi"]) if meta.get("dpi") else None,
                exif=archive.read("exif.bin") if "exif.bin" in names else b"",
                icc_profile=archive.read("icc.bin") if "icc.bin" in names else b"",
            )
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
        raise ImageLoadError(f"{path.name} is damaged or not a project file.", detail=repr(exc)) from exc
    except (KeyError, ValueError, TypeError, OSError) as exc:
        raise ImageLoadError(f"{path.name} is incomplete or damaged.", detail=repr(exc)) from exc
    source: Optional[str] = header.get("source_path")
    try:
        document = Document(image=image, mask=mask, metadata=metadata, path=Path(source) if source else None)
    except InputError as exc:
        raise ImageLoadError(f"{path.name} holds an image this version cannot use.", detail=repr(exc)) from exc
    return Project(document, original, list(header.get("jobs", [])), list(header.get("prompts", [])))
