"""Client-side ticket operations shared by the CLI, the demo and tests: submit (受理), act, view."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from domain import search_attributes as sa
from domain.calendar import natural
from domain.commands import ActionResult, TicketOutcome
from domain.config import DistrictConfig
from domain.intake import match_key, plan_intake, workflow_id_for
from domain.models import Ticket, TicketStatus
from domain.ticket_record import TicketRecord
from starter.calendar_source import calendar_for
from workflows.ticket import TicketWorkflow

T = TypeVar("T")


class ActionFailed(Exception):
    """An action the workflow refused, or a ticket that does not exist; one line of Chinese."""


@dataclass(frozen=True)
class Submitted:
    ticket_no: str
    workflow_id: str
    duplicate: bool  # the ticket number was already received: no second workflow was started


async def submit(client: Client, config: DistrictConfig, ticket: Ticket) -> Submitted:
    """受理: check and route the ticket, then start its workflow, at most once per ticket number."""
    calendar = calendar_for(config.calendar, ticket.received_at, now=datetime.now(UTC))
    ticket_input = plan_intake(config, ticket, calendar, merge_into=await open_repeat_of(client, config, ticket))
    workflow_id = workflow_id_for(ticket.ticket_no)
    initial = TicketRecord.receive(ticket_input.ticket, ticket_input.plan, ticket.received_at)
    try:
        await client.start_workflow(
            TicketWorkflow.run,
            ticket_input,
            id=workflow_id,
            task_queue=config.center.task_queue,
            # A ticket number is received once, ever: even after the first ticket has closed.
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            search_attributes=sa.for_ticket(initial),
            static_summary=f"{ticket.category} · {ticket.street} · {ticket.title}",
        )
    except WorkflowAlreadyStartedError:
        return Submitted(ticket.ticket_no, workflow_id, duplicate=True)
    return Submitted(ticket.ticket_no, workflow_id, duplicate=False)


async def open_repeat_of(client: Client, config: DistrictConfig, ticket: Ticket) -> str | None:
    """并单: the workflow id of an open ticket on the same matter (same category, street and
    normalised address) received within the merge window before this one, if any.

    Visibility is eventually consistent: a repeat submitted within a second of the first may not
    find it, and is then handled on its own (the shift lead can still merge it with `ticket link`).
    """
    key = match_key(ticket)
    if key is None:
        return None
    since = ticket.received_at - natural(config.center.merge_window)
    final = ", ".join(
        f"'{s.value}'" for s in (TicketStatus.CLOSED, TicketStatus.ANSWERED_DIRECTLY, TicketStatus.MERGED)
    )
    query = (
        f"WorkflowType = 'TicketWorkflow' AND ExecutionStatus = 'Running' AND {sa.MATCH_KEY.name} = '{key}' "
        f"AND {sa.STATUS.name} NOT IN ({final}) "
        f"AND {sa.RECEIVED_AT.name} >= '{since.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}'"
    )
    own = workflow_id_for(ticket.ticket_no)
    try:
        async for found in client.list_workflows(query, limit=5):
            if found.id != own:
                return found.id
    except RPCError as err:
        if err.status is not RPCStatusCode.UNIMPLEMENTED:
            raise
        # A server without visibility (Temporal's time-skipping test server): no automatic 并单.
    return None


def handle_for(client: Client, ticket: str) -> WorkflowHandle[Any, Any]:
    """A ticket number or a workflow id."""
    return client.get_workflow_handle(ticket if ticket.startswith("ticket-") else workflow_id_for(ticket))


async def view(client: Client, ticket: str) -> TicketRecord:
    try:
        return await handle_for(client, ticket).query(TicketWorkflow.view)
    except RPCError as err:
        if err.status is RPCStatusCode.NOT_FOUND:
            raise ActionFailed(f"工单 {ticket} 不存在") from None
        raise


async def act(client: Client, ticket: str, update: Any, command: Any, update_id: str | None = None) -> ActionResult:
    """Send a human action; a refusal comes back as ActionFailed with the workflow's reason.
    An `update_id` (e.g. from an API client's idempotency key) makes a repeated request apply once."""
    return await act_on(handle_for(client, ticket), update, command, f"工单 {ticket}", update_id)


async def act_on(
    handle: WorkflowHandle[Any, Any], update: Any, command: Any, what: str, update_id: str | None = None
) -> Any:
    """Run an update on any of our workflows; refusals and unknown ids become ActionFailed."""
    update_id = update_id or str(uuid.uuid4())  # kept across retries: the workflow applies one update id once
    try:
        return await retry_not_ready(lambda: handle.execute_update(update, command, id=update_id))
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        message = getattr(cause, "message", None) or str(cause or err)
        raise ActionFailed(message) from None
    except RPCError as err:
        if err.status is RPCStatusCode.NOT_FOUND:
            raise ActionFailed(f"{what} 不存在或已结束") from None
        raise


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


async def outcome(client: Client, ticket: str) -> TicketOutcome:
    """Wait for the ticket's workflow to end and return its outcome."""
    workflow_id = handle_for(client, ticket).id
    return await client.get_workflow_handle_for(TicketWorkflow.run, workflow_id).result()
