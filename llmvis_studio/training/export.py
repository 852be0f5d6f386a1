"""From a trained torch model to a shipped one: ONNX export, fp16 weights, manifest entry, model card.

Every training and conversion entry point exports through here, so every model file is made the same way: the
TorchScript exporter (one self-contained file; the dynamo exporter needs onnxscript, which the train extra does not
install), written under a temporary name, checked to hold no external data (the catalog refuses external-data paths
anyway) and only then moved into place, so a failed export never leaves a half-written model under its final name.
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import numpy as np

from llmvis_studio.catalog.catalog import sha256_of
from llmvis_studio.core.errors import ModelError
from llmvis_studio.training.manifest_tools import upsert_entry

if TYPE_CHECKING:  # torch is imported where a model is exported: the ONNX-only tools start without it
    import onnx
    import torch

OPSET = 17
FP16_MAX = 60000.0  # |weights| above this would overflow fp16 (65504) after rounding

# tensor descriptions of the manifest (catalog/catalog.py reads them)
RGB = {"layout": "NCHW", "dtype": "float32", "range": [0, 1], "channels": "RGB"}
MASK = {"layout": "NCHW", "dtype": "float32", "range": [0, 1], "channels": "mask"}
TRAINED_HERE = "BSD-3-Clause (trained here)"
# the order models/manifest.json keeps its keys in (DESIGN §4); other keys follow
ENTRY_ORDER = (
    "id",
    "name",
    "task",
    "file",
    "sha256",
    "inputs",
    "outputs",
    "scale",
    "stride",
    "tile",
    "memory_bytes_per_input_pixel",
    "parameters",
    "default",
    "licence",
    "source",
    "reproduce",
    "metrics",
)


class ExportError(ModelError):
    """The exported file is not what the app can ship (external data, weights out of fp16 range)."""


def spatial_axes(names: Sequence[str]) -> dict[str, dict[int, str]]:
    """Dynamic batch, height and width for NCHW image tensors."""
    return {name: {0: "batch", 2: "height", 3: "width"} for name in names}


def export_onnx(
    model: torch.nn.Module,
    path: Path,
    example: tuple[torch.Tensor, ...],
    input_names: Sequence[str],
    output_names: Sequence[str],
    dynamic_axes: Mapping[str, Mapping[int, str]],
    opset: int = OPSET,
    constant_folding: bool = True,
) -> None:
    """One self-contained ONNX file at `path` (written to a temporary name first)."""
    import torch

    model = model.eval()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.onnx")
    try:
        with warnings.catch_warnings():  # the TorchScript exporter is deprecated but gives a plain, stable graph
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.onnx.export(
                model,
                example,
                str(tmp),
                dynamo=False,
                opset_version=opset,
                input_names=list(input_names),
                output_names=list(output_names),
                do_constant_folding=constant_folding,
                dynamic_axes={k: dict(v) for k, v in dynamic_axes.items()},
            )
        check_self_contained(tmp, path.name)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def check_self_contained(path: Path, label: str = "") -> None:
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    if any(init.data_location == onnx.TensorProto.EXTERNAL for init in model.graph.initializer):
        raise ExportError(f"{label or path.name}: the export wrote external data")


def store_weights_as_fp16(path: Path, min_elements: int = 0, exact_only: bool = False, doc_string: str = "") -> int:
    """Rewrite float32 initializers as fp16 + a Cast node (activations stay float32; onnxruntime folds the Casts at
    load time); returns how many were halved. `min_elements`: smaller tensors stay float32; `exact_only`: only those
    fp16 represents exactly (weights that came from fp16, e.g. ncnn's, lose nothing)."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    casts = []
    for init in graph.initializer:
        if init.data_type != onnx.TensorProto.FLOAT:
            continue
        values = numpy_helper.to_array(init)
        if values.size < min_elements:
            continue
        halved = values.astype(np.float16)
        if exact_only and not np.array_equal(halved.astype(np.float32), values):
            continue
        if values.size and np.abs(values).max() > FP16_MAX:
            raise ExportError(f"{init.name} does not fit fp16")
        name, half_name = init.name, f"{init.name}__fp16"
        init.CopyFrom(numpy_helper.from_array(halved, half_name))
        casts.append(
            onnx.helper.make_node("Cast", [half_name], [name], to=onnx.TensorProto.FLOAT, name=f"{name}__cast")
        )
    nodes = casts + list(graph.node)  # Casts first keeps the node list topologically sorted
    del graph.node[:]
    graph.node.extend(nodes)
    if doc_string:
        model.doc_string = doc_string
    onnx.checker.check_model(model, full_check=True)
    onnx.save_model(model, str(path), save_as_external_data=False)
    return len(casts)


def trained_entry(
    path: Path,
    model: Optional[torch.nn.Module],
    fields: Mapping[str, Any],
    source: str = "",
    licence: str = TRAINED_HERE,
) -> dict[str, Any]:
    """A manifest entry for a model file: `fields` (id, name, task, inputs, ...) plus the file, its sha256, the
    parameter count, licence and source, keys in the manifest's order."""
    entry: dict[str, Any] = {"file": path.name, "sha256": sha256_of(path), **fields}
    if model is not None:
        entry.setdefault("parameters", sum(p.numel() for p in model.parameters()))
    entry.setdefault("licence", licence)
    entry.setdefault("source", source or f"trained here (offline photos listed in models/cards/{entry['id']}.md)")
    return ordered(entry)


def ordered(entry: Mapping[str, Any]) -> dict[str, Any]:
    first = {k: entry[k] for k in ENTRY_ORDER if k in entry}
    return first | {k: v for k, v in entry.items() if k not in first}


def ship(
    path: Path,
    write: Callable[[Path], object],
    entry: Callable[[Path], dict[str, Any]],
    manifest: str | Path | None,
    log: Callable[[str], object],
) -> Path:
    """A training run's end: `write(path)` exports the model; with a manifest, `entry(path)` is upserted into it."""
    write(path)
    log(f"exported {path}")
    if manifest:
        register(manifest, entry(path), log)
    return path


def register(manifest: str | Path, entry: dict[str, Any], log: Optional[Any] = None) -> None:
    """Upsert the entry into a manifest.json (atomic; other entries kept)."""
    upsert_entry(manifest, entry)
    if log is not None:
        log(f"manifest entry {entry['id']} → {manifest}")


def manifest_entry_of(models: Path, model_id: str) -> dict[str, Any]:
    """The entry of `model_id` in MODELS/manifest.json (what a model card is written from)."""
    manifest = json.loads((models / "manifest.json").read_text(encoding="utf-8"))
    return next(e for e in manifest["models"] if e["id"] == model_id)


def write_card(models: Path, model_id: str, text: str) -> Path:
    """MODELS/cards/<id>.md, written atomically."""
    cards = models / "cards"
    cards.mkdir(parents=True, exist_ok=True)
    path = cards / f"{model_id}.md"
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


# ------------------------------------------------------------------------- tools for converted (not trained) models
LICENCE_TEXTS = Path(__file__).parent / "licence_texts"


def tensor_spec(name: str, layout: str, value_range: list[float], channels: str) -> dict[str, Any]:
    """A manifest `inputs`/`outputs` item (float32 tensors only)."""
    return {"name": name, "layout": layout, "dtype": "float32", "range": value_range, "channels": channels}


def converted_entry(
    out_dir: Path,
    head: tuple[str, str, str, str],
    fields: Mapping[str, Any],
    source: str,
    source_sha256: str,
    common: Mapping[str, Any],
    metrics: Mapping[str, Any],
    when: str,
) -> dict[str, Any]:
    """A manifest entry for a converted model file: `head` is (id, name, task, file); then its sha256, `fields`
    (inputs, outputs, sizes, ...), where it came from, `common` (licence, reproduce) and `metrics` with their date."""
    model_id, name, task, file = head
    return {
        "id": model_id,
        "name": name,
        "task": task,
        "file": file,
        "sha256": sha256_of(out_dir / file),
        **fields,
        "source": source,
        "source_sha256": source_sha256,
        **common,
        "metrics": {**metrics, "measured_on": when},
    }


def rename_tensor(graph: onnx.GraphProto, old: str, new: str) -> None:
    """Rename a tensor everywhere in a graph (node inputs/outputs, graph inputs/outputs, value infos)."""
    for node in graph.node:
        node.input[:] = [new if name == old else name for name in node.input]
        node.output[:] = [new if name == old else name for name in node.output]
    for value in list(graph.input) + list(graph.output) + list(graph.value_info):
        if value.name == old:
            value.name = new


def cpu_session(path: Path, reference: bool = False) -> Any:
    """An onnxruntime CPU session on at most two threads, quiet (the GPU build logs CUDA errors on CPU machines).

    reference: no graph optimisations, so a quantised (QDQ) model runs each convolution in fp32 between its
    DequantizeLinear and QuantizeLinear nodes. Why: the fused int8 kernels give other numbers on other CPUs (most
    likely AVX2 without VNNI saturating the u8×s8 pair sums, a known onnxruntime caveat: the style presets made on an
    earlier machine were up to 0.66 from this path's, which an EPYC with VNNI matched within 0.04); files made here
    must not depend on the machine that made them."""
    import onnxruntime

    onnxruntime.set_default_logger_severity(3)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = max(1, min(2, os.cpu_count() or 1))
    if reference:
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def licence_folder(out_dir: Path, *texts: str) -> Path:
    """OUT/licences with the named licence texts (from training/licence_texts) copied in."""
    folder = out_dir / "licences"
    folder.mkdir(parents=True, exist_ok=True)
    for name in texts:
        shutil.copyfile(LICENCE_TEXTS / name, folder / name)
    return folder
