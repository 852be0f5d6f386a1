"""The smart-mask models: the export from the pinned wheels reproduces the shipped files, and the re-implemented
rembg pipeline the export compares against is rembg's own."""

from __future__ import annotations

import json

import numpy as np
import pytest

from llmvis_studio.catalog import load_catalog
from llmvis_studio.paths import models_dir
from llmvis_studio.training import export_mask_models as ex
from llmvis_studio.training import smart_mask_samples


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    try:
        for dist, version, file in (
            (ex.REMBG_DIST, ex.REMBG_VERSION, ex.REMBG_FILE),
            (ex.OCR_DIST, ex.OCR_VERSION, ex.OCR_FILE),
        ):
            ex.package_file(dist, version, file)
    except ex.ExportError as exc:
        pytest.skip(str(exc))
    out = tmp_path_factory.mktemp("models")
    return out, ex.export(out, measure=False)


def test_export_reproduces_the_shipped_files(exported):
    out, entries = exported
    catalog = load_catalog(out)
    shipped = {e["id"]: e for e in json.loads((models_dir() / "manifest.json").read_text())["models"]}
    for entry in entries:
        spec = catalog.get(entry["id"])
        catalog.verify(spec)
        assert spec.licence == "Apache-2.0" and entry["sha256"] == shipped[entry["id"]]["sha256"]
        assert spec.metrics["max_abs_vs_package_file"] == 0
        assert (out / "cards" / f"{entry['id']}.md").is_file()
    assert catalog.default_for("select-subject").id == ex.SUBJECT_ID
    assert catalog.default_for("detect-text").id == ex.TEXT_ID
    notice = (out / "licences" / ex.LICENCE_NAME).read_text()
    assert "Apache" in notice and "U^2-Net" in notice and "PP-OCRv4" in notice
    if smart_mask_samples.available():  # our preprocessing gives the package's probability map exactly
        assert entries[1]["metrics"]["probability_max_abs_vs_rapidocr_preprocessing"] < 1e-5
        subject = entries[0]["metrics"]
        assert subject["raw_mask_mean_abs_vs_rembg_remove_max"] < 0.01
        # (the eagle over a blurred raft sits near 0.5 probability, where resampling differences flip pixels)
        assert subject["raw_mask_iou_vs_rembg_remove"]["eagle-sky"] > 0.98


def test_the_rembg_replica_is_rembg():
    rembg = pytest.importorskip("rembg")
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:90, :130]
    image = np.stack([xx * 2, yy * 2, 0 * xx + 90], axis=2).astype(np.uint8)
    image[30:60, 40:90] = rng.integers(150, 255, (30, 50, 3), dtype=np.uint8)
    session = rembg.new_session()
    theirs = rembg.remove(image, session=session, only_mask=True)
    ours = ex.rembg_mask(session.inner_session, image)
    np.testing.assert_array_equal(ours, theirs)
