"""并单 on a real dev server (the repeat is found through visibility): a repeat of an open ticket is
merged instead of dispatched again; the main answer reaches it and its citizen is called back; the
shift lead can merge and unmerge by hand."""

from __future__ import annotations

import asyncio
import json

import pytest
from temporalio.client import Client

from domain import search_attributes as sa
from domain.commands import LinkTicket, RecordCallback, SignFor, Unlink, VerifyTicket
from domain.intake import workflow_id_for
from domain.models import Callback, Citizen, Satisfaction, Ticket, TicketStatus, VerifyDecision
from starter.tickets import ActionFailed, act, outcome, submit, view
from tests.support.helpers import eventually, person, sample_ticket
from tests.support.ticket_steps import call_back, handle_to_answer
from workflows.ticket import TicketWorkflow

pytestmark = pytest.mark.workers(replaying=True)


def fresh_main() -> Ticket:
    """A ticket at an address no other test uses (the dev server is shared between tests)."""
    ticket = sample_ticket()
    building = int(ticket.ticket_no[-6:], 16) % 100000
    return ticket.model_copy(
        update={"citizen": ticket.citizen.model_copy(update={"address": f"滨河街道镇北社区{building}号楼"})}
    )


def repeat_of(ticket: Ticket, address: str, name: str = "李四", phone: str = "13900001111") -> Ticket:
    """Another citizen calling about the same matter, the address written differently."""
    other = sample_ticket(ticket.category, ticket.street)
    return other.model_copy(update={"citizen": Citizen(name=name, phone=phone, address=address)})


async def visible(client: Client, ticket_no: str) -> None:
    """Wait until visibility lists the ticket (a repeat is found through it)."""
    query = f"WorkflowId = '{workflow_id_for(ticket_no)}' AND {sa.MATCH_KEY.name} IS NOT NULL"
    for _ in range(100):
        if [w async for w in client.list_workflows(query)]:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{ticket_no} never became visible")


async def test_a_repeat_is_merged_answered_from_the_main_ticket_and_called_back(client, config, workers, tmp_path):
    main = fresh_main()
    await submit(client, config, main)
    await eventually(client, main.ticket_no, lambda r: r.status is TicketStatus.AWAITING_SIGN_FOR)
    await visible(client, main.ticket_no)
    written_differently = main.citizen.address.replace("镇北社区", " 镇北社区 ").translate(
        str.maketrans("0123456789", "０１２３４５６７８９")
    )
    repeat = repeat_of(main, written_differently)
    await submit(client, config, repeat)

    merged = await eventually(client, repeat.ticket_no, lambda r: r.status is TicketStatus.MERGED)
    assert merged.merged_into == workflow_id_for(main.ticket_no) and merged.assignment is None
    await eventually(client, main.ticket_no, lambda r: r.linked == [workflow_id_for(repeat.ticket_no)])
    assert len(list((tmp_path / "cgj" / "tickets").glob("*.json"))) == 1  # not dispatched again

    await handle_to_answer(client, config, main.ticket_no, "cgj_sun")
    answered = await eventually(client, repeat.ticket_no, lambda r: r.status is TicketStatus.AWAITING_CALLBACK)
    assert answered.answer.text == "已安排环卫车辆清运完毕" and "主单答复" in [a.action for a in answered.actions]
    for ticket in (main, repeat):
        await call_back(client, config, ticket.ticket_no, True, Satisfaction.SATISFIED)
        assert (await outcome(client, ticket.ticket_no)).status is TicketStatus.CLOSED


async def test_a_repeat_unsatisfied_with_the_main_answer_goes_its_own_way(client, config, workers):
    main = fresh_main()
    await submit(client, config, main)
    await eventually(client, main.ticket_no, lambda r: r.status is TicketStatus.AWAITING_SIGN_FOR)
    await visible(client, main.ticket_no)
    repeat = repeat_of(main, main.citizen.address)
    await submit(client, config, repeat)
    await eventually(client, repeat.ticket_no, lambda r: r.status is TicketStatus.MERGED)
    await handle_to_answer(client, config, main.ticket_no, "cgj_sun")
    await eventually(client, repeat.ticket_no, lambda r: r.status is TicketStatus.AWAITING_CALLBACK)
    await call_back(client, config, repeat.ticket_no, False, Satisfaction.UNSATISFIED)
    redo = VerifyTicket(actor=person(config, "zhangli"), decision=VerifyDecision.REDO, reason="单独办理")
    await act(client, repeat.ticket_no, TicketWorkflow.verify, redo)
    record = await eventually(client, repeat.ticket_no, lambda r: r.status is TicketStatus.AWAITING_SIGN_FOR)
    assert record.assignment.department == "cgj" and record.merged_into is None


async def test_the_shift_lead_merges_and_unmerges_by_hand(client, config, workers, tmp_path):
    main, other = fresh_main(), sample_ticket()
    other = other.model_copy(update={"citizen": Citizen(name="赵六", phone="13700002222", address="别处")})
    for ticket in (main, other):
        await submit(client, config, ticket)
        await eventually(client, ticket.ticket_no, lambda r: r.status is TicketStatus.AWAITING_SIGN_FOR)
    lead, clerk = person(config, "zhangli"), person(config, "cgj_sun")
    with pytest.raises(ActionFailed, match="仅限值班长"):
        await act(client, other.ticket_no, TicketWorkflow.link, LinkTicket(actor=clerk, main_ticket=main.ticket_no))
    with pytest.raises(ActionFailed, match="不能并入自身"):
        await act(client, other.ticket_no, TicketWorkflow.link, LinkTicket(actor=lead, main_ticket=other.ticket_no))
    await act(client, other.ticket_no, TicketWorkflow.link, LinkTicket(actor=lead, main_ticket=main.ticket_no))
    merged = await eventually(client, other.ticket_no, lambda r: r.status is TicketStatus.MERGED and not r.outbox)
    assert not any(c.running for c in merged.clocks)
    with pytest.raises(ActionFailed, match="仅在「待签收」时可签收"):
        await act(client, other.ticket_no, TicketWorkflow.sign_for, SignFor(actor=clerk))
    notices = [
        json.loads(p.read_text(encoding="utf-8"))["notice"] for p in (tmp_path / "cgj" / "notices").glob("*.json")
    ]
    assert [n["kind"] for n in notices] == ["工单改派"]
    await eventually(client, main.ticket_no, lambda r: workflow_id_for(other.ticket_no) in r.linked)

    await act(client, other.ticket_no, TicketWorkflow.unlink, Unlink(actor=lead, note="经核实为不同事项"))
    record = await eventually(client, other.ticket_no, lambda r: r.status is TicketStatus.AWAITING_SIGN_FOR)
    assert record.dispatch_round == 2 and "解除并单" in [a.action for a in record.actions]
    await eventually(client, main.ticket_no, lambda r: r.linked == [])
    callback = RecordCallback(
        actor=person(config, "liumei"), callback=Callback(resolved=True, satisfaction=Satisfaction.SATISFIED)
    )
    with pytest.raises(ActionFailed, match="仅在「待回访」时可回访"):
        await act(client, other.ticket_no, TicketWorkflow.record_callback, callback)
    assert (await view(client, main.ticket_no)).status is TicketStatus.AWAITING_SIGN_FOR
