"""Client-side ticket operations shared by the CLI, the demo and tests: submit (受理), act, view."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from activities.runtime.calendar_source import calendar_for
from activities.runtime.workflow_client import ActionFailed as ActionFailed  # re-exported: the client operations' error
from activities.runtime.workflow_client import checked_number
from activities.runtime.workflow_client import retry_not_ready as retry_not_ready  # re-exported
from domain import search_attributes as sa
from domain.calendar import natural
from domain.commands import ActionResult, TicketOutcome
from domain.config import DistrictConfig
from domain.facts import Fact
from domain.intake import TicketInput, check_ticket, match_key, plan_intake, workflow_id_for
from domain.limits import PayloadRejected, check_payload, one_line
from domain.models import Ticket, TicketStatus
from domain.ticket_record import HANDLING, TicketRecord
from workflows.ticket import TicketWorkflow

T = TypeVar("T")


@dataclass(frozen=True)
class Submitted:
    ticket_no: str
    workflow_id: str
    duplicate: bool  # the ticket number was already received: no second workflow was started


async def submit(client: Client, config: DistrictConfig, ticket: Ticket) -> Submitted:
    """受理: check and route the ticket, then start its workflow, at most once per ticket number."""
    now = datetime.now(UTC)
    check_ticket(config, ticket, now)
    calendar = calendar_for(config.calendar, ticket.received_at, now=now)
    ticket_input = plan_intake(config, ticket, calendar, merge_into=await open_repeat_of(client, config, ticket))
    check_payload(ticket_input, TicketInput, "ticket")  # nothing oversized reaches the history
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
    return client.get_workflow_handle(checked_number(ticket, "ticket", "工单号"))


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
    result: ActionResult = await act_on(handle_for(client, ticket), update, command, f"工单 {ticket}", update_id)
    return result


async def act_on(
    handle: WorkflowHandle[Any, Any], update: Any, command: Any, what: str, update_id: str | None = None
) -> Any:
    """Run an update on any of our workflows; refusals and unknown ids become ActionFailed."""
    if isinstance(command, BaseModel):
        try:
            check_payload(command, type(command))  # the validators check it too: refused before the server
        except PayloadRejected as err:
            raise ActionFailed(str(err)) from None
    update_id = update_id or str(uuid.uuid4())  # kept across retries: the workflow applies one update id once
    try:
        return await retry_not_ready(lambda: handle.execute_update(update, command, id=update_id))
    except WorkflowUpdateFailedError as err:
        raise ActionFailed(refusal(err)) from None
    except RPCError as err:
        if err.status is RPCStatusCode.NOT_FOUND:
            raise ActionFailed(f"{what} 不存在或已结束") from None
        raise


def refusal(err: WorkflowUpdateFailedError) -> str:
    """The validator's reason as one line. A payload the worker could not read as the update's type
    (a client that bypassed the models) comes back as "Failed decoding arguments" with pydantic's
    report as its cause: its first error, naming the field, is the reason."""
    cause = err.cause
    message = getattr(cause, "message", None) or str(cause or err)
    inner = getattr(getattr(cause, "cause", None), "message", None)
    if message == "Failed decoding arguments" and inner:
        message = f"载荷无效：{first_validation_error(inner)}"
    return one_line(message)


def first_validation_error(report: str) -> str:
    """'Model: field.path: message' from the text of a pydantic ValidationError."""
    lines = [line for line in report.splitlines() if line.strip()]
    header = re.match(r"\d+ validation errors? for (\S+)", lines[0]) if lines else None
    if header is None or len(lines) < 2:
        return lines[0] if lines else report
    where = "" if lines[1].startswith(" ") else lines[1].strip()
    detail = lines[2 if where and len(lines) > 2 else 1].strip()
    detail = re.sub(r"\s*\[type=.*$", "", detail).removeprefix("Value error, ")
    return f"{header.group(1)}: {where}: {detail}" if where else f"{header.group(1)}: {detail}"


async def outcome(client: Client, ticket: str) -> TicketOutcome:
    """Wait for the ticket's workflow to end and return its outcome."""
    workflow_id = handle_for(client, ticket).id
    return await client.get_workflow_handle_for(TicketWorkflow.run, workflow_id).result()


def _quote(value: str) -> str:
    return "'" + value.replace("'", "\\'") + "'"


def status_named(text: str) -> TicketStatus:
    """A status by its label (待签收) or its code name (pending_sign); anything else is refused
    with the choices."""
    try:
        return TicketStatus(text)
    except ValueError:
        if text.upper() in TicketStatus.__members__:
            return TicketStatus[text.upper()]
        raise ActionFailed(f"未知的状态 '{text}'（可选：{'、'.join(s.value for s in TicketStatus)}）") from None


def list_query(
    status: TicketStatus | None = None,
    department: str | None = None,
    street: str | None = None,
    category: str | None = None,
    awaiting_approval: bool = False,
    overdue: bool = False,
    due_before: datetime | None = None,
    backlog: bool = False,
) -> str:
    """A visibility query for tickets by the filters the CLI and the API offer."""
    clauses = ["WorkflowType = 'TicketWorkflow'"]
    if status is not None:
        clauses.append(f"{sa.STATUS.name} = {_quote(status.value)}")
    for key, value in ((sa.DEPARTMENT, department), (sa.STREET, street), (sa.CATEGORY, category)):
        if value:
            clauses.append(f"{key.name} = {_quote(value)}")
    if awaiting_approval:
        clauses.append(f"{sa.AWAITING_APPROVAL.name} = true")
    if overdue:
        clauses.append(f"{sa.OVERDUE.name} = true")
    if backlog:
        clauses.append(f"{sa.FACTS.name} = {_quote(Fact.BACKLOG.value)}")
    if due_before is not None:
        # Due soon: still being handled, not yet overdue, the answer due before the given instant.
        handling = ", ".join(f"'{s.value}'" for s in HANDLING)
        clauses.append(f"{sa.STATUS.name} IN ({handling}) AND {sa.OVERDUE.name} = false")
        clauses.append(f"{sa.RESOLVE_DUE.name} <= '{due_before.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}'")
    return " AND ".join(clauses)
