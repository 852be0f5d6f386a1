"""all-MiniLM-L6-v2: our torch BERT from the pip package vs the shipped ONNX file (cosine ≤ 1e-4)."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

from llmvis_studio.training import export_minilm as ex

pytest.importorskip("tokenizers")


@pytest.fixture(scope="module")
def source():
    try:
        return ex.read_source()
    except ex.ExportError as exc:  # the export-time package is not installed here
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def shipped():
    from llmvis_studio.catalog import load_catalog
    from llmvis_studio.engine.side_files import side_file

    spec = load_catalog().default_for("text-encoder")
    return spec, side_file(spec, "tokenizer")


def test_shipped_onnx_matches_torch_within_1e4_cosine(source, shipped):
    spec, tokenizer = shipped
    model = ex.build_model(source)
    metrics = ex.compare(spec.file, tokenizer, model)
    print(f"ONNX vs torch: {metrics}")
    assert metrics["sentences"] >= 20
    assert metrics["max_cosine_distance"] <= 1e-4
    assert metrics["sbert_reference_max_error"] <= 2e-3  # sentence-transformers' published scores
    assert spec.metrics["onnx_vs_torch_max_cosine_distance"] <= 1e-4


def test_package_files_are_the_hugging_face_release(source, shipped):
    assert source.sha256["model.safetensors"] == ex.KNOWN_SHA256["model.safetensors"]
    _, tokenizer = shipped
    assert tokenizer.read_bytes() == source.tokenizer_json


def test_weights_are_stored_in_fp16_behind_casts(shipped):
    import onnx

    spec, _ = shipped
    model = onnx.load(str(spec.file), load_external_data=False)
    halves = [t for t in model.graph.initializer if t.data_type == onnx.TensorProto.FLOAT16]
    assert len(halves) >= 30 and spec.file.stat().st_size < 60e6
    assert sum(n.op_type == "Cast" for n in model.graph.node) >= len(halves)
    names = [i.name for i in model.graph.input]
    assert names == ["input_ids", "attention_mask"]
    dims = [d.dim_param for d in model.graph.input[0].type.tensor_type.shape.dim]
    assert dims == ["batch", "sequence"]


def test_safetensors_reader_on_a_hand_made_file():
    header = {
        "a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
        "b": {"dtype": "I64", "shape": [1], "data_offsets": [16, 24]},
        "__metadata__": {"format": "pt"},
    }
    raw = json.dumps(header).encode()
    blob = struct.pack("<Q", len(raw)) + raw + np.arange(4, dtype="<f4").tobytes() + np.array([7], "<i8").tobytes()
    tensors = ex.read_safetensors(blob)
    assert tensors["a"].tolist() == [[0, 1], [2, 3]] and tensors["b"].tolist() == [7]
