"""What starting and reading any of our workflows has in common: started once per id, ever; a
missing workflow reported in one line."""

from __future__ import annotations

from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.common import TypedSearchAttributes, WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from domain.limits import check_payload
from starter.tickets import ActionFailed, checked_number


async def start_once(
    client: Client,
    run: Any,
    argument: Any,
    *,
    workflow_id: str,
    task_queue: str,
    search_attributes: TypedSearchAttributes,
    summary: str,
    what: str,
) -> None:
    check_payload(argument, type(argument), what)  # nothing oversized reaches the history
    try:
        await client.start_workflow(
            run,
            argument,
            id=workflow_id,
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            search_attributes=search_attributes,
            static_summary=summary,
        )
    except WorkflowAlreadyStartedError:
        raise ActionFailed(f"{what} 已存在") from None


async def query_view(handle: WorkflowHandle[Any, Any], query: Any, what: str) -> Any:
    try:
        return await handle.query(query)
    except RPCError as err:
        if err.status is RPCStatusCode.NOT_FOUND:
            raise ActionFailed(f"{what} 不存在") from None
        raise


def handle_by_number(client: Client, number: str, prefix: str) -> WorkflowHandle[Any, Any]:
    """A handle from a business number (ticket, whistle, meeting, campaign) or its full workflow id."""
    return client.get_workflow_handle(checked_number(number, prefix, "编号"))
