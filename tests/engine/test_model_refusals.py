"""Bad model files are refused with plain words; the engine stays usable afterwards."""

import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from llmvis_studio.catalog import load_catalog
from llmvis_studio.core.errors import ModelError, ModelIntegrityError
from llmvis_studio.core.requests import EditRequest
from llmvis_studio.engine import Engine
from tests.helpers import manifest_entry, photo, tiny_upscaler_onnx


def catalog_with(folder, *files):
    entries = [manifest_entry(f.stem, f, 2) for f in files]
    good = tiny_upscaler_onnx(folder / "good.onnx")
    entries.append(manifest_entry("good", good, 2))
    (folder / "manifest.json").write_text(json.dumps({"models": entries}))
    return load_catalog(folder)


def run(engine, model_id):
    return engine.run(EditRequest.build("upscale", photo(16, 16), model_id=model_id, params={"scale": 2}))


def test_corrupt_onnx(tmp_path):
    (tmp_path / "corrupt.onnx").write_bytes(b"\x08\x07" + bytes(range(256)) * 4)
    engine = Engine(catalog_with(tmp_path, tmp_path / "corrupt.onnx"))
    with pytest.raises(ModelError, match="not a valid ONNX model"):
        run(engine, "corrupt")
    assert run(engine, "good").image.shape == (32, 32, 3)  # still works afterwards


def test_wrong_input_shape(tmp_path):
    graph = helper.make_graph(
        [helper.make_node("Identity", ["image"], ["output"])],
        "g",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 1, "h", "w"])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 1, "h", "w"])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(tmp_path / "grey.onnx"))
    with pytest.raises(ModelError, match="not an RGB image"):
        run(Engine(catalog_with(tmp_path, tmp_path / "grey.onnx")), "grey")


def model_with_external_weights(location: str) -> bytes:
    """A 2× upscaler whose weights live in an external file at `location` (as written, unchecked)."""
    weight = numpy_helper.from_array(np.ones((4, 3, 3, 3), np.float32), "w")
    weight.ClearField("raw_data")
    weight.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", "0"), ("length", str(4 * 27 * 4))):
        item = weight.external_data.add()
        item.key, item.value = key, value
    graph = helper.make_graph(
        [
            helper.make_node("Conv", ["image", "w"], ["f"], pads=[1, 1, 1, 1]),
            helper.make_node("DepthToSpace", ["f"], ["output"], blocksize=2, mode="CRD"),
        ],
        "g",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, "h", "w"])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 1, "oh", "ow"])],
        initializer=[weight],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString()  # onnx.save would refuse such locations itself


def test_external_data_outside_the_model_folder(tmp_path):
    folder = tmp_path / "models"
    folder.mkdir()
    (tmp_path / "secret.bin").write_bytes(np.ones(27 * 4, np.float32).tobytes())
    (folder / "escape.onnx").write_bytes(model_with_external_weights("../secret.bin"))
    with pytest.raises(ModelIntegrityError, match="outside its own folder"):
        run(Engine(catalog_with(folder, folder / "escape.onnx")), "escape")


def test_external_data_by_absolute_path_is_named(tmp_path):
    folder = tmp_path / "models"
    folder.mkdir()
    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.ones(27 * 4, np.float32).tobytes())
    (folder / "absolute.onnx").write_bytes(model_with_external_weights(str(secret)))
    with pytest.raises(ModelIntegrityError, match="by an absolute path"):
        run(Engine(catalog_with(folder, folder / "absolute.onnx")), "absolute")


def test_lfs_pointer_and_pickle(tmp_path):
    (tmp_path / "pointer.onnx").write_text("version https://git-lfs.github.com/spec/v1\noid sha256:00\nsize 1\n")
    (tmp_path / "pickled.onnx").write_bytes(b"\x80\x04\x95" + b"\x00" * 40)
    engine = Engine(catalog_with(tmp_path, tmp_path / "pointer.onnx", tmp_path / "pickled.onnx"))
    with pytest.raises(ModelIntegrityError, match="LFS"):
        run(engine, "pointer")
    with pytest.raises(ModelIntegrityError, match="pickle"):
        run(engine, "pickled")
