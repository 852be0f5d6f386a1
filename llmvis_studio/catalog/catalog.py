"""Typed model entries, sha256 verification and lookup by task.

The manifest is read once; an entry that lacks a required field is refused with a message
naming the field, rather than failing later inside a session.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Optional

from ..core.errors import ModelError, ModelIntegrityError, ModelNotFound
from ..paths import models_dir, user_models_dir
from .settings import ModelSettings

log = logging.getLogger(__name__)
RUN_MODEL_FILE = "model.json"  # a training run folder's manifest entry (see training/gen_train.py)
REQUIRED_FIELDS = ("id", "task", "file", "sha256", "inputs", "outputs", "licence", "source", "reproduce")
PICKLE_SUFFIXES = {".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".bin"}
LFS_POINTER_PREFIX = b"version https://git-lfs"


@dataclass(frozen=True)
class TensorSpec:
    name: str
    layout: str = "NCHW"
    dtype: str = "float32"
    value_range: tuple[float, float] = (0.0, 1.0)
    channels: str = "RGB"


@dataclass(frozen=True)
class ModelSpec:
    id: str
    task: str
    name: str
    file: Optional[Path]  # None for built-in classical methods
    sha256: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    licence: str
    source: str
    reproduce: str
    scale: int = 1
    stride: int = 1
    tile_supported: bool = True
    tile_min_overlap: int = 16
    tile_default: int = 256
    memory_bytes_per_input_pixel: int = 4096
    pre_pad: int = 0  # reflect-pad the whole image by this much first (the model's own habit)
    default: bool = False
    metrics: Mapping[str, Any] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)
    settings: ModelSettings = field(init=False)  # the typed view of `extra` that the ops read

    def __post_init__(self) -> None:
        object.__setattr__(self, "settings", ModelSettings.of(self.extra, self.id))

    @property
    def builtin(self) -> bool:
        return self.file is None

    def summary(self) -> dict[str, Any]:
        """The JSON-friendly view printed by `models list --json`."""
        return {
            "id": self.id,
            "name": self.name,
            "task": self.task,
            "file": str(self.file) if self.file else None,
            "sha256": self.sha256,
            "scale": self.scale,
            "licence": self.licence,
            "source": self.source,
            "reproduce": self.reproduce,
            "default": self.default,
            "metrics": dict(self.metrics),
        }


def _builtin(
    model_id: str,
    name: str,
    task: str,
    default: bool = False,
    licence: str = "Apache-2.0 (OpenCV)",
    source: str = "opencv-python-headless (classical algorithm)",
) -> ModelSpec:
    return ModelSpec(
        id=model_id,
        task=task,
        name=name,
        file=None,
        sha256="",
        inputs=(),
        outputs=(),
        licence=licence,
        source=source,
        reproduce="built in",
        tile_supported=False,
        default=default,
    )


BUILTIN_MODELS = (
    _builtin("opencv-telea", "Fast fill (OpenCV Telea)", "inpaint", default=True),
    _builtin("opencv-ns", "Fast fill (OpenCV Navier-Stokes)", "inpaint"),
    # PatchMatch texture on the learned fill's colours (engine/ops/remove_object.py); no model file of its own
    _builtin(
        "remove-object",
        "Remove object (content-aware fill)",
        "inpaint",
        licence="BSD-3-Clause (this project)",
        source="built here (PatchMatch + the installed learned inpainting model)",
    ),
)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _tensor(entry: Mapping[str, Any]) -> TensorSpec:
    low, high = entry.get("range", (0.0, 1.0))
    return TensorSpec(
        name=str(entry["name"]),
        layout=str(entry.get("layout", "NCHW")),
        dtype=str(entry.get("dtype", "float32")),
        value_range=(float(low), float(high)),
        channels=str(entry.get("channels", "RGB")),
    )


_KNOWN_KEYS = set(REQUIRED_FIELDS) | {
    "name",
    "scale",
    "stride",
    "tile",
    "memory_bytes_per_input_pixel",
    "pre_pad",
    "default",
    "metrics",
    "licence_file",
}


def spec_from_entry(entry: Mapping[str, Any], folder: Path) -> ModelSpec:
    missing = [key for key in REQUIRED_FIELDS if not entry.get(key)]
    if missing:
        raise ModelError(f"Model entry '{entry.get('id', '?')}' lacks {', '.join(missing)} in the manifest.")
    tile = entry.get("tile", {})
    return ModelSpec(
        id=str(entry["id"]),
        task=str(entry["task"]),
        name=str(entry.get("name", entry["id"])),
        file=folder / str(entry["file"]),
        sha256=str(entry["sha256"]).lower(),
        inputs=tuple(_tensor(t) for t in entry["inputs"]),
        outputs=tuple(_tensor(t) for t in entry["outputs"]),
        licence=str(entry["licence"]),
        source=str(entry["source"]),
        reproduce=str(entry["reproduce"]),
        scale=int(entry.get("scale", 1)),
        stride=int(entry.get("stride", 1)),
        tile_supported=bool(tile.get("supported", True)),
        tile_min_overlap=int(tile.get("min_overlap", 16)),
        tile_default=int(tile.get("default", 256)),
        memory_bytes_per_input_pixel=int(entry.get("memory_bytes_per_input_pixel", 4096)),
        pre_pad=int(entry.get("pre_pad", 0)),
        default=bool(entry.get("default", False)),
        metrics=dict(entry.get("metrics", {})),
        extra={k: v for k, v in entry.items() if k not in _KNOWN_KEYS},
    )


class Catalog:
    def __init__(self, specs: tuple[ModelSpec, ...]) -> None:
        ids = [spec.id for spec in specs]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ModelError(f"Model ids appear twice in the catalog: {', '.join(duplicates)}.")
        self._specs = {spec.id: spec for spec in specs}
        self._verified: dict[Path, tuple[int, int]] = {}

    def __iter__(self):
        return iter(self._specs.values())

    def __len__(self) -> int:
        return len(self._specs)

    def ids(self) -> list[str]:
        return list(self._specs)

    def get(self, model_id: str) -> ModelSpec:
        try:
            return self._specs[model_id]
        except KeyError:
            known = ", ".join(sorted(self._specs)) or "none"
            raise ModelNotFound(f"Unknown model '{model_id}'. Installed models: {known}.") from None

    def for_task(self, task: str) -> list[ModelSpec]:
        return [spec for spec in self._specs.values() if spec.task == task]

    def tasks(self) -> list[str]:
        return sorted({spec.task for spec in self._specs.values()})

    def default_for(self, task: str, scale: Optional[int] = None) -> ModelSpec:
        candidates = self.for_task(task)
        if scale is not None:
            exact = [spec for spec in candidates if spec.scale == scale]
            candidates = exact or candidates
        if not candidates:
            raise ModelNotFound(f"No installed model can do '{task}'.")
        defaults = [spec for spec in candidates if spec.default]
        return (defaults or candidates)[0]

    def verify(self, spec: ModelSpec) -> Path:
        """Check the file exists, is no pickle or LFS pointer, and matches its sha256."""
        if spec.file is None:
            raise ModelError(f"'{spec.id}' is built in and has no file.")
        path = spec.file
        if not path.is_file():
            raise ModelNotFound(f"The file for model '{spec.id}' is missing: {path.name}.")
        stat = path.stat()
        if self._verified.get(path) == (stat.st_size, stat.st_mtime_ns):
            return path
        check_not_pickle_or_pointer(path)
        actual = sha256_of(path)
        if actual != spec.sha256:
            raise ModelIntegrityError(
                f"Model '{spec.id}' is damaged or was replaced (its checksum does not match); reinstall it.",
                detail=f"expected {spec.sha256}, got {actual} for {path}",
            )
        self._verified[path] = (stat.st_size, stat.st_mtime_ns)
        return path


def check_not_pickle_or_pointer(path: Path) -> None:
    """Refuse files that would run code when loaded, or that are Git LFS placeholders."""
    with open(path, "rb") as handle:
        head = handle.read(64)
    if head.startswith(LFS_POINTER_PREFIX):
        raise ModelIntegrityError(
            f"{path.name} is a Git LFS pointer, not a model: fetch the real file with 'git lfs pull'."
        )
    is_zip_pickle = head.startswith(b"PK") and path.suffix.lower() in PICKLE_SUFFIXES
    if head[:1] == b"\x80" or is_zip_pickle or path.suffix.lower() in PICKLE_SUFFIXES - {".bin"}:
        raise ModelIntegrityError(
            f"{path.name} looks like a Python pickle; pickles are refused because they can run code."
        )


def _read_entries(manifest: Path) -> list:
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"The model manifest {manifest} cannot be read.", detail=str(exc)) from exc
    return data.get("models", []) if isinstance(data, dict) else data


def load_run_dir(run_dir: Path) -> ModelSpec:
    """The model a training run exported: RUN_DIR/model.json (one manifest entry, files relative to RUN_DIR)."""
    run_dir = Path(run_dir)
    path = run_dir / RUN_MODEL_FILE
    if not path.is_file():
        raise ModelNotFound(
            f"{run_dir} has no {RUN_MODEL_FILE}: train to the end or run `llmvis-studio export {run_dir}`."
        )
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path} cannot be read.", detail=str(exc)) from exc
    return spec_from_entry(entry, run_dir)


def user_specs(folder: Path, taken: set[str]) -> list[ModelSpec]:
    """The user's own models: FOLDER/manifest.json (files relative to FOLDER or absolute) and run folders
    FOLDER/*/model.json. A broken or clashing entry is skipped with a log line; the app must still start."""
    specs: list[ModelSpec] = []
    sources: list[tuple[dict, Path]] = []
    try:
        if (folder / "manifest.json").is_file():
            sources += [(entry, folder) for entry in _read_entries(folder / "manifest.json")]
        for run in sorted(p for p in folder.iterdir() if (p / RUN_MODEL_FILE).is_file()) if folder.is_dir() else []:
            sources.append((json.loads((run / RUN_MODEL_FILE).read_text(encoding="utf-8")), run))
    except (OSError, ValueError, ModelError) as exc:
        log.warning("user models in %s skipped: %s", folder, exc)
    for entry, base in sources:
        try:
            spec = spec_from_entry(entry, base)
        except (ModelError, KeyError, TypeError, ValueError, AttributeError) as exc:
            log.warning("user model entry skipped (%s): %s", base, exc)
            continue
        if spec.id in taken:
            log.warning("user model '%s' skipped: the id is already taken", spec.id)
            continue
        taken.add(spec.id)
        specs.append(spec)
    return specs


def load_catalog(folder: Optional[Path] = None, user_folder: Optional[Path] = None) -> Catalog:
    """Built-ins + FOLDER/manifest.json (default: the bundled models) + the user's models.

    The user's models folder (default `user_models_dir()`: trained generators register there) is read when
    no FOLDER is given, or when `user_folder` is given explicitly.
    """
    explicit = folder is not None
    folder = Path(folder) if folder else models_dir()
    manifest = folder / "manifest.json"
    specs: list[ModelSpec] = list(BUILTIN_MODELS)
    if manifest.is_file():
        specs.extend(spec_from_entry(entry, folder) for entry in _read_entries(manifest))
    if user_folder is not None or not explicit:
        specs.extend(user_specs(Path(user_folder) if user_folder else user_models_dir(), {s.id for s in specs}))
    return Catalog(tuple(_builtin_defaults_yield(specs)))


def _builtin_defaults_yield(specs: list[ModelSpec]) -> list[ModelSpec]:
    """A built-in method stays a task's default only while no model file claims the default for that task (the
    learned inpainting model replaces OpenCV Telea as the default; the classical fills stay as the fast choice)."""
    claimed = {spec.task for spec in specs if spec.default and not spec.builtin}
    return [
        replace(spec, default=False) if spec.builtin and spec.default and spec.task in claimed else spec
        for spec in specs
    ]
