"""Train the conditional GAN / VAE on a tiny two-class folder; generate; resume; bad data.

The small versions run in every test run (~30 s on 2 cores). The quality statistic (stated in
gen_train.quality_stats): samples are not collapsed when their mean pairwise RMS distance is above 20 % of the
training crops' own, and not noise when their mean distance to the nearest training crop is below that of
uniform-noise images. The longer run (600 steps, marked slow) always runs; `LLMVIS_SLOW=1` makes it 2000 steps.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from llmvis_studio.cli import main as cli_main
from llmvis_studio.core.errors import InputError
from llmvis_studio.engine.conditioning import unpack_vector
from llmvis_studio.training.gen_train import GenConfig, quality_stats, run_training
from llmvis_studio.training.image_folder import ImageFolder

FAST = ["--width", "16", "--batch", "16", "--threads", "1", "--device", "cpu"]


@pytest.fixture(autouse=True)
def _own_user_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("LLMVIS_DATA_DIR", str(tmp_path / "userdata"))  # registered models land here
    torch.set_num_threads(1)


def two_class_folder(root: Path, count: int = 8) -> Path:
    """'stripes' (warm, vertical sine) and 'checks' (cool, checkerboard blobs): visually distinct textures."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:40, :40].astype(np.float32)
    for name in ("stripes", "checks"):
        (root / name).mkdir(parents=True, exist_ok=True)
    for i in range(count):
        phase = rng.uniform(0, 2 * np.pi)
        s = 0.5 + 0.5 * np.sin(xx * rng.uniform(0.6, 0.9) + phase)
        Image.fromarray(np.stack([40 + 200 * s, 30 + 80 * s, 20 + 0 * s], 2).astype(np.uint8)).save(
            root / "stripes" / f"s{i}.png"
        )
        d = (np.sin(xx * 0.45 + phase) * np.sin(yy * 0.45 + phase) > 0).astype(np.float32)
        Image.fromarray(np.stack([20 + 30 * d, 60 + 120 * d, 90 + 160 * d], 2).astype(np.uint8)).save(
            root / "checks" / f"c{i}.png"
        )
    return root


def test_train_gan_then_generate_four_different_images(tmp_path, capsys):
    data = two_class_folder(tmp_path / "data")
    run = tmp_path / "run"
    assert (
        cli_main(
            [
                "train",
                "gan",
                "--data",
                str(data),
                "--out",
                str(run),
                "--size",
                "32",
                "--steps",
                "60",
                "--checkpoint-every",
                "25",
                *FAST,
            ]
        )
        == 0
    )
    printed = capsys.readouterr()
    assert "train gan 60/60" in printed.err and " D " in printed.err and " G " in printed.err  # progress + losses
    for name in ("generator.onnx", "model.json", "loss_curves.png", "history.json", "checkpoint.pt"):
        assert (run / name).is_file(), name
    grids = sorted(p.name for p in (run / "samples").glob("step_*.png"))  # one grid per checkpoint
    assert grids == ["step_000025.png", "step_000060.png"]  # 50 is skipped: within half an interval of the end
    entry = json.loads((run / "model.json").read_text())
    assert entry["task"] == "generate" and entry["image_size"] == 32
    assert [c["name"] for c in entry["classes"]] == ["checks", "stripes"]
    assert unpack_vector(entry["classes"][0]["embedding"]).shape == (entry["c_dim"],)  # the class-name embedding
    assert entry["training_data"]["counts"] == {"checks": 8, "stripes": 8}
    quality = entry["metrics"]
    assert quality["diversity_ratio"] > 0.2, quality  # not collapsed
    assert quality["noise_ratio"] < 1.0, quality  # closer to the training crops than uniform noise is
    assert (run / "generator.onnx").stat().st_size < 10_000_000

    out = tmp_path / "generated"
    env = dict(os.environ)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "llmvis_studio",
            "generate",
            "--model",
            str(run),
            "--prompt",
            "warm stripes",
            "-n",
            "4",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "stripes" in proc.stdout
    images = [np.asarray(Image.open(p)) for p in sorted(out.glob("*.png"))]
    assert len(images) == 4 and images[0].shape == (32, 32, 3)
    for a in range(4):
        for b in range(a + 1, 4):
            assert not np.array_equal(images[a], images[b])
    # the registered copy is in the user's models folder, so the editor lists it
    listing = subprocess.run(
        [sys.executable, "-m", "llmvis_studio", "models", "list"], capture_output=True, text=True, env=env, timeout=60
    )
    assert "gan-run" in listing.stdout and "generate" in listing.stdout


def test_resume_continues_the_step_counter_and_history(tmp_path):
    data = two_class_folder(tmp_path / "data", count=4)
    base = dict(
        kind="gan",
        data=str(data),
        out=str(tmp_path / "run"),
        size=32,
        batch=8,
        width=8,
        threads=1,
        device="cpu",
        checkpoint_every=5,
        export=False,
    )
    first = run_training(GenConfig(steps=10, **base), echo=False)
    assert first["steps"] == 10 and first["history"]["step"] == list(range(1, 11))
    with pytest.raises(InputError, match="--resume"):
        run_training(GenConfig(steps=20, **base), echo=False)
    second = run_training(GenConfig(steps=16, resume=True, **base), echo=False)
    assert second["steps"] == 16
    assert second["history"]["step"] == list(range(1, 17))
    assert second["history"]["D"][:10] == first["history"]["D"]  # the earlier losses are kept
    names = sorted(p.name for p in (tmp_path / "run" / "samples").glob("step_*.png"))
    # step 15 is skipped: a checkpoint half an interval before the end would only repeat the final one
    assert names == ["step_000005.png", "step_000010.png", "step_000016.png"]


def test_checkpoints_are_not_written_just_before_the_end():
    from llmvis_studio.training.gen_train import checkpoint_due

    assert [s for s in range(1, 61) if checkpoint_due(s, 60, 50)] == [60]
    assert [s for s in range(1, 2001) if checkpoint_due(s, 2000, 200)] == list(range(200, 2001, 200))


def test_vae_loss_falls_and_export_works(tmp_path):
    data = two_class_folder(tmp_path / "data", count=4)
    result = run_training(
        GenConfig(
            kind="vae",
            data=str(data),
            out=str(tmp_path / "vae"),
            size=32,
            steps=40,
            batch=16,
            width=16,
            threads=1,
            device="cpu",
            register=False,
        ),
        echo=False,
    )
    recon = result["history"]["recon"]
    assert np.mean(recon[-5:]) < 0.7 * np.mean(recon[:5])
    assert result["onnx_max_abs"] < 1e-3 and Path(result["onnx"]).is_file()
    assert (tmp_path / "vae" / "samples" / "recon_000040.png").is_file()
    entry = json.loads((tmp_path / "vae" / "model.json").read_text())
    assert entry["kind"] == "vae" and entry["task"] == "generate" and entry["z_dim"] == 64
    assert not (tmp_path / "userdata" / "models" / "manifest.json").exists()  # register=False


def test_export_command_rebuilds_from_the_checkpoint(tmp_path):
    data = two_class_folder(tmp_path / "data", count=2)
    run = tmp_path / "run"
    run_training(
        GenConfig(
            kind="gan", data=str(data), out=str(run), steps=4, batch=4, width=8, threads=1, device="cpu", export=False
        ),
        echo=False,
    )
    assert not (run / "generator.onnx").exists()
    assert cli_main(["export", str(run), "--no-register"]) == 0
    assert json.loads((run / "model.json").read_text())["metrics"]["steps"] == 4


# ---------------------------------------------------------------- bad data


def test_empty_folder_is_a_clear_one_line_error(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert cli_main(["train", "gan", "--data", str(tmp_path / "empty"), "--out", str(tmp_path / "r"), *FAST]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"error: No images found in {tmp_path / 'empty'}: put images in it, or one sub-folder of images per class."
    ]
    assert cli_main(["train", "gan", "--data", str(tmp_path / "missing"), "--out", str(tmp_path / "r"), *FAST]) == 2
    assert "does not exist" in capsys.readouterr().err
    if not torch.cuda.is_available():
        assert (
            cli_main(
                ["train", "vae", "--data", str(tmp_path / "empty"), "--out", str(tmp_path / "r"), "--device", "cuda"]
            )
            == 2
        )
        assert "no usable GPU" in capsys.readouterr().err


def test_unreadable_files_are_skipped_and_counted(tmp_path):
    root = two_class_folder(tmp_path / "data", count=3)
    (root / "stripes" / "notes.txt").write_text("not an image")
    (root / "checks" / "fake.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)  # a PNG header, then nothing
    good = root / "checks" / "c0.png"
    (root / "checks" / "truncated.png").write_bytes(good.read_bytes()[:60])
    (root / "checks" / "empty.jpg").write_bytes(b"")
    folder = ImageFolder(root, 32)
    assert folder.summary.counts == {"checks": 3, "stripes": 3}
    assert len(folder.summary.skipped) == 4
    assert any("skipped 4 unreadable" in line for line in folder.summary.lines())
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "a.png").write_text("nope")
    with pytest.raises(InputError, match="None of the 1 file"):
        ImageFolder(junk, 32)


def test_one_image_mixed_sizes_greyscale_and_rgba_train(tmp_path):
    single = tmp_path / "single"
    single.mkdir()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (50, 70, 3), dtype=np.uint8)).save(single / "a.png")
    folder = ImageFolder(single, 32)
    assert folder.classes == ["single"] and any("only one image" in n for n in folder.summary.notes)
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    Image.fromarray(np.full((20, 30), 128, np.uint8), "L").save(mixed / "grey.png")  # smaller than 32: upscaled
    Image.fromarray(np.full((300, 90, 4), 200, np.uint8), "RGBA").save(mixed / "rgba.png")
    Image.fromarray(np.full((36, 36, 3), 60, np.uint8)).save(mixed / "tiny.jpg")
    Image.fromarray((np.arange(64 * 64).reshape(64, 64) * 16).astype(np.uint16)).save(mixed / "deep.png")
    folder = ImageFolder(mixed, 32)
    assert folder.summary.counts == {"mixed": 4}
    assert folder.summary.converted["greyscale"] == 2 and folder.summary.converted["alpha"] == 1
    x, labels = folder.batch(np.random.default_rng(0), 6)
    assert x.shape == (6, 3, 32, 32) and x.min() >= -1 and x.max() <= 1
    result = run_training(
        GenConfig(
            kind="gan",
            data=str(single),
            out=str(tmp_path / "r1"),
            steps=3,
            batch=4,
            width=8,
            threads=1,
            device="cpu",
            register=False,
        ),
        echo=False,
    )
    assert result["steps"] == 3 and Path(result["onnx"]).is_file()


def test_quality_statistic_separates_collapse_noise_and_data():
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:16, :16] / 16.0
    data = np.stack([np.stack([np.sin(xx * 6 + p) * 0.4 + 0.5] * 3, -1) for p in rng.uniform(0, 6, 40)])
    collapsed = np.repeat(data[:1], 20, axis=0)
    noise = rng.random((20, 16, 16, 3))
    good = quality_stats(data[20:], data[:20])
    assert good["diversity_ratio"] > 0.5 and good["noise_ratio"] < 0.5
    assert quality_stats(collapsed, data[:20])["diversity_ratio"] < 0.01
    assert quality_stats(noise, data[:20])["noise_ratio"] > 0.95


@pytest.mark.slow
@pytest.mark.timeout(900)  # ~2 min alone; more when the machine is busy
def test_longer_gan_run_is_neither_collapsed_nor_noise_and_follows_the_class(tmp_path):
    """600 steps in every test run (~2 min on 2 AVX2 cores, fp32); LLMVIS_SLOW=1 trains 2000 and asks for tighter fits.

    Measured (two-class folder): batch 32, one thread: 400 steps → noise ratio 0.54, class match 1.0; 700 steps → 0.41
    and 0.98, diversity ratio 0.98. Batch 16, two threads, 600 steps: 137 s on an AMD EPYC AVX2 (batch 32 on one thread
    took 353 s): noise ratio 0.46, class match 1.0, diversity ratio 0.96, class diversity 0.87. It runs on one thread:
    `make test` runs two test processes on the two cores, and two torch threads sharing a core with the other process
    ran past the 900 s timeout on a loaded machine.
    Before the class standardiser (archs/gan.py) a 250-step run missed class match 0.8."""
    slow = bool(os.environ.get("LLMVIS_SLOW"))
    data = two_class_folder(tmp_path / "data", count=16)
    result = run_training(
        GenConfig(
            kind="gan",
            data=str(data),
            out=str(tmp_path / "run"),
            size=32,
            steps=2000 if slow else 600,
            batch=16,
            width=32,
            threads=1,
            device="cpu",
            register=False,
        ),
        echo=False,
    )
    quality = result["quality"]
    assert quality["diversity_ratio"] > 0.3, quality  # not collapsed
    assert quality["class_diversity_ratio"] > 0.3, quality  # not one fixed image per class either
    assert quality["noise_ratio"] < (0.45 if slow else 0.6), quality  # much nearer the data than noise is
    assert quality["class_match"] > 0.8, quality  # the prompt's class is the one drawn


def test_checkpoints_from_before_the_class_standardiser_still_load_as_identity():
    from llmvis_studio.training.archs.gan import Generator

    vectors = torch.randn(3, 384)
    new = Generator(32, 16, 384, width=8)
    new.standardise.fit(vectors)
    old_state = {k: v for k, v in new.state_dict().items() if not k.startswith("standardise.")}
    loaded = Generator(32, 16, 384, width=8)
    loaded.standardise.fit(vectors)  # whatever it held is replaced by the identity of the old run
    loaded.load_state_dict(old_state)
    assert torch.equal(loaded.standardise(vectors), vectors)
