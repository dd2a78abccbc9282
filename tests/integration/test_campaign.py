"""专项行动 and 专项推进 on a real dev server (membership comes from visibility): tickets matching
the filter join, later ones too; progress follows them; a backlog push escalates what remains."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import Client

from domain.calendar import Span, Unit
from domain.campaign import CampaignKind, CampaignStatus, TicketFilter
from domain.commands import CloseCampaign, RecordMinutes
from domain.config import DistrictConfig
from domain.deadlines import Tier, TierMatch
from domain.intake import TicketRejected, workflow_id_for
from domain.models import Satisfaction, TicketStatus
from starter.campaigns import act_campaign, campaign_summary, start_campaign, view_campaign
from starter.tickets import ActionFailed, submit
from tests.support.district import make_config
from tests.support.helpers import eventually, person, sample_ticket
from tests.support.ticket_steps import call_back, handle_to_answer
from workflows.campaign import CampaignWorkflow

SECOND = Span(amount=1, unit=Unit.SECONDS)


@pytest.fixture
def config(tmp_path: Path) -> DistrictConfig:
    fast = Tier(name="紧急", match=TierMatch(urgency=["紧急"]), sign_for="1s", contact="2s", resolve="3s")
    config = make_config(tmp_path)
    return config.model_copy(
        update={"deadlines": config.deadlines.model_copy(update={"tiers": [fast, *config.deadlines.tiers[1:]]})}
    )


def property_ticket(urgency: str = "一般"):
    """物业服务 in 新华街道 → 新华街道办事处 (xhjd): no other test files tickets there."""
    return sample_ticket("物业服务", "新华街道", urgency=urgency, title="物业不作为", content="电梯常坏无人修。")


async def until_members(client: Client, campaign_no: str, count: int):
    import asyncio

    for _ in range(100):
        record = await view_campaign(client, campaign_no)
        if len(record.members) >= count:
            return record
        await asyncio.sleep(0.2)
    raise AssertionError(f"campaign {campaign_no} never had {count} members")


async def test_a_special_action_follows_its_tickets_and_those_that_arrive_later(client, config, workers):
    first, second = property_ticket(), property_ticket()
    for ticket in (first, second):
        await submit(client, config, ticket)
        await eventually(client, ticket.ticket_no, lambda r: r.status is TicketStatus.AWAITING_SIGN_FOR)
    lead = person(config, "zhangli")
    with pytest.raises(TicketRejected, match="不是值班长"):
        await start_campaign(
            client, config, started_by=person(config, "xhjd_zhu"), kind=CampaignKind.SPECIAL_ACTION,
            title="x", filter=TicketFilter(category="物业服务"), within=Span(amount=1, unit=Unit.DAYS),
        )  # fmt: skip
    campaign = await start_campaign(
        client, config, started_by=lead, kind=CampaignKind.SPECIAL_ACTION, title="物业服务专项整治",
        filter=TicketFilter(category="物业服务", street="新华街道"), within=Span(amount=1, unit=Unit.DAYS),
        refresh=SECOND,
    )  # fmt: skip
    no = campaign.campaign_no
    await until_members(client, no, 2)
    later = property_ticket()
    await submit(client, config, later)
    record = await until_members(client, no, 3)
    assert {m.workflow_id for m in record.members} == {workflow_id_for(t.ticket_no) for t in (first, second, later)}

    await act_campaign(
        client, no, CampaignWorkflow.record_meeting, RecordMinutes(actor=lead, minutes="明确物业企业整改时限")
    )
    await handle_to_answer(client, config, first.ticket_no, "xhjd_zhu")
    await call_back(client, config, first.ticket_no, True, Satisfaction.SATISFIED)
    summary = await act_campaign(client, no, CampaignWorkflow.close, CloseCampaign(actor=lead, note="阶段性收尾"))
    assert (summary.total, summary.closed) == (3, 1) and not summary.target_reached
    assert sorted(summary.remaining) == sorted([second.ticket_no, later.ticket_no])
    record = await view_campaign(client, no)
    assert record.status is CampaignStatus.CLOSED and record.minutes == "明确物业企业整改时限"
    assert (await campaign_summary(client, no)).total == 3
    with pytest.raises(ActionFailed, match="已结束"):
        await act_campaign(client, no, CampaignWorkflow.close, CloseCampaign(actor=lead))


async def test_a_backlog_push_escalates_what_it_did_not_clear(client, config, workers, tmp_path):
    tickets = [property_ticket("紧急") for _ in range(2)]
    for ticket in tickets:
        await submit(client, config, ticket)
        await eventually(client, ticket.ticket_no, lambda r: r.overdue)
    with pytest.raises(TicketRejected, match="one department"):
        await start_campaign(
            client, config, started_by=person(config, "zhangli"), kind=CampaignKind.BACKLOG_PUSH, title="x",
            filter=TicketFilter(), within=SECOND,
        )  # fmt: skip
    push = await start_campaign(
        client, config, started_by=person(config, "zhangli"), kind=CampaignKind.BACKLOG_PUSH,
        title="新华街道超期工单清零", filter=TicketFilter(department="xhjd"), within=Span(amount=4, unit=Unit.SECONDS),
        refresh=SECOND,
    )  # fmt: skip
    summary = await campaign_summary(client, push.campaign_no)
    assert summary.total >= 2 and not summary.target_reached
    assert {t.ticket_no for t in tickets} <= set(summary.remaining)
    notices = [
        json.loads(p.read_text(encoding="utf-8"))["notice"] for p in (tmp_path / "center" / "notices").glob("*.json")
    ]
    pushed = [n for n in notices if n["level"] == "专项督办"]
    assert len(pushed) == 1 and all(t.ticket_no in pushed[0]["text"] for t in tickets)
    assert "leadership" in pushed[0]["audience"]
