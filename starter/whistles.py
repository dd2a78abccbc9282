"""Client-side whistle operations shared by the CLI, the demo and tests: blow, act, view."""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio.client import Client

from activities.runtime.calendar_source import calendar_for
from activities.runtime.workflow_client import Unread, query_each
from domain.config import DistrictConfig
from domain.models import Actor
from domain.whistle import (
    WhistleInput,
    WhistleOutcome,
    WhistleRecord,
    WhistleResult,
    plan_whistle,
    workflow_id_for_whistle,
)
from starter.numbered import Numbered
from workflows.whistle import WhistleWorkflow, for_whistle

WHISTLES: Numbered[WhistleRecord, WhistleResult, WhistleOutcome] = Numbered(
    "whistle", "吹哨", WhistleWorkflow.run, WhistleWorkflow.view, workflow_id_for_whistle, for_whistle, letter="W"
)


async def blow(
    client: Client,
    config: DistrictConfig,
    *,
    raised_by: Actor,
    kind: str,
    title: str,
    content: str,
    departments: list[str],
    tickets: list[str] = [],  # noqa: B006
    whistle_no: str | None = None,
) -> WhistleInput:
    """A street blows the whistle: check it, fix its limits, and start its workflow once."""
    now = datetime.now(UTC)
    whistle = plan_whistle(
        config,
        calendar_for(config.calendar, now),
        whistle_no=WHISTLES.new_number(now) if whistle_no is None else whistle_no,
        raised_by=raised_by,
        kind=kind,
        title=title,
        content=content,
        departments=departments,
        tickets=tickets,
    )
    summary = f"{whistle.street}吹哨（{whistle.kind}）：{whistle.title}"
    await WHISTLES.start(client, config, whistle, whistle.whistle_no, WhistleRecord.blow(whistle, now), summary=summary)
    return whistle


act_whistle = WHISTLES.act
view_whistle = WHISTLES.view
whistle_outcome = WHISTLES.outcome


async def list_whistles(client: Client, query: str, limit: int) -> tuple[list[WhistleRecord], list[Unread]]:
    """The whistles `query` finds (newest first, at most `limit`), each as its workflow tells it, and
    those that did not answer in time (their worker stopped): named, never waited for."""
    records, unread = await query_each(client, query, WhistleWorkflow.view, limit=limit)
    return sorted(records, key=lambda r: r.raised_at, reverse=True), unread
