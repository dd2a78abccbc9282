"""Client-side whistle operations shared by the CLI, the demo and tests: blow, act, view."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from temporalio.client import Client

from activities.runtime.calendar_source import calendar_for
from activities.runtime.workflow_client import Unread, handle_by_number, query_each, query_view, start_once
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
from starter.tickets import act_on
from workflows.whistle import WhistleWorkflow, for_whistle


def new_whistle_no(now: datetime | None = None) -> str:
    return f"W{(now or datetime.now(UTC)):%Y%m%d%H%M%S%f}"[:-3]


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
        whistle_no=new_whistle_no(now) if whistle_no is None else whistle_no,
        raised_by=raised_by,
        kind=kind,
        title=title,
        content=content,
        departments=departments,
        tickets=tickets,
    )
    await start_once(
        client,
        WhistleWorkflow.run,
        whistle,
        workflow_id=workflow_id_for_whistle(whistle.whistle_no),
        task_queue=config.center.task_queue,
        search_attributes=for_whistle(WhistleRecord.blow(whistle, now)),
        summary=f"{whistle.street}吹哨（{whistle.kind}）：{whistle.title}",
        what=f"吹哨 {whistle.whistle_no}",
    )
    return whistle


def _handle(client: Client, whistle_no: str) -> Any:
    return handle_by_number(client, whistle_no, "whistle")


async def act_whistle(client: Client, whistle_no: str, update: Any, command: Any) -> WhistleResult:
    result: WhistleResult = await act_on(_handle(client, whistle_no), update, command, f"吹哨 {whistle_no}")
    return result


async def view_whistle(client: Client, whistle_no: str) -> WhistleRecord:
    return await query_view(_handle(client, whistle_no), WhistleWorkflow.view, f"吹哨 {whistle_no}")


async def whistle_outcome(client: Client, whistle_no: str) -> WhistleOutcome:
    workflow_id = _handle(client, whistle_no).id
    return await client.get_workflow_handle_for(WhistleWorkflow.run, workflow_id).result()


async def list_whistles(client: Client, query: str, limit: int) -> tuple[list[WhistleRecord], list[Unread]]:
    """The whistles `query` finds (newest first, at most `limit`), each as its workflow tells it, and
    those that did not answer in time (their worker stopped): named, never waited for."""
    records, unread = await query_each(client, query, WhistleWorkflow.view, limit=limit)
    return sorted(records, key=lambda r: r.raised_at, reverse=True), unread
