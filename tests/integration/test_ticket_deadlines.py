"""The clocks (签收、响应、办结时限), their warnings and the escalation ladder on Temporal's
time-skipping test server: days pass in an instant, and each step must fire at its instant.

Expected instants are computed here from the chinese-calendar package directly, not through the
project's calendar code."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path

import chinese_calendar
import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from activities.runtime.settings import converter
from domain import search_attributes as sa
from domain.calendar import Span, Unit
from domain.commands import ContactCitizen, Decide, GiveAnswer, RequestExtension, RequestReturn, SignFor
from domain.config import DistrictConfig
from domain.deadlines import TICKET_CLOCKS, ClockKind
from domain.intake import assignment_for
from domain.models import Answer, TicketStatus
from domain.ticket_record import TicketRecord
from starter.tickets import ActionFailed, act, submit, view
from tests.support.district import make_config
from tests.support.helpers import eventually, person, sample_ticket
from worker import build_workers
from workflows.ticket import TicketWorkflow

pytestmark = pytest.mark.workers(departments=["cgj"])


def is_workday(day: date) -> bool:
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:  # a year the package lacks: Monday to Friday
        return day.weekday() < 5


def next_working_day_same_time(at: datetime, days: int) -> datetime:
    """Independent of domain.calendar: the same time on the `days`-th following statutory working
    day, a clock started on a day off starting at 00:00 of the next working day."""
    local = at.astimezone(CHINA)
    day = local.date()
    if not is_workday(day):
        while not is_workday(day):
            day += timedelta(days=1)
        local = datetime.combine(day, time(0), CHINA)
    counted = 0
    while counted < days:
        day += timedelta(days=1)
        counted += is_workday(day)
    return datetime.combine(day, local.timetz()).astimezone(UTC)


STEPS = ("预警", "催办", "督办", "通报", "领导督办")
CHINA = timezone(timedelta(hours=8))


def steps_of(record: TicketRecord, clock: ClockKind) -> list[tuple[str, datetime]]:
    result = []
    for action in record.actions:
        if action.action == "预警" and action.detail.startswith(f"{clock.value}时限"):
            result.append(("预警", action.at))
        elif action.action in STEPS[1:] and f"{clock.value}超期" in action.detail:
            result.append((action.action, action.at))
    return result


def close_to(actual: datetime, expected: datetime) -> bool:
    return expected <= actual < expected + timedelta(seconds=30)


async def delivered_urgent_ticket(client: Client, config: DistrictConfig, tmp_path: Path) -> TicketRecord:
    """An urgent ticket (紧急: sign for in 30 minutes, contact in 1 hour, answer in 2 hours) at cgj."""
    ticket = sample_ticket(urgency="紧急")
    await submit(client, config, ticket)
    record = await eventually(client, ticket.ticket_no, lambda r: r.status is TicketStatus.AWAITING_SIGN_FOR)
    assert [p.name for p in (tmp_path / "cgj" / "tickets").glob("*.json")] == [f"{ticket.ticket_no}_round1.json"]
    assert record.plan.deadlines is not None and record.plan.deadlines.tier.name == "紧急"
    return record


async def test_an_unanswered_ticket_climbs_the_whole_ladder_on_time(
    env: WorkflowEnvironment, config: DistrictConfig, workers: None, tmp_path: Path
) -> None:
    record = await delivered_urgent_ticket(env.client, config, tmp_path)
    no, start = record.ticket.ticket_no, record.dispatched_at
    assert start is not None

    await env.sleep(timedelta(days=30))  # more than 10 working days after every due time
    record = await view(env.client, no)

    for clock, limit in (
        (ClockKind.SIGN_FOR, timedelta(minutes=30)),
        (ClockKind.CONTACT, timedelta(hours=1)),
        (ClockKind.RESOLVE, timedelta(hours=2)),
    ):
        due = start + limit
        expected = [
            ("预警", start + limit / 2),
            ("预警", start + limit * 3 / 4),
            ("催办", due),
            ("督办", next_working_day_same_time(due, 1)),
            ("通报", next_working_day_same_time(due, 5)),
            ("领导督办", next_working_day_same_time(due, 10)),
        ]
        actual = steps_of(record, clock)
        assert [a for a, _ in actual] == [e for e, _ in expected], clock
        for (label, at), (_, want) in zip(actual, expected, strict=True):
            assert close_to(at, want), (clock, label, at, want)

    assert record.status is TicketStatus.AWAITING_SIGN_FOR and record.overdue
    assert record.escalation_level == "领导督办"
    assert [(e.clock, e.level) for e in record.escalations][:3] == [
        (ClockKind.SIGN_FOR, "催办"),
        (ClockKind.CONTACT, "催办"),
        (ClockKind.RESOLVE, "催办"),
    ]
    # Each step reached its audience: the department's inbox and the centre's notice folder.
    await eventually(env.client, no, lambda r: not r.outbox)
    department_notices = [
        json.loads(p.read_text(encoding="utf-8"))["notice"] for p in (tmp_path / "cgj" / "notices").glob("*.json")
    ]
    center_notices = [
        json.loads(p.read_text(encoding="utf-8"))["notice"] for p in (tmp_path / "center" / "notices").glob("*.json")
    ]
    assert sum(n["kind"] == "预警提醒" for n in department_notices) == 6
    assert sorted(n["level"] for n in department_notices if n["kind"] == "超期督办") == sorted(["催办", "督办"] * 3)
    assert sorted(n["level"] for n in center_notices) == sorted(["催办", "督办", "通报", "领导督办"] * 3)
    assert all("leadership" in n["audience"] for n in center_notices if n["level"] in ("通报", "领导督办"))
    described = await env.client.get_workflow_handle(f"ticket-{no}").describe()
    assert described.typed_search_attributes.get(sa.OVERDUE) is True
    assert described.typed_search_attributes.get(sa.ESCALATION) == "领导督办"


async def test_clocks_stop_when_the_department_acts_in_time(
    env: WorkflowEnvironment, config: DistrictConfig, workers: None, tmp_path: Path
) -> None:
    record = await delivered_urgent_ticket(env.client, config, tmp_path)
    no = record.ticket.ticket_no
    clerk = person(config, "cgj_sun")
    await env.sleep(timedelta(minutes=20))  # past the sign-for clock's 50% warning only
    await act(env.client, no, TicketWorkflow.sign_for, SignFor(actor=clerk))
    await act(env.client, no, TicketWorkflow.contact_citizen, ContactCitizen(actor=clerk, note="已联系"))
    await env.sleep(timedelta(days=20))
    record = await view(env.client, no)

    assert steps_of(record, ClockKind.SIGN_FOR) == [("预警", steps_of(record, ClockKind.SIGN_FOR)[0][1])]
    assert steps_of(record, ClockKind.CONTACT) == []
    assert record.signed_on_time and record.contacted_on_time
    # The resolution clock still runs: the answer is due in 2 hours, and it is overdue now.
    assert [label for label, _ in steps_of(record, ClockKind.RESOLVE)] == [
        "预警",
        "预警",
        "催办",
        "督办",
        "通报",
        "领导督办",
    ]
    answer = Answer(text="已处理", resolved=True)
    await act(env.client, no, TicketWorkflow.answer, GiveAnswer(actor=clerk, answer=answer))
    record = await view(env.client, no)
    assert record.answered_on_time is False


async def test_approved_extension_moves_the_deadline_and_its_warnings(
    env: WorkflowEnvironment, config: DistrictConfig, workers: None, tmp_path: Path
) -> None:
    record = await delivered_urgent_ticket(env.client, config, tmp_path)
    no, start = record.ticket.ticket_no, record.dispatched_at
    assert start is not None
    clerk, lead = person(config, "cgj_sun"), person(config, "zhangli")
    await act(env.client, no, TicketWorkflow.sign_for, SignFor(actor=clerk))
    await act(env.client, no, TicketWorkflow.contact_citizen, ContactCitizen(actor=clerk, note="已联系"))
    requested = await act(
        env.client, no, TicketWorkflow.request_extension, RequestExtension(actor=clerk, hours=4, reason="需勘查")
    )
    await act(env.client, no, TicketWorkflow.approve, Decide(actor=lead, approval_id=requested.approval_id))
    record = await view(env.client, no)
    assert record.resolve_due == start + timedelta(hours=6)

    await env.sleep(timedelta(hours=3))
    # An update is processed after every event already in the history, so its result shows
    # whether the old 2-hour deadline fired (it must not).
    with pytest.raises(ActionFailed):
        await act(env.client, no, TicketWorkflow.sign_for, SignFor(actor=clerk))
    record = await view(env.client, no)
    assert not record.overdue and "催办" not in [a.action for a in record.actions]
    # The warnings re-arm from the approval: 50% and 75% of the new span (from dispatch to 6 hours).
    await env.sleep(timedelta(hours=4))
    record = await view(env.client, no)
    resolve = steps_of(record, ClockKind.RESOLVE)
    assert [label for label, _ in resolve] == ["预警", "预警", "催办"]
    assert close_to(resolve[0][1], start + timedelta(hours=3))
    assert close_to(resolve[1][1], start + timedelta(hours=4, minutes=30))
    assert close_to(resolve[2][1], start + timedelta(hours=6))


async def test_reassignment_restarts_the_clocks(
    env: WorkflowEnvironment, config: DistrictConfig, tmp_path: Path
) -> None:
    async with build_workers(env.client, config, departments=["cgj", "bhjd"], center=True):
        record = await delivered_urgent_ticket(env.client, config, tmp_path)
        no = record.ticket.ticket_no
        clerk, lead = person(config, "cgj_sun"), person(config, "zhangli")
        await env.sleep(timedelta(minutes=40))  # cgj's sign-for clock has been breached (催办)
        await act(env.client, no, TicketWorkflow.request_return, RequestReturn(actor=clerk, reason="属物业范围"))
        to = assignment_for(config, "bhjd")
        await act(env.client, no, TicketWorkflow.approve, Decide(actor=lead, approval_id="R1", reassign_to=to))
        record = await eventually(
            env.client, no, lambda r: r.dispatch_round == 2 and r.status is TicketStatus.AWAITING_SIGN_FOR
        )
        second = record.dispatched_at
        assert second is not None
        assert record.sign_for_due == second + timedelta(minutes=30)
        assert not record.overdue and record.escalation_level is None
        new_round = [c for c in record.clocks if c.round == 2]
        assert [c.kind for c in new_round] == list(TICKET_CLOCKS) and all(c.running for c in new_round)
        assert all(not c.running for c in record.clocks if c.round == 1)


async def test_a_policy_change_leaves_running_tickets_on_their_own_policy(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    old = make_config(tmp_path)
    tiers = [
        t.model_copy(update={"resolve": Span(amount=4, unit=Unit.HOURS)}) if t.name == "紧急" else t
        for t in old.deadlines.tiers
    ]
    new = old.model_copy(update={"deadlines": old.deadlines.model_copy(update={"tiers": tiers})})
    async with build_workers(env.client, old, departments=["cgj"], center=True, max_cached_workflows=0):
        before = await delivered_urgent_ticket(env.client, old, tmp_path)
        after_ticket = sample_ticket(urgency="紧急")
        await submit(env.client, new, after_ticket)  # the same workers: they read no policy
        after = await eventually(
            env.client, after_ticket.ticket_no, lambda r: r.status is TicketStatus.AWAITING_SIGN_FOR
        )
        await env.sleep(timedelta(hours=3))
        before = await view(env.client, before.ticket.ticket_no)
        after = await view(env.client, after.ticket.ticket_no)
    assert before.resolve_due == before.dispatched_at + timedelta(hours=2)  # type: ignore[operator]  # a dispatched ticket has dispatched_at
    assert after.resolve_due == after.dispatched_at + timedelta(hours=4)  # type: ignore[operator]  # a dispatched ticket has dispatched_at
    assert "催办" in [a.detail.split("：")[-1] for a in before.actions if "办结超期" in a.detail]
    assert not any("办结超期" in a.detail for a in after.actions)
    # Both histories replay against the current code.
    replayer = Replayer(workflows=[TicketWorkflow], data_converter=converter())
    for no in (before.ticket.ticket_no, after.ticket.ticket_no):
        history = await env.client.get_workflow_handle(f"ticket-{no}").fetch_history()
        await replayer.replay_workflow(history)
