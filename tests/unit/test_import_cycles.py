"""No import circles anywhere in llmvis_studio, including imports inside functions (scripts/import_cycles.py)."""

import importlib.util
from pathlib import Path

import grimp

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "import_cycles.py"


def load_script():
    spec = importlib.util.spec_from_file_location("import_cycles", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_package_has_no_import_circles():
    cycles = load_script().strongly_connected(grimp.build_graph("llmvis_studio", cache_dir=None))
    assert cycles == [], f"import circles: {cycles}"


def test_the_finder_does_see_a_circle(tmp_path, monkeypatch):
    """The check can fail: two modules importing each other (one inside a function) are found."""
    package = tmp_path / "circle_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from . import b\n")
    (package / "b.py").write_text("def late():\n    from . import a\n")
    (package / "c.py").write_text("from . import a\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    cycles = load_script().strongly_connected(grimp.build_graph("circle_pkg", cache_dir=None))
    assert cycles == [["circle_pkg.a", "circle_pkg.b"]]
