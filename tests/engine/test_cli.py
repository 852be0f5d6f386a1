"""The CLI as a user runs it: a subprocess, exit codes, one-line errors, never a traceback."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from llmvis_studio.files import load_image, save_image, save_mask
from tests.helpers import photo, write_tiny_catalog


def cli(*args, models=None, timeout=300):
    env = dict(os.environ)
    if models is not None:
        env["LLMVIS_MODELS_DIR"] = str(models)
    env["LLMVIS_DATA_DIR"] = env.get("LLMVIS_DATA_DIR", "/tmp/llmvis-test-data")
    return subprocess.run(
        [sys.executable, "-m", "llmvis_studio", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    return write_tiny_catalog(tmp_path_factory.mktemp("models"), scales=(2, 4))


@pytest.fixture
def picture(tmp_path):
    path = tmp_path / "in.png"
    save_image(path, photo(48, 40))
    return path


def assert_one_line_error(proc):
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.strip().splitlines() if line]
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr


def test_upscale_writes_the_scaled_image(tmp_path, picture, tiny_models):
    proc = cli("upscale", picture, tmp_path / "out.png", "--scale", "2", models=tiny_models)
    assert proc.returncode == 0, proc.stderr
    out, _ = load_image(tmp_path / "out.png")
    assert out.shape == (96, 80, 3)
    assert "CPU" in proc.stdout


def test_inpaint_fills_white_mask_pixels_only(tmp_path, picture, tiny_models):
    mask = np.zeros((48, 40), np.uint8)
    mask[10:14, 5:35] = 255
    save_mask(tmp_path / "mask.png", mask)
    proc = cli("inpaint", picture, tmp_path / "mask.png", tmp_path / "filled.png", models=tiny_models)
    assert proc.returncode == 0, proc.stderr
    before, _ = load_image(picture)
    after, _ = load_image(tmp_path / "filled.png")
    np.testing.assert_array_equal(after[mask == 0], before[mask == 0])
    assert (after[mask > 0] != before[mask > 0]).any()


def test_models_list_json(tiny_models):
    proc = cli("models", "list", "--json", models=tiny_models)
    assert proc.returncode == 0, proc.stderr
    entries = {e["id"]: e for e in json.loads(proc.stdout)}
    assert entries["tiny-x2"]["task"] == "upscale" and len(entries["tiny-x2"]["sha256"]) == 64
    assert {"licence", "source", "reproduce"} <= set(entries["tiny-x4"])


def test_missing_input(tmp_path, tiny_models):
    assert_one_line_error(cli("upscale", tmp_path / "none.png", tmp_path / "o.png", models=tiny_models))


def test_not_an_image(tmp_path, tiny_models):
    (tmp_path / "text.png").write_text("not really")
    proc = cli("upscale", tmp_path / "text.png", tmp_path / "o.png", models=tiny_models)
    assert_one_line_error(proc)
    assert "not an image" in proc.stderr


def test_mask_size_mismatch(tmp_path, picture, tiny_models):
    save_mask(tmp_path / "small.png", np.zeros((10, 10), np.uint8))
    proc = cli("inpaint", picture, tmp_path / "small.png", tmp_path / "o.png", models=tiny_models)
    assert_one_line_error(proc)
    assert "same size" in proc.stderr
    assert not (tmp_path / "o.png").exists()


def test_unknown_model(tmp_path, picture, tiny_models):
    proc = cli("upscale", picture, tmp_path / "o.png", "--model", "nope", models=tiny_models)
    assert_one_line_error(proc)
    assert "tiny-x2" in proc.stderr  # it lists what is installed


def test_cuda_without_a_gpu_is_a_clear_error(tmp_path, picture, tiny_models):
    proc = cli("upscale", picture, tmp_path / "o.png", "--scale", "2", "--device", "cuda", models=tiny_models)
    if proc.returncode == 0:  # a machine with a working GPU
        assert "CUDA" in proc.stdout
    else:
        assert_one_line_error(proc)
        assert "CUDA" in proc.stderr


def test_bad_output_extension(tmp_path, picture, tiny_models):
    assert_one_line_error(cli("upscale", picture, tmp_path / "o.xyz", models=tiny_models))


def test_16_bit_tiff_inpaint_stays_16_bit_and_untouched_outside(tmp_path, tiny_models):
    rng = np.random.default_rng(5)
    image = (photo(40, 48).astype(np.uint16) * 257 + rng.integers(0, 256, size=(40, 48, 3))).astype(np.uint16)
    save_image(tmp_path / "scan.tif", image)
    mask = np.zeros((40, 48), np.uint8)
    mask[20:22, 4:44] = 255
    save_mask(tmp_path / "mask.png", mask)
    proc = cli("inpaint", tmp_path / "scan.tif", tmp_path / "mask.png", tmp_path / "out.tif", models=tiny_models)
    assert proc.returncode == 0, proc.stderr
    out, _ = load_image(tmp_path / "out.tif")
    assert out.dtype == np.uint16
    np.testing.assert_array_equal(out[mask == 0], image[mask == 0])
    assert (out[mask > 0] != image[mask > 0]).any()


def test_corrupt_image_on_the_cli(tmp_path, picture, tiny_models):
    data = picture.read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 3])
    proc = cli("upscale", tmp_path / "cut.png", tmp_path / "o.png", "--scale", "2", models=tiny_models)
    assert_one_line_error(proc)
    assert "damaged" in proc.stderr


def test_write_protected_output_needs_overwrite_and_keeps_its_mode(tmp_path, picture, tiny_models):
    out = tmp_path / "locked.png"
    save_image(out, photo(8, 8))
    os.chmod(out, 0o444)
    before = out.read_bytes()
    proc = cli("upscale", picture, out, "--scale", "2", models=tiny_models)
    assert_one_line_error(proc)
    assert "write-protected" in proc.stderr and "--overwrite" in proc.stderr
    assert out.read_bytes() == before
    proc = cli("upscale", picture, out, "--scale", "2", "--overwrite", models=tiny_models)
    assert proc.returncode == 0, proc.stderr
    assert load_image(out)[0].shape == (96, 80, 3)
    assert os.stat(out).st_mode & 0o777 == 0o444


def test_new_outputs_follow_the_umask_and_multi_frame_inputs_say_so(tmp_path, tiny_models):
    from PIL import Image

    frames = [Image.fromarray(photo(24, 20, seed=s)) for s in (1, 2)]
    frames[0].save(tmp_path / "pages.tif", save_all=True, append_images=frames[1:])
    previous = os.umask(0o022)
    try:
        proc = cli("upscale", tmp_path / "pages.tif", tmp_path / "out.png", "--scale", "2", models=tiny_models)
    finally:
        os.umask(previous)
    assert proc.returncode == 0, proc.stderr
    assert "note: The file has several frames or pages; only the first was opened." in proc.stderr
    assert os.stat(tmp_path / "out.png").st_mode & 0o777 == 0o644
