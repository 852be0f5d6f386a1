"""Fit the prompt router's head on the hand-written paraphrases in engine/text/router_examples.json.

    python -m llmvis_studio.training.fit_router --models models

Embeds every example with the installed text encoder (the same ONNX model and code the app
uses), builds the TF-IDF word vocabulary, picks the lexical weight, the regularisation and the
out-of-scope threshold by cross-validation on the training examples only, fits a multinomial
logistic regression (scikit-learn) and writes models/prompt-router.json, recorded under "router" in
the text encoder's manifest entry (the head only fits the encoder it was fitted on).
The held-out prompts in tests/engine/data/router_heldout*.json are never read here; the
evaluation (training/evaluate_router.py) scores the fitted router on them afterwards.
"""

from __future__ import annotations

import datetime
import itertools
import json
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from llmvis_studio.catalog import load_catalog
from llmvis_studio.engine.side_files import side_file
from llmvis_studio.engine.text import router as R
from llmvis_studio.engine.text.encoder import load_text_encoder
from llmvis_studio.training import manifest_tools
from llmvis_studio.training.tool_cli import log_since as _log
from llmvis_studio.training.tool_cli import model_tool_main

FILE_NAME = "prompt-router.json"
LEXICAL_WEIGHTS = (0.0, 0.5, 1.0)
REGULARISATION = (10.0,)  # one C keeps the fit short on busy cores
THRESHOLDS = (0.0, 0.2, 0.25, 0.3, 0.35, 0.4)
FOLDS, REPEATS = 5, 1  # 11 ops × ~60 examples: one 5-fold pass keeps the fit to a few minutes on 2 busy cores


def training_texts(examples: dict) -> tuple[list[str], list[str]]:
    texts, labels = [], []
    for op, entry in examples.items():
        for text in [entry["description"], *entry["examples"]]:
            texts.append(text)
            labels.append(op)
    return texts, labels


def domain_words(texts: list[str], presets: list[R.StylePreset], known) -> list[str]:
    """Words the spelling repair may correct toward: training words minus their own typos."""
    extra = [" ".join([p.name.replace("-", " "), p.description, *p.aliases]) for p in presets]
    counts = Counter(w for t in texts + extra for w in R.words(t) if len(w) >= 4 and w.isalpha())
    kept = []
    for word in counts:
        if not known(word):
            # One edit away from a real word, or from a more frequent training word: a typo.
            rivals = [
                v for v in counts if v != word and R.damerau(word, v, 1) <= 1 and (known(v) or counts[v] > counts[word])
            ]
            if rivals:
                continue  # a typo in the training text ("upsacle"): never a correction target
        kept.append(word)
    return sorted(kept)


def vocabulary_of(texts: list[str]) -> tuple[dict[str, int], np.ndarray]:
    document_frequency = Counter(term for text in texts for term in set(R.terms(text)))
    kept = sorted(term for term, df in document_frequency.items() if " " not in term or df >= 2)
    idf = np.array([np.log((1 + len(texts)) / (1 + document_frequency[t])) + 1.0 for t in kept], np.float32)
    return {term: i for i, term in enumerate(kept)}, idf


def make_head(texts, labels, embeddings, lexical_weight, c, threshold, words_, digest="") -> R.RouterHead:
    vocabulary, idf = vocabulary_of(texts)
    label_names = tuple(op for op in R.ROUTER_LABELS if op in set(labels))
    head = R.RouterHead(
        label_names,
        vocabulary,
        idf,
        float(lexical_weight),
        np.zeros((1, 1), np.float32),
        np.zeros(1, np.float32),
        np.zeros((0, embeddings.shape[1]), np.float32),
        float(threshold),
        tuple(words_),
        digest,
    )
    features = head.features(texts, embeddings)
    model = LogisticRegression(C=c, max_iter=5000)
    model.fit(features, [label_names.index(label) for label in labels])
    in_scope = embeddings[[label != "none" for label in labels]]
    return R.RouterHead(
        label_names,
        vocabulary,
        idf,
        float(lexical_weight),
        model.coef_.astype(np.float32),
        model.intercept_.astype(np.float32),
        in_scope.astype(np.float16).astype(np.float32),
        float(threshold),
        tuple(words_),
        digest,
    )


def predict(head: R.RouterHead, texts, embeddings) -> list[str]:
    probabilities = head.probabilities(head.features(texts, embeddings))
    similarity = (embeddings @ head.in_scope.T).max(axis=1)
    out = []
    for p, s in zip(probabilities, similarity):
        op = head.labels[int(np.argmax(p))]
        out.append("none" if s < head.threshold else op)
    return out


def cross_validate(texts, labels, embeddings, words_) -> tuple[dict, list[dict]]:
    """Accuracy for every (lexical weight, C, threshold), repeated stratified k-fold."""
    labels_array = np.array(labels)
    results = []
    for lexical_weight, c in itertools.product(LEXICAL_WEIGHTS, REGULARISATION):
        correct = Counter()
        for repeat in range(REPEATS):
            folds = StratifiedKFold(FOLDS, shuffle=True, random_state=repeat)
            for train, test in folds.split(texts, labels_array):
                head = make_head(
                    [texts[i] for i in train],
                    [labels[i] for i in train],
                    embeddings[train],
                    lexical_weight,
                    c,
                    0.0,
                    words_,
                )
                test_texts = [texts[i] for i in test]
                probabilities = head.probabilities(head.features(test_texts, embeddings[test]))
                similarity = (embeddings[test] @ head.in_scope.T).max(axis=1)
                raw = [head.labels[int(np.argmax(p))] for p in probabilities]
                for threshold in THRESHOLDS:
                    predicted = ["none" if s < threshold else op for op, s in zip(raw, similarity)]
                    correct[float(threshold)] += sum(p == labels[i] for p, i in zip(predicted, test))
        for threshold, hits in correct.items():
            results.append(
                {
                    "lexical_weight": lexical_weight,
                    "C": c,
                    "threshold": threshold,
                    "accuracy": hits / (REPEATS * len(texts)),
                }
            )
    # Best accuracy; among ties prefer the simpler model (lower lexical weight, lower C) and the
    # higher threshold: cross-validation cannot see truly new out-of-scope requests, the threshold can.
    best = max(results, key=lambda r: (round(r["accuracy"], 4), -r["lexical_weight"], -r["C"], r["threshold"]))
    return best, results


def fit(models: Path) -> dict:
    started = time.perf_counter()
    catalog = load_catalog(models)
    encoder_spec = catalog.default_for("text-encoder")
    encoder = load_text_encoder(catalog, encoder_spec.id)
    known = R._wordpiece_words(str(side_file(encoder_spec, "tokenizer"))).__contains__
    presets: list[R.StylePreset] = []
    for spec in catalog.for_task("stylize"):
        if "presets" in spec.extra:
            presets = R.read_presets(side_file(spec, "presets"))
    examples = R.load_examples()
    raw_texts, labels = training_texts(examples)
    # The style presets are part of what `stylize` means: their descriptions are stylize examples.
    raw_texts += [p.description for p in presets]
    labels += ["stylize"] * len(presets)
    words_ = domain_words(raw_texts, presets, known)
    spelling = R.SpellingRepair(words_, known)
    texts = [spelling(t) for t in raw_texts]
    embeddings = encoder.encode(texts)
    _log(started, f"{len(texts)} examples embedded; {len(words_)} domain words")
    best, _ = cross_validate(texts, labels, embeddings, words_)
    _log(
        started,
        f"cross-validated ({FOLDS}-fold x{REPEATS}): accuracy {best['accuracy']:.3f} with lexical weight "
        f"{best['lexical_weight']}, C {best['C']}, threshold {best['threshold']}",
    )
    head = make_head(
        texts, labels, embeddings, best["lexical_weight"], best["C"], best["threshold"], words_, R.examples_digest()
    )
    train_accuracy = float(np.mean([p == label for p, label in zip(predict(head, texts, embeddings), labels)]))
    metrics = {
        "cv_accuracy": round(best["accuracy"], 4),
        "cv": f"stratified {FOLDS}-fold x{REPEATS} on the training examples",
        "train_accuracy": round(train_accuracy, 4),
        "examples": len(texts),
        "examples_per_op": dict(Counter(labels)),
        "measured_on": f"{datetime.date.today().isoformat()} CPU",
    }
    head = R.RouterHead(**{**head.__dict__, "metrics": metrics})
    path = models / FILE_NAME
    path.write_text(json.dumps(head.to_json(), separators=(",", ":")) + "\n", encoding="utf-8")
    # The head belongs to the encoder it was fitted on, so it is recorded as a side file of the
    # text-encoder entry: re-exporting the encoder drops it until the head is fitted again.
    manifest = json.loads((models / "manifest.json").read_text(encoding="utf-8"))
    entry = next(e for e in manifest["models"] if e["id"] == encoder_spec.id)
    entry["router"] = {
        "file": FILE_NAME,
        "sha256": manifest_tools.sha256_of(path),
        "labels": list(head.labels),
        "licence": "BSD-3-Clause (examples and head written and fitted here)",
        "source": "trained here (llmvis_studio/engine/text/router_examples.json + style preset descriptions)",
        "reproduce": "python -m llmvis_studio.training.fit_router --models models",
        "metrics": metrics,
    }
    manifest_tools.upsert_entry(models / "manifest.json", entry)
    _log(started, f"wrote {path} ({path.stat().st_size / 1e3:.0f} kB); recorded under '{encoder_spec.id}'")
    return entry


def main(argv: list[str] | None = None) -> int:
    return model_tool_main(
        argv,
        __doc__.splitlines()[0],
        lambda args: fit(args.models),
        folder_option="--models",
        folder_help="models folder (with the text encoder)",
    )


if __name__ == "__main__":
    sys.exit(main())
