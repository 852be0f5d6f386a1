"""WordPiece tokenization through the `tokenizers` library, from the model's own tokenizer.json."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ...core.errors import ModelError

MAX_TOKENS = 256  # sentence-transformers' max_seq_length for all-MiniLM-L6-v2


class Tokenizer:
    """Texts → (input_ids, attention_mask), int64 B×L, padded to the longest text in the batch."""

    def __init__(self, path: Path, max_tokens: int = MAX_TOKENS) -> None:
        from tokenizers import Tokenizer as HFTokenizer

        try:
            self._tokenizer = HFTokenizer.from_file(str(path))
        except Exception as exc:  # the library raises a bare Exception for bad files
            raise ModelError(f"The tokenizer file {Path(path).name} cannot be read.", detail=str(exc)) from exc
        # tokenizer.json ships with fixed 128-token padding; sentence-transformers pads to the
        # longest text and truncates at 256, and padding must not change the mean-pooled result.
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_length=max_tokens)
        pad_id = self._tokenizer.token_to_id("[PAD]")
        self._tokenizer.enable_padding(pad_id=0 if pad_id is None else pad_id, pad_token="[PAD]")

    def __call__(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        encodings = self._tokenizer.encode_batch([str(text) for text in texts])
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        return ids, mask

    def tokens(self, text: str) -> list[str]:
        return self._tokenizer.encode(str(text)).tokens
