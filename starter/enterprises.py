"""Client-side operations of the red service team (红色服务团), shared by the CLI, the demo and tests:
record a visit (starting the enterprise's workflow with it, atomically), act on items, read one
enterprise's record or all of them, and read an items file."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml
from temporalio.client import Client, WithStartWorkflowOperation, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy

from activities.runtime.calendar_source import calendar_for
from activities.runtime.workflow_client import query_view
from domain.config import DistrictConfig
from domain.enterprise import (
    EnterpriseInput,
    EnterpriseRecord,
    EnterpriseResult,
    ItemSpec,
    RecordVisit,
    workflow_id_for_enterprise,
)
from domain.enterprise_plan import item_deadlines, item_spec, plan_visit
from domain.intake import TicketRejected
from domain.limits import check_payload
from domain.models import Actor, Enterprise
from starter.numbered import Numbered
from starter.tickets import ActionFailed, retry_not_ready
from workflows.enterprise import EnterpriseServiceWorkflow, for_enterprise

WORKFLOW_TYPE = "EnterpriseServiceWorkflow"
# An enterprise's workflow starts with its first visit (update-with-start, below), never by itself.
ENTERPRISES: Numbered[EnterpriseRecord, EnterpriseResult, None] = Numbered(
    "enterprise",
    "企业",
    EnterpriseServiceWorkflow.run,
    EnterpriseServiceWorkflow.view,
    workflow_id_for_enterprise,
    for_enterprise,
)


class ItemsFileError(ValueError):
    """An items file that cannot be read; the message names the file, line and field."""


def read_items_file(path: Path, config: DistrictConfig) -> list[ItemSpec]:
    """Items agreed at a visit, as a YAML list of mappings (need, category, unit, person, measures,
    within or due_on). Every item is checked; the first problem is reported with its line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ItemsFileError(f"{path}: {err.strerror or err}") from None
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ItemsFileError(f"{where}: not valid YAML") from None
    if root is None:
        return []
    if not isinstance(root, yaml.SequenceNode):
        raise ItemsFileError(f"{path}:{root.start_mark.line + 1}: expected a list of items")
    items = []
    for i, node in enumerate(root.value):
        line = node.start_mark.line + 1
        raw: Any = yaml.safe_load(yaml.serialize(node))
        if not isinstance(raw, dict):
            raise ItemsFileError(f"{path}:{line}: item {i + 1} is not a mapping")
        try:
            items.append(item_spec(config, {str(k): v for k, v in raw.items()}, f"items.{i}"))
        except TicketRejected as err:
            raise ItemsFileError(f"{path}:{line}: {err}") from None
    return items


async def record_visit(
    client: Client,
    config: DistrictConfig,
    *,
    actor: Actor,
    enterprise: Enterprise,
    visited_on: date,
    members: list[str],
    met: list[str] = [],  # noqa: B006
    policies: list[str] = [],  # noqa: B006
    summary: str = "",
    items: list[ItemSpec] = [],  # noqa: B006
    history_limit: int | None = None,
) -> EnterpriseResult:
    """走访: checked in full first, then recorded on the enterprise's workflow, which the same call
    starts if this is the enterprise's first visit (update-with-start: both or neither)."""
    now = datetime.now(UTC)
    calendar = calendar_for(config.calendar, now)
    visit = plan_visit(
        config,
        calendar,
        now,
        actor=actor,
        enterprise=enterprise,
        visited_on=visited_on,
        members=members,
        met=met,
        policies=policies,
        summary=summary,
        items=items,
    )
    deadlines = item_deadlines(config, calendar)
    first = EnterpriseInput(
        enterprise=enterprise,
        deadlines=deadlines,
        history_limit=history_limit or config.red_service.history_limit,
        delivery_alert_after=config.center.delivery_alert_after,
    )
    check_payload(visit, RecordVisit, "visit")  # nothing oversized reaches the history
    check_payload(first, EnterpriseInput, "enterprise")
    update_id = str(uuid.uuid4())

    def send() -> Awaitable[EnterpriseResult]:
        start = WithStartWorkflowOperation(
            EnterpriseServiceWorkflow.run,
            first,
            id=workflow_id_for_enterprise(enterprise.id),
            task_queue=config.center.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
            search_attributes=for_enterprise(EnterpriseRecord.open(enterprise, deadlines, now)),
            static_summary=f"{config.red_service.team}：{enterprise.name}",
        )
        return client.execute_update_with_start_workflow(
            EnterpriseServiceWorkflow.record_visit, visit, id=update_id, start_workflow_operation=start
        )

    try:
        return await retry_not_ready(send)
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        raise ActionFailed(getattr(cause, "message", None) or str(cause or err)) from None


act_enterprise = ENTERPRISES.act
view_enterprise = ENTERPRISES.view


async def all_enterprises(client: Client, *, only_open: bool = False) -> list[EnterpriseRecord]:
    """Every served enterprise's record (from visibility, then each one's own query), by id."""
    query = f"WorkflowType = '{WORKFLOW_TYPE}' AND ExecutionStatus = 'Running'"
    if only_open:
        query += " AND HotlineStatus = '跟进中'"
    ids = sorted({wf.id async for wf in client.list_workflows(query)})
    records = [await query_view(client.get_workflow_handle(i), EnterpriseServiceWorkflow.view, i) for i in ids]
    return records
