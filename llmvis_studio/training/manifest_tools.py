"""Helpers for models/manifest.json: file hashes and atomic, id-keyed upserts."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from llmvis_studio.catalog.catalog import sha256_of

__all__ = ["sha256_of", "upsert_entry"]  # sha256_of: the catalog's, re-exported for the export tools

SCHEMA_VERSION = 1


def upsert_entry(manifest_path: str | Path, entry: dict[str, Any]) -> None:
    """Replace the entry with the same `id` (keeping its position) or append it.

    Other entries and top-level keys are kept. The write goes to a temporary file in the same
    folder and is moved into place, so a crash never leaves a half-written manifest.
    """
    if not entry.get("id"):
        raise ValueError("a manifest entry needs a non-empty 'id'")
    path = Path(manifest_path)
    manifest = _read(path)
    models = manifest["models"]
    for index, existing in enumerate(models):
        if existing.get("id") == entry["id"]:
            models[index] = entry
            break
    else:
        models.append(entry)
    _write_atomically(path, manifest)


def _read(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {"schema": SCHEMA_VERSION, "models": []}
    manifest = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(manifest, dict) or not isinstance(manifest.get("models", []), list):
        raise ValueError(f"{path}: not a manifest (expected an object with a 'models' list)")
    manifest.setdefault("schema", SCHEMA_VERSION)
    manifest.setdefault("models", [])
    return manifest


def _write_atomically(path: Path, manifest: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(manifest, handle, indent=2, ensure_ascii=False)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, 0o644)  # mkstemp makes it owner-only; the manifest is shared
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
