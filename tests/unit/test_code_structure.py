"""The size limits a newcomer can rely on (issue 21): every module of the app ≤ 500 lines, at most three
functions over 60 lines. Long functions are where bugs hide and reviews stop; the counter fails on real code."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "llmvis_studio"
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 60
LONG_FUNCTIONS_ALLOWED = 3


def module_lines(path: Path) -> int:
    return path.read_text(encoding="utf-8").count("\n")


def long_functions(source: str, limit: int = MAX_FUNCTION_LINES) -> list[tuple[str, int]]:
    """(name, lines) of every function or method longer than `limit` lines, decorators excluded."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = node.end_lineno - node.lineno + 1
            if length > limit:
                found.append((node.name, length))
    return found


def test_every_module_is_at_most_500_lines():
    big = {str(p.relative_to(PACKAGE)): module_lines(p) for p in PACKAGE.rglob("*.py")}
    assert {name: n for name, n in big.items() if n > MAX_MODULE_LINES} == {}


def test_at_most_three_functions_are_over_60_lines():
    found = [
        (f"{p.relative_to(PACKAGE)}:{name}", n)
        for p in sorted(PACKAGE.rglob("*.py"))
        for name, n in long_functions(p.read_text(encoding="utf-8"))
    ]
    assert len(found) <= LONG_FUNCTIONS_ALLOWED, sorted(found, key=lambda item: -item[1])


def test_the_counter_sees_a_long_function_and_a_method():
    body = "\n".join(f"    x{i} = {i}" for i in range(70))
    source = (
        f"def short():\n    return 1\n\n\ndef long():\n{body}\n\n\nclass C:\n    def method(self):\n"
        + body.replace("    ", "        ")
    )
    assert long_functions(source) == [("long", 71), ("method", 71)]
