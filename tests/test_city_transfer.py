"""市区转办: a ticket beyond the district's powers goes up to the city centre through its adapter;
a ticket the city sends down keeps the city's number (a repeated arrival is the same ticket) and
reports its result back when it closes."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.client import Client

from domain.commands import SignFor, TransferToCity
from domain.config import DistrictConfig
from domain.models import Satisfaction, TicketSource, TicketStatus
from starter.tickets import ActionFailed, act, outcome, submit
from tests.conftest import make_config
from tests.helpers import eventually, person, sample_ticket
from tests.test_ticket_lifecycle import call_back, handle_to_answer
from worker import build_workers
from workflows.ticket import TicketWorkflow

pytestmark = pytest.mark.integration


@pytest.fixture
def config(tmp_path: Path) -> DistrictConfig:
    return make_config(tmp_path)


@pytest.fixture
async def workers(client: Client, config: DistrictConfig) -> AsyncIterator[None]:
    async with build_workers(client, config, departments=[d.code for d in config.departments], center=True):
        yield


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
