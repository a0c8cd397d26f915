"""The layers hold: read every module's imports and check who may depend on whom (docs/architecture.md).

An import inside ``if TYPE_CHECKING:`` is left out: it names a type for the checker and is never
executed (model relationships between areas are declared that way).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "laseros"
DOMAIN = SRC / "domain"
KERNEL = "kernel"
# The one context whose areas may import each other (docs/architecture.md).
PRODUCTION = {"projects", "queue", "inventory", "runs", "notifications", "comms"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _runtime_imports(path: Path) -> set[str]:
    """Modules ``path`` imports when it runs (absolute names; relative imports resolved)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for other in child.orelse:
                    visit(other)
                continue
            if isinstance(child, ast.Import):
                found.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    package = _module_name(path).split(".")
                    package = package[: len(package) - child.level + (1 if path.name == "__init__.py" else 0)]
                    base = ".".join([*package, base] if base else package)
                found.add(base)
                found.update(f"{base}.{alias.name}" for alias in child.names)
            visit(child)

    visit(tree)
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


MODULES = {_module_name(path): _runtime_imports(path) for path in SRC.rglob("*.py")}


def _area(module: str) -> str | None:
    parts = module.split(".")
    return parts[2] if len(parts) > 2 and parts[:2] == ["laseros", "domain"] else None


def area_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for module, imports in MODULES.items():
        source = _area(module)
        if source is None:
            continue
        graph[source]
        for imported in imports:
            target = _area(imported)
            if target is not None and target != source:
                graph[source].add(target)
    return graph


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm: the groups of areas that reach each other."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph.get(node, ()):
            if other not in index:
                connect(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            groups.append(group)

    for node in list(graph):
        if node not in index:
            connect(node)
    return groups


def test_no_import_cycle_among_areas_is_wider_than_the_production_context():
    cycles = [group for group in strongly_connected(area_graph()) if len(group) > 1]
    assert all(group <= PRODUCTION for group in cycles), cycles


def test_the_kernel_imports_no_business_area():
    graph = area_graph()
    assert graph[KERNEL] == set(), graph[KERNEL]


def test_admin_imports_no_other_area_but_the_kernel():
    assert area_graph()["admin"] <= {KERNEL}


@pytest.mark.parametrize(
    ("layer", "forbidden"),
    [
        ("laseros.domain", ("laseros.web", "laseros.jobs", "litestar", "laseros.app")),
        ("laseros.jobs", ("laseros.web", "laseros.app")),
    ],
)
def test_lower_layers_do_not_import_higher_ones(layer, forbidden):
    offending = {
        f"{module} imports {imported}"
        for module, imports in MODULES.items()
        if module == layer or module.startswith(layer + ".")
        for imported in imports
        if any(imported == f or imported.startswith(f + ".") for f in forbidden)
    }
    assert not offending, sorted(offending)


def test_the_check_sees_imports_inside_functions_and_skips_type_only_ones(tmp_path):
    sample = SRC / "domain" / "clients" / "services.py"
    assert "laseros.domain.kernel.activity" in _runtime_imports(sample)
    assert "laseros.domain.projects.models" not in _runtime_imports(SRC / "domain" / "clients" / "models.py")
