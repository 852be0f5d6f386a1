"""int8 (QDQ) copies of the compact super-resolution nets, calibrated on training photos, for fast CPU inference.

    python -m llmvis_studio.training.quantize_sr --source sr-compact-x4 --models models     # make models-sr-int8

Why: on an AVX2-only CPU the fp32 ×4 net reached 0.82 MP/s of output; its 17 body convolutions dominate and
onnxruntime's int8 convolutions run them about twice as fast. Quantisation is static (activation ranges fixed from
calibration crops) and per channel for the weights. The first conv (sees raw pixels) and the last (writes the
residual that becomes the picture) stay fp32: quantising them cost 0.35 dB on held-out crops, the body alone
costs about 0.01 dB. Calibration crops come from the training photos (../shared/training), never the benchmarks.
Multiplications by the residual scale 1.0 are dropped first (exact) so each conv's output feeds its Add directly.
"""

from __future__ import annotations

import glob
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper
from PIL import Image

from llmvis_studio.catalog.catalog import sha256_of
from llmvis_studio.training.manifest_tools import upsert_entry
from llmvis_studio.training.tool_cli import doc_parser

CALIBRATION_PHOTOS = ("wikimedia/*.png", "kodak24/*.png", "bsds500/train-*.jpg")
CROP = 256  # HR crop side; the LR calibration input is CROP / scale
CROPS_PER_SET = 24


def training_photos(root: Path) -> list[Path]:
    found: list[Path] = []
    for pattern in CALIBRATION_PHOTOS:
        found += sorted(Path(p) for p in glob.glob(str(root / pattern)))[:CROPS_PER_SET]
    if not found:
        raise SystemExit(f"no training photos under {root} (see ../shared/training/README.md)")
    return found


def calibration_inputs(photos: list[Path], scale: int, seed: int = 0) -> list[np.ndarray]:
    """LR NCHW float32 crops made the way the net was trained (bicubic, antialiased)."""
    rng = np.random.default_rng(seed)
    inputs = []
    for path in photos:
        with Image.open(path) as im:
            photo = np.asarray(im.convert("RGB"))
        h, w = photo.shape[:2]
        if min(h, w) < CROP:
            continue
        y, x = int(rng.integers(0, h - CROP + 1)), int(rng.integers(0, w - CROP + 1))
        lr = Image.fromarray(photo[y : y + CROP, x : x + CROP]).resize((CROP // scale,) * 2, Image.BICUBIC)
        inputs.append((np.asarray(lr, np.float32) / 255.0).transpose(2, 0, 1)[None].copy())
    return inputs


def drop_unit_multiplications(model: onnx.ModelProto) -> int:
    """Remove `Mul(x, 1.0)` nodes (the exported residual scale); returns how many."""
    constants = {
        n.output[0]: numpy_helper.to_array(n.attribute[0].t)
        for n in model.graph.node
        if n.op_type == "Constant" and n.attribute and n.attribute[0].t is not None
    }
    constants.update({i.name: numpy_helper.to_array(i) for i in model.graph.initializer})
    renamed: dict[str, str] = {}
    kept = []
    for node in model.graph.node:
        if node.op_type == "Mul":
            value = constants.get(node.input[1])
            if value is not None and value.size == 1 and float(value.reshape(())) == 1.0:
                renamed[node.output[0]] = node.input[0]
                continue
        kept.append(node)
    for node in kept:
        for i, name in enumerate(node.input):
            while name in renamed:
                name = renamed[name]
            node.input[i] = name
    dropped = len(model.graph.node) - len(kept)
    del model.graph.node[:]
    model.graph.node.extend(kept)
    return dropped


class _Reader:
    """onnxruntime's CalibrationDataReader protocol over a list of inputs."""

    def __init__(self, name: str, inputs: list[np.ndarray]) -> None:
        self._items = iter([{name: x} for x in inputs])

    def get_next(self):
        return next(self._items, None)

    def rewind(self) -> None:  # older onnxruntime versions call it
        pass


def ends_kept_fp32(model: onnx.ModelProto, outside: bool = False) -> list[str]:
    """Names of the nodes to keep fp32: the first and the last conv, and with `outside` every node before the first
    conv and after the last (input scaling; a detector's calibration and sigmoid, whose output is thresholded)."""
    nodes = list(model.graph.node)
    convs = [i for i, n in enumerate(nodes) if n.op_type == "Conv"]
    if not outside:
        return [nodes[convs[0]].name, nodes[convs[-1]].name]
    return [n.name for i, n in enumerate(nodes) if (i <= convs[0] or i >= convs[-1]) and n.op_type != "Constant"]


def quantize(source: Path, target: Path, inputs: list[np.ndarray], keep_outside_fp32: bool = False) -> None:
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    model = onnx.load(str(source))
    drop_unit_multiplications(model)
    excluded = ends_kept_fp32(model, keep_outside_fp32)
    with tempfile.TemporaryDirectory() as tmp:
        plain, prepared = Path(tmp) / "plain.onnx", Path(tmp) / "prepared.onnx"
        onnx.save(model, str(plain))
        quant_pre_process(str(plain), str(prepared), skip_symbolic_shape=True)
        quantize_static(
            str(prepared),
            str(target),
            _Reader(model.graph.input[0].name, inputs),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.Percentile,
            nodes_to_exclude=excluded,
            extra_options={"CalibPercentile": 99.999, "WeightSymmetric": True},
        )


def int8_copy_entry(
    source_entry: dict, target: Path, name: str, default: bool, calibration: str, reproduce: str
) -> dict:
    """The manifest entry of an int8 copy: the source's task, I/O, scale, tiling and settings (a deep copy), its own
    id, file, hash and provenance (`calibration`: what it was calibrated on and by which module)."""
    entry = json.loads(json.dumps(source_entry))
    source_id = source_entry["id"]
    entry.update(
        {
            "id": f"{source_id}-int8",
            "name": name,
            "file": target.name,
            "sha256": sha256_of(target),
            "default": default,
            "source": f"int8 QDQ quantisation of {source_id} (trained here), calibrated on {calibration}",
            "reproduce": reproduce,
            "quantised_from": source_id,
        }
    )
    return entry


def int8_entry(source_entry: dict, target: Path, calibration_count: int) -> dict:
    entry = int8_copy_entry(
        source_entry,
        target,
        source_entry["name"].replace("(", "(int8, ", 1),
        True,
        f"{calibration_count} crops of the training photos (llmvis_studio.training.quantize_sr)",
        "make models-sr-int8",
    )
    entry["metrics"] = {"calibration_crops": calibration_count}
    return entry


def main(argv: list[str] | None = None) -> int:
    parser = doc_parser("python -m llmvis_studio.training.quantize_sr", __doc__)
    parser.add_argument("--source", default="sr-compact-x4", help="manifest id of the fp32 net")
    parser.add_argument("--models", default="models")
    parser.add_argument(
        "--photos", default=str(Path(__file__).resolve().parents[2].parent / "shared" / "training" / "photos")
    )
    args = parser.parse_args(argv)
    models = Path(args.models)
    manifest = json.loads((models / "manifest.json").read_text())
    source_entry = next((e for e in manifest["models"] if e["id"] == args.source), None)
    if source_entry is None:
        print(f"error: no model '{args.source}' in {models / 'manifest.json'}", file=sys.stderr)
        return 1
    inputs = calibration_inputs(training_photos(Path(args.photos)), int(source_entry["scale"]))
    target = models / f"{args.source}-int8.onnx"
    quantize(models / source_entry["file"], target, inputs)
    entry = int8_entry(source_entry, target, len(inputs))
    upsert_entry(models / "manifest.json", entry)
    # the fp32 net stays installed (and is what CUDA should run); the int8 copy is the CPU default
    source_entry["default"] = False
    upsert_entry(models / "manifest.json", source_entry)
    print(f"wrote {target} ({target.stat().st_size / 1e6:.1f} MB) from {len(inputs)} calibration crops")
    return 0


if __name__ == "__main__":
    sys.exit(main())
