"""The model catalog: models/manifest.json read into typed, verified ModelSpec entries."""

from .catalog import BUILTIN_MODELS, Catalog, ModelSpec, TensorSpec, load_catalog, load_run_dir, sha256_of
from .styles import style_presets

__all__ = [
    "BUILTIN_MODELS",
    "Catalog",
    "ModelSpec",
    "TensorSpec",
    "load_catalog",
    "load_run_dir",
    "sha256_of",
    "style_presets",
]
