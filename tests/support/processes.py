"""Processes and ports of the tests that start their own: a free local port, a `worker.py` process."""

from __future__ import annotations

import asyncio
import socket
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def start_worker(env: dict[str, str], *args: str) -> asyncio.subprocess.Process:
    """`python worker.py ARGS` with `env`, once it has said it started (its first line)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "worker.py",
        *args,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), timeout=60)
    if "worker 已启动" not in line.decode():
        process.kill()
        raise AssertionError(line.decode() + (await process.stderr.read()).decode()[-3000:])
    return process


async def finished(*args: str, env: dict[str, str], timeout: float = 60) -> tuple[int | None, str]:
    """A command run in the repository to its end: its exit code and its stderr."""
    process = await asyncio.create_subprocess_exec(
        *args, cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    _, err = await asyncio.wait_for(process.communicate(), timeout=timeout)
    return process.returncode, err.decode()
