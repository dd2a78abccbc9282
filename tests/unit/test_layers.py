"""The floor plan holds: imports run downhill only (domain ← workflows ← activities ← worker.py and
starter's client operations ← web ← tools ← CLI), no room is outside a contract, and no module
imports itself round a circle."""

from __future__ import annotations

import ast
import os
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("domain", "workflows", "activities", "starter")


def _modules() -> Iterator[tuple[str, Path]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path
    yield "worker", ROOT / "worker.py"


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    """Every module of ours a file imports, anywhere in it (a function-local import is still a
    dependency), with its line."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
            names += [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            if name.split(".")[0] in (*PACKAGES, "worker"):
                yield node.lineno, name


def test_import_contracts_are_kept(capsys: pytest.CaptureFixture[str]) -> None:
    os.chdir(ROOT)  # the contracts live in pyproject.toml
    status = lint_imports(no_cache=True, no_logo=True)
    report = capsys.readouterr().out
    assert status == 0, report


def test_domain_is_forbidden_every_package_of_ours() -> None:
    """A new top-level package or module of the project is forbidden to domain/ too."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    setuptools = project["tool"]["setuptools"]
    ours = {pattern.rstrip("*") for pattern in setuptools["packages"]["find"]["include"]}
    ours |= set(setuptools["py-modules"])
    contracts = {c["id"]: c for c in project["tool"]["importlinter"]["contracts"]}
    assert set(contracts["domain-pure"]["forbidden_modules"]) == ours - {"domain"}


def test_worker_py_stands_below_starter() -> None:
    """worker.py is a module, which import-linter cannot take as a root: checked here. The tools and
    the CLI may start workers; the worker never reaches up into them."""
    uphill = [
        f"worker.py:{line} imports {name}" for line, name in _imports(ROOT / "worker.py") if name.startswith("starter")
    ]
    assert not uphill, uphill
    for module, path in _modules():
        if module.startswith(("domain", "workflows", "activities")):
            for line, name in _imports(path):
                assert name.split(".")[0] != "worker", f"{path.relative_to(ROOT)}:{line} imports worker.py"


def test_every_room_is_in_a_contract() -> None:
    """A new module in starter/ or activities/ must be placed in a layer, or the contracts would not see it."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = {c["id"]: c for c in config["tool"]["importlinter"]["contracts"]}
    for contract_id, package in (("starter-rooms", "starter"), ("activities-rooms", "activities")):
        placed = {
            name.strip()
            for layer in contracts[contract_id]["layers"]
            for name in layer.replace(":", "|").split("|")
            if name.strip()
        }
        rooms = {
            path.stem if path.is_file() else path.name
            for path in (ROOT / package).iterdir()
            if (path.suffix == ".py" and path.stem != "__init__") or (path / "__init__.py").exists()
        }
        assert rooms <= placed, f"{package}: not in contract '{contract_id}': {sorted(rooms - placed)}"


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of the graph, if it has any (depth-first, colouring)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*stack[stack.index(target) :], target]
            if target not in state and (found := visit(target)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_module_imports_itself_round_a_circle() -> None:
    modules = dict(_modules())
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        targets = set()
        for _, name in _imports(path):
            # `from package import module` names the module; `from module import name` the module
            while name not in modules and "." in name:
                name = name.rsplit(".", 1)[0]
            if name in modules and name != module and not module.startswith(f"{name}."):
                targets.add(name)
        graph[module] = targets
    assert _cycle(graph) is None, " → ".join(_cycle(graph) or [])


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None
