"""Reports read each ticket's facts from its search attributes: on the dev server, tickets run through
real workflows publish them at the steps that decide them, and visibility lists them back."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest
from temporalio.client import Client

from activities.reports.source import open_ticket_facts, ticket_facts
from domain import search_attributes as sa
from domain.commands import ContactCitizen, Decide, GiveAnswer, RecordCallback, RequestReturn, SignFor
from domain.config import DistrictConfig
from domain.facts import TicketFacts
from domain.intake import assignment_for
from domain.models import Answer, Callback, Satisfaction, TicketStatus
from starter.tickets import act, submit
from tests.support.helpers import eventually, person, sample_ticket
from workflows.ticket import TicketWorkflow

pytestmark = pytest.mark.workers(departments=["cgj", "bhjd"])


async def facts_when(client: Client, since: datetime, wanted: dict[str, object]) -> dict[str, TicketFacts]:
    """Visibility is eventually consistent: list until every wanted ticket shows its final state."""
    deadline = time.monotonic() + 20
    while True:
        found = {f.ticket_no: f for f in await ticket_facts(client, since, datetime.now(UTC) + timedelta(minutes=1))}
        if all(no in found and found[no].status == status for no, status in wanted.items()):
            return found
        assert time.monotonic() < deadline, f"visibility never showed {wanted}: {found}"
        await asyncio.sleep(0.2)


async def test_a_closed_ticket_and_a_returned_one_publish_their_facts(
    client: Client, config: DistrictConfig, workers: None
) -> None:
    since = datetime.now(UTC) - timedelta(seconds=5)
    closed, returned = sample_ticket(), sample_ticket()
    for ticket in (closed, returned):
        await submit(client, config, ticket)
        await eventually(client, ticket.ticket_no, lambda r: r.status is TicketStatus.AWAITING_SIGN_FOR)
    clerk, lead, operator = person(config, "cgj_sun"), person(config, "zhangli"), person(config, "liumei")

    no = closed.ticket_no
    await act(client, no, TicketWorkflow.sign_for, SignFor(actor=clerk))
    await act(client, no, TicketWorkflow.contact_citizen, ContactCitizen(actor=clerk))
    answer = Answer(text="已清运", resolved=True, evidence=["photo.jpg"])
    await act(client, no, TicketWorkflow.answer, GiveAnswer(actor=clerk, answer=answer))
    callback = Callback(resolved=True, satisfaction=Satisfaction.BASICALLY_SATISFIED)
    await act(client, no, TicketWorkflow.record_callback, RecordCallback(actor=operator, callback=callback))

    no = returned.ticket_no
    await act(client, no, TicketWorkflow.sign_for, SignFor(actor=clerk))
    result = await act(client, no, TicketWorkflow.request_return, RequestReturn(actor=clerk, reason="属街道职责"))
    decide = Decide(actor=lead, approval_id=result.approval_id, reassign_to=assignment_for(config, "bhjd"))
    await act(client, no, TicketWorkflow.approve, decide)
    await eventually(client, no, lambda r: r.status is TicketStatus.AWAITING_SIGN_FOR and r.dispatch_round == 2)

    found = await facts_when(client, since, {closed.ticket_no: TicketStatus.CLOSED.value, returned.ticket_no: "待签收"})
    done = found[closed.ticket_no]
    assert (done.department, done.street, done.category) == ("cgj", "滨河街道", "市容环卫")
    assert (done.signed_on_time, done.contacted_on_time, done.answered_on_time) == (True, True, True)
    assert (done.resolved, done.satisfaction) == (True, Satisfaction.BASICALLY_SATISFIED)
    assert done.closed_at is not None and (done.return_count, done.extension_count, done.redo_count) == (0, 0, 0)
    moved = found[returned.ticket_no]
    assert (moved.department, moved.return_count, moved.closed_at) == ("bhjd", 1, None)
    assert moved.signed_on_time is None  # the new round's clocks have not stopped yet
    assert returned.ticket_no in {f.ticket_no for f in await open_ticket_facts(client)}
    # The reports' fast listing reads the same facts as the SDK's typed listing of the same rows.
    for no in (closed.ticket_no, returned.ticket_no):
        [typed] = [wf async for wf in client.list_workflows(f"WorkflowId = 'ticket-{no}'")]
        assert found[no] == sa.facts_of(typed.id, typed.typed_search_attributes)
    # A window that ended before these tickets were received does not list them.
    earlier = await ticket_facts(client, since - timedelta(days=2), since - timedelta(days=1))
    assert not {closed.ticket_no, returned.ticket_no} & {f.ticket_no for f in earlier}
