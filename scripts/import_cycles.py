"""Print every import cycle inside llmvis_studio (module level and function level alike), exit 1 if any.

grimp (import-linter's graph library) sees every `import` statement, including the ones inside functions that
exist only to delay loading; a circle through those still ties the modules together, so it counts.
Usage: python scripts/import_cycles.py [PACKAGE]
"""

from __future__ import annotations

import sys

import grimp


def strongly_connected(graph: grimp.ImportGraph) -> list[list[str]]:
    """Tarjan's algorithm over the module graph: the groups of modules that import each other in a circle."""
    modules = sorted(graph.modules)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    counter = 0
    sys.setrecursionlimit(10000)

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.find_modules_directly_imported_by(node)):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for module in modules:
        if module not in index:
            visit(module)
    return groups


def main(package: str = "llmvis_studio") -> int:
    graph = grimp.build_graph(package, cache_dir=None)
    groups = strongly_connected(graph)
    for group in groups:
        print("cycle:", " ↔ ".join(group))
        for a in group:
            for b in group:
                if b in graph.find_modules_directly_imported_by(a):
                    lines = graph.get_import_details(importer=a, imported=b)
                    where = ", ".join(str(d["line_number"]) for d in lines)
                    print(f"    {a} → {b} (line {where})")
    print(f"{len(groups)} import cycle(s) in {package}")
    return 1 if groups else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
