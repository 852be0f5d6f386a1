"""Engine.route_prompt on the shipped text encoder and router: what the editor's worker calls."""

from __future__ import annotations

import pytest

from llmvis_studio.core.requests import PromptRouting
from llmvis_studio.engine import Engine


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(threads=1)


def test_stylize_with_a_style_and_generate_with_content(engine):
    style = engine.route_prompt("make it look like a watercolour painting")
    assert isinstance(style, PromptRouting)
    assert (style.op, style.style, style.ask) == ("stylize", "watercolour", False)
    assert style.alternatives[0][0] == "stylize" and 0.5 <= style.confidence <= 1.0

    fill = engine.route_prompt("fill this with clouds")
    assert (fill.op, fill.content, fill.ask) == ("generate", "clouds", False)


def test_the_router_loads_once_and_says_none_outside_the_app(engine):
    engine.route_prompt("remove the scratch")
    router = engine._router
    answer = engine.route_prompt("what is the capital of France?")
    assert engine._router is router
    assert answer.op == "none"
    assert dict(answer.params) == {} and answer.alternatives[0][0] == "none"
