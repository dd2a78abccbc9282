"""市区转办: a ticket beyond the district's powers goes up to the city centre through its adapter;
a ticket the city sends down keeps the city's number (a repeated arrival is the same ticket) and
reports its result back when it closes. With a reply window configured, the city may return or
refuse a ticket sent up (市级退回 / 不予受理, recorded by the shift lead) and the district works it again."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from domain.calendar import Span, Unit
from domain.commands import CityReply, ManualDispatch, SignFor, TransferToCity
from domain.deadlines import ClockKind
from domain.intake import assignment_for
from domain.models import CityAction, Satisfaction, Ticket, TicketSource, TicketStatus
from starter.tickets import ActionFailed, act, outcome, submit
from tests.support.city import with_reply_window
from tests.support.helpers import eventually, person, sample_ticket
from tests.support.ticket_steps import call_back, handle_to_answer
from workflows.ticket import TicketWorkflow


def city_messages(tmp_path: Path) -> list[dict]:
    folder = tmp_path / "city" / "city"
    return [json.loads(p.read_text(encoding="utf-8"))["city"] for p in sorted(folder.glob("*.json"))]


async def test_a_ticket_beyond_the_districts_powers_goes_up_to_the_city(client, config, workers, tmp_path):
    ticket = sample_ticket()
    await submit(client, config, ticket)
    await eventually(client, ticket.ticket_no, lambda r: r.status is TicketStatus.AWAITING_SIGN_FOR)
    clerk, lead = person(config, "cgj_sun"), person(config, "zhangli")
    with pytest.raises(ActionFailed, match="仅限值班长"):
        await act(client, ticket.ticket_no, TicketWorkflow.transfer_to_city, TransferToCity(actor=clerk, reason="x"))
    reason = "涉及跨区河道治理，超出区级职权"
    result = await act(
        client, ticket.ticket_no, TicketWorkflow.transfer_to_city, TransferToCity(actor=lead, reason=reason)
    )
    assert result.status is TicketStatus.TRANSFERRED
    assert (await outcome(client, ticket.ticket_no)).status is TicketStatus.TRANSFERRED
    [message] = city_messages(tmp_path)
    assert message["kind"] == "上转市级" and message["text"] == reason
    assert message["ticket"]["ticket_no"] == ticket.ticket_no
    notices = [
        json.loads(p.read_text(encoding="utf-8"))["notice"] for p in (tmp_path / "cgj" / "notices").glob("*.json")
    ]
    assert [n["kind"] for n in notices] == ["工单改派"]
    with pytest.raises(ActionFailed):
        await act(client, ticket.ticket_no, TicketWorkflow.sign_for, SignFor(actor=clerk))


async def test_a_ticket_from_the_city_keeps_its_number_and_reports_back(client, config, workers, tmp_path):
    city_no = "WHS2026112900123"
    ticket = sample_ticket(ticket_no=city_no).model_copy(update={"source": TicketSource.CITY})
    first = await submit(client, config, ticket)
    again = await submit(client, config, ticket)
    assert first.workflow_id == f"ticket-{city_no}" and again.duplicate
    await eventually(client, city_no, lambda r: r.status is TicketStatus.AWAITING_SIGN_FOR)
    await handle_to_answer(client, config, city_no, "cgj_sun")
    await call_back(client, config, city_no, True, Satisfaction.SATISFIED)
    assert (await outcome(client, city_no)).status is TicketStatus.CLOSED
    [report] = city_messages(tmp_path)
    assert report["kind"] == "办理结果反馈" and report["ticket"]["ticket_no"] == city_no
    assert report["answer"] == "已安排环卫车辆清运完毕" and report["satisfaction"] == "满意"


async def test_the_city_returns_or_refuses_a_ticket_sent_up_and_the_district_works_it_again(
    client, config, workers, tmp_path
):
    config = with_reply_window(config, Span(amount=1, unit=Unit.HOURS))
    ticket = sample_ticket()
    no = ticket.ticket_no
    await submit(client, config, ticket)
    await eventually(client, no, lambda r: r.status is TicketStatus.AWAITING_SIGN_FOR)
    clerk, lead = person(config, "cgj_sun"), person(config, "zhangli")
    await act(client, no, TicketWorkflow.transfer_to_city, TransferToCity(actor=lead, reason="涉及市级审批权限"))
    await eventually(client, no, lambda _: len(city_messages(tmp_path)) == 1)
    with pytest.raises(ActionFailed, match="仅限值班长"):
        await act(client, no, TicketWorkflow.city_reply, CityReply(actor=clerk, reason="x"))

    back = CityReply(actor=lead, reason="属区级事权，请区级办理")
    result = await act(client, no, TicketWorkflow.city_reply, back)
    assert result.status is TicketStatus.AWAITING_DISPATCH
    with pytest.raises(ActionFailed, match="登记市级退回"):  # once back, nothing to return
        await act(client, no, TicketWorkflow.city_reply, back)
    to = assignment_for(config, "cgj")
    await act(client, no, TicketWorkflow.dispatch, ManualDispatch(actor=lead, to=to, note="市级退回后重新派遣"))
    again = await eventually(client, no, lambda r: r.status is TicketStatus.AWAITING_SIGN_FOR)
    assert again.dispatch_round == 2 and again.closed_at is None

    # Sent up again: a new message to the city (not taken for the first one's retry); refused this time.
    await act(client, no, TicketWorkflow.transfer_to_city, TransferToCity(actor=lead, reason="再次上转"))
    await eventually(client, no, lambda _: len(city_messages(tmp_path)) == 2)
    assert [m["text"] for m in city_messages(tmp_path)] in (
        ["涉及市级审批权限", "再次上转"],
        ["再次上转", "涉及市级审批权限"],
    )
    refused = CityReply(actor=lead, action=CityAction.REFUSE, reason="不属于市级受理范围")
    await act(client, no, TicketWorkflow.city_reply, refused)
    record = await eventually(client, no, lambda r: r.status is TicketStatus.AWAITING_DISPATCH)
    on_record = [(a.action, a.detail, a.actor.id if a.actor else None) for a in record.actions]
    assert ("市级退回", "属区级事权，请区级办理", "zhangli") in on_record
    assert ("市级不予受理", "不属于市级受理范围", "zhangli") in on_record
    assert record.transfers == 2
    for _ in range(100):  # the shift lead is told of each, by the notices the workflow sends on
        notices = [p.read_text(encoding="utf-8") for p in (tmp_path / "center").rglob("*.json")]
        if sum("市级退回" in n or "市级不予受理" in n for n in notices) >= 2:
            break
        await asyncio.sleep(0.1)
    assert sum("市级退回" in n or "市级不予受理" in n for n in notices) >= 2


async def test_a_ticket_sent_up_ends_there_once_the_window_passes_or_without_one(client, config, workers):
    windowed = with_reply_window(config, Span(amount=2, unit=Unit.SECONDS))
    lead = person(config, "zhangli")
    late = CityReply(actor=lead, reason="迟到的退回")
    for settings, not_yet in ((windowed, "登记市级退回：.*已上转市级"), (config, "未约定市级答复期限")):
        ticket = sample_ticket()
        await submit(client, settings, ticket)
        await eventually(client, ticket.ticket_no, lambda r: r.status is TicketStatus.AWAITING_SIGN_FOR)
        with pytest.raises(ActionFailed, match=not_yet):  # not sent up, or sent up with no window
            await act(client, ticket.ticket_no, TicketWorkflow.city_reply, late)
        up = TransferToCity(actor=lead, reason="涉及市级审批权限")
        await act(client, ticket.ticket_no, TicketWorkflow.transfer_to_city, up)
        assert (await outcome(client, ticket.ticket_no)).status is TicketStatus.TRANSFERRED
        with pytest.raises(ActionFailed, match="已结束"):  # the window has passed: it ended with the city
            await act(client, ticket.ticket_no, TicketWorkflow.city_reply, late)


async def test_a_ticket_the_city_sends_down_keeps_the_citys_own_deadline(client, config, workers):
    city_no = "WHS2026120400777"
    base = sample_ticket(ticket_no=city_no)
    due = base.received_at + timedelta(days=2, hours=3)
    ticket = base.model_copy(update={"source": TicketSource.CITY, "city_due_at": due})
    await submit(client, config, Ticket.model_validate(ticket.model_dump()))
    record = await eventually(client, city_no, lambda r: r.status is TicketStatus.AWAITING_SIGN_FOR)
    assert record.resolve_due == due  # the city's deadline, not the tier's
    assert record.clock(ClockKind.RESOLVE).due_at == due
    assert "市级办理时限" in record.actions[0].detail
    # Only a ticket the city sent down carries one; and it lies after the ticket was received.
    for source, when, why in (
        (TicketSource.HOTLINE, due, "仅市级转办"),
        (TicketSource.CITY, base.received_at, "晚于受理时间"),
    ):
        with pytest.raises(ValidationError, match=why):
            Ticket.model_validate({**base.model_dump(), "source": source, "city_due_at": when})


async def test_the_city_redispatches_a_ticket_it_sent_down_that_the_district_closed(client, config, workers, tmp_path):
    config = with_reply_window(config, Span(amount=1, unit=Unit.HOURS))
    city_no = "WHS2026120400888"
    ticket = sample_ticket(ticket_no=city_no).model_copy(update={"source": TicketSource.CITY})
    await submit(client, config, ticket)
    await eventually(client, city_no, lambda r: r.status is TicketStatus.AWAITING_SIGN_FOR)
    lead = person(config, "zhangli")
    again = CityReply(actor=lead, action=CityAction.REDISPATCH, reason="诉求人向市级反映问题仍未解决")
    with pytest.raises(ActionFailed, match="登记市级重派"):  # not closed yet
        await act(client, city_no, TicketWorkflow.city_reply, again)
    await handle_to_answer(client, config, city_no, "cgj_sun")
    await call_back(client, config, city_no, True, Satisfaction.SATISFIED)
    await eventually(client, city_no, lambda _: len(city_messages(tmp_path)) == 1)  # the result, reported
    result = await act(client, city_no, TicketWorkflow.city_reply, again)
    assert result.status is TicketStatus.DISPATCHING
    record = await eventually(client, city_no, lambda r: r.status is TicketStatus.AWAITING_SIGN_FOR)
    assert record.dispatch_round == 2 and record.redo_count == 1 and record.closed_at is None
    assert record.assignment is not None and record.assignment.department == "cgj"
    assert any(a.action == "市级重派" and a.actor and a.actor.id == "zhangli" for a in record.actions)
    # Done again: the city hears the new result as a message of its own.
    await handle_to_answer(client, config, city_no, "cgj_sun")
    await call_back(client, config, city_no, True, Satisfaction.SATISFIED)
    await eventually(client, city_no, lambda _: len(city_messages(tmp_path)) == 2)
    assert [m["kind"] for m in city_messages(tmp_path)] == ["办理结果反馈", "办理结果反馈"]
    # A ticket of the hotline's own is never re-dispatched by the city.
    own = sample_ticket()
    await submit(client, config, own)
    await eventually(client, own.ticket_no, lambda r: r.status is TicketStatus.AWAITING_SIGN_FOR)
    with pytest.raises(ActionFailed, match="仅市级转办"):
        await act(client, own.ticket_no, TicketWorkflow.city_reply, again)
