"""Rebuild style-presets.json (the procedural presets, then the public-domain painting presets) and its sha256.

    python -m llmvis_studio.training.rebuild_presets --models models [--pack ../shared/training/photos/wikimedia]

Its own module because it needs both export_magenta_style (the procedural presets and the predictor) and
painting_presets (the artworks), and export_magenta_style already uses painting_presets.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from llmvis_studio.training import export_magenta_style as ex
from llmvis_studio.training import manifest_tools
from llmvis_studio.training.painting_presets import PACK, PRESETS_NAME, TRANSFER_ID


def rewrite(models: Path, pack: Path = PACK) -> dict:
    """Rebuild style-presets.json (procedural + paintings) and its sha256 in manifest.json."""
    presets = ex.make_presets(models / ex.PREDICT_NAME, pack)
    path = models / PRESETS_NAME
    path.write_text(json.dumps(presets, indent=1) + "\n", encoding="utf-8")
    manifest_path = models / "manifest.json"
    entry = next(e for e in json.loads(manifest_path.read_text(encoding="utf-8"))["models"] if e["id"] == TRANSFER_ID)
    entry["presets"]["sha256"] = manifest_tools.sha256_of(path)
    manifest_tools.upsert_entry(manifest_path, entry)
    return presets


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=Path("models"))
    parser.add_argument("--pack", type=Path, default=PACK)
    args = parser.parse_args(argv)
    try:
        presets = rewrite(args.models, args.pack)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(", ".join(p["name"] for p in presets["presets"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
