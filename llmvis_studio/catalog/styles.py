"""The stylize model's preset names and descriptions, for the UI (which must not import the engine).

Only the names are read here; the engine checks the presets file's sha256 when a job uses it.
"""

from __future__ import annotations

import json

from .catalog import Catalog


def style_presets(catalog: Catalog) -> list[tuple[str, str]]:
    """(name, description) of the presets of the first stylize model that has them; [] when none."""
    for spec in catalog.for_task("stylize"):
        info = spec.extra.get("presets")
        if not isinstance(info, dict) or not info.get("file") or spec.file is None:
            continue
        try:
            data = json.loads((spec.file.parent / str(info["file"])).read_text(encoding="utf-8"))
            return [(str(p["name"]), str(p.get("description", ""))) for p in data["presets"]]
        except (OSError, ValueError, KeyError, TypeError):
            return []
    return []
