"""The tests' own layout (docs/testing.md): the markers follow the folders, so `-m "not integration"`
runs tests/unit alone; and no test module imports another (what they share is in tests/support)."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from tests import conftest


class Item:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.markers: list[str] = []

    def add_marker(self, marker: str) -> None:
        self.markers.append(marker)


def test_the_markers_follow_the_folders() -> None:
    tests = conftest.TESTS
    items = [Item(tests / "unit" / "test_a.py"), Item(tests / "integration" / "test_b.py")]
    items += [Item(tests / "faults" / "test_c.py"), Item(tests / "integration" / "deeper" / "test_d.py")]
    conftest.pytest_collection_modifyitems(items)  # type: ignore[arg-type]  # stand-ins with the two parts the hook reads
    assert [item.markers for item in items] == [[], ["integration"], ["integration", "faults"], ["integration"]]


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_no_test_module_imports_another() -> None:
    offending: dict[str, Any] = {}
    for path in sorted(conftest.TESTS.rglob("*.py")):
        tests_imported = [m for m in imported_modules(path) if m.startswith("tests.")]
        wrong = [m for m in tests_imported if m.rsplit(".", 1)[-1].startswith(("test_", "conftest"))]
        if wrong:
            offending[str(path.relative_to(conftest.TESTS))] = wrong
    assert offending == {"unit/test_test_layout.py": ["tests.conftest"]}  # this module reads the hook
