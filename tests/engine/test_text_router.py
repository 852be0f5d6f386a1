"""The prompt router on the shipped text encoder: held-out accuracy, styles, contents, low confidence."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from llmvis_studio.catalog import load_catalog
from llmvis_studio.engine.text import router as R
from llmvis_studio.engine.text import wording as W
from llmvis_studio.training.evaluate_router import score

HELD_OUT = Path(__file__).parent / "data" / "router_heldout.json"
FRESH = Path(__file__).parent / "data" / "router_heldout_fresh.json"


@pytest.fixture(scope="module")
def router():
    return R.load_router(load_catalog(), threads=1)


@pytest.fixture(scope="module")
def held_out():
    return json.loads(HELD_OUT.read_text(encoding="utf-8"))["prompts"]


@pytest.fixture(scope="module")
def routed(router, held_out):
    return router.route_many([p["prompt"] for p in held_out])


@pytest.fixture(scope="module")
def fresh():
    return json.loads(FRESH.read_text(encoding="utf-8"))["prompts"]


def _training_lines() -> set[str]:
    return {" ".join(R.words(e)) for op in R.load_examples().values() for e in [op["description"], *op["examples"]]}


def test_held_out_prompts_were_never_trained_on(held_out, fresh):
    training = _training_lines()
    assert len(held_out) >= 300 and len(fresh) >= 150
    assert {p["op"] for p in held_out} == {p["op"] for p in fresh} == set(R.ROUTER_LABELS)
    assert not [p["prompt"] for p in held_out + fresh if " ".join(R.words(p["prompt"])) in training]
    first = {" ".join(R.words(p["prompt"])) for p in held_out}
    assert not [p["prompt"] for p in fresh if " ".join(R.words(p["prompt"])) in first]


def _check_targets(prompts, routings) -> None:
    """The issue's targets: ≥ 95 % right overall, generate ≥ 90 %, none recall ≥ 90 %."""
    result = score(prompts, routings)
    print({k: v for k, v in result.items() if k != "misses"}, result["misses"])
    assert result["accuracy"] >= 0.95, result["misses"]
    assert result["generate"] >= 0.90 and result["none_recall"] >= 0.90, result["per_op"]
    assert min(result["per_op"].values()) >= 0.80, result["per_op"]  # no op left far behind
    assert result["then_agreement"] == 1.0  # detect-text: then inpaint exactly when the text is to go


def test_routing_accuracy_on_held_out_prompts(held_out, routed):
    _check_targets(held_out, routed)


def test_routing_accuracy_on_the_fresh_held_out_prompts(router, fresh):
    _check_targets(fresh, router.route_many([p["prompt"] for p in fresh]))


def test_removing_text_is_detect_text_then_inpaint(router):
    removals = router.route_many(
        ["remove the date stamp", "erase the caption under the photo", "get rid of the watermark"]
    )
    assert [(r.op, r.then) for r in removals] == [("detect-text", "inpaint")] * 3
    assert removals[0].to_json()["then"] == "inpaint"
    found = router.route("find the text in this picture")
    assert (found.op, found.then) == ("detect-text", None)
    objects = router.route_many(["remove the car", "get rid of the person", "erase the wires"])
    assert [(r.op, r.then) for r in objects] == [("inpaint", None)] * 3


def test_content_prompts_generate_unless_they_remove(router):
    got = router.route_many(
        [
            "fill with clouds",
            "put some grass here",
            "paint a red door",
            "remove the sign and put a tree there",
            "remove the sign",
        ]
    )
    assert [(r.op, r.content) for r in got] == [
        ("generate", "clouds"),
        ("generate", "some grass"),
        ("generate", "a red door"),
        ("generate", "a tree"),
        ("inpaint", None),
    ]


def test_two_hundred_prompts_route_quickly_in_one_batch(router, held_out):
    """The issue asks ≤ 3 s for 200 prompts once the model is loaded; the bound here is generous
    (shared CI cores), the measured figure is in the manifest (evaluate_router)."""
    prompts = [p["prompt"] for p in held_out][:200]
    router.route_many(prompts[:4])
    started = time.perf_counter()
    routings = router.route_many(prompts)
    assert len(routings) == 200 and time.perf_counter() - started < 15.0


def test_none_for_requests_outside_the_app(held_out, routed):
    pairs = [(p, r) for p, r in zip(held_out, routed) if p["op"] == "none"]
    assert sum(r.op == "none" for _, r in pairs) >= 0.90 * len(pairs)


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
    unsure = min(
        router.route_many(["hmm", "do the thing", "paint a red door where the mask is", "make it nicer"]),
        key=lambda r: r.confidence,
    )
    assert unsure.ask and unsure.confidence < R.ASK_BELOW


def test_empty_prompt_is_none(router):
    assert router.route("   ").op == "none"


def test_head_is_fitted_on_the_current_examples():
    spec = load_catalog().default_for("text-encoder")
    from llmvis_studio.engine.side_files import side_file

    head = R.RouterHead.from_json(side_file(spec, "router"))
    assert head.examples_sha256 == R.examples_digest(), (
        "router_examples.json changed: run python -m llmvis_studio.training.fit_router --models models"
    )
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


@pytest.mark.parametrize(
    "prompt, content",
    [
        ("fill this with clouds", "clouds"),
        ("replace the sky with a sunset", "a sunset"),
        ("Please add a red boat here, thanks!", "a red boat"),
        ("draw a rainbow in the selected area", "a rainbow"),
        ("a castle on the hill", "a castle on the hill"),
    ],
)
def test_extract_content(prompt, content):
    assert W.extract_content(prompt) == content


@pytest.mark.parametrize(
    "prompt, scale",
    [
        ("upscale 4x", 4),
        ("x2 please", 2),
        ("make it twice as big", 2),
        ("enlarge ×4", 4),
        ("upscale", None),
        ("4k wallpaper", None),
    ],
)
def test_requested_scale(prompt, scale):
    assert W.requested_scale(prompt) == scale


def test_packed_arrays_round_trip():
    array = np.arange(12, dtype=np.float32).reshape(3, 4) / 7
    assert np.array_equal(R.unpack(R.pack(array)), array)


@pytest.mark.parametrize(
    "prompt, op, ruled",
    [
        ("remove the date stamp", "inpaint", "detect-text"),
        ("erase the caption", "generate", "detect-text"),
        ("remove the car", "generate", "inpaint"),
        ("remove the sign and put a tree there", "generate", None),  # names what goes in its place
        ("fill it with clouds", "generate", None),
        ("remove the person in the background", "remove-background", "inpaint"),
        ("remove the background", "remove-background", None),
        ("get rid of the backdrop", "generate", "remove-background"),
        ("remove the car", "inpaint", None),
    ],
)
def test_wording_rules(prompt, op, ruled):
    assert W.rule_op(prompt, op) == ruled


def test_follow_up_only_when_text_is_removed():
    assert W.follow_up("remove the watermark", "detect-text") == "inpaint"
    assert W.follow_up("find the text", "detect-text") is None
    assert W.follow_up("remove the car", "inpaint") is None


@pytest.mark.parametrize(
    "prompt, content",
    [
        ("fill this area with gravel", "gravel"),
        ("how about a fountain here?", "a fountain"),
        ("remove the car and put a fountain there", "a fountain"),
        ("i'd like a horse here", "a horse"),
    ],
)
def test_extract_content_after_politeness_and_removals(prompt, content):
    assert W.extract_content(prompt) == content
