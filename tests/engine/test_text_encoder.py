"""The shipped sentence encoder at run time: tokenizer.json + ONNX, no torch."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from llmvis_studio.catalog import load_catalog
from llmvis_studio.core.errors import ModelIntegrityError
from llmvis_studio.engine.text.encoder import load_text_encoder
from llmvis_studio.paths import models_dir


@pytest.fixture(scope="module")
def encoder():
    return load_text_encoder(load_catalog(), threads=1)


def test_unit_vectors_of_384_numbers(encoder):
    vectors = encoder.encode(["upscale this photo", "hello", ""])
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_padding_does_not_change_an_embedding(encoder):
    short, long_ = "denoise", "remove the grain from this dark and noisy night photograph of the harbour"
    together = encoder.encode([short, long_])
    alone = np.concatenate([encoder.encode([short]), encoder.encode([long_])])
    assert np.abs(together - alone).max() < 1e-5


def test_meaning_is_captured(encoder):
    a, b, c = encoder.encode(["make the picture bigger", "enlarge the image", "write a poem about cats"])
    assert a @ b > 0.6 > a @ c


def test_long_prompts_are_truncated_not_refused(encoder):
    assert encoder.encode(["word " * 1000]).shape == (1, 384)


def test_a_changed_tokenizer_is_refused(tmp_path):
    folder = tmp_path / "models"
    folder.mkdir()
    manifest = json.loads((models_dir() / "manifest.json").read_text())
    entry = next(e for e in manifest["models"] if e["task"] == "text-encoder")
    for name in (entry["file"], entry["tokenizer"]["file"]):
        shutil.copyfile(models_dir() / name, folder / name)
    (folder / "manifest.json").write_text(json.dumps({"schema": 1, "models": [entry]}))
    with open(folder / entry["tokenizer"]["file"], "a") as handle:
        handle.write(" ")
    with pytest.raises(ModelIntegrityError):
        load_text_encoder(load_catalog(folder))
