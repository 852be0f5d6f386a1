"""The prompt router on the shipped text encoder: held-out accuracy, styles, contents, low confidence."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from llmvis_studio.catalog import load_catalog
from llmvis_studio.engine.text import router as R

HELD_OUT = Path(__file__).parent / "data" / "router_heldout.json"


@pytest.fixture(scope="module")
def router():
    return R.load_router(load_catalog(), threads=1)


@pytest.fixture(scope="module")
def held_out():
    return json.loads(HELD_OUT.read_text(encoding="utf-8"))["prompts"]


@pytest.fixture(scope="module")
def routed(router, held_out):
    return router.route_many([p["prompt"] for p in held_out])


def test_held_out_prompts_were_never_trained_on(held_out):
    training = {" ".join(R.words(e)) for op in R.load_examples().values() for e in [op["description"], *op["examples"]]}
    assert len(held_out) >= 100
    assert {p["op"] for p in held_out} == set(R.OPS)
    assert not [p["prompt"] for p in held_out if " ".join(R.words(p["prompt"])) in training]


def test_routing_accuracy_on_held_out_prompts(held_out, routed):
    misses = [(p["prompt"], p["op"], r.op) for p, r in zip(held_out, routed) if r.op != p["op"]]
    accuracy = 1 - len(misses) / len(held_out)
    print(f"held-out routing accuracy {accuracy:.3f} ({len(held_out) - len(misses)}/{len(held_out)}); misses: {misses}")
    assert accuracy >= 0.90, misses


def test_none_for_requests_outside_the_app(held_out, routed):
    pairs = [(p, r) for p, r in zip(held_out, routed) if p["op"] == "none"]
    assert sum(r.op == "none" for _, r in pairs) >= 0.85 * len(pairs)


def test_styles_and_contents(held_out, routed):
    styles = [(p["style"], r.style) for p, r in zip(held_out, routed) if p.get("style") and r.op == "stylize"]
    contents = [(p["content"], r.content) for p, r in zip(held_out, routed) if p.get("content") and r.op == "generate"]
    assert len(styles) >= 10 and len(contents) >= 15
    assert sum(want == got for want, got in styles) >= 0.9 * len(styles), styles
    assert sum(want in (got or "").lower() for want, got in contents) >= 0.9 * len(contents), contents


def test_output_shape_and_low_confidence_asks(router):
    result = router.route("paint a red door where the mask is").to_json()
    assert set(result) >= {"op", "style", "content", "confidence", "alternatives"}
    assert len(result["alternatives"]) == 3
    scores = [a["score"] for a in result["alternatives"]]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    sure = router.route("please upscale this photo 4x")
    assert sure.op == "upscale" and not sure.ask and sure.params.get("scale") == 4
    unsure = min(router.route_many(["hmm", "do the thing", "paint a red door where the mask is", "make it nicer"]),
                 key=lambda r: r.confidence)
    assert unsure.ask and unsure.confidence < R.ASK_BELOW


def test_empty_prompt_is_none(router):
    assert router.route("   ").op == "none"


def test_head_is_fitted_on_the_current_examples():
    spec = load_catalog().default_for("text-encoder")
    from llmvis_studio.engine.side_files import side_file

    head = R.RouterHead.from_json(side_file(spec, "router"))
    assert head.examples_sha256 == R.examples_digest(), \
        "router_examples.json changed: run python -m llmvis_studio.training.fit_router --models models"
    assert head.weights.shape == (len(head.labels), 384 + len(head.vocabulary))


# ---------------------------------------------------------------- pure text helpers (no model)


def test_spelling_repair_fixes_typos_toward_domain_words_only():
    repair = R.SpellingRepair(["upscale", "denoise", "restore", "remove", "watercolour"], {"photo", "the"}.__contains__)
    assert repair("upsacle the photo") == "upscale the photo"
    assert repair("denosie") == "denoise" and repair("resotre") == "restore" and repair("remve") == "remove"
    assert repair("watercolor") == "watercolour"
    assert repair("zebra") == "zebra"  # far from everything: left alone


def test_damerau_counts_a_transposition_as_one_edit():
    assert R.damerau("upsacle", "upscale", 2) == 1
    assert R.damerau("abc", "abc", 1) == 0
    assert R.damerau("kitten", "sitting", 1) == 2  # gives up past the limit


@pytest.mark.parametrize("prompt, content", [
    ("fill this with clouds", "clouds"),
    ("replace the sky with a sunset", "a sunset"),
    ("Please add a red boat here, thanks!", "a red boat"),
    ("draw a rainbow in the selected area", "a rainbow"),
    ("a castle on the hill", "a castle on the hill"),
])
def test_extract_content(prompt, content):
    assert R.extract_content(prompt) == content


@pytest.mark.parametrize("prompt, scale", [("upscale 4x", 4), ("x2 please", 2), ("make it twice as big", 2),
                                           ("enlarge ×4", 4), ("upscale", None), ("4k wallpaper", None)])
def test_requested_scale(prompt, scale):
    assert R.requested_scale(prompt) == scale


def test_packed_arrays_round_trip():
    array = np.arange(12, dtype=np.float32).reshape(3, 4) / 7
    assert np.array_equal(R.unpack(R.pack(array)), array)
