"""domain/ is the bottom floor: it imports nothing of ours outside domain/, and its modules import
one another without a circle (issue 20). The rules are import-linter contracts in pyproject.toml;
import-linter reads every import, those under `if TYPE_CHECKING:` and inside functions included, so
neither hides a circle."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"
# import-linter's own command: it sets up what its checks need, in a process of its own.
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
DOMAIN_CONTRACTS = ("domain-pure", "domain-acyclic")


def _pyproject() -> dict[str, Any]:
    return tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))


def test_domain_imports_nothing_of_ours_outside_it_and_no_circle() -> None:
    contracts = [arg for contract in DOMAIN_CONTRACTS for arg in ("--contract", contract)]
    lint = subprocess.run(
        [LINT_IMPORTS, "--config", PYPROJECT, "--no-cache", "--no-logo", *contracts],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert lint.returncode == 0, (
        f"domain/ breaks its import rules (pyproject.toml [tool.importlinter]):\n{lint.stdout}{lint.stderr}"
    )


def test_the_forbidden_list_names_every_package_of_ours_but_domain() -> None:
    """A new top-level package or module of the project is forbidden to domain/ too."""
    project = _pyproject()
    setuptools = project["tool"]["setuptools"]
    ours = {pattern.rstrip("*") for pattern in setuptools["packages"]["find"]["include"]}
    ours |= set(setuptools["py-modules"])
    contracts = {c["id"]: c for c in project["tool"]["importlinter"]["contracts"]}
    assert set(contracts["domain-pure"]["forbidden_modules"]) == ours - {"domain"}
