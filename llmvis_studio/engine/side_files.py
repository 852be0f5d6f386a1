"""Extra files a manifest entry names ({"file": ..., "sha256": ...} under some key), checked like models."""

from __future__ import annotations

from pathlib import Path

from ..catalog import ModelSpec
from ..catalog.catalog import check_not_pickle_or_pointer, sha256_of
from ..core.errors import ModelError, ModelIntegrityError, ModelNotFound

_verified: dict[Path, tuple[int, int]] = {}


def side_file(spec: ModelSpec, key: str) -> Path:
    """The path of `spec.extra[key]["file"]`, after checking it stays in the model folder and its sha256."""
    info = spec.extra.get(key)
    if not isinstance(info, dict) or not info.get("file") or not info.get("sha256"):
        raise ModelError(f"Model '{spec.id}' lacks '{key}' (file and sha256) in the manifest.")
    if spec.file is None:
        raise ModelError(f"Model '{spec.id}' is built in and has no {key} file.")
    folder = spec.file.parent.resolve()
    path = (folder / str(info["file"])).resolve()
    if folder not in path.parents:
        raise ModelIntegrityError(f"Model '{spec.id}' names a {key} file outside its folder.")
    if not path.is_file():
        raise ModelNotFound(f"The {key} file for model '{spec.id}' is missing: {path.name}.")
    stat = path.stat()
    if _verified.get(path) != (stat.st_size, stat.st_mtime_ns):
        check_not_pickle_or_pointer(path)
        if sha256_of(path) != str(info["sha256"]).lower():
            raise ModelIntegrityError(
                f"The {key} file of model '{spec.id}' is damaged or was replaced; reinstall it.", detail=f"{path}"
            )
        _verified[path] = (stat.st_size, stat.st_mtime_ns)
    return path
