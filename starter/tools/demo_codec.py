"""The demo's codec server: in the demo's process, or, with --keep-server, a process of its own that
outlives the demo beside the embedded server it leaves running (the Web UI keeps decoding)."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from activities.runtime.keys import KeyRing
from starter.tools.codec_server import DEFAULT_PORT, CodecServer, codec_token, start_codec_server, ui_origins
from starter.tools.server import port_open


@dataclass
class DemoCodec:
    url: str
    token_source: str
    hosted: CodecServer | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def login_hint(self) -> str:
        return f"{self.url}/login?token=<令牌>"

    async def stop(self) -> None:
        """Stops the in-process server; a detached one is left running on purpose."""
        if self.hosted is not None:
            await self.hosted.stop()


def _free_port(preferred: int) -> int:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", preferred))
        except OSError:
            sock.bind(("127.0.0.1", 0))  # the usual port is taken: any free one will do for the demo
        port: int = sock.getsockname()[1]
        return port


async def start_demo_codec(
    keys: KeyRing, ui_port: int, *, detached: bool, log_path: Path, port: int = DEFAULT_PORT
) -> DemoCodec:
    """On `port` when it is free (0: any free port), else on any free one: a demo does not stop
    for a port."""
    _, source = codec_token()  # created here, so a detached server reads the same file
    if not detached:
        try:
            hosted = await start_codec_server(keys, ui_origins(ui_port), port=port)
        except OSError:
            hosted = await start_codec_server(keys, ui_origins(ui_port), port=0)
        return DemoCodec(url=hosted.url, token_source=source, hosted=hosted)
    port = _free_port(port)
    command = [sys.executable, "-m", "starter.cli.app", "codec-server", "--port", str(port), "--ui-port", str(ui_port)]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
    deadline = time.monotonic() + 15
    while not port_open("127.0.0.1", port):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"编解码服务未能启动，见 {log_path}")
        await asyncio.sleep(0.1)
    return DemoCodec(url=f"http://127.0.0.1:{port}", token_source=source, process=process)
