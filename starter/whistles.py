"""Client-side whistle operations shared by the CLI, the demo and tests: blow, act, view."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

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
from starter.calendar_source import calendar_for
from starter.tickets import ActionFailed, act_on
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
        whistle_no=whistle_no or new_whistle_no(now),
        raised_by=raised_by,
        kind=kind,
        title=title,
        content=content,
        departments=departments,
        tickets=tickets,
    )
    initial = WhistleRecord.blow(whistle, now)
    try:
        await client.start_workflow(
            WhistleWorkflow.run,
            whistle,
            id=workflow_id_for_whistle(whistle.whistle_no),
            task_queue=config.center.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            search_attributes=for_whistle(initial),
            static_summary=f"{whistle.street}吹哨（{whistle.kind}）：{whistle.title}",
        )
    except WorkflowAlreadyStartedError:
        raise ActionFailed(f"吹哨 {whistle.whistle_no} 已存在") from None
    return whistle


def _handle(client: Client, whistle_no: str) -> Any:
    workflow_id = whistle_no if whistle_no.startswith("whistle-") else workflow_id_for_whistle(whistle_no)
    return client.get_workflow_handle(workflow_id)


async def act_whistle(client: Client, whistle_no: str, update: Any, command: Any) -> WhistleResult:
    return await act_on(_handle(client, whistle_no), update, command, f"吹哨 {whistle_no}")


async def view_whistle(client: Client, whistle_no: str) -> WhistleRecord:
    try:
        return await _handle(client, whistle_no).query(WhistleWorkflow.view)
    except RPCError as err:
        if err.status is RPCStatusCode.NOT_FOUND:
            raise ActionFailed(f"吹哨 {whistle_no} 不存在") from None
        raise


async def whistle_outcome(client: Client, whistle_no: str) -> WhistleOutcome:
    workflow_id = _handle(client, whistle_no).id
    return await client.get_workflow_handle_for(WhistleWorkflow.run, workflow_id).result()
