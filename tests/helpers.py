"""Shared test helpers: a tiny real ONNX upscaler and a catalog folder around it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

if TYPE_CHECKING:
    from llmvis_studio.catalog import ModelSpec


def tiny_upscaler_onnx(path: Path, scale: int = 2, seed: int = 0) -> Path:
    """Conv 3×3 (3 → 3·s²) then DepthToSpace(s): a real ×s network with a 1-pixel margin."""
    rng = np.random.default_rng(seed)
    weight = rng.normal(0, 0.3, size=(3 * scale * scale, 3, 3, 3)).astype(np.float32)
    bias = rng.normal(0, 0.05, size=(3 * scale * scale,)).astype(np.float32)
    nodes = [
        helper.make_node("Conv", ["image", "w", "b"], ["features"], pads=[1, 1, 1, 1]),
        helper.make_node("DepthToSpace", ["features"], ["shuffled"], blocksize=scale, mode="CRD"),
        helper.make_node("Sigmoid", ["shuffled"], ["output"]),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny_upscaler",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, "h", "w"])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 3, "oh", "ow"])],
        initializer=[numpy_helper.from_array(weight, "w"), numpy_helper.from_array(bias, "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def manifest_entry(model_id: str, file: Path, scale: int, task: str = "upscale", **extra) -> dict:
    entry = {
        "id": model_id,
        "name": f"Tiny ×{scale}",
        "task": task,
        "file": file.name,
        "sha256": hashlib.sha256(file.read_bytes()).hexdigest(),
        "inputs": [{"name": "image", "layout": "NCHW", "dtype": "float32", "range": [0, 1], "channels": "RGB"}],
        "outputs": [{"name": "output", "layout": "NCHW", "dtype": "float32", "range": [0, 1], "channels": "RGB"}],
        "scale": scale,
        "stride": 1,
        "tile": {"supported": True, "min_overlap": 4, "default": 64},
        "memory_bytes_per_input_pixel": 512,
        "licence": "CC0 (test)",
        "source": "built in the test",
        "reproduce": "tests/helpers.py",
    }
    entry.update(extra)
    return entry


def write_tiny_catalog(folder: Path, scales=(2,)) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    entries = []
    for scale in scales:
        file = tiny_upscaler_onnx(folder / f"tiny-x{scale}.onnx", scale=scale, seed=scale)
        entries.append(manifest_entry(f"tiny-x{scale}", file, scale, default=(scale == scales[0])))
    (folder / "manifest.json").write_text(json.dumps({"schema": 1, "models": entries}, indent=2))
    return folder


def photo(height: int = 96, width: int = 128, seed: int = 1) -> np.ndarray:
    """A crop of the bundled sample photo (real image content, not noise)."""
    from llmvis_studio.files import load_image
    from llmvis_studio.paths import sample_image

    image, _ = load_image(sample_image())
    rng = np.random.default_rng(seed)
    y = int(rng.integers(0, image.shape[0] - height))
    x = int(rng.integers(0, image.shape[1] - width))
    return np.ascontiguousarray(image[y : y + height, x : x + width])


def tiny_denoiser_onnx(path: Path) -> Path:
    """A 3×3 mean filter per channel: a real (if crude) denoiser with stride 2 declared."""
    weight = np.full((3, 1, 3, 3), 1 / 9, np.float32)
    graph = helper.make_graph(
        [helper.make_node("Conv", ["image", "w"], ["output"], pads=[1, 1, 1, 1], group=3)],
        "tiny_denoiser",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, "h", "w"])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 3, "h", "w"])],
        initializer=[numpy_helper.from_array(weight, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def add_tiny_denoiser(folder: Path) -> None:
    manifest = json.loads((folder / "manifest.json").read_text())
    file = tiny_denoiser_onnx(folder / "tiny-denoise.onnx")
    manifest["models"].append(manifest_entry("tiny-denoise", file, 1, task="denoise", stride=2, default=True))
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))


def fake_spec(model_id: str, task: str, name: str = "", folder: Path = Path(), **fields) -> ModelSpec:
    """A catalog entry for tests that never open its file: the default for `task`, no I/O; `fields` are ModelSpec's
    other fields (scale, extra, ...)."""
    from llmvis_studio.catalog import ModelSpec

    base = {"sha256": "0" * 64, "inputs": (), "outputs": (), "licence": "test", "source": "tests", "reproduce": "none"}
    spec_fields = {"default": True, **base, **fields}
    return ModelSpec(id=model_id, task=task, name=name or model_id, file=folder / f"{model_id}.onnx", **spec_fields)
