"""Where bundled models and resources live: the source tree, or a PyInstaller bundle."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def install_root() -> Path:
    bundle = getattr(sys, "_MEIPASS", None)  # set by PyInstaller in a frozen app
    if bundle:
        return Path(bundle)
    return Path(__file__).resolve().parent.parent


def models_dir() -> Path:
    override = os.environ.get("LLMVIS_MODELS_DIR")
    return Path(override) if override else install_root() / "models"


def resources_dir() -> Path:
    return install_root() / "resources"


def sample_image() -> Path:
    return resources_dir() / "sample.png"


def user_data_dir() -> Path:
    override = os.environ.get("LLMVIS_DATA_DIR")
    if override:
        return Path(override)
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
    return base / "llmvis-studio"


def user_models_dir() -> Path:
    """The user's own models (trained generators register here): manifest.json and run folders."""
    return user_data_dir() / "models"
