"""The sentence encoder: tokenizer.json + an ONNX BERT that returns L2-normalised embeddings."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Optional

import numpy as np
import onnxruntime as ort

from ...catalog import Catalog
from ...core.errors import ModelError
from ..session import providers_for, translate_ort_error
from ..side_files import side_file
from .tokenizer import Tokenizer

TASK = "text-encoder"
BATCH = 64


class TextEncoder:
    """texts → float32 N×D unit vectors. Runs on the CPU: a few short prompts do not need a GPU."""

    def __init__(self, model_path: Path, tokenizer_path: Path, threads: Optional[int] = None) -> None:
        self.tokenizer = Tokenizer(tokenizer_path)
        options = ort.SessionOptions()
        options.log_severity_level = 4
        options.inter_op_num_threads = 1
        # No busy-waiting between the short runs of a prompt batch: on shared cores spinning threads
        # only take time from the thread doing the work.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if threads:
            options.intra_op_num_threads = threads
        try:
            self.session = ort.InferenceSession(str(model_path), sess_options=options, providers=providers_for("cpu"))
        except Exception as exc:
            raise translate_ort_error(exc) from exc
        names = [i.name for i in self.session.get_inputs()]
        if names[:2] != ["input_ids", "attention_mask"]:
            raise ModelError(f"{Path(model_path).name} is not a text encoder (its inputs are {names}).")
        self.output_name = self.session.get_outputs()[0].name
        self.dimension = int(self.session.get_outputs()[0].shape[-1])

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        texts = [str(text) for text in texts]
        if not texts:
            return np.zeros((0, self.dimension), np.float32)
        # Each batch is padded to its longest text: batching texts of similar length (and each
        # distinct text once) keeps the padding, most of the work for mixed prompts, small.
        unique = list(dict.fromkeys(texts))
        by_length = sorted(range(len(unique)), key=lambda i: len(unique[i]))
        vectors = np.zeros((len(unique), self.dimension), np.float32)
        for start in range(0, len(by_length), BATCH):
            rows = by_length[start : start + BATCH]
            ids, mask = self.tokenizer([unique[i] for i in rows])
            try:
                out = self.session.run([self.output_name], {"input_ids": ids, "attention_mask": mask})[0]
            except Exception as exc:
                raise translate_ort_error(exc) from exc
            vectors[rows] = out
        index = {text: i for i, text in enumerate(unique)}
        return vectors[[index[text] for text in texts]]

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        return self.encode(texts)


def load_text_encoder(catalog: Catalog, model_id: Optional[str] = None, threads: Optional[int] = None) -> TextEncoder:
    spec = catalog.get(model_id) if model_id else catalog.default_for(TASK)
    return TextEncoder(catalog.verify(spec), side_file(spec, "tokenizer"), threads)
