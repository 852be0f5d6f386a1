"""The print-damage synthesiser and a tiny DamageNet training run: labels mark what changed, clean samples stay
unlabelled, the calibrated ONNX export matches torch, and the manifest entry says it is calibrated."""

from __future__ import annotations

import json

import cv2
import numpy as np
import onnxruntime as ort
import pytest
import torch

from llmvis_studio.files import load_image, save_image
from llmvis_studio.training import damage_calibration, print_damage, train_damage
from llmvis_studio.training.archs.damage import DamageNet

ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]


def photo() -> np.ndarray:
    img, _ = load_image(ROOT / "resources" / "sample.png")
    return np.ascontiguousarray(img[..., :3])


def photo_folder(tmp_path):
    """Three 200 px crops of the sample photo: a photo pack small enough for a few training steps."""
    photos = tmp_path / "photos"
    photos.mkdir()
    img = photo()
    for i in range(3):
        save_image(photos / f"p{i}.png", np.ascontiguousarray(img[i * 100 : i * 100 + 200, i * 80 : i * 80 + 200]))
    return photos


def test_damage_labels_are_the_pixels_that_changed_and_clean_samples_have_none():
    rng = np.random.default_rng(4)
    look, paper = print_damage.old_print_look(rng, photo()[:192, :192])
    damaged, label = print_damage.add_print_damage(rng, look, paper, amount=2.0)
    assert damaged.dtype == np.float32 and damaged.min() >= 0 and damaged.max() <= 1
    changed = np.abs(damaged - look).max(axis=2) >= print_damage.MIN_CHANGE
    assert 0.005 < (label > 0).mean() < 0.6
    assert changed[label > 0].all()  # never a label where nothing visibly changed
    clean, clean_label = print_damage.add_print_damage(rng, look, paper, amount=0.0)
    assert not clean_label.any() and np.array_equal(clean, look)
    x, y = print_damage.make_sample(np.random.default_rng(1), photo(), 96, clean_share=1.0)
    assert x.shape == (96, 96, 3) and not y.any()


def test_tiny_training_run_exports_a_calibrated_detector(tmp_path):
    photos = photo_folder(tmp_path)
    onnx_path, manifest = tmp_path / "d.onnx", tmp_path / "manifest.json"
    args = train_damage.parser().parse_args(
        [
            "--out",
            str(tmp_path / "run"),
            "--photos",
            str(photos),
            "--steps",
            "4",
            "--batch",
            "2",
            "--patch",
            "64",
            "--channels",
            "4",
            "--warmup",
            "1",
            "--threads",
            "1",
            "--pool",
            "16",
            "--val-per-photo",
            "3",
            "--val-every",
            "0",
            "--export",
            str(onnx_path),
            "--manifest",
            str(manifest),
        ]
    )
    result = train_damage.train(args)
    assert result["steps"] == 4 and "calibration" in result
    entry = json.loads(manifest.read_text())["models"][0]
    assert entry["id"] == "damage-detector" and entry["calibrated"] and entry["stride"] == DamageNet.STRIDE
    model = result["model"].eval()
    x = torch.rand(1, 3, 40, 56)
    with torch.no_grad():
        want = model(x).numpy()
    got = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"]).run(None, {"image": x.numpy()})[0]
    assert got.shape == (1, 1, 40, 56) and np.abs(got - want).max() < 1e-4
    assert (tmp_path / "run" / "last.pt").exists()
    args.resume, args.steps, args.export = True, 6, ""  # the shared loop carries the step count across a resume
    assert train_damage.train(args)["steps"] == 6
    assert "resumed from" in (tmp_path / "run" / "train.log").read_text()


def test_scan_pair_labels_only_what_is_visible_after_the_scan():
    rng = np.random.default_rng(9)
    look, paper = print_damage.old_print_look(rng, photo()[:160, :160])
    damaged, support = print_damage.add_print_damage(rng, look, paper, amount=2.0)
    clean_scan, damaged_scan, label = print_damage.scan_pair(rng, look, damaged, support)
    assert label.any() and damaged_scan.shape == clean_scan.shape == look.shape
    near = cv2.dilate(support, np.ones((3, 3), np.uint8)) > 0
    assert not (label > 0)[~near].any()  # the blur halo is labelled only right next to drawn damage
    # a faint mark (below MIN_CHANGE after the scan) is not labelled at all
    faint = look + 3 / 255
    _, _, none = print_damage.scan_pair(
        np.random.default_rng(1), look, np.clip(faint, 0, 1), np.full(look.shape[:2], 255, np.uint8)
    )
    assert not none.any()


def test_scratchnet_variant_loads_the_shipped_scratch_detector_exactly():
    from llmvis_studio.training.archs.damage import CalibratedScratchNet

    model = CalibratedScratchNet(16).eval()
    model.load_onnx(str(ROOT / "models" / "scratch-detector.onnx"))
    x = torch.rand(1, 3, 48, 64)
    with torch.no_grad():
        want = model(x).numpy()  # calibration (1, 0): the plain sigmoid, as scratch-detector
    sess = ort.InferenceSession(str(ROOT / "models" / "scratch-detector.onnx"), providers=["CPUExecutionProvider"])
    got = sess.run(None, {"image": x.numpy()})[0]
    assert np.abs(got - want).max() < 1e-4


def test_a_narrowed_student_is_a_slice_of_the_teacher():
    """At the teacher's own widths the slice is the teacher; narrower, every kept filter is one of the teacher's
    trained filters restricted to the kept input channels (a start for distillation, not a finished detector)."""
    from llmvis_studio.training.archs.damage import CalibratedScratchNet, build, narrowed_from

    teacher = CalibratedScratchNet(16).eval()
    teacher.load_onnx(str(ROOT / "models" / "damage-detector.onnx"))
    x = torch.from_numpy(photo()[:96, :128].transpose(2, 0, 1)[None].astype(np.float32) / 255)
    same = narrowed_from(teacher, (16, 32, 64)).eval()
    with torch.no_grad():
        assert torch.equal(same.logits(x), teacher.logits(x))
    student = narrowed_from(teacher, (8, 24, 48)).eval()
    assert student.config() == {"arch": "CalibratedScratchNet", "channels": 16, "widths": [8, 24, 48]}
    assert build(student.config()).net.widths == (8, 24, 48)
    assert student.net.g1[0].weight.shape == (24, 48 + 24, 3, 3) and student.net.g0[0].weight.shape == (8, 24 + 8, 3, 3)
    assert sum(p.numel() for p in student.parameters()) < 0.6 * sum(p.numel() for p in teacher.parameters())
    first_t, first_s = teacher.net.f0[0].weight, student.net.f0[0].weight  # reads all 3 input channels
    assert all(any(torch.equal(f, g) for g in first_t) for f in first_s)
    assert len({int(torch.argmin((first_t - f).abs().sum(dim=(1, 2, 3)))) for f in first_s}) == 8  # 8 distinct ones
    last_t, last_s = teacher.net.g0[2], student.net.g0[2]
    assert torch.equal(last_s.bias, last_t.bias)
    assert all(any(torch.equal(c, d) for d in last_t.weight[0]) for c in last_s.weight[0])


def test_tiny_distillation_run_trains_a_narrow_student(tmp_path):
    photos = photo_folder(tmp_path)
    teacher = str(ROOT / "models" / "damage-detector.onnx")
    args = train_damage.parser().parse_args(
        ["--out", str(tmp_path / "run"), "--photos", str(photos), "--steps", "3", "--batch", "2", "--patch", "64"]
        + ["--arch", "CalibratedScratchNet", "--widths", "8,24,48", "--init", teacher, "--teacher", teacher]
        + ["--warmup", "1", "--threads", "1", "--pool", "16", "--val-per-photo", "2", "--val-every", "0"]
    )
    result = train_damage.train(args)
    assert result["steps"] == 3 and result["model"].net.widths == (8, 24, 48)
    log = (tmp_path / "run" / "train.log").read_text()
    assert "distill" in log and f"initialised from {teacher}" in log
    saved = torch.load(tmp_path / "run" / "calibrated.pt", map_location="cpu", weights_only=False)
    assert saved["config"]["widths"] == [8, 24, 48]


def test_widths_without_the_calibrated_arch_is_a_clear_message(tmp_path):
    args = train_damage.parser().parse_args(["--out", str(tmp_path / "run"), "--widths", "8,24,48"])
    with pytest.raises(SystemExit, match="--widths needs --arch CalibratedScratchNet"):
        train_damage.widths_of(args)


def test_matching_a_teachers_operating_point_marks_as_many_damaged_pixels():
    """logit_marking: the threshold above which a student marks exactly the teacher's count on the damaged crops
    (clean crops are not counted)."""
    rng = np.random.default_rng(3)
    vset = [("print", None, None), ("clean", None, None), ("thin", None, None)]
    logits = [rng.normal(size=(16, 16)).astype(np.float32) for _ in vset]
    logits[1][:] = 50.0  # a clean crop's marks must not count
    for count in (1, 40, 300):  # continuous values, no ties: exactly `count` pixels reach the threshold
        z = damage_calibration.logit_marking(logits, vset, count)
        assert sum(int((lg >= z).sum()) for lg, v in zip(logits, vset) if v[0] != "clean") == count


def test_an_exported_student_is_recalibrated_from_its_onnx_when_its_run_is_gone(tmp_path):
    """--calibrate-only with no checkpoint in --out takes the --init export as it is (a student of the same widths is
    not narrowed again), and without --init says what is missing instead of a FileNotFoundError traceback."""
    from llmvis_studio.training.archs.damage import CalibratedScratchNet, exported_widths, narrowed_from
    from llmvis_studio.training.train_inpaint import export_onnx

    teacher = CalibratedScratchNet(16)
    teacher.load_onnx(str(ROOT / "models" / "damage-detector.onnx"))
    student = narrowed_from(teacher, (8, 24, 48)).eval()
    export_onnx("scratch", student, tmp_path / "student.onnx")
    assert exported_widths(str(tmp_path / "student.onnx")) == (8, 24, 48)
    assert exported_widths(str(ROOT / "models" / "damage-detector.onnx")) == (16, 32, 64)
    base = ["--out", str(tmp_path / "run"), "--photos", str(photo_folder(tmp_path)), "--calibrate-only"]
    base += ["--arch", "CalibratedScratchNet", "--widths", "8,24,48", "--threads", "1", "--val-per-photo", "2"]
    with pytest.raises(SystemExit, match="name an exported detector with --init"):
        train_damage.calibrate_only(train_damage.parser().parse_args(base))
    result = train_damage.calibrate_only(
        train_damage.parser().parse_args(base + ["--init", str(tmp_path / "student.onnx")])
    )
    loaded = result["model"].net.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in student.net.state_dict().items())
    assert result["model"].calibration[0] != 1.0  # calibrated again, not the export's identity


def test_thin_share_sets_how_many_samples_follow_the_thin_scratch_protocol(monkeypatch):
    calls = {"thin": 0, "print": 0}

    def counted(kind):
        def sample(rng, photo, size, **_):
            calls[kind] += 1
            return np.zeros((size, size, 3), np.float32), np.zeros((size, size), np.uint8)

        return sample

    monkeypatch.setattr(train_damage, "thin_sample", counted("thin"))
    monkeypatch.setattr(train_damage.print_damage, "make_sample", counted("print"))
    photos, weights = [np.zeros((64, 64, 3), np.uint8)], np.ones(1)
    for share in (0.0, 0.4):
        calls.update(thin=0, print=0)
        rng = np.random.default_rng(3)
        for _ in range(400):
            train_damage.damage_sample(rng, photos, 32, weights, thin_share=share)
        assert calls["thin"] / 400 == pytest.approx(share, abs=0.06)
        assert calls["print"] / 400 == pytest.approx(1 - train_damage.FILM_SHARE - share, abs=0.06)
    with pytest.raises(SystemExit, match="--thin-share is a share of the samples"):
        train_damage.started_pool(train_damage.parser().parse_args(["--out", "x", "--thin-share", "0.9"]), photos, 0)
