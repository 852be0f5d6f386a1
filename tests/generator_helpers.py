"""A tiny real `generate` model built with onnx.helper (no torch): (z, c) → N×3×S×S in 0..1."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from llmvis_studio.engine.conditioning import hashed_embedding

CLASSES = ("red", "blue")


def tiny_generator_onnx(path: Path, size: int = 16, z_dim: int = 8, c_dim: int = 384, seed: int = 0) -> Path:
    """sigmoid(z·Wz + c·Wc + b) reshaped to an image; Wc maps 'red' to red-ish and 'blue' to blue-ish pictures."""
    rng = np.random.default_rng(seed)
    pixels = 3 * size * size
    wz = rng.normal(0, 0.8, size=(z_dim, pixels)).astype(np.float32)
    red, blue = hashed_embedding(list(CLASSES), c_dim)
    tint = np.zeros((2, 3, size, size), np.float32)
    tint[0, 0], tint[0, 2] = 2.0, -2.0
    tint[1, 0], tint[1, 2] = -2.0, 2.0
    # least-squares map from the two class vectors to their tints
    wc = np.linalg.pinv(np.stack([red, blue])) @ tint.reshape(2, -1)
    nodes = [
        helper.make_node("MatMul", ["z", "wz"], ["zp"]),
        helper.make_node("MatMul", ["c", "wc"], ["cp"]),
        helper.make_node("Add", ["zp", "cp"], ["s"]),
        helper.make_node("Sigmoid", ["s"], ["flat"]),
        helper.make_node("Reshape", ["flat", "shape"], ["image"]),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny_generator",
        [
            helper.make_tensor_value_info("z", TensorProto.FLOAT, ["n", z_dim]),
            helper.make_tensor_value_info("c", TensorProto.FLOAT, ["n", c_dim]),
        ],
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["n", 3, size, size])],
        initializer=[
            numpy_helper.from_array(wz, "wz"),
            numpy_helper.from_array(wc.astype(np.float32), "wc"),
            numpy_helper.from_array(np.array([-1, 3, size, size], np.int64), "shape"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def generator_entry(model_id: str, file: Path, size: int = 16, z_dim: int = 8) -> dict:
    vectors = hashed_embedding(list(CLASSES))
    return {
        "id": model_id,
        "name": "Tiny generator",
        "task": "generate",
        "file": file.name,
        "sha256": hashlib.sha256(file.read_bytes()).hexdigest(),
        "inputs": [{"name": "z", "layout": "NC", "range": [-4, 4]}, {"name": "c", "layout": "NC", "range": [-1, 1]}],
        "outputs": [{"name": "image", "layout": "NCHW", "range": [0, 1], "channels": "RGB"}],
        "tile": {"supported": False},
        "licence": "CC0 (test)",
        "source": "built in the test",
        "reproduce": "tests/generator_helpers.py",
        "image_size": size,
        "z_dim": z_dim,
        "c_dim": 384,
        "embedder": {"kind": "hashed-bow", "model_id": None, "dim": 384},
        "classes": [{"name": n, "images": 1, "embedding": v.tolist()} for n, v in zip(CLASSES, vectors)],
    }


def write_generator_catalog(folder: Path, model_id: str = "tiny-gen") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    file = tiny_generator_onnx(folder / f"{model_id}.onnx")
    (folder / "manifest.json").write_text(json.dumps({"schema": 1, "models": [generator_entry(model_id, file)]}))
    return folder
