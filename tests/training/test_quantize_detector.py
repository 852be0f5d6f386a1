"""quantize_detector: an int8 copy of the shipped scratch detector whose thresholded tail stays fp32 (a uint8
probability would have 1/255 steps against a 0.999 threshold) and whose output follows the fp32 net."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

from llmvis_studio.files import load_image
from llmvis_studio.training.quantize_sr import ends_kept_fp32, quantize

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "models" / "scratch-detector.onnx"


def crops(side: int = 96) -> list[np.ndarray]:
    img, _ = load_image(ROOT / "resources" / "sample.png")
    rgb = img[..., :3].astype(np.float32) / 255
    out = []
    for y, x in ((0, 0), (200, 150), (300, 400), (100, 300)):
        out.append(np.ascontiguousarray(rgb[y : y + side, x : x + side].transpose(2, 0, 1)[None]))
    return out


def test_int8_copy_keeps_the_tail_fp32_and_follows_the_fp32_net(tmp_path):
    model = onnx.load(str(SOURCE))
    kept = ends_kept_fp32(model, outside=True)
    names = [n.name for n in model.graph.node if n.op_type != "Constant"]
    assert kept[0] == names[0] and kept[-1] == names[-1]  # input scaling ... sigmoid
    assert len(ends_kept_fp32(model)) == 2  # the SR recipe: only the first and last conv

    target = tmp_path / "int8.onnx"
    inputs = crops()
    quantize(SOURCE, target, inputs, keep_outside_fp32=True)
    graph = onnx.load(str(target)).graph
    producer = {out: n for n in graph.node for out in n.output}
    assert producer[graph.output[0].name].op_type == "Sigmoid"  # a float probability, not a dequantised uint8
    assert any(n.op_type == "QuantizeLinear" for n in graph.node)

    def run(path: Path) -> np.ndarray:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        return np.concatenate([session.run(None, {"image": x})[0].ravel() for x in inputs])

    fp32, int8 = run(SOURCE), run(target)
    logit = lambda p: np.log(np.clip(p, 1e-6, 1 - 1e-6) / np.clip(1 - p, 1e-6, 1))  # noqa: E731
    assert np.median(np.abs(logit(int8) - logit(fp32))) < 0.5
    assert len(np.unique(int8)) > 1000  # a continuous output, not 256 levels
