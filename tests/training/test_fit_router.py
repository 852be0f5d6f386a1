"""Fitting helpers of the prompt router (the fit itself runs in `make models`, about a minute)."""

from llmvis_studio.engine.text import router as R
from llmvis_studio.training import fit_router as fit


def test_typos_in_the_training_text_are_not_correction_targets():
    known = {"upscale", "restore", "noise", "photo", "the"}.__contains__
    texts = ["upscale the photo", "upsacle", "restore", "restroe old foto", "denoise", "denoise it"]
    words = fit.domain_words(texts, [], known)
    assert "upsacle" not in words and "restroe" not in words
    assert "denoise" in words  # unknown to WordPiece but no real word one edit away
    assert "upscale" in words


def test_vocabulary_keeps_words_and_repeated_word_pairs():
    vocabulary, idf = fit.vocabulary_of(["remove the car", "remove the tree", "add a tree"])
    assert {"remove", "tree", "remove the"} <= set(vocabulary) and "add a" not in vocabulary
    assert idf[vocabulary["add"]] > idf[vocabulary["remove"]]


def test_training_texts_include_descriptions():
    texts, labels = fit.training_texts(R.load_examples())
    assert len(texts) == len(labels) >= 11 * 30 and set(labels) == set(R.ROUTER_LABELS)
    per_op = {op: labels.count(op) for op in R.ROUTER_LABELS}
    assert min(per_op.values()) >= 30, per_op
