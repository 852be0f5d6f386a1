"""Prompt → what to do: {op, style, content, confidence, alternatives}. numpy only at run time.

How a prompt is routed:
1. Light spelling repair toward the router's own vocabulary ("upsacle" → "upscale"): a word that
   is neither a whole WordPiece token nor a training word is replaced by the closest training
   word within a small edit distance. Typos otherwise split into odd word pieces and lose meaning.
2. Features: the sentence embedding (all-MiniLM-L6-v2, 384-d) next to a small TF-IDF bag of
   the training words and word pairs. The embedding carries meaning ("blow it up" ≈ enlarge);
   the words carry the verbs that separate close ops (remove → inpaint, add → generate).
3. A multinomial logistic regression fitted by training/fit_router.py on the hand-written
   paraphrases in router_examples.json gives a probability per op.
4. Out of scope → `none`: when the prompt is far from every in-scope training example (cosine
   below the fitted threshold), whatever the classifier says.
5. `style` (stylize): a preset named in the prompt, else the preset whose description is closest
   in embedding space. `content` (generate): the prompt minus its request verb.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional

import numpy as np

from ...core.errors import ModelError
from .wording import extract_content, follow_up, requested_scale, rule_op

# Named like the command-line subcommands. Some are built in other parts of the app (colourize, the
# smart masks); the router names them all and the editor says when one is not available.
ROUTER_LABELS = (
    "upscale",
    "inpaint",
    "restore",
    "denoise",
    "stylize",
    "generate",
    "colourize",
    "select-subject",
    "remove-background",
    "detect-text",
    "none",
)
EXAMPLES_PATH = Path(__file__).with_name("router_examples.json")
ASK_BELOW = 0.5  # below this confidence the panel shows the alternatives and asks
HEAD_FORMAT = 1

Embed = Callable[[Sequence[str]], np.ndarray]
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


# ---------------------------------------------------------------- text features (shared with fitting)


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def damerau(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance, giving up (returning limit + 1) once past `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


class SpellingRepair:
    """Replace unknown words by the nearest domain word (edit distance 1, or 2 for long words)."""

    def __init__(self, domain_words: Sequence[str], known: Callable[[str], bool]) -> None:
        self.domain = sorted({w for w in domain_words if len(w) >= 4 and w.isalpha()})
        self.known = known
        self._cache: dict[str, str] = {}

    def word(self, word: str) -> str:
        if len(word) < 4 or not word.isalpha() or word in self.domain or self.known(word):
            return word
        if word not in self._cache:  # a few hundred edit distances per new word: remember the answer
            self._cache[word] = self._nearest(word)
        return self._cache[word]

    def _nearest(self, word: str) -> str:
        limit = 1 if len(word) <= 5 else 2
        best, best_distance = word, limit + 1
        for candidate in self.domain:
            distance = damerau(word, candidate, limit)
            if distance < best_distance:
                best, best_distance = candidate, distance
        return best

    def __call__(self, text: str) -> str:
        return re.sub(r"[A-Za-z]+", lambda m: self.word(m.group(0).lower()), text)


def terms(text: str) -> list[str]:
    """Words and adjacent word pairs: the lexical vocabulary of the head."""
    tokens = words(text)
    return tokens + [f"{a} {b}" for a, b in zip(tokens, tokens[1:])]


def lexical_vector(text: str, vocabulary: Mapping[str, int], idf: np.ndarray) -> np.ndarray:
    vector = np.zeros(len(vocabulary), np.float32)
    for term in terms(text):
        index = vocabulary.get(term)
        if index is not None:
            vector[index] += 1.0
    vector *= idf
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


# ---------------------------------------------------------------- stored arrays


def pack(array: np.ndarray, dtype: str = "float32") -> dict[str, Any]:
    data = np.ascontiguousarray(array, dtype=np.dtype(dtype).newbyteorder("<"))
    return {"dtype": dtype, "shape": list(data.shape), "base64": base64.b64encode(data.tobytes()).decode("ascii")}


def unpack(packed: Mapping[str, Any]) -> np.ndarray:
    dtype = np.dtype(str(packed["dtype"])).newbyteorder("<")
    raw = base64.b64decode(str(packed["base64"]))
    return np.frombuffer(raw, dtype=dtype).reshape(packed["shape"]).astype(np.float32)


def examples_digest(path: Path = EXAMPLES_PATH) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_examples(path: Path = EXAMPLES_PATH) -> dict[str, dict[str, Any]]:
    ops = json.loads(path.read_text(encoding="utf-8"))["ops"]
    unknown = set(ops) - set(ROUTER_LABELS)
    if unknown:
        raise ModelError(f"router examples name unknown ops: {sorted(unknown)}")
    return ops


# ---------------------------------------------------------------- the head


@dataclass(frozen=True)
class RouterHead:
    labels: tuple[str, ...]
    vocabulary: Mapping[str, int]
    idf: np.ndarray
    lexical_weight: float
    weights: np.ndarray  # labels × (embedding + vocabulary)
    bias: np.ndarray
    in_scope: np.ndarray  # embeddings of the in-scope training examples (for the `none` threshold)
    threshold: float
    domain_words: tuple[str, ...]
    examples_sha256: str = ""
    metrics: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, path: Path) -> RouterHead:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ModelError(f"The prompt router file {Path(path).name} cannot be read.", detail=str(exc)) from exc
        if data.get("format") != HEAD_FORMAT:
            raise ModelError(f"{Path(path).name} has router format {data.get('format')}, expected {HEAD_FORMAT}.")
        vocabulary = {term: i for i, term in enumerate(data["vocabulary"])}
        return cls(
            labels=tuple(data["labels"]),
            vocabulary=vocabulary,
            idf=unpack(data["idf"]),
            lexical_weight=float(data["lexical_weight"]),
            weights=unpack(data["weights"]),
            bias=unpack(data["bias"]),
            in_scope=unpack(data["in_scope"]),
            threshold=float(data["threshold"]),
            domain_words=tuple(data["domain_words"]),
            examples_sha256=str(data.get("examples_sha256", "")),
            metrics=dict(data.get("metrics", {})),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "format": HEAD_FORMAT,
            "labels": list(self.labels),
            "vocabulary": sorted(self.vocabulary, key=self.vocabulary.__getitem__),
            "idf": pack(self.idf),
            "lexical_weight": self.lexical_weight,
            "weights": pack(self.weights),
            "bias": pack(self.bias),
            "in_scope": pack(self.in_scope, "float16"),
            "threshold": self.threshold,
            "domain_words": list(self.domain_words),
            "examples_sha256": self.examples_sha256,
            "metrics": dict(self.metrics),
        }

    def features(self, texts: Sequence[str], embeddings: np.ndarray) -> np.ndarray:
        lexical = (
            np.stack([lexical_vector(t, self.vocabulary, self.idf) for t in texts])
            if texts
            else np.zeros((0, len(self.vocabulary)), np.float32)
        )
        return np.concatenate([embeddings, self.lexical_weight * lexical], axis=1)

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        logits = features @ self.weights.T + self.bias
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class Routing:
    prompt: str
    op: str
    confidence: float
    alternatives: tuple[tuple[str, float], ...]  # the top 3 ops with their scores, best first
    style: Optional[str] = None
    content: Optional[str] = None
    params: Mapping[str, Any] = field(default_factory=dict)
    reason: str = ""
    then: Optional[str] = None  # the op to run on the result, e.g. detect-text → inpaint for "remove the caption"

    @property
    def ask(self) -> bool:
        """True when the panel should show the alternatives and ask rather than run."""
        return self.confidence < ASK_BELOW

    def to_json(self) -> dict[str, Any]:
        return {
            "prompt": self.prompt,
            "op": self.op,
            "style": self.style,
            "content": self.content,
            "confidence": round(self.confidence, 4),
            "ask": self.ask,
            "alternatives": [{"op": op, "score": round(score, 4)} for op, score in self.alternatives],
            "params": dict(self.params),
            "then": self.then,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class StylePreset:
    name: str
    description: str
    aliases: tuple[str, ...] = ()


# ---------------------------------------------------------------- the router


class PromptRouter:
    def __init__(
        self,
        embed: Embed,
        head: RouterHead,
        presets: Sequence[StylePreset] = (),
        known_word: Callable[[str], bool] = lambda word: False,
    ) -> None:
        self.embed = embed
        self.head = head
        self.presets = tuple(presets)
        self.spelling = SpellingRepair(head.domain_words, known_word)
        self._preset_vectors = (
            embed([f"{p.name.replace('-', ' ')}: {p.description}" for p in self.presets])
            if self.presets
            else np.zeros((0, 1), np.float32)
        )

    def route(self, prompt: str) -> Routing:
        return self.route_many([prompt])[0]

    def route_many(self, prompts: Sequence[str]) -> list[Routing]:
        prompts = [str(p) for p in prompts]
        if not prompts:
            return []
        repaired = [self.spelling(p) for p in prompts]
        embeddings = self.embed(repaired)
        probabilities = self.head.probabilities(self.head.features(repaired, embeddings))
        similarity = (
            (embeddings @ self.head.in_scope.T).max(axis=1)
            if len(self.head.in_scope)
            else np.ones(len(prompts), np.float32)
        )
        return [
            self._decide(p, r, e, prob, float(s))
            for p, r, e, prob, s in zip(prompts, repaired, embeddings, probabilities, similarity)
        ]

    def _decide(
        self, prompt: str, repaired: str, embedding: np.ndarray, probabilities: np.ndarray, similarity: float
    ) -> Routing:
        labels = self.head.labels
        order = np.argsort(-probabilities)
        op, confidence = labels[order[0]], float(probabilities[order[0]])
        reason = "classifier"
        ranked = [(labels[i], float(probabilities[i])) for i in order]
        if not words(prompt):
            return Routing(
                prompt=prompt, op="none", confidence=1.0, alternatives=(("none", 1.0),), reason="empty prompt"
            )
        if similarity < self.head.threshold and op != "none":
            # Far from every in-scope example: not something this app does. Confidence grows
            # with the distance below the threshold.
            margin = (self.head.threshold - similarity) / max(1e-6, self.head.threshold)
            op, confidence = "none", float(min(1.0, 0.5 + 2.0 * margin))
            reason = f"out of scope (similarity {similarity:.2f} < {self.head.threshold:.2f})"
        if op != "none" and (ruled := rule_op(repaired, op)) is not None:
            # The rule moves the overruled op's probability onto the op it names.
            scores = dict(ranked)
            confidence = scores[op] + scores.get(ruled, 0.0)
            scores[ruled], scores[op] = confidence, 0.0
            op, reason = ruled, f"wording rule ({ranked[0][0]} → {ruled})"
            ranked = sorted(scores.items(), key=lambda item: -item[1])
        if op == "none" and ranked[0][0] != "none":
            ranked = [("none", confidence)] + [(o, s) for o, s in ranked if o != "none"]
        style = self.match_style(repaired, embedding) if op == "stylize" else None
        content = None
        if op == "generate":  # the original wording, unless only the repaired text shows the verb
            content = extract_content(prompt)
            if content == prompt.strip():
                content = extract_content(repaired)
        params: dict[str, Any] = {}
        if op == "upscale" and (scale := requested_scale(prompt)):
            params["scale"] = scale
        if op == "stylize" and style:
            params["style"] = style
        return Routing(
            prompt=prompt,
            op=op,
            confidence=confidence,
            alternatives=tuple(ranked[:3]),
            style=style,
            content=content,
            params=params,
            reason=reason,
            then=follow_up(repaired, op),
        )

    def match_style(self, prompt: str, embedding: Optional[np.ndarray] = None) -> Optional[str]:
        """A preset whose name or alias the prompt names, else the closest description."""
        if not self.presets:
            return None
        text = " " + " ".join(words(prompt)) + " "
        for preset in self.presets:
            for alias in (preset.name.replace("-", " "), *preset.aliases):
                if f" {' '.join(words(alias))} " in text:
                    return preset.name
        if embedding is None:
            embedding = self.embed([prompt])[0]
        return self.presets[int(np.argmax(self._preset_vectors @ embedding))].name


# ---------------------------------------------------------------- loading from the catalog


def read_presets(path: Path) -> list[StylePreset]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return [StylePreset(p["name"], p.get("description", ""), tuple(p.get("aliases", ()))) for p in data["presets"]]


@lru_cache(maxsize=4)
def _wordpiece_words(tokenizer_path: str) -> frozenset[str]:
    vocab = json.loads(Path(tokenizer_path).read_text(encoding="utf-8"))["model"]["vocab"]
    return frozenset(word for word in vocab if word.isalpha())


def load_router(catalog=None, threads: Optional[int] = None) -> PromptRouter:
    """The router over the catalog's text encoder, router head and the stylize presets."""
    from ...catalog import load_catalog
    from ..side_files import side_file
    from .encoder import load_text_encoder

    catalog = catalog if catalog is not None else load_catalog()
    encoder_spec = catalog.default_for("text-encoder")
    encoder = load_text_encoder(catalog, encoder_spec.id, threads)
    if "router" not in encoder_spec.extra:
        raise ModelError(
            f"The text encoder '{encoder_spec.id}' has no fitted prompt router; run "
            "python -m llmvis_studio.training.fit_router --models models"
        )
    head = RouterHead.from_json(side_file(encoder_spec, "router"))
    presets: list[StylePreset] = []
    for spec in catalog.for_task("stylize"):
        if "presets" in spec.extra:
            presets = read_presets(side_file(spec, "presets"))
            break
    known = _wordpiece_words(str(side_file(encoder_spec, "tokenizer")))
    return PromptRouter(encoder.encode, head, presets, known.__contains__)
