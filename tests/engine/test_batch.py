"""Batch runs as a user runs them: killed part-way, rerun, inputs untouched."""

import hashlib
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from llmvis_studio.files import load_image, save_image, save_mask
from tests.engine.test_cli import cli
from tests.helpers import write_tiny_catalog

COUNT = 16


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    return write_tiny_catalog(tmp_path_factory.mktemp("models"), scales=(2, 4))


def make_inputs(folder, count=COUNT, size=360):
    folder.mkdir()
    rng = np.random.default_rng(3)
    for i in range(count):
        base = np.linspace(0, 255, size, dtype=np.float32)[None, :, None] * np.ones((size, 1, 3), np.float32)
        image = np.clip(base + rng.normal(0, 30, (size, size, 3)), 0, 255).astype(np.uint8)
        save_image(folder / f"img{i:02d}.png", image)
    return {p.name: digest(p) for p in folder.iterdir()}


def test_killed_batch_resumes_without_redoing_or_corrupting(tmp_path, tiny_models):
    inputs = tmp_path / "in"
    before = make_inputs(inputs)
    out = tmp_path / "out"
    env = dict(os.environ, LLMVIS_MODELS_DIR=str(tiny_models))
    args = [
        sys.executable,
        "-m",
        "llmvis_studio",
        "batch",
        "upscale",
        "--in",
        str(inputs),
        "--out",
        str(out),
        "--scale",
        "4",
    ]
    child = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(out.glob("img*.png"))) < 4:
        time.sleep(0.01)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    finished = {p.name: p.stat().st_mtime_ns for p in out.glob("img*.png")}
    assert 4 <= len(finished) < COUNT, "the kill must land part-way"

    proc = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert f"{COUNT - len(finished)} written, {len(finished)} already done, 0 failed" in proc.stdout
    outputs = sorted(out.glob("img*.png"))
    assert len(outputs) == COUNT and not list(out.glob(".*.part"))
    for path in outputs:
        image, _ = load_image(path)
        assert image.shape == (1440, 1440, 3)
        if path.name in finished:
            assert path.stat().st_mtime_ns == finished[path.name]  # not redone
    assert {p.name: digest(p) for p in inputs.iterdir()} == before


def test_bad_files_are_logged_and_the_run_goes_on(tmp_path, tiny_models):
    inputs = tmp_path / "in"
    make_inputs(inputs, count=3, size=32)
    (inputs / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    mask = np.zeros((32, 32), np.uint8)
    mask[10:12, 2:30] = 255
    save_mask(tmp_path / "mask.png", mask)
    proc = cli(
        "batch",
        "inpaint",
        "--in",
        inputs,
        "--out",
        tmp_path / "out",
        "--mask",
        tmp_path / "mask.png",
        models=tiny_models,
    )
    assert proc.returncode == 1
    assert "3 written, 0 already done, 1 failed" in proc.stdout
    assert "broken.png" in (tmp_path / "out" / "batch-errors.log").read_text()
    assert "Traceback" not in proc.stderr


def test_output_inside_input_is_refused(tmp_path, tiny_models):
    inputs = tmp_path / "in"
    make_inputs(inputs, count=1, size=16)
    proc = cli("batch", "upscale", "--in", inputs, "--out", inputs / "sub", models=tiny_models)
    assert proc.returncode == 2 and "must not be the input folder" in proc.stderr
    assert not (inputs / "sub").exists()


def test_self_test_passes_on_the_bundled_models():
    proc = cli("self-test", "--json", timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    import json

    report = json.loads(proc.stdout)
    assert report["passed"] and len(report["models"]) >= 3
    assert all(m["ok"] for m in report["models"])


def test_two_runs_into_one_folder_both_complete_with_valid_outputs(tmp_path, tiny_models):
    """The second run starts while the first is writing: it must not remove the first run's temp files."""
    inputs = tmp_path / "in"
    make_inputs(inputs, count=8, size=160)
    out = tmp_path / "out"
    env = dict(os.environ, LLMVIS_MODELS_DIR=str(tiny_models))
    args = [
        sys.executable,
        "-m",
        "llmvis_studio",
        "batch",
        "upscale",
        "--in",
        str(inputs),
        "--out",
        str(out),
        "--scale",
        "4",
    ]
    first = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list(out.glob(f".*.llmvis-{first.pid}-*.part")):
        time.sleep(0.005)  # the first run is writing an output
    second = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    results = [run.communicate(timeout=300) for run in (first, second)]
    for run, (stdout, stderr) in zip((first, second), results):
        assert run.returncode == 0, stderr
        assert "0 failed" in stdout and "Traceback" not in stderr
    outputs = sorted(out.glob("img*.png"))
    assert len(outputs) == 8 and not list(out.glob(".*.part"))
    for path in outputs:
        image, _ = load_image(path)
        assert image.shape == (640, 640, 3)
