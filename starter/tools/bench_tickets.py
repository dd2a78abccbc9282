"""The benchmark's project parts: standard tickets from intake to 办结 through the real workers.

Every department's system is the benchmark's own clerk, who notes when a ticket arrives (the
latency figure) and acts on it at once: signs for it, contacts the citizen and answers, with no
returns or extensions; then the centre's operator records a satisfied callback. Each is a
`SimulatedClerk` (activities/adapters/clerk.py) sending its actions through `starter.tickets.act`,
as people's are sent. Workflows, activities, clerks and operator
run in this process, as the bare engine's do.

An update that the server could not complete within its RPC deadline (which happens when a burst
of 1,000 tickets queues behind each other on 2 cores) is sent again under the same update id, so
it is applied once; how often that happened is reported as `update_rpc_retries`.
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from temporalio.client import Client, WorkflowUpdateRPCTimeoutOrCancelledError

from activities.adapters.base import DepartmentAdapter
from activities.adapters.clerk import Action, SimulatedClerk
from domain.commands import TicketOutcome
from domain.config import (
    CenterNotifications,
    CityLink,
    DistrictConfig,
    FileInboxAdapter,
    ManualSurvey,
    ReportSettings,
)
from domain.delivery import Delivery, DeliveryReceipt, ItemDelivery, Notice
from domain.intake import workflow_id_for
from domain.models import Callback, Citizen, RequestKind, Role, Satisfaction, Ticket, TicketStatus
from domain.ticket_record import TicketRecord
from starter.tickets import act, submit, view
from starter.tools.bench_engine import (
    START_CONCURRENCY,
    CpuMeter,
    Spawner,
    batch,
    combine,
    count_histories,
    event_types,
    history_bytes,
    history_events,
    this_process,
)
from worker import WorkerSet, build_workers

UPDATE_ATTEMPTS = 20


class Unfinished(RuntimeError):
    """A part of the benchmark did not finish in its time: names how many tickets were left."""


def bench_ticket(ticket_no: str, *, address: bool = True) -> Ticket:
    """A standard ticket (投诉, 一般, 市容环卫 on 滨河街道 → 城管局), each at its own address so that
    none is merged into another (并单) by the intake's look-up; without an address the intake makes
    no look-up."""
    return Ticket(
        ticket_no=ticket_no,
        received_at=datetime.now(UTC),
        kind=RequestKind.COMPLAINT,
        category="市容环卫",
        street="滨河街道",
        urgency="一般",
        title="小区门口垃圾堆积无人清运",
        content="镇北社区东门垃圾箱已满三天，气味很大，希望尽快清运。",
        citizen=Citizen(
            name="王小明", phone="13812341234", address=f"滨河街道镇北社区{ticket_no}号" if address else None
        ),
    )


def project_config(config: DistrictConfig, folder: Path, run: str) -> DistrictConfig:
    """The district on task queues of this run: each department a file inbox under `folder` (the
    in-process parts put their own clerks in its place), callbacks recorded by an operator, the
    centre's notices and the city link under `folder` too."""
    departments = [
        dept.model_copy(
            update={
                "task_queue": f"bench-{run}-{dept.code}",
                "adapter": FileInboxAdapter(type="file_inbox", folder=str(folder / dept.code)),
            }
        )
        for dept in config.departments
    ]
    center = config.center.model_copy(
        update={
            "task_queue": f"bench-{run}-center",
            "callback": ManualSurvey(),
            "notifications": CenterNotifications(folder=str(folder / "center")),
            "city": CityLink(adapter=FileInboxAdapter(type="file_inbox", folder=str(folder / "city"))),
        }
    )
    reports = ReportSettings(folder=str(folder / "reports"))
    return config.model_copy(update={"departments": departments, "center": center, "reports": reports})


def clerk_of(config: DistrictConfig, department: str | None) -> str:
    """The department's first clerk (person id)."""
    return next(p.id for p in config.people if p.role is Role.CLERK and p.department == department)


def operator_of(config: DistrictConfig) -> str:
    """The centre's first callback operator (person id)."""
    return next(p.id for p in config.people if p.role is Role.OPERATOR)


class Arrivals:
    """When each ticket reached its department's system (time.perf_counter()), and waiting for that."""

    def __init__(self) -> None:
        self.at: dict[str, float] = {}
        self._waiters: dict[str, asyncio.Future[float]] = {}

    def arrived(self, ticket_no: str) -> None:
        now = time.perf_counter()
        self.at.setdefault(ticket_no, now)
        waiter = self._waiters.get(ticket_no)
        if waiter is not None and not waiter.done():
            waiter.set_result(self.at[ticket_no])

    async def wait(self, ticket_no: str) -> float:
        if ticket_no in self.at:
            return self.at[ticket_no]
        waiter = self._waiters.setdefault(ticket_no, asyncio.get_running_loop().create_future())
        return await waiter


class Clerks:
    """Every department's clerk and the centre's operator: each ticket that arrives is signed for,
    contacted, answered and called back at once, unless it is one the driver paces itself."""

    def __init__(self, client: Client, config: DistrictConfig, arrivals: Arrivals, paced: set[str]) -> None:
        self.client = client
        self.arrivals = arrivals
        self.paced = paced
        self.clerks = {
            d.code: SimulatedClerk(config.person(clerk_of(config, d.code)).actor(), self.send)
            for d in config.departments
        }
        self.operator = SimulatedClerk(config.person(operator_of(config)).actor(), self.send)
        self.work = Spawner()
        self.retries = 0

    def adapter(self, department: str) -> DepartmentAdapter:
        return ClerkAdapter(self, department)

    async def handle(self, ticket_no: str, department: str) -> None:
        workflow_id = workflow_id_for(ticket_no)
        await self.clerks[department].handle(workflow_id, note="已电话联系", answer="已安排清运完毕")
        await self.call_back(ticket_no)

    async def call_back(self, ticket_no: str) -> None:
        callback = Callback(resolved=True, satisfaction=Satisfaction.SATISFIED)
        await self.operator.record_callback(workflow_id_for(ticket_no), callback)

    async def send(self, action: Action) -> Any:
        """The update, sent again under the same id while the server's RPC deadline passes first."""
        update_id = str(uuid.uuid4())
        for _ in range(UPDATE_ATTEMPTS):
            try:
                return await act(self.client, action.workflow_id, action.update, action.command, update_id=update_id)
            except WorkflowUpdateRPCTimeoutOrCancelledError:
                self.retries += 1
        raise Unfinished(f"{action.workflow_id}: {action.name} not completed after {UPDATE_ATTEMPTS} attempts")

    def failure(self) -> BaseException | None:
        return self.work.failures[0] if self.work.failures else None


class ClerkAdapter:
    """A department's system: notes the arrival, answers with a receipt, and lets the clerk act."""

    kind = "bench"

    def __init__(self, clerks: Clerks, department: str) -> None:
        self.clerks = clerks
        self.department = department
        self.seen: set[str] = set()

    async def deliver(self, delivery: Delivery) -> DeliveryReceipt:
        key, ticket_no = delivery.idempotency_key, delivery.ticket.ticket_no
        duplicate = key in self.seen
        self.seen.add(key)
        self.clerks.arrivals.arrived(ticket_no)
        if not duplicate and delivery.role != "协办" and ticket_no not in self.clerks.paced:
            self.clerks.work.spawn(self.clerks.handle(ticket_no, self.department))
        return DeliveryReceipt(adapter=self.kind, reference=key, duplicate=duplicate)

    async def deliver_item(self, delivery: ItemDelivery) -> DeliveryReceipt:
        return DeliveryReceipt(adapter=self.kind, reference=delivery.idempotency_key)

    async def notify(self, notice: Notice) -> None:
        return None

    async def aclose(self) -> None:
        return None


class Project:
    """The project's workers in this process, every department's system being the benchmark's clerk."""

    def __init__(self, client: Client, config: DistrictConfig, folder: Path) -> None:
        self.client = client
        self.run = uuid.uuid4().hex[:8]
        self.paced_no = f"B{self.run}PACED"  # the standard ticket: the driver acts on it step by step
        self.config = project_config(config, folder, self.run)
        self.arrivals = Arrivals()
        self.clerks = Clerks(client, self.config, self.arrivals, {self.paced_no})
        self._numbers = 0

    def workers(self) -> WorkerSet:
        adapters = {d.code: self.clerks.adapter(d.code) for d in self.config.departments}
        codes = [d.code for d in self.config.departments]
        workers = build_workers(self.client, self.config, departments=codes, center=True, adapters=adapters)
        workers.closers.append(self.clerks.work.aclose)
        return workers

    def numbers(self, count: int) -> list[str]:
        first, self._numbers = self._numbers, self._numbers + count
        return [f"B{self.run}{i:06d}" for i in range(first, first + count)]

    async def submit(self, ticket_no: str) -> float:
        """Submit one ticket; returns time.perf_counter() just before `submit` was called."""
        begun = time.perf_counter()
        submitted = await submit(self.client, self.config, bench_ticket(ticket_no))
        if submitted.duplicate:
            raise RuntimeError(f"{ticket_no}: submitted twice")
        return begun

    async def closed(self, ticket_no: str) -> None:
        # By result type: mypy infers nothing from run()'s handle (get_workflow_handle_for does this inside).
        handle = self.client.get_workflow_handle(workflow_id_for(ticket_no), result_type=TicketOutcome)
        outcome = await handle.result()
        if outcome.status is not TicketStatus.CLOSED:
            raise RuntimeError(f"{ticket_no} ended as {outcome.status.value}, not 办结")

    async def within(
        self, seconds: float, what: str, waits: Sequence[asyncio.Future[Any]], names: Sequence[str]
    ) -> None:
        """`within`, stopping early if a clerk has failed."""
        await within(seconds, what, waits, names, self.clerks.failure)


async def within(
    seconds: float | None,
    what: str,
    waits: Sequence[asyncio.Future[Any]],
    names: Sequence[str],
    failure: Callable[[], BaseException | None] = lambda: None,
) -> None:
    """All of `waits` done within `seconds`, or Unfinished naming how many (and which first) are
    not; a failed wait, or a `failure` reported meanwhile, is raised at once."""
    deadline = time.monotonic() + (seconds if seconds is not None else math.inf)
    pending: set[asyncio.Future[Any]] = set(waits)
    try:
        while pending:
            done, pending = await asyncio.wait(pending, timeout=max(0.0, min(1.0, deadline - time.monotonic())))
            for task in done:
                if (error := task.exception()) is not None:
                    raise error
            if (failed := failure()) is not None:
                raise failed
            if pending and time.monotonic() >= deadline:
                left = [name for name, task in zip(names, waits, strict=True) if task in pending]
                raise Unfinished(
                    f"{what}: {len(left)} of {len(waits)} not done within {seconds:.0f} s (e.g. {left[0]})"
                )
    finally:
        for task in pending:
            task.cancel()


def steady_rate(capacity: float, max_rate: float) -> float:
    """Well below capacity: half the measured tickets/s (rounded down to 0.5), at most `max_rate`."""
    return max(0.5, min(max_rate, math.floor(capacity) / 2))


def patience(count: int) -> float:
    return 120.0 + count * 0.5


async def standard_ticket(project: Project) -> dict[str, Any]:
    """One ticket alone, intake to 办结 with no detour, each step in a workflow task of its own as
    when a department takes hours between them: the driver waits for 待签收, then signs for,
    contacts and answers as the clerk and calls back as the operator, each once the last is done.
    Its history's events, their types and its size."""
    no = project.paced_no
    await project.submit(no)
    record = await until(project, no, lambda r: r.status is TicketStatus.AWAITING_SIGN_FOR)
    assert record.assignment is not None
    await project.clerks.handle(no, record.assignment.department)
    await project.within(60, "standard ticket", [asyncio.ensure_future(project.closed(no))], [no])
    events = await history_events(project.client, workflow_id_for(no))
    return {
        "workflow_id": workflow_id_for(no),
        "events": len(events),
        "history_bytes": history_bytes(events),
        "event_types": event_types(events),
    }


async def until(project: Project, no: str, condition: Callable[[TicketRecord], bool]) -> TicketRecord:
    deadline = time.monotonic() + 60
    while True:
        record = await view(project.client, no)
        if condition(record):
            return record
        if time.monotonic() > deadline:
            raise Unfinished(f"{no}: still {record.status.value} after 60 s")
        await asyncio.sleep(0.05)


async def project_throughput(
    project: Project, tickets: int, meter: CpuMeter | None = None, say: Callable[[str], None] = lambda _text: None
) -> dict[str, Any]:
    """The standard ticket, then `tickets` standard tickets in two batches (each submitted at once)."""
    async with project.workers():
        say("标准工单（逐步办理）")
        standard = await standard_ticket(project)
        halves = [tickets // 2, tickets - tickets // 2]
        say(f"吞吐：{halves[0]} 件工单同时受理，两批")
        flows = [await throughput(project, n, meter) for n in halves]
    return {"standard_ticket": standard, "throughput": combine("tickets", flows)}


async def throughput(project: Project, n: int, meter: CpuMeter | None = None) -> dict[str, Any]:
    """N standard tickets submitted at once, each followed until closed (办结)."""
    meter = meter or this_process()
    numbers = project.numbers(n)
    gate = asyncio.Semaphore(START_CONCURRENCY)

    async def one(no: str) -> None:
        async with gate:
            await project.submit(no)
        await project.closed(no)

    cpu = meter.start()
    begun = time.perf_counter()
    await project.within(patience(n), "throughput", [asyncio.ensure_future(one(no)) for no in numbers], numbers)
    wall = time.perf_counter() - begun
    used = meter.since(cpu)
    return batch("tickets", n, wall, await count_histories(project.client, map(workflow_id_for, numbers)), used)


def percentile(values: Iterable[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


def latency_summary(latencies_s: Sequence[float]) -> dict[str, float]:
    return {f"p{p}": round(percentile(latencies_s, p) * 1000, 1) for p in (50, 95, 99)} | {
        "max": round(max(latencies_s) * 1000, 1),
        "mean": round(sum(latencies_s) / len(latencies_s) * 1000, 1),
    }


async def steady_latency(project: Project, rate: float, seconds: float) -> dict[str, Any]:
    """Tickets submitted at a steady `rate` per second for `seconds`: intake → delivery latency
    (arrival in the department's adapter − the moment just before `submit`)."""
    count = max(1, round(rate * seconds))
    numbers = project.numbers(count)
    latencies: list[float] = []

    async def one(no: str, due: float) -> None:
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        begun = await project.submit(no)
        arrived = await project.arrivals.wait(no)
        latencies.append(arrived - begun)
        await project.closed(no)

    start = time.perf_counter() + 0.1
    tasks = [asyncio.ensure_future(one(no, start + i / rate)) for i, no in enumerate(numbers)]
    await project.within(seconds + patience(count), "steady rate", tasks, numbers)
    return {"rate_per_s": rate, "seconds": seconds, "tickets": count, "latency_ms": latency_summary(latencies)}


async def burst(project: Project, size: int) -> dict[str, Any]:
    """`size` tickets submitted at once: time until all reached their departments, and until all closed."""
    numbers = project.numbers(size)
    submitted: list[float] = []

    async def one(no: str) -> None:
        await project.submit(no)
        submitted.append(time.perf_counter())
        await project.closed(no)

    begun = time.perf_counter()
    closes = [asyncio.ensure_future(one(no)) for no in numbers]
    arrivals = [asyncio.ensure_future(project.arrivals.wait(no)) for no in numbers]
    await project.within(patience(size), "burst delivery", arrivals, numbers)
    delivered = max(project.arrivals.at[no] for no in numbers) - begun
    await project.within(patience(size), "burst closing", closes, numbers)
    closed = time.perf_counter() - begun
    return {
        "size": size,
        "submitted_s": round(max(submitted) - begun, 2),
        "delivered_s": round(delivered, 2),
        "closed_s": round(closed, 2),
    }


async def latency_parts(
    project: Project,
    *,
    capacity: float | None,
    max_rate: float,
    seconds: float,
    burst_size: int,
    say: Callable[[str], None] = lambda _text: None,
) -> dict[str, Any]:
    """The steady-rate latency (at half the measured `capacity`) and the burst, with the project's workers."""
    rate = steady_rate(capacity, max_rate) if capacity else max_rate / 2
    async with project.workers():
        say(f"稳定速率：每秒 {rate:g} 件（约为吞吐的一半），{seconds:g} 秒")
        steady = await steady_latency(project, rate, seconds)
        say(f"突发：{burst_size} 件同时受理")
        burst_result = await burst(project, burst_size)
    return {"steady": steady, "burst": burst_result, "update_rpc_retries": project.clerks.retries}
