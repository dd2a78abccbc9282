"""The benchmark's memory part: the centre and department workers as an operator runs them
(`python worker.py --all`, a process of its own), with thousands of tickets left open.

Every department is a file inbox in a temporary folder and nobody signs, so each ticket stays open
(待签收, its clocks running) once delivered. The worker's resident memory (VmRSS) and its peak (VmHWM)
are read from /proc as the open tickets grow past the worker's sticky cache (1,000 workflows), then,
optionally, while some of them are answered and closed (the driver acting as clerk and operator).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
import uuid
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import yaml
from temporalio.client import Client

from activities.runtime.keys import ENCRYPTION_ENV, KEYS_ENV, KEYS_FILE_ENV, KeyRing
from domain.config import DistrictConfig
from domain.intake import route
from starter.tickets import open_repeat_of, outcome, submit
from starter.tools.bench_engine import START_CONCURRENCY, CpuMeter, bounded
from starter.tools.bench_tickets import Arrivals, Clerks, Unfinished, bench_ticket, project_config, within

ROOT = Path(__file__).resolve().parent.parent
STICKY_CACHE = 1000  # worker.build_workers' default max_cached_workflows, which worker.py uses
IN_FLIGHT = 200  # tickets submitted and not yet delivered, at most
SUBMIT_CONCURRENCY = 16


def memory_mb(pid: int) -> dict[str, float]:
    """VmRSS (resident now) and VmHWM (peak resident) of a process, in MiB, from /proc."""
    values: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = round(int(rest.split()[0]) / 1024, 1)  # kB
    return {"rss_mb": values["VmRSS"], "hwm_mb": values["VmHWM"]}


class WorkerProcess:
    """`python worker.py --all` against this run's server, key ring and configuration file."""

    def __init__(self, address: str, keys: KeyRing, config_file: Path, log: Path) -> None:
        self.env = {**os.environ, "TEMPORAL_ADDRESS": address, "HOTLINE_CONFIG": str(config_file)}
        self.env[KEYS_ENV] = keys.to_json()
        for name in (KEYS_FILE_ENV, ENCRYPTION_ENV, "TEMPORAL_PROFILE", "TEMPORAL_NAMESPACE"):
            self.env.pop(name, None)
        self.log = log
        self.process: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def start(self) -> None:
        script = ROOT / "worker.py"
        command = [str(script)] if script.exists() else ["-m", "worker"]
        with self.log.open("wb") as errors:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                *command,
                "--all",
                cwd=ROOT if script.exists() else None,
                env=self.env,
                stdout=asyncio.subprocess.PIPE,
                stderr=errors,
            )
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), timeout=60)
        if "worker 已启动" not in line.decode(errors="replace"):
            await self.stop()
            raise RuntimeError(f"worker.py did not start: {self.log.read_text(errors='replace')[-800:]}")

    async def stop(self) -> int | None:
        if self.process is None or self.process.returncode is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self.process.wait(), timeout=30)
        except TimeoutError:
            self.process.kill()
            return await self.process.wait()


async def submit_paced(client: Client, config: DistrictConfig, numbers: list[str], folder: Path) -> None:
    """Submit the tickets keeping at most IN_FLIGHT of them on their way to the inbox: a backlog
    larger than the worker's cache would make it replay each ticket's history at its delivery.
    The tickets carry no address, so the intake makes no 并单 look-up (see `merge_lookup`)."""
    gate = asyncio.Semaphore(SUBMIT_CONCURRENCY)
    tasks: list[asyncio.Task[Any]] = []
    for i, no in enumerate(numbers):
        while i - delivered_count(folder) >= IN_FLIGHT:
            await asyncio.sleep(0.25)
        await gate.acquire()
        task = asyncio.ensure_future(submit(client, config, bench_ticket(no, address=False)))
        task.add_done_callback(lambda _task: gate.release())
        tasks.append(task)
    await asyncio.gather(*tasks)


async def merge_lookup(client: Client, config: DistrictConfig, run: str, times: int = 5) -> dict[str, Any]:
    """How long the intake's 并单 look-up (a visibility query) takes with every workflow of the run
    so far in the namespace: the median of a few."""
    probe = bench_ticket(f"M{run}PROBE")
    took = []
    for _ in range(times):
        begun = time.perf_counter()
        await open_repeat_of(client, config, probe)
        took.append(time.perf_counter() - begun)
    workflows = (await client.count_workflows()).count
    return {"workflows_in_namespace": workflows, "median_ms": round(sorted(took)[times // 2] * 1000, 1)}


def delivered_count(folder: Path) -> int:
    return sum(1 for _ in folder.glob("*/tickets/*.json"))


async def wait_delivered(
    folder: Path,
    target: int,
    pid: int,
    seconds: float,
    on_sample: Callable[[int, dict[str, float]], None],
) -> None:
    """Until `target` tickets are in the departments' inboxes, sampling memory twice a second."""
    deadline = time.monotonic() + seconds
    while True:
        count = delivered_count(folder)
        on_sample(count, memory_mb(pid))
        if count >= target:
            return
        if time.monotonic() > deadline:
            raise Unfinished(f"worker memory: {count} of {target} tickets delivered within {seconds:.0f} s")
        await asyncio.sleep(0.5)


async def worker_memory(
    client: Client,
    config: DistrictConfig,
    keys: KeyRing,
    folder: Path,
    *,
    open_tickets: int,
    checkpoints: list[int],
    close: int = 0,
    settle_s: float = 3.0,
    server_pid: int | None = None,
    say: Callable[[str], None] = lambda _text: None,
) -> dict[str, Any]:
    """Memory of the worker process with `open_tickets` delivered and open; RSS at each checkpoint
    (tickets open); then, if `close`, RSS after that many of them are closed one by one."""
    run = uuid.uuid4().hex[:8]
    district = project_config(config, folder, run)
    config_file = folder / "district.yaml"
    folder.mkdir(parents=True, exist_ok=True)
    config_file.write_text(yaml.safe_dump(district.model_dump(mode="json"), allow_unicode=True), encoding="utf-8")
    worker = WorkerProcess(client.service_client.config.target_host, keys, config_file, folder / "worker.log")
    await worker.start()
    try:
        await asyncio.sleep(settle_s)  # the pollers settle
        idle = memory_mb(worker.pid)
        at: dict[int, dict[str, float]] = {}
        pending = sorted(checkpoints)

        def sample(count: int, memory: dict[str, float]) -> None:
            while pending and count >= pending[0]:
                at[pending.pop(0)] = memory | {"s": round(time.perf_counter() - begun, 1)}

        numbers = [f"M{run}{i:06d}" for i in range(open_tickets)]
        pids = {"driver": os.getpid(), "worker": worker.pid} | ({"server": server_pid} if server_pid else {})
        meter = CpuMeter(pids)
        cpu = meter.start()
        begun = time.perf_counter()
        submitting = asyncio.ensure_future(submit_paced(client, district, numbers, folder))
        waiting = asyncio.ensure_future(
            wait_delivered(folder, open_tickets, worker.pid, 120 + open_tickets * 0.5, sample)
        )
        await within(None, "worker memory", [submitting, waiting], ["submitting", "delivering"])
        delivered_s = time.perf_counter() - begun
        used = meter.since(cpu)
        await asyncio.sleep(settle_s)  # what the last deliveries left behind settles
        opened = memory_mb(worker.pid)
        lookup = await merge_lookup(client, district, run)
        result: dict[str, Any] = {
            "open_tickets": open_tickets,
            "sticky_cache": STICKY_CACHE,
            "idle": idle,
            "at_open": {str(k): v for k, v in sorted(at.items())},
            "all_open": opened,
            "delivered_s": round(delivered_s, 1),
            "delivered_per_s": round(open_tickets / delivered_s, 1),
            "cpu_s_delivering": used,
            "merge_lookup": lookup,
        }
        if close:
            say(f"办结其中 {close} 件（驱动程序代经办人、回访员操作）")
            result["closed"] = await close_some(client, district, numbers[:close], worker.pid, settle_s)
        code = await worker.stop()
        if code not in (0, None):
            raise RuntimeError(f"worker.py exited with {code}: {worker.log.read_text(errors='replace')[-800:]}")
        return result
    finally:
        await worker.stop()


async def close_some(
    client: Client, config: DistrictConfig, numbers: list[str], pid: int, settle_s: float
) -> dict[str, Any]:
    """Answer and close these tickets as their clerk and the callback operator would."""
    sample = bench_ticket("M0")
    department = route(config, sample.category, sample.street)
    assert department is not None, "the standard ticket routes to a department"
    people = Clerks(client, config, Arrivals(), paced=set())

    async def one(no: str) -> None:
        await people.handle(no, department)
        await outcome(client, no)

    begun = time.perf_counter()
    await bounded(START_CONCURRENCY, [partial(one, no) for no in numbers])
    closed_s = time.perf_counter() - begun
    await asyncio.sleep(settle_s)
    return {"tickets": len(numbers), "closed_s": round(closed_s, 1), "memory": memory_mb(pid)}
