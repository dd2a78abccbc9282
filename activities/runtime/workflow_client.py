"""What starting and reading any of our workflows has in common: started once per id, ever; a
missing workflow reported in one line."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from temporalio.client import Client, WorkflowHandle, WorkflowQueryFailedError
from temporalio.common import TypedSearchAttributes, WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from domain.limits import check_payload

T = TypeVar("T")


class ActionFailed(Exception):
    """An action the workflow refused, or a ticket that does not exist; one line of Chinese."""


# A number, or an automatic one (AUTO-<ticket>); never starting with a dot (as domain.models.TicketNo).
_NUMBER = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$")


def checked_number(number: str, prefix: str, what: str) -> str:
    """The workflow id of a business number (or of a workflow id given as such); a number outside
    the safe alphabet is refused in one line, before the server is asked."""
    bare = number.removeprefix(f"{prefix}-")
    if not _NUMBER.fullmatch(bare):
        raise ActionFailed(f"{what}: '{number}' 不是有效的编号（字母、数字、. _ -，1 至 128 个字符，不以 . 开头）")
    return f"{prefix}-{bare}"


async def retry_not_ready(call: Callable[[], Awaitable[T]], attempts: int = 6) -> T:
    """Send an update again when the server aborted it unapplied (WorkflowNotReady: the workflow
    task carrying it failed, e.g. racing the run's continue-as-new); any other error is final."""
    for attempt in range(attempts):
        try:
            return await call()
        except RPCError as err:
            if err.status is not RPCStatusCode.FAILED_PRECONDITION or attempt == attempts - 1:
                raise
            await asyncio.sleep(0.1 * 2**attempt)
    raise AssertionError("unreachable")


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


async def query_view(handle: WorkflowHandle[Any, Any], query: Callable[[Any], T], what: str) -> T:
    try:
        return await handle.query(query)
    except RPCError as err:
        if err.status is RPCStatusCode.NOT_FOUND:
            raise ActionFailed(f"{what} 不存在") from None
        raise


def handle_by_number(client: Client, number: str, prefix: str) -> WorkflowHandle[Any, Any]:
    """A handle from a business number (ticket, whistle, meeting, campaign) or its full workflow id."""
    return client.get_workflow_handle(checked_number(number, prefix, "编号"))


# A report reads every whistle, enterprise and campaign by its query. One whose worker is gone (a
# demo's, stopped) answers "no poller seen", or not at all: that one is named, the rest are read.
QUERY_TIMEOUT = timedelta(seconds=5)
QUERY_CONCURRENCY = 16


@dataclass(frozen=True)
class Unread:
    """A workflow a report could not read, and why (in Chinese, for the report's readers)."""

    workflow_id: str
    reason: str


def unread_reason(err: BaseException, timeout: timedelta = QUERY_TIMEOUT) -> str:
    message = getattr(err, "message", None) or str(err)
    deadline = isinstance(err, RPCError) and err.status is RPCStatusCode.DEADLINE_EXCEEDED
    if deadline or isinstance(err, TimeoutError) or "timeout" in message.lower():
        return f"查询 {timeout.total_seconds():g} 秒内无应答（其 worker 繁忙或已停止）"
    if "no poller" in message.lower():
        return "没有 worker 处理该流程的任务队列（已停止或未启动）"
    return f"查询失败：{message}"


async def query_each(
    client: Client, query: str, view: Any, timeout: timedelta = QUERY_TIMEOUT, limit: int | None = None
) -> tuple[list[Any], list[Unread]]:
    """Every listed workflow's `view` (the first `limit` listed), side by side with a short deadline
    each: what answered, by workflow id, and what did not (a missing worker no longer stops the
    whole report or list)."""
    listed = [(wf.id, wf.run_id) async for wf in client.list_workflows(query, limit=limit)]
    gate = asyncio.Semaphore(QUERY_CONCURRENCY)

    async def one(workflow_id: str, run_id: str | None) -> Any:
        async with gate:
            try:
                handle = client.get_workflow_handle(workflow_id, run_id=run_id)
                return await handle.query(view, rpc_timeout=timeout)
            except (RPCError, WorkflowQueryFailedError, TimeoutError) as err:
                return Unread(workflow_id, unread_reason(err, timeout))

    answers = await asyncio.gather(*(one(w, r) for w, r in sorted(listed)))
    read = [a for a in answers if not isinstance(a, Unread)]
    return read, [a for a in answers if isinstance(a, Unread)]
