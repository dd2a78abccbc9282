"""The centre's work started as several tests start it: a work-advance whistle of 滨河街道 on zjj and
cgj, and a campaign over 30 days."""

from __future__ import annotations

from typing import Any

from temporalio.client import Client

from activities.runtime.settings import actor_for
from domain.calendar import Span, Unit
from domain.campaign import CampaignKind, TicketFilter
from domain.config import DistrictConfig
from starter.campaigns import start_campaign
from starter.whistles import blow


async def work_advance(
    client: Client,
    config: DistrictConfig,
    *,
    title: str = "管网改造受阻",
    content: str = "需住建、城管现场协调",
    **more: Any,
) -> Any:
    """滨河街道 blows a work-advance (推进) whistle on zjj and cgj (报到 in 1 hour, 答卷 in 3 working days)."""
    return await blow(
        client,
        config,
        raised_by=actor_for(config, "bhjd_street"),
        kind="推进",
        title=title,
        content=content,
        departments=["zjj", "cgj"],
        **more,
    )


async def campaign(
    client: Client, config: DistrictConfig, kind: CampaignKind, title: str, filter: TicketFilter, campaign_no: str
) -> Any:
    """A campaign started by zhangli over the next 30 days."""
    return await start_campaign(
        client,
        config,
        started_by=actor_for(config, "zhangli"),
        kind=kind,
        title=title,
        filter=filter,
        within=Span(amount=30, unit=Unit.DAYS),
        campaign_no=campaign_no,
    )
