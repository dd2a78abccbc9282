"""The benchmark's bare-engine part, and the history counting every part shares.

`bare_engine` runs N `ReferenceWorkflow`s (a ticket's outline, no rules) at once on a task queue of
their own, with a worker in this process, and counts the history events of every one of them.
"""

from __future__ import annotations

import asyncio
import os
import resource
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import History, HistoryEvent
from temporalio.client import Client
from temporalio.worker import Worker

from workflows.reference import ReferenceActivities, ReferenceWorkflow

T = TypeVar("T")

# Requests in flight at once when starting a batch (both parts use the same limit).
START_CONCURRENCY = 64
HISTORY_CONCURRENCY = 32


@dataclass(frozen=True)
class HistoryCount:
    workflows: int
    events: int
    bytes: int

    @property
    def events_per_workflow(self) -> float:
        return self.events / self.workflows if self.workflows else 0.0


async def history_events(client: Client, workflow_id: str) -> list[HistoryEvent]:
    return [event async for event in client.get_workflow_handle(workflow_id).fetch_history_events()]


def history_bytes(events: list[HistoryEvent]) -> int:
    """The history's size as the server stores and sends it (payloads encrypted)."""
    return History(events=events).ByteSize()


def event_types(events: list[HistoryEvent]) -> dict[str, int]:
    """How many events of each type, most frequent first (e.g. 'ActivityTaskScheduled': 3)."""
    names = Counter(EventType.Name(e.event_type).removeprefix("EVENT_TYPE_").title().replace("_", "") for e in events)
    return dict(names.most_common())


async def count_histories(client: Client, workflow_ids: Iterable[str]) -> HistoryCount:
    """Every listed workflow's history fetched and counted (no sampling)."""
    ids = list(workflow_ids)
    counts = await bounded(HISTORY_CONCURRENCY, [partial(history_events, client, wid) for wid in ids])
    return HistoryCount(len(ids), sum(len(c) for c in counts), sum(history_bytes(c) for c in counts))


async def bounded(limit: int, calls: list[Callable[[], Awaitable[T]]]) -> list[T]:
    """Run the calls with at most `limit` in flight; results in order."""
    gate = asyncio.Semaphore(limit)

    async def one(call: Callable[[], Awaitable[T]]) -> T:
        async with gate:
            return await call()

    return await asyncio.gather(*(one(c) for c in calls))


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads) so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def live_cpu_seconds(pid: int | None) -> float:
    """`cpu_seconds` of a process that may be gone (or not started): 0 then."""
    if pid is None:
        return 0.0
    try:
        return cpu_seconds(pid)
    except OSError:
        return 0.0


def own_cpu_seconds() -> float:
    """User + system CPU time of this process and of the children it has waited for."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


class CpuMeter:
    """CPU seconds spent in a part by each of its sources: a process by pid (the server, this
    process, a worker process), or any count of CPU seconds so far (e.g. `own_cpu_seconds`, or the
    live one of servers restarted meanwhile). Comparable across machines where wall time is not."""

    def __init__(self, sources: Mapping[str, int | Callable[[], float]]) -> None:
        self.sources = {name: _counter(source) for name, source in sources.items()}

    def start(self) -> dict[str, float]:
        return {name: count() for name, count in self.sources.items()}

    def since(self, begun: dict[str, float]) -> dict[str, float]:
        """By source, to the hundredth of a second."""
        return {name: round(count() - begun[name], 2) for name, count in self.sources.items()}

    def total_since(self, begun: dict[str, float]) -> float:
        """All sources together (unrounded)."""
        return sum(count() - begun[name] for name, count in self.sources.items())


def _counter(source: int | Callable[[], float]) -> Callable[[], float]:
    if callable(source):
        return source
    return lambda: cpu_seconds(source)


def per_event(used: dict[str, float], events: int) -> dict[str, Any]:
    """CPU seconds by process, and CPU milliseconds per history event."""
    return {"cpu_s": used, "cpu_ms_per_event": {name: round(v * 1000 / events, 2) for name, v in used.items()}}


def batch(unit: str, n: int, wall: float, counted: HistoryCount, used: dict[str, float]) -> dict[str, Any]:
    """A batch's figures: `unit` (workflows, tickets) per second, events per second and per unit,
    history bytes, CPU per event. The totals are kept so that batches can be combined."""
    single = unit.removesuffix("s")
    return {
        unit: n,
        "wall_s": round(wall, 2),
        f"{unit}_per_s": round(n / wall, 2),
        "events": counted.events,
        f"events_per_{single}": round(counted.events / n, 2),
        "events_per_s": round(counted.events / wall, 1),
        "history_bytes": counted.bytes,
        f"history_bytes_per_{single}": round(counted.bytes / n),
        "counted": "every history fetched",
        **per_event(used, counted.events),
    }


def combine(unit: str, batches: list[dict[str, Any]]) -> dict[str, Any]:
    """Batches run apart (e.g. before and after the other side) as one: totals summed, rates again."""
    n = sum(b[unit] for b in batches)
    wall = sum(b["wall_s"] for b in batches)
    counted = HistoryCount(n, sum(b["events"] for b in batches), sum(b["history_bytes"] for b in batches))
    used = {name: round(sum(b["cpu_s"][name] for b in batches), 2) for name in batches[0]["cpu_s"]}
    return batch(unit, n, wall, counted, used) | {"batches": [{unit: b[unit], "wall_s": b["wall_s"]} for b in batches]}


def this_process() -> CpuMeter:
    return CpuMeter({"driver": os.getpid()})


class Spawner:
    """Background tasks that must not be garbage-collected before they finish; failures kept."""

    def __init__(self) -> None:
        self.tasks: set[asyncio.Task[Any]] = set()
        self.failures: list[BaseException] = []

    def spawn(self, work: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(work)
        self.tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and (err := task.exception()) is not None:
            self.failures.append(err)

    async def aclose(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def bare_engine(client: Client, n: int, meter: CpuMeter | None = None, warm_up: int = 10) -> dict[str, Any]:
    """N reference workflows at once: activity, activity, the update sent as soon as the second
    activity runs, activity. Wall time from the first start to the last result; `warm_up`
    workflows run before (the worker's first tasks), uncounted."""
    meter = meter or this_process()
    run = uuid.uuid4().hex[:8]
    queue = f"bench-reference-{run}"
    updates = Spawner()

    def delivered(workflow_id: str) -> None:
        handle = client.get_workflow_handle(workflow_id)
        updates.spawn(handle.execute_update(ReferenceWorkflow.answer_it, "已办结"))

    acts = ReferenceActivities(delivered)
    worker = Worker(
        client,
        task_queue=queue,
        workflows=[ReferenceWorkflow],
        activities=[acts.receive, acts.deliver, acts.close],
    )
    ids = [f"reference-{run}-{i:05d}" for i in range(n)]
    warm = [f"reference-{run}-warm-{i}" for i in range(warm_up)]
    gate = asyncio.Semaphore(START_CONCURRENCY)

    async def one(workflow_id: str) -> str:
        async with gate:
            handle = await client.start_workflow(ReferenceWorkflow.run, workflow_id, id=workflow_id, task_queue=queue)
        return await handle.result()

    async with worker:
        await asyncio.gather(*(one(wid) for wid in warm))
        cpu = meter.start()
        begun = time.perf_counter()
        await asyncio.gather(*(one(wid) for wid in ids))
        wall = time.perf_counter() - begun
        used = meter.since(cpu)
        await updates.aclose()
    if updates.failures:
        raise RuntimeError(f"reference updates failed: {updates.failures[0]!r}")
    return batch("workflows", n, wall, await count_histories(client, ids), used)
