"""The simulated clerk: a person of the district acting on our workflows through the same updates
people use (a department's clerk, the centre's callback operator or its shift lead), one action at
a time.

Every simulated person acts through it: the simulated department (activities/adapters/simulated.py,
the demo's departments and any configured `type: simulated`) and the simulated callback survey
beside it, the simulator's clerks, operator and shift lead (starter/tools/simulate.py), the
benchmark's clerks (starter/tools/bench_tickets.py) and the fault suite's desk
(tests/support/fault_rig.py). They differ in when they act and how an action is sent: how patient it is,
what it sends again and under which update id. Each passes its way of sending as a `Send`;
`patient(client)` is the simulated department's.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import structlog
from temporalio.client import Client

from activities.runtime.workflow_client import retry_not_ready
from domain.commands import (
    AssistReport,
    Attend,
    ContactCitizen,
    Decide,
    GiveAnswer,
    RecordCallback,
    ReportIn,
    RequestBacklog,
    RequestExemption,
    RequestExtension,
    RequestReturn,
    SignFor,
    VerifyTicket,
    WhistleAnswer,
)
from domain.enterprise import CloseItem, NoteProgress, Outcome
from domain.models import (
    Actor,
    Answer,
    Assignment,
    Callback,
    ClosureCategory,
    ExemptionReason,
    VerifyDecision,
)
from workflows.enterprise import EnterpriseServiceWorkflow
from workflows.meeting import ConsultationMeetingWorkflow
from workflows.ticket import TicketWorkflow
from workflows.whistle import WhistleWorkflow

log = structlog.get_logger()

UPDATE_PATIENCE_S = 30.0
UPDATE_ATTEMPTS = 3
NOT_READY_ATTEMPTS = 12


@dataclass(frozen=True)
class Action:
    """One action on one workflow: its update and command, and the step's short name (the fault
    suite makes its update ids of it)."""

    workflow_id: str
    step: str
    update: Any  # the workflow's update method, e.g. TicketWorkflow.sign_for
    command: Any

    @property
    def name(self) -> str:
        return getattr(self.update, "__name__", str(self.update))


Send = Callable[[Action], Awaitable[Any]]


def patient(client: Client, *, patience_s: float = UPDATE_PATIENCE_S, attempts: int = UPDATE_ATTEMPTS) -> Send:
    """Send an action; one the server has not answered within `patience_s` is sent again under the
    same update id (applied once), at most `attempts` times. A server still loading its search
    attributes aborts updates unapplied (WorkflowNotReady): those are retried too. A refusal by the
    workflow (WorkflowUpdateFailedError) or a workflow gone (RPCError NOT_FOUND) is raised."""

    async def send(action: Action) -> Any:
        handle = client.get_workflow_handle(action.workflow_id)
        update_id = str(uuid.uuid4())
        for attempt in range(1, attempts + 1):
            try:
                call = lambda: handle.execute_update(action.update, action.command, id=update_id)  # noqa: E731
                return await asyncio.wait_for(retry_not_ready(call, attempts=NOT_READY_ATTEMPTS), patience_s)
            except TimeoutError:
                log.warning("simulated action unanswered, sending again", workflow_id=handle.id, attempt=attempt)
        raise TimeoutError(f"{handle.id}: no answer to {action.name}")

    return send


class SimulatedClerk:
    """One person's actions, each a workflow update carrying `actor`, sent by `send`."""

    def __init__(self, actor: Actor, send: Send) -> None:
        self.actor = actor
        self.send = send

    async def act(self, workflow_id: str, step: str, update: Any, command: Any) -> Any:
        return await self.send(Action(workflow_id, step, update, command))

    # ----- a ticket, as its department's clerk -----

    async def sign_for(self, workflow_id: str) -> Any:
        return await self.act(workflow_id, "sign", TicketWorkflow.sign_for, SignFor(actor=self.actor))

    async def contact_citizen(self, workflow_id: str, note: str = "") -> Any:
        command = ContactCitizen(actor=self.actor, note=note)
        return await self.act(workflow_id, "contact", TicketWorkflow.contact_citizen, command)

    async def answer(self, workflow_id: str, text: str, *, resolved: bool = True, evidence: Sequence[str] = ()) -> Any:
        answer = Answer(text=text, resolved=resolved, evidence=list(evidence))
        return await self.act(workflow_id, "answer", TicketWorkflow.answer, GiveAnswer(actor=self.actor, answer=answer))

    async def request_return(self, workflow_id: str, reason: str) -> Any:
        command = RequestReturn(actor=self.actor, reason=reason)
        return await self.act(workflow_id, "return", TicketWorkflow.request_return, command)

    async def request_extension(self, workflow_id: str, working_days: int, reason: str) -> Any:
        command = RequestExtension(actor=self.actor, working_days=working_days, reason=reason)
        return await self.act(workflow_id, "extend", TicketWorkflow.request_extension, command)

    async def request_exemption(self, workflow_id: str, category: ExemptionReason, evidence: str) -> Any:
        command = RequestExemption(actor=self.actor, category=category, evidence=evidence)
        return await self.act(workflow_id, "exempt", TicketWorkflow.request_exemption, command)

    async def request_backlog(self, workflow_id: str, plan_date: date, reason: str) -> Any:
        command = RequestBacklog(actor=self.actor, plan_date=plan_date, reason=reason)
        return await self.act(workflow_id, "backlog", TicketWorkflow.request_backlog, command)

    async def handle(self, workflow_id: str, *, note: str, answer: str) -> None:
        """The standard path: sign for the ticket, contact the citizen, answer it as resolved."""
        await self.sign_for(workflow_id)
        await self.contact_citizen(workflow_id, note)
        await self.answer(workflow_id, answer)

    # ----- a ticket, as an assisting department's clerk (协办) -----

    async def assist_sign_for(self, workflow_id: str) -> Any:
        return await self.act(workflow_id, "assist_sign", TicketWorkflow.assist_sign_for, SignFor(actor=self.actor))

    async def assist_report(self, workflow_id: str, text: str) -> Any:
        command = AssistReport(actor=self.actor, text=text)
        return await self.act(workflow_id, "assist_report", TicketWorkflow.assist_report, command)

    # ----- a ticket, as the centre's callback operator (回访) -----

    async def record_callback(self, workflow_id: str, callback: Callback) -> Any:
        command = RecordCallback(actor=self.actor, callback=callback)
        return await self.act(workflow_id, "callback", TicketWorkflow.record_callback, command)

    # ----- a ticket, as the centre's shift lead (值班长) -----

    async def approve(self, workflow_id: str, approval_id: str, *, reassign_to: Assignment | None = None) -> Any:
        command = Decide(actor=self.actor, approval_id=approval_id, reassign_to=reassign_to)
        return await self.act(workflow_id, "approve", TicketWorkflow.approve, command)

    async def verify(
        self, workflow_id: str, decision: VerifyDecision, reason: str, *, closure: ClosureCategory | None = None
    ) -> Any:
        command = VerifyTicket(actor=self.actor, decision=decision, closure=closure, reason=reason)
        return await self.act(workflow_id, "verify", TicketWorkflow.verify, command)

    # ----- a whistle (吹哨) naming the department -----

    async def report_in(self, workflow_id: str, note: str) -> Any:
        return await self.act(
            workflow_id, "report_in", WhistleWorkflow.report_in, ReportIn(actor=self.actor, note=note)
        )

    async def answer_whistle(self, workflow_id: str, text: str) -> Any:
        command = WhistleAnswer(actor=self.actor, text=text)
        return await self.act(workflow_id, "answer", WhistleWorkflow.answer, command)

    # ----- an enterprise's service item (红色服务团) -----

    async def note_progress(self, workflow_id: str, item_no: str, text: str) -> Any:
        command = NoteProgress(actor=self.actor, item_no=item_no, text=text)
        return await self.act(workflow_id, "progress", EnterpriseServiceWorkflow.note_progress, command)

    async def close_item(self, workflow_id: str, item_no: str, outcome: Outcome) -> Any:
        command = CloseItem(actor=self.actor, item_no=item_no, outcome=outcome)
        return await self.act(workflow_id, "close", EnterpriseServiceWorkflow.close_item, command)

    # ----- a consultation meeting (协调会) -----

    async def attend(self, workflow_id: str) -> Any:
        return await self.act(workflow_id, "attend", ConsultationMeetingWorkflow.attend, Attend(actor=self.actor))
