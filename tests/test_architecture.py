"""The house: imports point down only, and no two modules import each other (issue 9).

Every ``import lpm...`` in src/lpm counts, at module level or inside a function, since a
lazy import is still a dependency. A new arrow between packages is a design change: add
it to ALLOWED here and to docs/INTERFACES.md together.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
SHARED = {"errors", "io", "units", "sizes", "provenance", "__init__"}  # lpm/*.py
ALLOWED: dict[str, set[str]] = {
    "carbon": set(),
    "datasets": set(),
    "results": set(),
    "energy": {"carbon"},
    "quality": {"datasets"},
    "plan": {"carbon"},
    "report": {"carbon", "plan", "results"},
    "ldm": {"carbon", "datasets", "energy", "quality"},
    "study": {"carbon", "datasets", "energy", "ldm", "plan", "quality", "report", "results"},
    "integrations": {"carbon", "energy"},
    "cli": {
        "carbon",
        "datasets",
        "energy",
        "integrations",
        "ldm",
        "plan",
        "quality",
        "report",
        "results",
        "study",
    },
}


def _modules() -> dict[str, Path]:
    out = {}
    for path in (SRC / "lpm").rglob("*.py"):
        parts = path.relative_to(SRC).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _imports(modules: dict[str, Path]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            for target in targets:
                if target in modules and target != name:
                    graph[name].add(target)
    return graph


def _package(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1 or parts[1] in SHARED:
        return "shared"
    return parts[1]


def test_packages_import_only_downwards() -> None:
    graph = _imports(_modules())
    wrong = sorted(
        f"{a} -> {b}"
        for a, targets in graph.items()
        for b in targets
        if _package(a) != _package(b)
        and _package(b) != "shared"
        and _package(b) not in ALLOWED.get(_package(a), set())
    )
    assert not wrong, "imports against the house's direction:\n" + "\n".join(wrong)


def test_shared_modules_import_no_package() -> None:
    graph = _imports(_modules())
    wrong = sorted(
        f"{a} -> {b}"
        for a, targets in graph.items()
        if _package(a) == "shared" and a != "lpm"
        for b in targets
        if _package(b) != "shared"
    )
    assert not wrong, "\n".join(wrong)


def _cycles(names: list[str], graph: dict[str, set[str]]) -> list[list[str]]:
    """Cycles of the module graph (edges from a package's __init__ to its own modules are
    re-exports, not dependencies, and are left out)."""
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt.startswith(node + "."):
                continue
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = 2

    for name in sorted(names):
        if name not in state:
            visit(name, [])
    return cycles


def test_the_cycle_finder_finds_cycles() -> None:
    graph = {"lpm.a.x": {"lpm.a.y"}, "lpm.a.y": {"lpm.b"}, "lpm.b": {"lpm.a.x"}}
    assert _cycles(list(graph), graph) == [["lpm.a.x", "lpm.a.y", "lpm.b", "lpm.a.x"]]
    assert _cycles(["lpm.a", "lpm.a.x"], {"lpm.a": {"lpm.a.x"}}) == []


def test_no_import_cycles_between_modules() -> None:
    modules = _modules()
    cycles = _cycles(list(modules), _imports(modules))
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)
