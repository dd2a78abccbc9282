"""A simulated department: receives tickets and acts back on them after delays, through the same
workflow updates a clerk would use. For the demo and tests.

Which tickets take a detour (return, extension, unresolved answer) is chosen by a stable hash of
ticket number, department and round, so a run is reproducible.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Awaitable
from typing import Any

import structlog
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from activities.runtime.workflow_client import retry_not_ready
from domain.commands import (
    AssistReport,
    Attend,
    ContactCitizen,
    GiveAnswer,
    ReportIn,
    RequestExtension,
    RequestReturn,
    SignFor,
    WhistleAnswer,
)
from domain.config import SimulatedAdapter
from domain.delivery import Delivery, DeliveryReceipt, ItemDelivery, Notice, NoticeKind
from domain.enterprise import CloseItem, NoteProgress, Outcome, OutcomeKind
from domain.models import Actor, Answer
from workflows.enterprise import EnterpriseServiceWorkflow
from workflows.meeting import ConsultationMeetingWorkflow
from workflows.ticket import TicketWorkflow
from workflows.whistle import WhistleWorkflow

log = structlog.get_logger()

UPDATE_PATIENCE_S = 30.0
UPDATE_ATTEMPTS = 3


def fraction(*parts: object) -> float:
    """A stable number in [0, 1) for the given parts."""
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32


class SimulatedDepartmentAdapter:
    kind = "simulated"

    def __init__(self, settings: SimulatedAdapter, clerk: Actor, client: Client) -> None:
        self.settings = settings
        self.clerk = clerk
        self.client = client
        self.received: dict[str, Delivery] = {}
        self.notices: dict[str, Notice] = {}
        self.items: dict[str, ItemDelivery] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def deliver(self, delivery: Delivery) -> DeliveryReceipt:
        if delivery.idempotency_key in self.received:
            return DeliveryReceipt(adapter=self.kind, reference=delivery.idempotency_key, duplicate=True)
        self.received[delivery.idempotency_key] = delivery
        if delivery.ticket.ticket_no in self.settings.never_answer:
            pass
        elif delivery.role == "协办":
            self._spawn(self._assist(delivery))
        else:
            self._spawn(self._handle(delivery))
        return DeliveryReceipt(adapter=self.kind, reference=delivery.idempotency_key)

    async def deliver_item(self, delivery: ItemDelivery) -> DeliveryReceipt:
        if delivery.idempotency_key in self.items:
            return DeliveryReceipt(adapter=self.kind, reference=delivery.idempotency_key, duplicate=True)
        self.items[delivery.idempotency_key] = delivery
        self._spawn(self._serve_enterprise(delivery))
        return DeliveryReceipt(adapter=self.kind, reference=delivery.idempotency_key)

    async def notify(self, notice: Notice) -> None:
        if notice.idempotency_key in self.notices:
            return
        self.notices[notice.idempotency_key] = notice
        if notice.kind is NoticeKind.RETURN_REJECTED:
            # The return was refused: the department must handle the ticket after all.
            self._spawn(self._finish(notice.workflow_id, notice.ticket_no, round=0))
        elif notice.kind is NoticeKind.WHISTLE:
            # A street named this department in a whistle: report in, then answer.
            self._spawn(self._answer_whistle(notice.workflow_id))
        elif notice.kind is NoticeKind.MEETING:
            self._spawn(self._attend(notice.workflow_id))

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # ----- the clerk's behaviour -----

    async def _handle(self, delivery: Delivery) -> None:
        s = self.settings
        ticket_no, round = delivery.ticket.ticket_no, delivery.round
        handle = self.client.get_workflow_handle(delivery.workflow_id)
        await asyncio.sleep(s.sign_delay_s)
        await self._update(handle, TicketWorkflow.sign_for, SignFor(actor=self.clerk))
        first_round = round == 1
        if first_round and fraction(ticket_no, self.clerk.department, "return") < s.return_rate:
            reason = "经核实，该事项不属于本单位职责范围，建议改派"
            await self._update(handle, TicketWorkflow.request_return, RequestReturn(actor=self.clerk, reason=reason))
            return
        if first_round and fraction(ticket_no, self.clerk.department, "extend") < s.extension_rate:
            reason = "需协调多方现场勘查，申请延期"
            await self._update(
                handle,
                TicketWorkflow.request_extension,
                RequestExtension(actor=self.clerk, working_days=3, reason=reason),
            )
        await self._finish(delivery.workflow_id, ticket_no, round)

    async def _finish(self, workflow_id: str, ticket_no: str, round: int) -> None:
        s = self.settings
        handle = self.client.get_workflow_handle(workflow_id)
        await asyncio.sleep(s.contact_delay_s)
        await self._update(
            handle,
            TicketWorkflow.contact_citizen,
            ContactCitizen(actor=self.clerk, note="已电话联系诉求人，了解具体情况"),
        )
        await asyncio.sleep(s.answer_delay_s)
        resolved = round > 1 or fraction(ticket_no, self.clerk.department, "resolve") >= s.unresolved_rate
        text = "已到现场核实并处理完毕" if resolved else "已现场核实，问题需进一步协调，暂未解决"
        await self._update(
            handle, TicketWorkflow.answer, GiveAnswer(actor=self.clerk, answer=Answer(text=text, resolved=resolved))
        )

    async def _assist(self, delivery: Delivery) -> None:
        """An assisting department: sign for its part, then report to the lead."""
        handle = self.client.get_workflow_handle(delivery.workflow_id)
        await asyncio.sleep(self.settings.sign_delay_s)
        await self._update(handle, TicketWorkflow.assist_sign_for, SignFor(actor=self.clerk))
        await asyncio.sleep(self.settings.contact_delay_s)
        text = "已配合现场处置，相关情况已报主办单位"
        await self._update(handle, TicketWorkflow.assist_report, AssistReport(actor=self.clerk, text=text))

    async def _answer_whistle(self, workflow_id: str) -> None:
        s = self.settings
        handle = self.client.get_workflow_handle(workflow_id)
        await asyncio.sleep(s.sign_delay_s)
        await self._update(handle, WhistleWorkflow.report_in, ReportIn(actor=self.clerk, note="已到现场报到"))
        await asyncio.sleep(s.answer_delay_s)
        text = "已会同相关单位现场研究，明确整改措施和完成时限"
        await self._update(handle, WhistleWorkflow.answer, WhistleAnswer(actor=self.clerk, text=text))

    async def _serve_enterprise(self, delivery: ItemDelivery) -> None:
        """An enterprise's item: note progress, then close it as done with the evidence."""
        handle = self.client.get_workflow_handle(delivery.workflow_id)
        await asyncio.sleep(self.settings.sign_delay_s)
        note = NoteProgress(actor=self.clerk, item_no=delivery.item_no, text="已与企业对接，按措施推进办理")
        await self._update(handle, EnterpriseServiceWorkflow.note_progress, note)
        await asyncio.sleep(self.settings.answer_delay_s)
        outcome = Outcome(
            kind=OutcomeKind.DONE,
            text=f"已办结：{delivery.need}",
            evidence=[f"{self.clerk.department}办理记录-{delivery.item_no}-{delivery.round}"],
        )
        close = CloseItem(actor=self.clerk, item_no=delivery.item_no, outcome=outcome)
        await self._update(handle, EnterpriseServiceWorkflow.close_item, close)

    async def _attend(self, workflow_id: str) -> None:
        await asyncio.sleep(self.settings.sign_delay_s)
        handle = self.client.get_workflow_handle(workflow_id)
        await self._update(handle, ConsultationMeetingWorkflow.attend, Attend(actor=self.clerk))

    async def _update(self, handle: WorkflowHandle[Any, Any], update: Any, command: Any) -> None:
        """A clerk's action; one that the server has not answered in a while is sent again (the
        workflow's validators refuse a repeat of what already happened)."""
        update_id = str(uuid.uuid4())
        for attempt in range(1, UPDATE_ATTEMPTS + 1):
            try:
                # A server still loading its search attributes aborts updates (WorkflowNotReady): retry.
                send = lambda: handle.execute_update(update, command, id=update_id)  # noqa: E731
                await asyncio.wait_for(retry_not_ready(send, attempts=12), UPDATE_PATIENCE_S)
                return
            except TimeoutError:
                log.warning("simulated action unanswered, sending again", workflow_id=handle.id, attempt=attempt)
        raise TimeoutError(f"{handle.id}: no answer to {getattr(update, '__name__', update)}")

    def _spawn(self, work: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.create_task(self._guard(work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _guard(self, work: Awaitable[None]) -> None:
        try:
            await work
        except WorkflowUpdateFailedError as err:
            # The ticket moved on (e.g. reassigned) before the simulated clerk acted: that is fine.
            log.info("simulated action refused", reason=str(err.cause or err))
        except RPCError as err:
            if err.status is RPCStatusCode.NOT_FOUND:
                # The ticket ended meanwhile (e.g. sent up to the city): nothing left to do.
                log.info("simulated action too late", reason=err.message)
            else:
                log.exception("simulated department failed")
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("simulated department failed")
