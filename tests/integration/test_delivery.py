"""派遣 through the real workflow on the dev server: webhook retries keep one idempotency key, a refusal
waits for the shift lead, and each department's worker only ever handles its own department's work."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.adapters.base import OperatorCallbacks, PermanentDeliveryError, TransientDeliveryError
from activities.adapters.file_inbox import FileInboxDepartmentAdapter
from activities.adapters.webhook import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, verify
from activities.center import CenterActivities
from activities.department import DepartmentActivities
from domain.commands import ManualDispatch, SignFor
from domain.config import DistrictConfig, FileInboxAdapter
from domain.delivery import CityMessage, Delivery, Notice, NoticeKind, delivery_key
from domain.intake import assignment_for, workflow_id_for
from domain.models import TicketStatus
from domain.ticket_record import TicketRecord
from starter.tickets import ActionFailed, act, submit, view
from tests.support.district import make_config
from tests.support.fake_department import FakeDepartment
from tests.support.helpers import eventually, person, sample_ticket
from worker import build_workers
from workflows.ticket import TicketWorkflow

SECRET = "s3cret"


@pytest.fixture
def cgj_system(department: FakeDepartment) -> FakeDepartment:
    """cgj's own system: the local HTTP department server."""
    return department


def webhook_config(tmp_path: Path, fake: FakeDepartment) -> DistrictConfig:
    """cgj is reached by webhook at the fake department system; every other department by file inbox."""
    return make_config(
        tmp_path, adapters={"cgj": {"type": "webhook", "url": fake.url, "secret": SECRET, "timeout_s": 2}}
    )


def inbox(tmp_path: Path, code: str) -> list[str]:
    """Idempotency keys of the tickets in a department's file inbox."""
    folder = tmp_path / code / "tickets"
    return [
        json.loads(p.read_text(encoding="utf-8"))["delivery"]["idempotency_key"] for p in sorted(folder.glob("*.json"))
    ]


def status_is(status: TicketStatus) -> Callable[[TicketRecord], bool]:
    return lambda record: record.status is status


# --- webhook department through the workflow ------------------------------------------------


async def test_webhook_retries_until_delivered_with_one_idempotency_key(
    client: Client, cgj_system: FakeDepartment, tmp_path: Path
) -> None:
    queued = [503, 503, 200]
    cgj_system.answer(503, "维护中")
    cgj_system.answer(503, "维护中")
    cgj_system.answer(200, {"reference": "CGJ-2024-0007"})
    config = webhook_config(tmp_path, cgj_system)
    ticket = sample_ticket()  # 市容环卫 in 滨河街道 → cgj

    async with build_workers(client, config, departments=["cgj", "zjj"], center=True):
        await submit(client, config, ticket)
        record = await eventually(client, ticket.ticket_no, status_is(TicketStatus.AWAITING_SIGN_FOR))

    assert record.assignment is not None and record.assignment.department == "cgj"
    assert "CGJ-2024-0007" in record.actions[-1].detail  # the department system's own reference
    seen = cgj_system.requests
    assert len(seen) == 3 and not cgj_system.replies
    answered = queued[: len(seen)]
    assert answered == [503, 503, 200]
    assert sum(200 <= status < 300 for status in answered) == 1  # delivered once downstream
    key = delivery_key(ticket.ticket_no, 1)
    assert [s.headers[IDEMPOTENCY_HEADER] for s in seen] == [key, key, key]
    assert len({s.body for s in seen}) == 1  # a retry sends the very same delivery
    assert all(verify(s.body, SECRET, s.headers[SIGNATURE_HEADER]) for s in seen)
    events = [e async for e in client.get_workflow_handle(workflow_id_for(ticket.ticket_no)).fetch_history_events()]
    started = [e for e in events if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED]
    assert [e.activity_task_started_event_attributes.attempt for e in started] == [3]


async def test_webhook_refusal_waits_for_the_shift_lead_who_dispatches_elsewhere(
    client: Client, cgj_system: FakeDepartment, tmp_path: Path
) -> None:
    cgj_system.answer(422, {"error": "非本单位受理范围"})
    config = webhook_config(tmp_path, cgj_system)
    ticket = sample_ticket()

    async with build_workers(client, config, departments=["cgj", "zjj"], center=True):
        await submit(client, config, ticket)
        failed = await eventually(client, ticket.ticket_no, status_is(TicketStatus.DISPATCH_FAILED))
        assert failed.dispatch_error is not None and "HTTP 422" in failed.dispatch_error
        assert len(cgj_system.requests) == 1  # a refusal is not retried

        to = assignment_for(config, "zjj")
        result = await act(
            client, ticket.ticket_no, TicketWorkflow.dispatch, ManualDispatch(actor=person(config, "zhangli"), to=to)
        )
        assert "区住房和城乡建设局" in result.message
        record = await eventually(
            client,
            ticket.ticket_no,
            lambda r: r.status is TicketStatus.AWAITING_SIGN_FOR and r.assignment is not None and r.assignment == to,
        )

    assert record.dispatch_round == 2 and record.dispatch_error is None
    assert inbox(tmp_path, "zjj") == [delivery_key(ticket.ticket_no, 2)]
    assert len(cgj_system.requests) == 1  # cgj's system heard nothing more
    actions = [a.action for a in record.actions]
    assert actions == ["受理", "派遣失败", "人工派遣", "派遣"]
    assert record.actions[2].actor.name == "张丽"


# --- department isolation --------------------------------------------------------------------


async def test_a_sign_for_sent_before_the_delivery_is_recorded_waits_for_it(
    client: Client, cgj_system: FakeDepartment, tmp_path: Path
) -> None:
    # The department's system has the ticket at once but answers the webhook only 1.5 s later; its
    # clerk signs for in between, while the centre still shows 派遣中.
    cgj_system.answer(200, {"reference": "CGJ-SLOW"}, delay_s=1.5)
    config = webhook_config(tmp_path, cgj_system)
    ticket = sample_ticket()
    sign = SignFor(actor=person(config, "cgj_sun"))

    async with build_workers(client, config, departments=["cgj", "zjj"], center=True):
        await submit(client, config, ticket)
        await eventually(client, ticket.ticket_no, lambda r: bool(cgj_system.requests))
        assert (await view(client, ticket.ticket_no)).status is TicketStatus.DISPATCHING
        # Another department may not sign for it even now.
        with pytest.raises(ActionFailed, match="不属于承办单位"):
            await act(client, ticket.ticket_no, TicketWorkflow.sign_for, SignFor(actor=person(config, "zjj_li")))
        result = await act(client, ticket.ticket_no, TicketWorkflow.sign_for, sign)
        record = await view(client, ticket.ticket_no)

    assert result.message == "已签收" and record.status is TicketStatus.SIGNED
    assert [a.action for a in record.actions][-2:] == ["派遣", "签收"]
    assert "CGJ-SLOW" in record.actions[-2].detail


async def test_a_sign_for_waiting_on_a_refused_delivery_is_refused_and_the_ticket_goes_on(
    client: Client, cgj_system: FakeDepartment, tmp_path: Path
) -> None:
    cgj_system.answer(422, {"error": "非本单位受理范围"}, delay_s=1.0)
    config = webhook_config(tmp_path, cgj_system)
    ticket = sample_ticket()

    async with build_workers(client, config, departments=["cgj", "zjj"], center=True):
        await submit(client, config, ticket)
        await eventually(client, ticket.ticket_no, lambda r: bool(cgj_system.requests))
        with pytest.raises(ActionFailed, match="派遣失败"):
            await act(client, ticket.ticket_no, TicketWorkflow.sign_for, SignFor(actor=person(config, "cgj_sun")))
        record = await view(client, ticket.ticket_no)

    assert record.status is TicketStatus.DISPATCH_FAILED and record.signed_at is None
    events = [e async for e in client.get_workflow_handle(workflow_id_for(ticket.ticket_no)).fetch_history_events()]
    assert not [e for e in events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED]


async def test_each_department_worker_handles_only_its_own_queue(client: Client, tmp_path: Path) -> None:
    config = make_config(tmp_path)
    ticket = sample_ticket()  # → cgj
    cgj_queue = config.department("cgj").task_queue

    async with (
        build_workers(client, config, departments=["cgj"]),
        build_workers(client, config, departments=["zjj"]),
        build_workers(client, config, center=True),
    ):
        await submit(client, config, ticket)
        record: TicketRecord = await eventually(client, ticket.ticket_no, status_is(TicketStatus.AWAITING_SIGN_FOR))

    assert record.assignment is not None and record.assignment.task_queue == cgj_queue
    assert inbox(tmp_path, "cgj") == [delivery_key(ticket.ticket_no, 1)]
    assert inbox(tmp_path, "zjj") == [] and not (tmp_path / "zjj").exists()
    events = [e async for e in client.get_workflow_handle(workflow_id_for(ticket.ticket_no)).fetch_history_events()]
    scheduled = [
        e.activity_task_scheduled_event_attributes
        for e in events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
    assert [(s.activity_type.name, s.task_queue.name) for s in scheduled] == [("deliver_ticket", cgj_queue)]
    started = [e for e in events if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED]
    assert [e.activity_task_started_event_attributes.identity for e in started] == ["hotline-dept-cgj"]


async def test_department_activity_refuses_work_for_another_department(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    ticket = sample_ticket()
    received = ticket.received_at
    delivery = Delivery(
        idempotency_key=delivery_key(ticket.ticket_no, 1),
        workflow_id=workflow_id_for(ticket.ticket_no),
        round=1,
        assignment=assignment_for(config, "cgj"),
        ticket=ticket,
        sign_for_due=received + timedelta(hours=2),
        resolve_due=received + timedelta(hours=168),
    )
    adapter = FileInboxDepartmentAdapter(FileInboxAdapter(type="file_inbox", folder=str(tmp_path / "zjj")))
    activities = DepartmentActivities("zjj", adapter)

    with pytest.raises(ApplicationError) as info:
        await ActivityEnvironment().run(activities.deliver_ticket, delivery)

    assert info.value.type == "WrongDepartment"
    assert info.value.non_retryable
    assert "zjj" in info.value.message and "cgj" in info.value.message
    assert not (tmp_path / "zjj").exists()  # nothing reached zjj's system


class BrokenSystem:
    """A department's system (and the city's link) failing every hand-over with `error`."""

    kind = "broken"

    def __init__(self, error: Exception) -> None:
        self.error = error

    async def fail(self, *args: object) -> Any:
        raise self.error

    deliver = deliver_item = notify = send = fail

    async def aclose(self) -> None:
        return None


@pytest.mark.parametrize(
    ("error", "non_retryable"),
    [
        (PermanentDeliveryError("HTTP 400 from 部门系统"), True),
        (TransientDeliveryError("HTTP 503 from 部门系统"), False),
    ],
)
async def test_every_hand_over_reports_an_adapters_error_alike(
    tmp_path: Path, error: Exception, non_retryable: bool
) -> None:
    """A refusal is not retried and a passing failure is, whichever activity met it."""
    config = make_config(tmp_path)
    ticket = sample_ticket()
    delivery = Delivery(
        idempotency_key=delivery_key(ticket.ticket_no, 1),
        workflow_id=workflow_id_for(ticket.ticket_no),
        round=1,
        assignment=assignment_for(config, "cgj"),
        ticket=ticket,
        sign_for_due=ticket.received_at + timedelta(hours=2),
        resolve_due=ticket.received_at + timedelta(hours=168),
    )
    notice = Notice(
        idempotency_key=f"{ticket.ticket_no}#n1",
        workflow_id=delivery.workflow_id,
        ticket_no=ticket.ticket_no,
        department="cgj",
        kind=NoticeKind.ESCALATION,
        text="催办",
    )
    message = CityMessage(
        idempotency_key=f"{ticket.ticket_no}#city", kind=NoticeKind.CITY_TRANSFER, ticket=ticket, text="上转"
    )
    system = BrokenSystem(error)
    department = DepartmentActivities("cgj", system)
    center = CenterActivities(OperatorCallbacks(), cast(Client, None), system, system)
    calls = [
        (department.deliver_ticket, delivery),
        (department.notify_department, notice),
        (center.notify_city, message),
    ]
    for activity, argument in calls:
        with pytest.raises(ApplicationError) as info:
            await ActivityEnvironment().run(activity, argument)  # type: ignore[arg-type]  # activities of mixed types
        failed = info.value
        assert (failed.type, failed.non_retryable, failed.message) == (type(error).__name__, non_retryable, str(error))
