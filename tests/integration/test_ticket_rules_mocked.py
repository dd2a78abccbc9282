"""The ticket workflow's rules with its activities mocked, as temporalio/samples-python tests do: the
real TicketWorkflow on the time-skipping server, and stand-ins registered under the activities' names
(`@activity.defn(name=...)`) that record what the workflow asked for. No adapter, inbox or department
worker: a change to the dispatch, sign-for, answer or callback rules is tried in seconds."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
from temporalio import activity
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from domain.commands import SignFor
from domain.config import DistrictConfig
from domain.deadlines import ClockKind
from domain.delivery import CallbackRequest, Delivery, DeliveryReceipt, Notice
from domain.models import Satisfaction, TicketStatus
from starter.tickets import act, submit, view
from tests.support.helpers import eventually, person, sample_ticket
from tests.support.ticket_steps import call_back, handle_to_answer
from workflows.registry import WORKFLOWS
from workflows.ticket import TicketWorkflow


@dataclass
class Asked:
    """What the workflow asked its activities for, in order."""

    deliveries: list[Delivery] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    callbacks: list[CallbackRequest] = field(default_factory=list)

    def steps(self, clock: ClockKind) -> list[tuple[str, str | None, datetime | None]]:
        """(kind, level, due) of each notice about one clock, the department's and the centre's."""
        return [(n.kind.value, n.level, n.due_at) for n in self.notices if n.clock == clock.value]


@pytest.fixture
async def asked(env: WorkflowEnvironment, config: DistrictConfig) -> AsyncIterator[Asked]:
    """The workflows on the centre's queue and cgj's queue served by stand-ins of its activities."""
    calls = Asked()

    @activity.defn(name="deliver_ticket")
    async def deliver_ticket(delivery: Delivery) -> DeliveryReceipt:
        calls.deliveries.append(delivery)
        return DeliveryReceipt(adapter="mock", reference=f"mock-{len(calls.deliveries)}")

    @activity.defn(name="notify_department")
    async def notify_department(notice: Notice) -> None:
        calls.notices.append(notice)

    @activity.defn(name="notify_center")
    async def notify_center(notice: Notice) -> None:
        calls.notices.append(notice)

    @activity.defn(name="request_callback")
    async def request_callback(request: CallbackRequest) -> None:
        calls.callbacks.append(request)

    cgj = config.department("cgj")
    center = Worker(
        env.client,
        task_queue=config.center.task_queue,
        workflows=WORKFLOWS,
        activities=[notify_center, request_callback],
    )
    department = Worker(env.client, task_queue=cgj.task_queue, activities=[deliver_ticket, notify_department])
    async with center, department:
        yield calls


async def delivered(env: WorkflowEnvironment, config: DistrictConfig, asked: Asked, urgency: str) -> str:
    ticket = sample_ticket(urgency=urgency)  # 市容环卫 in 滨河街道: cgj's
    await submit(env.client, config, ticket)
    await eventually(env.client, ticket.ticket_no, lambda r: r.status is TicketStatus.AWAITING_SIGN_FOR)
    return ticket.ticket_no


async def test_dispatch_delivers_the_ticket_once_to_its_department(
    env: WorkflowEnvironment, config: DistrictConfig, asked: Asked
) -> None:
    no = await delivered(env, config, asked, "一般")
    [delivery] = asked.deliveries
    assert delivery.ticket.ticket_no == no
    assert delivery.assignment.department == "cgj"
    assert delivery.workflow_id == f"ticket-{no}"
    record = await view(env.client, no)
    assert record.dispatched_at is not None and not asked.callbacks


async def test_an_unsigned_ticket_is_warned_then_pressed_at_its_sign_for_instants(
    env: WorkflowEnvironment, config: DistrictConfig, asked: Asked
) -> None:
    """紧急: sign for within 30 minutes; warnings at a half and three quarters, 催办 when it is due."""
    no = await delivered(env, config, asked, "紧急")
    start = (await view(env.client, no)).dispatched_at
    assert start is not None
    await env.sleep(timedelta(minutes=31))
    await eventually(env.client, no, lambda r: not r.outbox)
    due = start + timedelta(minutes=30)
    steps = asked.steps(ClockKind.SIGN_FOR)
    assert [(kind, level) for kind, level, _ in steps if kind == "预警提醒"] == [("预警提醒", None)] * 2
    assert sorted(level or "" for kind, level, _ in steps if kind == "超期督办") == [
        "催办",
        "催办",
    ]  # department, centre
    assert {at for _, _, at in steps} == {due}
    assert (await view(env.client, no)).overdue


async def test_signing_for_in_time_stops_the_sign_for_clock(
    env: WorkflowEnvironment, config: DistrictConfig, asked: Asked
) -> None:
    no = await delivered(env, config, asked, "紧急")
    await env.sleep(timedelta(minutes=10))
    await act(env.client, no, TicketWorkflow.sign_for, SignFor(actor=person(config, "cgj_sun")))
    await env.sleep(timedelta(hours=2))
    await eventually(env.client, no, lambda r: r.status is TicketStatus.SIGNED and not r.outbox)
    assert asked.steps(ClockKind.SIGN_FOR) == []
    assert asked.steps(ClockKind.CONTACT)  # the next clock runs on: no contact made in 2 hours


async def test_an_answer_awaits_the_operators_callback_and_a_satisfied_one_closes(
    env: WorkflowEnvironment, config: DistrictConfig, asked: Asked
) -> None:
    """The bundled district's callbacks are made by operators (ManualSurvey): the answer waits for
    回访 without asking the survey channel, and a satisfied callback closes the ticket."""
    no = await delivered(env, config, asked, "一般")
    await handle_to_answer(env.client, config, no, "cgj_sun")
    record = await eventually(env.client, no, lambda r: r.status is TicketStatus.AWAITING_CALLBACK)
    assert record.answer is not None and record.answer.resolved
    assert asked.callbacks == []
    await call_back(env.client, config, no, True, Satisfaction.SATISFIED)
    record = await eventually(env.client, no, lambda r: r.status is TicketStatus.CLOSED)
    assert len(asked.deliveries) == 1 and record.callback is not None
