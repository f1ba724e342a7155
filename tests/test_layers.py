"""Imports only look down: core ← transforms ← warehouse, expectations ← flows ← akhbar, bench.

Read from the source (every import statement, also inside functions), so a
layer that reaches up, or a cycle between two bench modules, fails here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# What each package may import of the project's own packages (besides itself).
ALLOWED = {
    "core": set(),
    "transforms": {"core"},
    "warehouse": {"core", "transforms"},
    "expectations": {"core", "transforms", "warehouse"},
    "flows": {"core", "transforms", "warehouse", "expectations"},
    "akhbar": {"core", "transforms", "warehouse", "expectations", "flows"},
    "bench": {"core", "transforms", "warehouse", "expectations", "flows", "akhbar"},
}


def project_imports(path: Path) -> set[str]:
    """Dotted names of the project's modules this file imports."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {n for n in names if n.split(".")[0] in ALLOWED}


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_layer_imports_only_the_layers_below_it(package):
    upward = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in sorted((ROOT / package).glob("*.py"))
        for name in project_imports(path)
        if name.split(".")[0] not in ALLOWED[package] | {package}
    }
    assert upward == set()


def test_no_cycle_among_the_modules_of_a_package():
    modules = {f"{p.parent.name}.{p.stem}": p for package in ALLOWED for p in (ROOT / package).glob("*.py")
               if p.stem != "__init__"}
    graph = {name: {m for m in project_imports(path) if m in modules and m != name} for name, path in modules.items()}

    def reaches(start: str, target: str, seen: set[str]) -> bool:
        for nxt in graph[start] - seen:
            if nxt == target or reaches(nxt, target, seen | {nxt}):
                return True
        return False

    cycles = sorted(f"{a} ↔ {b}" for a in graph for b in graph[a] if reaches(b, a, {b}))
    assert cycles == []
