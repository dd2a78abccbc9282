"""Client-side campaigns (专项行动 / 专项推进): start, act, view."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from temporalio.client import Client

from activities.runtime.calendar_source import calendar_for
from domain.calendar import Span, Unit, WorkCalendar, add
from domain.campaign import (
    CampaignInput,
    CampaignKind,
    CampaignRecord,
    CampaignSummary,
    TicketFilter,
    workflow_id_for_campaign,
)
from domain.config import DistrictConfig
from domain.intake import TicketRejected
from domain.models import Actor, Role
from starter.numbered import Numbered
from workflows.campaign import CampaignWorkflow, for_campaign

CAMPAIGNS: Numbered[CampaignRecord, Any, CampaignSummary] = Numbered(
    "campaign", "专项", CampaignWorkflow.run, CampaignWorkflow.view, workflow_id_for_campaign, for_campaign, letter="C"
)
HOURLY = Span(amount=1, unit=Unit.HOURS)


async def start_campaign(
    client: Client,
    config: DistrictConfig,
    *,
    started_by: Actor,
    kind: CampaignKind,
    title: str,
    filter: TicketFilter,
    within: Span,
    target_percent: int = 100,
    refresh: Span = HOURLY,
    campaign_no: str | None = None,
) -> CampaignInput:
    if started_by.role is not Role.SHIFT_LEAD:
        raise TicketRejected(f"actor: {started_by.label} 不是值班长，不能启动{kind.value}")
    if kind is CampaignKind.BACKLOG_PUSH and not filter.department:
        raise TicketRejected("department: 专项推进 targets one department's overdue tickets")
    if filter.department and filter.department not in {d.code for d in config.departments}:
        raise TicketRejected(f"department: unknown '{filter.department}'")
    if filter.category and filter.category not in {c.name for c in config.categories}:
        raise TicketRejected(f"category: unknown '{filter.category}'")
    if filter.street and filter.street not in {s.name for s in config.streets}:
        raise TicketRejected(f"street: unknown '{filter.street}'")
    now = datetime.now(UTC)
    calendar = calendar_for(config.calendar, now)
    deadline, _ = add(WorkCalendar(calendar), now, within)
    campaign = CampaignInput(
        campaign_no=CAMPAIGNS.new_number(now) if campaign_no is None else campaign_no,
        kind=kind,
        title=title,
        started_by=started_by,
        filter=filter.model_copy(update={"overdue_only": filter.overdue_only or kind is CampaignKind.BACKLOG_PUSH}),
        target_percent=target_percent,
        deadline=deadline,
        refresh=refresh,
    )
    record = CampaignRecord.start(campaign, now)
    what = f"{kind.value} {campaign.campaign_no}"
    await CAMPAIGNS.start(
        client, config, campaign, campaign.campaign_no, record, summary=f"{kind.value}：{title}", what=what
    )
    return campaign


act_campaign = CAMPAIGNS.act
view_campaign = CAMPAIGNS.view
campaign_summary = CAMPAIGNS.outcome
