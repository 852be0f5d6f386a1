"""The `generate` op and sampling, with a tiny generator built in the test (no torch)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from llmvis_studio.catalog import load_catalog
from llmvis_studio.core.errors import InputError, ModelError
from llmvis_studio.core.requests import EditRequest
from llmvis_studio.engine import Engine
from llmvis_studio.engine.conditioning import conditioning_for_prompt, hashed_embedding
from tests.generator_helpers import CLASSES, generator_entry, tiny_generator_onnx, write_generator_catalog
from tests.helpers import photo


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    folder = write_generator_catalog(tmp_path_factory.mktemp("gen-models"))
    return Engine(catalog=load_catalog(folder), threads=1)


def ring_mask(shape, box):
    mask = np.zeros(shape, np.uint8)
    y0, y1, x0, x1 = box
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    inside = ((yy - (y0 + y1) / 2) / ((y1 - y0) / 2)) ** 2 + ((xx - (x0 + x1) / 2) / ((x1 - x0) / 2)) ** 2 <= 1
    mask[inside] = 255
    return mask


@pytest.mark.parametrize("channels,dtype", [(3, np.uint8), (4, np.uint16)])
def test_fill_changes_only_masked_pixels(engine, channels, dtype):
    image = photo(64, 80).astype(dtype) * (257 if dtype == np.uint16 else 1)
    if channels == 4:
        image = np.concatenate([image, np.full(image.shape[:2] + (1,), 40000, dtype)], axis=2)
    mask = ring_mask(image.shape[:2], (10, 50, 20, 70))
    request = EditRequest.build("generate", image, mask, prompt="red", params={"seed": 3, "variations": 4})
    result = engine.run(request)
    outside = mask == 0
    assert result.image.dtype == image.dtype and result.image.shape == image.shape
    assert np.array_equal(result.image[outside], image[outside])  # bit-identical outside the mask
    assert np.abs(result.image[~outside].astype(np.int64) - image[~outside]).mean() > 0  # something was made
    assert result.changed is not None and "Variation 1 of 4" in result.notes[0]


def test_variations_differ_and_are_deterministic(engine):
    image = photo(48, 48)
    mask = np.zeros(image.shape[:2], np.uint8)
    mask[8:40, 8:40] = 255
    outs = [
        engine.run(
            EditRequest.build(
                "generate", image, mask, prompt="blue", params={"seed": 1, "variations": 4, "variation": v}
            )
        ).image
        for v in range(4)
    ]
    for a in range(4):
        for b in range(a + 1, 4):
            assert not np.array_equal(outs[a], outs[b])
    again = engine.run(
        EditRequest.build("generate", image, mask, prompt="blue", params={"seed": 1, "variations": 4, "variation": 2})
    ).image
    assert np.array_equal(again, outs[2])


def test_fill_is_fitted_to_the_surroundings_and_keeps_the_prompt(engine):
    """The texture generator's fit (texture_fill.fill_box): light and cast move towards the field and the edge meets
    it, while the middle keeps part of the prompt's colour (the old mean/std match turned "red" into the field)."""
    image = np.full((48, 48, 3), (30, 160, 60), np.uint8)  # a green field
    mask = np.zeros(image.shape[:2], np.uint8)
    mask[12:36, 12:36] = 255
    field = np.array((30, 160, 60))
    for prompt, channel in (("red", 0), ("blue", 2)):
        out = engine.run(EditRequest.build("generate", image, mask, prompt=prompt, params={"seed": 0})).image
        core = out[18:30, 18:30].reshape(-1, 3).mean(0)
        edge = out[12, 14:34].reshape(-1, 3).mean(0)  # the mask's first row
        assert core[channel] > field[channel] + 25, (prompt, core)
        assert np.abs(core - field).max() < 90, (prompt, core)  # pulled towards the field, not a pasted sample
        assert np.abs(edge - field).max() < np.abs(core - field).max(), (prompt, edge, core)


def test_generate_needs_a_mask(engine):
    with pytest.raises(InputError, match="mask"):
        engine.run(EditRequest.build("generate", photo(32, 32), None, prompt="red"))


def test_sampling_gives_different_images_and_follows_the_prompt(engine):
    reds, described, provider = engine.generate_images("tiny-gen", "a red picture", 4, seed=0)
    blues, _, _ = engine.generate_images("tiny-gen", "blue", 4, seed=0)
    assert len(reds) == 4 and reds[0].shape == (16, 16, 3) and reds[0].dtype == np.uint8
    assert all(not np.array_equal(reds[i], reds[j]) for i in range(4) for j in range(i + 1, 4))
    assert "red" in described and provider
    red_mean, blue_mean = np.mean(reds, axis=(0, 1, 2)), np.mean(blues, axis=(0, 1, 2))
    assert red_mean[0] > red_mean[2] and blue_mean[2] > blue_mean[0]


def test_prompt_weights_come_from_cosine_similarity():
    vectors = hashed_embedding(list(CLASSES))
    mix = conditioning_for_prompt("bright red", CLASSES, vectors, {"kind": "hashed-bow", "dim": 384})
    assert mix.weights.argmax() == 0 and abs(mix.weights.sum() - 1) < 1e-6 and mix.weights[0] > 0.9
    # an encoder that is not installed: the prompt is matched against the class names with hashed words
    gone = conditioning_for_prompt("blue sky", CLASSES, vectors, {"kind": "text-encoder", "model_id": "missing"})
    assert gone.weights.argmax() == 1 and "names" in gone.matched_by
    assert conditioning_for_prompt("", CLASSES, vectors, {"kind": "hashed-bow"}) is None


def test_hashed_embedding_is_deterministic_and_unit_length():
    a, b, c = hashed_embedding(["bricks", "brick wall", "water"])
    assert np.allclose(hashed_embedding(["bricks"])[0], a)
    assert abs(float(np.linalg.norm(a)) - 1) < 1e-5
    assert a @ b > a @ c


def test_user_models_join_the_catalog(tmp_path, monkeypatch):
    bundled = write_generator_catalog(tmp_path / "bundled", "tiny-gen")
    user = tmp_path / "user"
    user.mkdir()
    run = tmp_path / "runs" / "r1"
    run.mkdir(parents=True)
    file = tiny_generator_onnx(run / "generator.onnx", seed=4)
    entries = [
        dict(generator_entry("mine", file), file=str(file)),  # absolute path into a run folder
        dict(generator_entry("tiny-gen", file), file=str(file)),  # clashes with a bundled id: skipped
        {"id": "broken"},
    ]  # lacks fields: skipped, the app still starts
    (user / "manifest.json").write_text(json.dumps({"models": entries}))
    catalog = load_catalog(bundled, user_folder=user)
    assert "mine" in catalog.ids() and "broken" not in catalog.ids()
    assert catalog.get("tiny-gen").file == bundled / "tiny-gen.onnx"
    assert "mine" not in load_catalog(bundled).ids()  # an explicit folder alone: no user models
    monkeypatch.setenv("LLMVIS_MODELS_DIR", str(bundled))
    monkeypatch.setenv("LLMVIS_DATA_DIR", str(tmp_path / "data"))
    fresh = Engine(threads=1)  # reads its own catalog: re-reads it for a model trained after it started
    (tmp_path / "data" / "models").mkdir(parents=True)
    (tmp_path / "data" / "models" / "manifest.json").write_text(json.dumps({"models": entries[:1]}))
    images, _, _ = fresh.generate_images("mine", "red", 2)
    assert len(images) == 2


def test_generate_cli_writes_n_pngs(tmp_path):
    folder = write_generator_catalog(tmp_path / "models")
    env = dict(os.environ, LLMVIS_MODELS_DIR=str(folder), LLMVIS_DATA_DIR=str(tmp_path / "data"))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "llmvis_studio",
            "generate",
            "--model",
            "tiny-gen",
            "--prompt",
            "blue",
            "-n",
            "3",
            "--out",
            str(tmp_path / "out"),
            "--seed",
            "5",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "sample_000.png",
        "sample_001.png",
        "sample_002.png",
    ]
    bad = subprocess.run(
        [sys.executable, "-m", "llmvis_studio", "generate", "--model", "nope", "--out", str(tmp_path / "o2")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert (
        bad.returncode == 2 and bad.stderr.startswith("error: Unknown model 'nope'") and "Traceback" not in bad.stderr
    )


def test_runtime_cli_does_not_import_torch_and_explains_the_train_extra(monkeypatch, capsys):
    code = (
        "import sys, llmvis_studio.cli, llmvis_studio.cli.generators, llmvis_studio.__main__; "
        "assert 'torch' not in sys.modules and 'llmvis_studio.training' not in sys.modules"
    )
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0
    import importlib.util

    from llmvis_studio import cli
    from llmvis_studio.cli import generators as cli_gen

    real = importlib.util.find_spec
    monkeypatch.setattr(
        cli_gen.importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a)
    )
    assert cli.main(["train", "gan", "--data", "x", "--out", "y"]) == 2
    assert (
        capsys.readouterr().err.strip() == "error: training needs the train extra: pip install 'llmvis-studio[train]'"
    )
    from llmvis_studio.__main__ import dialog_trainer

    assert dialog_trainer() is None  # the editor's Train menu is then disabled


def test_large_masks_are_mirror_tiled_not_stretched():
    from llmvis_studio.engine.ops.generate import cover

    sample = np.random.default_rng(0).random((16, 16, 3)).astype(np.float32)
    small = cover(sample, 24, 30)
    assert small.shape == (24, 30, 3)
    big = cover(sample, 100, 70)
    assert big.shape == (100, 70, 3) and big.min() >= 0 and big.max() <= 1
    assert np.allclose(big[:32, :32], big[63:31:-1, :32])  # the 2× tile, then its mirror image


def test_the_demo_generator_follows_the_prompt_and_fills_a_mask():
    catalog = load_catalog(user_folder=None)
    if "demo-textures-gan" not in catalog.ids():
        pytest.skip("models/demo-textures-gan.onnx is not built (make models-demo-gan)")
    engine = Engine(catalog=catalog, threads=1)
    night, described, _ = engine.generate_images("demo-textures-gan", "stars in the night sky", 8, seed=0)
    hazy, _, _ = engine.generate_images("demo-textures-gan", "a pale hazy sky", 8, seed=0)
    assert "night sky" in described and night[0].shape == (32, 32, 3)
    assert np.mean(night) + 40 < np.mean(hazy)  # the night sky is much darker than the hazy one
    image = photo(96, 128)
    mask = ring_mask(image.shape[:2], (20, 80, 30, 110))
    result = engine.run(
        EditRequest.build("generate", image, mask, prompt="gravel", model_id="demo-textures-gan", params={"seed": 2})
    )
    assert np.array_equal(result.image[mask == 0], image[mask == 0])
    assert not np.array_equal(result.image[mask > 0], image[mask > 0])


def _catalog_with_truncation(folder, truncation):
    folder = write_generator_catalog(folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["models"][0]["truncation"] = truncation
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return load_catalog(folder, user_folder=None)


def test_truncation_narrows_the_samples_and_is_checked(tmp_path):
    full = Engine(catalog=_catalog_with_truncation(tmp_path / "a", 1.0), threads=1)
    narrow = Engine(catalog=_catalog_with_truncation(tmp_path / "b", 0.2), threads=1)
    wide, _, _ = full.generate_images("tiny-gen", "red", 8, seed=0)
    tight, _, _ = narrow.generate_images("tiny-gen", "red", 8, seed=0)
    spread = lambda images: float(np.std(np.asarray(images, np.float64), axis=0).mean())  # noqa: E731
    assert spread(tight) < 0.5 * spread(wide)  # z scaled by 0.2: samples of one prompt close in
    broken = Engine(catalog=_catalog_with_truncation(tmp_path / "c", 1.5), threads=1)
    with pytest.raises(ModelError, match="truncation"):
        broken.generate_images("tiny-gen", "red", 2, seed=0)
