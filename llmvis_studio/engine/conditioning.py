"""Text → conditioning vectors for the trained generators (numpy only; the encoder is optional).

A generator is conditioned on a fixed-size vector `c`. Training stores each class's `c` (the embedding
of its folder name) in the model's manifest entry, together with which embedder made it:

- `text-encoder`: the catalog's sentence encoder (all-MiniLM-L6-v2, 384-d) when it is installed;
- `hashed-bow`: a deterministic hashed bag of words and character trigrams (384-d), the fallback.

At generation time the prompt is embedded with the same embedder, compared with the class embeddings by
cosine similarity, and `c` is the softmax-weighted mix of the class embeddings. When the recorded
encoder is not installed any more, the prompt is matched against the class *names* with the hashed
embedder instead (the stored `c` vectors are still what the generator receives).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from ..core.errors import InputError, StudioError

log = logging.getLogger(__name__)

HASHED = "hashed-bow"
ENCODER = "text-encoder"
HASH_DIM = 384
TEMPERATURE = 0.05  # softmax over cosine similarities: a clear match takes nearly all the weight
_WORD = re.compile(r"[a-z0-9]+")

EmbedFn = Callable[[Sequence[str]], np.ndarray]


def pack_vector(vector: np.ndarray) -> dict[str, Any]:
    """A float32 vector as compact JSON ({"dtype", "shape", "base64"}, little-endian), the router's format."""
    data = np.ascontiguousarray(vector, dtype="<f4")
    return {"dtype": "float32", "shape": list(data.shape), "base64": base64.b64encode(data.tobytes()).decode("ascii")}


def unpack_vector(stored: Any) -> np.ndarray:
    """The inverse of pack_vector; a plain list of numbers is accepted too."""
    if isinstance(stored, Mapping):
        raw = base64.b64decode(str(stored["base64"]))
        return (
            np.frombuffer(raw, dtype=np.dtype(str(stored.get("dtype", "float32"))).newbyteorder("<"))
            .reshape(stored.get("shape", [-1]))
            .astype(np.float32)
        )
    return np.asarray(stored, np.float32)


def _bucket(token: str, dim: int) -> tuple[int, float]:
    digest = hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest()
    value = int.from_bytes(digest, "little")
    return value % dim, (1.0 if (value >> 63) & 1 else -1.0)


def hashed_embedding(texts: Sequence[str], dim: int = HASH_DIM) -> np.ndarray:
    """Unit vectors of hashed words (weight 1) and character trigrams (weight 0.3): 'bricks' ≈ 'brick'."""
    out = np.zeros((len(texts), dim), np.float32)
    for row, text in enumerate(texts):
        for word in _WORD.findall(text.lower().replace("_", " ").replace("-", " ")):
            index, sign = _bucket("w:" + word, dim)
            out[row, index] += sign
            padded = f"#{word}#"
            for start in range(len(padded) - 2):
                index, sign = _bucket("t:" + padded[start : start + 3], dim)
                out[row, index] += 0.3 * sign
        norm = float(np.linalg.norm(out[row]))
        if norm > 0:
            out[row] /= norm
    return out


@dataclass(frozen=True)
class Embedder:
    kind: str  # HASHED or ENCODER
    model_id: Optional[str]
    dim: int
    embed: EmbedFn

    def info(self) -> dict[str, Any]:
        return {"kind": self.kind, "model_id": self.model_id, "dim": self.dim}

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        return np.asarray(self.embed(list(texts)), np.float32)


def hashed_embedder(dim: int = HASH_DIM) -> Embedder:
    return Embedder(HASHED, None, dim, lambda texts: hashed_embedding(texts, dim))


_ENCODERS: dict[tuple[str, str], Embedder] = {}
_LOCK = threading.Lock()


def encoder_embedder(catalog, model_id: Optional[str] = None) -> Optional[Embedder]:
    """The catalog's text encoder as an Embedder, or None when none is installed or it cannot load."""
    try:
        from .text.encoder import TASK, load_text_encoder
    except ImportError:  # the encoder module is optional
        return None
    try:
        spec = catalog.get(model_id) if model_id else catalog.default_for(TASK)
    except StudioError:
        return None
    key = (spec.id, str(spec.file))
    with _LOCK:
        if key not in _ENCODERS:
            try:
                encoder = load_text_encoder(catalog, spec.id, threads=1)
            except StudioError as exc:
                log.warning("text encoder %s unusable (%s); using hashed words", spec.id, exc.user_message)
                return None
            _ENCODERS[key] = Embedder(ENCODER, spec.id, int(encoder.dimension), encoder.encode)
        return _ENCODERS[key]


def default_embedder(catalog=None, prefer: str = "auto") -> Embedder:
    """`auto`: the text encoder when installed, else hashed words; `hashed`: always hashed words."""
    if prefer not in ("auto", HASHED, "hashed", ENCODER):
        raise InputError(f"Unknown text embedder '{prefer}'. Use auto, hashed or text-encoder.")
    if prefer in ("auto", ENCODER) and catalog is not None:
        found = encoder_embedder(catalog)
        if found is not None:
            return found
        if prefer == ENCODER:
            raise InputError("No text encoder is installed; use --text-embedder hashed or auto.")
    return hashed_embedder()


def embedder_for(info: Mapping[str, Any], catalog=None) -> Optional[Embedder]:
    """The embedder a model was trained with, or None when it is not available here."""
    kind = info.get("kind", HASHED)
    if kind == HASHED:
        return hashed_embedder(int(info.get("dim", HASH_DIM)))
    if kind == ENCODER and catalog is not None:
        found = encoder_embedder(catalog, info.get("model_id"))
        if found is not None and found.dim == int(info.get("dim", found.dim)):
            return found
    return None


def softmax(scores: np.ndarray, temperature: float = TEMPERATURE) -> np.ndarray:
    scaled = (scores - scores.max()) / max(temperature, 1e-6)
    weights = np.exp(scaled)
    return weights / weights.sum()


def cosine(vector: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    vector = vector / max(float(np.linalg.norm(vector)), 1e-8)
    norms = np.maximum(np.linalg.norm(matrix, axis=1), 1e-8)
    return (matrix @ vector) / norms


@dataclass(frozen=True)
class Conditioning:
    vector: np.ndarray  # the c fed to the generator
    weights: np.ndarray  # per class, sums to 1
    similarities: np.ndarray  # cosine of the prompt to each class (what the weights came from)
    matched_by: str  # which embedder compared the prompt with the classes

    def describe(self, names: Sequence[str]) -> str:
        order = np.argsort(-self.weights)[:3]
        return ", ".join(f"{names[i]} {self.weights[i]:.0%}" for i in order if self.weights[i] >= 0.01)


def conditioning_for_prompt(
    prompt: str,
    names: Sequence[str],
    class_vectors: np.ndarray,
    embedder_info: Mapping[str, Any],
    catalog=None,
    temperature: float = TEMPERATURE,
) -> Optional[Conditioning]:
    """Softmax-weighted mix of the class vectors by the prompt's similarity; None for an empty prompt."""
    if not prompt.strip() or not len(names):
        return None
    embedder = embedder_for(embedder_info, catalog)
    if embedder is not None:
        prompt_vector = embedder([prompt])[0]
        keys = class_vectors
        matched_by = embedder.kind
    else:  # the encoder the model was trained with is gone: compare words with the class names
        fallback = hashed_embedder()
        prompt_vector = fallback([prompt])[0]
        keys = fallback(list(names))
        matched_by = HASHED + " (names)"
    similarities = cosine(prompt_vector, keys)
    weights = softmax(similarities, temperature)
    return Conditioning((weights @ class_vectors).astype(np.float32), weights, similarities, matched_by)


def class_table(extra: Mapping[str, Any]) -> tuple[tuple[str, ...], np.ndarray]:
    """A generator manifest's classes: their names and their conditioning vectors (N×c_dim float32).
    Raises KeyError / TypeError / ValueError on a malformed table (the caller names the model)."""
    classes = list(extra["classes"])
    names = tuple(str(c["name"]) for c in classes)
    return names, np.stack([unpack_vector(c["embedding"]) for c in classes]).astype(np.float32)
