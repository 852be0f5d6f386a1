"""Read ncnn `.param` / `.bin` model files with numpy.

Only what our converters need: the layer list of any `.param`, and the weights of the layer types
that Real-ESRGAN's networks use. The `.bin` has no index — it is every layer's weights back to
back in `.param` order — so a layer type we cannot size makes every later offset wrong; such a
layer raises `NcnnFormatError` instead of producing garbage.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

PARAM_MAGIC = 7767517
ARRAY_KEY_BASE = -23300  # a key k <= -23300 holds an array for param id (-k - 23300)

TAG_FP16 = 0x01306B47
TAG_INT8 = 0x000D4B38
TAG_FP32 = 0

# Layers that store nothing in the .bin (so they can be skipped while walking it).
WEIGHTLESS_TYPES = frozenset(
    {
        "Input",
        "Split",
        "Concat",
        "Eltwise",
        "BinaryOp",
        "UnaryOp",
        "Interp",
        "ReLU",
        "Sigmoid",
        "TanH",
        "Clip",
        "Crop",
        "Padding",
        "PixelShuffle",
        "Reshape",
        "Permute",
        "Flatten",
        "Noop",
        "Softmax",
        "Pooling",
        "Dropout",
    }
)

# ncnn's fused activation_type (Convolution param 9); LeakyReLU's slope is activation param 0.
ACTIVATION_NONE = 0
ACTIVATION_RELU = 1
ACTIVATION_LEAKY_RELU = 2


class NcnnFormatError(ValueError):
    """The files are not ncnn, are damaged, or use a feature this reader does not handle."""


ParamValue = int | float | tuple[int | float, ...]


@dataclass(frozen=True)
class NcnnLayer:
    type: str
    name: str
    bottoms: tuple[str, ...]
    tops: tuple[str, ...]
    params: dict[int, ParamValue]

    def param(self, key: int, default: ParamValue) -> ParamValue:
        return self.params.get(key, default)


@dataclass(frozen=True)
class NcnnConv:
    """One Convolution layer's weights in PyTorch layout."""

    name: str
    weight: np.ndarray  # float32 (out, in, kh, kw)
    bias: np.ndarray | None  # float32 (out,)
    stride: tuple[int, int]  # (h, w)
    padding: tuple[int, int]  # (h, w), symmetric
    dilation: tuple[int, int]  # (h, w)
    activation: int  # ncnn activation_type: 0 none, 1 ReLU, 2 LeakyReLU, ...
    activation_params: tuple[float, ...]


# ---------------------------------------------------------------- .param


def parse_param(text: str) -> list[NcnnLayer]:
    """Parse the text of a `.param` file into its layers, in file order."""
    lines = [line.split() for line in text.splitlines() if line.strip()]
    if len(lines) < 2 or lines[0] != [str(PARAM_MAGIC)]:
        raise NcnnFormatError(f"not an ncnn .param file (first line must be {PARAM_MAGIC})")
    try:
        layer_count = int(lines[1][0])
    except (IndexError, ValueError) as exc:
        raise NcnnFormatError("ncnn .param: bad layer/blob count line") from exc
    layers = [_parse_layer(tokens, number) for number, tokens in enumerate(lines[2:], start=3)]
    if len(layers) != layer_count:
        raise NcnnFormatError(f"ncnn .param declares {layer_count} layers but lists {len(layers)}")
    return layers


def read_param(path: str | Path) -> list[NcnnLayer]:
    return parse_param(Path(path).read_text(encoding="utf-8"))


def _parse_layer(tokens: list[str], line_number: int) -> NcnnLayer:
    try:
        layer_type, name = tokens[0], tokens[1]
        n_bottom, n_top = int(tokens[2]), int(tokens[3])
    except (IndexError, ValueError) as exc:
        raise NcnnFormatError(f"ncnn .param line {line_number}: bad layer header") from exc
    blobs_end = 4 + n_bottom + n_top
    if len(tokens) < blobs_end:
        raise NcnnFormatError(f"ncnn .param line {line_number}: fewer blob names than declared")
    bottoms = tuple(tokens[4 : 4 + n_bottom])
    tops = tuple(tokens[4 + n_bottom : blobs_end])
    params = dict(_parse_param_entry(token, line_number) for token in tokens[blobs_end:])
    return NcnnLayer(layer_type, name, bottoms, tops, params)


def _parse_param_entry(token: str, line_number: int) -> tuple[int, ParamValue]:
    key_text, sep, value_text = token.partition("=")
    try:
        key = int(key_text)
        if not sep:
            raise ValueError("missing '='")
        if key > ARRAY_KEY_BASE:
            return key, _parse_number(value_text)
        count_text, *items = value_text.split(",")
        values = tuple(_parse_number(item) for item in items)
    except ValueError as exc:
        raise NcnnFormatError(f"ncnn .param line {line_number}: bad parameter {token!r}") from exc
    if int(count_text) != len(values):
        raise NcnnFormatError(f"ncnn .param line {line_number}: array {token!r} declares {count_text} values")
    return ARRAY_KEY_BASE - key, values


def _parse_number(text: str) -> int | float:
    # ncnn's own rule: a value is a float when it is written with a '.' or an exponent.
    if any(c in text for c in ".eE"):
        return float(text)
    return int(text)


# ---------------------------------------------------------------- .bin


class _BinReader:
    """Sequential reader over the `.bin` bytes, mirroring ncnn's ModelBin."""

    def __init__(self, data: bytes) -> None:
        self.data = memoryview(data)
        self.offset = 0

    def take(self, size: int, what: str) -> memoryview:
        end = self.offset + size
        if end > len(self.data):
            raise NcnnFormatError(
                f"ncnn .bin ends early while reading {what} (need {end} bytes, have {len(self.data)})"
            )
        chunk = self.data[self.offset : end]
        self.offset = end
        return chunk

    def raw_fp32(self, count: int, what: str) -> np.ndarray:
        return np.frombuffer(self.take(4 * count, what), dtype="<f4").astype(np.float32)

    def tagged(self, count: int, what: str) -> np.ndarray:
        """A weight blob that starts with a 4-byte storage tag; returns float32."""
        tag = int(np.frombuffer(self.take(4, what), dtype="<u4")[0])
        if tag == TAG_FP16:
            chunk = self.take(_align4(2 * count), what)  # fp16 data is padded to 4 bytes
            return np.frombuffer(chunk[: 2 * count], dtype="<f2").astype(np.float32)
        if tag == TAG_FP32:
            return self.raw_fp32(count, what)
        if tag == TAG_INT8:
            raise NcnnFormatError(f"{what}: int8-quantised ncnn weights are not supported")
        raise NcnnFormatError(f"{what}: unsupported ncnn weight storage tag 0x{tag:08X}")


def _align4(size: int) -> int:
    return (size + 3) // 4 * 4


def read_weights(layers: list[NcnnLayer], data: bytes) -> dict[str, tuple[np.ndarray, ...]]:
    """Split the `.bin` bytes into per-layer float32 arrays (flat), keyed by layer name.

    Raises NcnnFormatError for a layer type we cannot size, and when bytes are left over,
    since either means the offsets (and so every weight) would be wrong.
    """
    reader = _BinReader(data)
    weights: dict[str, tuple[np.ndarray, ...]] = {}
    for layer in layers:
        if layer.type == "Convolution":
            weights[layer.name] = _read_convolution(reader, layer)
        elif layer.type not in WEIGHTLESS_TYPES:
            raise NcnnFormatError(
                f"ncnn layer {layer.name!r} has type {layer.type!r}, which this reader does not "
                "handle; its weights (if any) cannot be located in the .bin"
            )
    if reader.offset != len(data):
        raise NcnnFormatError(
            f"ncnn .bin has {len(data) - reader.offset} bytes left after the last layer "
            "(the .param and .bin do not match)"
        )
    return weights


def _read_convolution(reader: _BinReader, layer: NcnnLayer) -> tuple[np.ndarray, ...]:
    what = f"Convolution {layer.name!r}"
    if layer.param(8, 0) or layer.param(19, 0):
        raise NcnnFormatError(f"{what}: int8 or dynamic-weight convolutions are not supported")
    weight = reader.tagged(int(layer.param(6, 0)), what)
    if not layer.param(5, 0):
        return (weight,)
    return weight, reader.raw_fp32(int(layer.param(0, 0)), what + " bias")


# ---------------------------------------------------------------- convolutions


def convolutions(layers: list[NcnnLayer], weights: dict[str, tuple[np.ndarray, ...]]) -> list[NcnnConv]:
    """The Convolution layers, in `.param` order, with weights shaped (out, in, kh, kw)."""
    return [_to_conv(layer, weights[layer.name]) for layer in layers if layer.type == "Convolution"]


def load_convolutions(param_path: str | Path, bin_path: str | Path) -> list[NcnnConv]:
    layers = read_param(param_path)
    return convolutions(layers, read_weights(layers, Path(bin_path).read_bytes()))


def _to_conv(layer: NcnnLayer, blobs: tuple[np.ndarray, ...]) -> NcnnConv:
    p = layer.param
    out_ch, kw = int(p(0, 0)), int(p(1, 0))
    kh = int(p(11, kw))
    flat = blobs[0]
    if out_ch <= 0 or kh <= 0 or kw <= 0 or flat.size % (out_ch * kh * kw):
        raise NcnnFormatError(f"Convolution {layer.name!r}: {flat.size} weights do not fit {out_ch}x?x{kh}x{kw}")
    pad_w = int(p(4, 0))
    pad_h = int(p(14, pad_w))
    if pad_w < 0 or p(15, pad_w) != pad_w or p(16, pad_h) != pad_h:
        raise NcnnFormatError(f"Convolution {layer.name!r}: only symmetric explicit padding is supported")
    stride_w, dilation_w = int(p(3, 1)), int(p(2, 1))
    activation_params = p(10, ())
    if not isinstance(activation_params, tuple):
        activation_params = (activation_params,)
    return NcnnConv(
        name=layer.name,
        weight=flat.reshape(out_ch, -1, kh, kw),
        bias=blobs[1] if len(blobs) > 1 else None,
        stride=(int(p(13, stride_w)), stride_w),
        padding=(pad_h, pad_w),
        dilation=(int(p(12, dilation_w)), dilation_w),
        activation=int(p(9, ACTIVATION_NONE)),
        activation_params=tuple(float(v) for v in activation_params),
    )
