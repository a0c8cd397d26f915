"""The test suite's own layout (STYLE.md): fixtures live in conftest, once; tests never import conftest.

Shared helpers that are not fixtures live in plain modules (``tests/support.py``, ``tests/factories.py``,
``tests/contention.py``, ``e2e/helpers.py``); a test module imports those, never conftest or another
test module.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUITE = sorted([*(ROOT / "tests").glob("*.py"), *(ROOT / "e2e").glob("*.py")])
ROLE_FIXTURES = {"admin", "manager", "operator", "viewer"}


def _imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def _is_fixture(decorator: ast.expr) -> bool:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return (isinstance(target, ast.Attribute) and target.attr == "fixture") or (
        isinstance(target, ast.Name) and target.id == "fixture"
    )


def _fixtures(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and any(_is_fixture(d) for d in node.decorator_list)
    }


def _name(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def test_no_module_imports_conftest_or_another_test_module():
    offending = {
        f"{_name(path)} imports {module}"
        for path in SUITE
        for module in _imported_modules(path)
        if module.split(".")[0] in ("tests", "e2e")
        and (module.endswith(".conftest") or module.split(".")[-1].startswith("test_"))
    }
    assert not offending, sorted(offending)


def test_no_module_shadows_a_conftest_fixture_and_the_role_clients_live_in_conftest():
    # A module may keep a small fixture of its own (two modules' "project_id" never meet), but none
    # redefines what conftest gives every test, and the role clients exist once, in conftest.
    defined: dict[str, list[str]] = defaultdict(list)
    for path in SUITE:
        for fixture in _fixtures(path):
            defined[fixture].append(_name(path))
    shared = {name for name, places in defined.items() if any(place.endswith("conftest.py") for place in places)}
    assert {name: defined[name] for name in shared if len(defined[name]) > 1} == {}
    assert {name: defined[name] for name in ROLE_FIXTURES} == {name: ["tests/conftest.py"] for name in ROLE_FIXTURES}


def test_the_check_sees_fixtures_and_imports(tmp_path):
    sample = tmp_path / "test_sample.py"
    sample.write_text(
        "import pytest\nfrom tests.conftest import run\n\n"
        "@pytest.fixture\ndef admin(login_as):\n    return login_as('admin')\n\n"
        "@pytest.fixture(scope='module')\ndef other():\n    return 1\n"
    )
    assert _fixtures(sample) == {"admin", "other"}
    assert "tests.conftest" in _imported_modules(sample)
