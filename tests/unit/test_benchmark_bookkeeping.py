"""Benchmark bookkeeping: the held-out fill benchmark reports each gain with its standard error over the paired
(photo, seed) holes, and a manifest entry keeps the date of every script that measured it."""

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import _common
    import inpaint_heldout

    return _common, inpaint_heldout


def test_the_gain_is_the_mean_paired_difference_with_its_standard_error(bench):
    _, heldout = bench
    ns = [20.0, 22.0, 24.0, 26.0]
    learned = [21.0, 24.0, 25.0, 28.0]  # gains 1, 2, 1, 2
    out = heldout.gain_summary({"ns": ns, "learned": learned}, {"learned": None})
    assert out["ns"] == 23.0 and out["learned"] == 24.5
    assert out["learned_minus_ns_db"] == 1.5
    # sd of (1, 2, 1, 2) with ddof 1 is 0.5774; over sqrt(4) pairs: 0.289 — the pairs, not the PSNR spread (2.58)
    assert out["learned_minus_ns_se_db"] == pytest.approx(0.289, abs=1e-3)


def test_a_script_replaces_only_its_own_date_in_the_measured_line(bench):
    common, _ = bench
    before = "benchmarks/inpaint_quality.py, 2026-11-29; heldout_photos_*: benchmarks/inpaint_heldout.py, 2026-11-30"
    after = common.measured_note(before, "inpaint_heldout.py", "2026-12-02")
    assert after == "benchmarks/inpaint_quality.py, 2026-11-29; benchmarks/inpaint_heldout.py, 2026-12-02"
    assert common.measured_note("", "x.py", "2026-12-02") == "benchmarks/x.py, 2026-12-02"


def test_identical_gains_have_no_standard_error(bench):
    _, heldout = bench
    out = heldout.gain_summary({"ns": list(np.full(3, 10.0)), "m": [11.0, 11.0, 11.0]}, {"m": None})
    assert out["m_minus_ns_db"] == 1.0 and out["m_minus_ns_se_db"] == 0.0


def test_a_second_model_is_also_compared_with_the_first_on_the_same_holes(bench):
    _, heldout = bench
    by = {"ns": [20.0, 20.0, 20.0], "old": [21.0, 22.0, 23.0], "new": [21.5, 22.0, 24.0]}
    out = heldout.gain_summary(by, {"old": None, "new": None})
    assert out["new_minus_old_db"] == pytest.approx(0.5)
    assert out["new_minus_ns_db"] == pytest.approx(2.5) and out["old_minus_ns_db"] == pytest.approx(2.0)
    assert "old_minus_new_db" not in out


def test_the_manifest_keeps_the_shipped_models_gains_over_ns_and_over_the_file_it_replaced(bench):
    _, heldout = bench
    by = {"ns": [20.0, 20.0], "previous": [21.0, 22.0], "learned": [21.5, 22.5]}
    holes = {k: heldout.gain_summary(by, {"previous": None, "learned": None}) for k in heldout.KINDS}
    gains = heldout.manifest_gains(holes, ["previous", "learned"], seeds=2)
    assert gains["heldout_photos_stroke_minus_previous_db"] == pytest.approx(0.5)
    assert gains["heldout_photos_thin_minus_ns_db"] == pytest.approx(2.0)
    assert gains["heldout_photos_crack_minus_ns_se_db"] == pytest.approx(0.5)  # paired gains 1.5 and 2.5
    assert gains["heldout_photos_hole_psnr"]["thin"] == {"learned": 22.0, "ns": 20.0}
    alone = heldout.manifest_gains(holes, ["learned"], seeds=2)
    assert not any("previous" in k for k in alone) and gains["heldout_photos_seeds"] == 2


def test_the_manifest_is_updated_only_from_its_own_file(bench, tmp_path):
    _, heldout = bench
    other = tmp_path / "other.onnx"
    other.write_bytes(b"not the shipped model")
    assert heldout.shipped_is_learned([])  # no --model: the manifest's file is what ran
    assert not heldout.shipped_is_learned([f"learned={other}"])
    assert not heldout.shipped_is_learned([f"new={ROOT / 'models' / 'inpaint-gated-ns.onnx'}"])  # not labelled
    assert heldout.shipped_is_learned([f"old={other}", f"learned={ROOT / 'models' / 'inpaint-gated-ns.onnx'}"])


def test_the_sheet_window_is_where_the_hole_pixels_are(bench):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import inpaint_sheet

    mask = np.zeros((600, 800), np.uint8)
    mask[400:420, 500:700] = 1
    y, x = inpaint_sheet.busiest_window(mask, size=256)
    assert y <= 400 and y + 256 >= 420 and x <= 500 and x + 256 >= 700  # the whole hole is inside
    assert inpaint_sheet.busiest_window(mask[:100], size=256) == (0, 0)
