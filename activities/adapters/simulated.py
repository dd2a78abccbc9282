"""A simulated department and a simulated callback survey: they receive tickets (or callback
requests) and act back on them after delays, through the same workflow updates a clerk or an
operator would use (each acts as a `SimulatedClerk`, activities/adapters/clerk.py). For the demo
and tests; chosen by configuration (`type: simulated`).

Which tickets take a detour (return, extension, unresolved answer, a disappointed citizen) is
chosen by a stable hash of ticket number, department and round, so a run is reproducible.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Coroutine
from typing import Any

import structlog
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from activities.adapters.clerk import SimulatedClerk, patient
from domain.config import SimulatedAdapter, SimulatedSurvey
from domain.delivery import CallbackRequest, Delivery, DeliveryReceipt, ItemDelivery, Notice, NoticeKind
from domain.enterprise import Outcome, OutcomeKind
from domain.models import Actor, Callback, Satisfaction

log = structlog.get_logger()


def fraction(*parts: object) -> float:
    """A stable number in [0, 1) for the given parts."""
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32


class Background:
    """The simulated people's work in flight: kept until done, cancelled on close. A refusal by the
    workflow or a workflow ended meanwhile is part of the simulation, not a failure: logged."""

    def __init__(self, who: str) -> None:
        self.who = who
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(self._guard(work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _guard(self, work: Coroutine[Any, Any, None]) -> None:
        try:
            await work
        except WorkflowUpdateFailedError as err:
            # The ticket moved on (e.g. reassigned) before the simulated person acted: that is fine.
            log.info(f"simulated {self.who} refused", reason=str(err.cause or err))
        except RPCError as err:
            if err.status is RPCStatusCode.NOT_FOUND:
                # The ticket ended meanwhile (e.g. sent up to the city): nothing left to do.
                log.info(f"simulated {self.who} too late", reason=err.message)
            else:
                log.exception(f"simulated {self.who} failed")
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception(f"simulated {self.who} failed")


class SimulatedDepartmentAdapter:
    kind = "simulated"

    def __init__(self, settings: SimulatedAdapter, clerk: Actor, client: Client) -> None:
        self.settings = settings
        self.clerk = SimulatedClerk(clerk, patient(client))
        self.received: dict[str, Delivery] = {}
        self.notices: dict[str, Notice] = {}
        self.items: dict[str, ItemDelivery] = {}
        self._work = Background("action")

    async def deliver(self, delivery: Delivery) -> DeliveryReceipt:
        if delivery.idempotency_key in self.received:
            return DeliveryReceipt(adapter=self.kind, reference=delivery.idempotency_key, duplicate=True)
        self.received[delivery.idempotency_key] = delivery
        if delivery.ticket.ticket_no in self.settings.never_answer:
            pass
        elif delivery.role == "协办":
            self._work.spawn(self._assist(delivery))
        else:
            self._work.spawn(self._handle(delivery))
        return DeliveryReceipt(adapter=self.kind, reference=delivery.idempotency_key)

    async def deliver_item(self, delivery: ItemDelivery) -> DeliveryReceipt:
        if delivery.idempotency_key in self.items:
            return DeliveryReceipt(adapter=self.kind, reference=delivery.idempotency_key, duplicate=True)
        self.items[delivery.idempotency_key] = delivery
        self._work.spawn(self._serve_enterprise(delivery))
        return DeliveryReceipt(adapter=self.kind, reference=delivery.idempotency_key)

    async def notify(self, notice: Notice) -> None:
        if notice.idempotency_key in self.notices:
            return
        self.notices[notice.idempotency_key] = notice
        if notice.kind is NoticeKind.RETURN_REJECTED:
            # The return was refused: the department must handle the ticket after all.
            self._work.spawn(self._finish(notice.workflow_id, notice.ticket_no, round=0))
        elif notice.kind is NoticeKind.WHISTLE:
            # A street named this department in a whistle: report in, then answer.
            self._work.spawn(self._answer_whistle(notice.workflow_id))
        elif notice.kind is NoticeKind.MEETING:
            self._work.spawn(self._attend(notice.workflow_id))

    async def aclose(self) -> None:
        await self._work.aclose()

    # ----- when the clerk acts, and which detours a ticket takes -----

    async def _handle(self, delivery: Delivery) -> None:
        s, clerk = self.settings, self.clerk
        ticket_no, round, workflow_id = delivery.ticket.ticket_no, delivery.round, delivery.workflow_id
        department = clerk.actor.department
        await asyncio.sleep(s.sign_delay_s)
        await clerk.sign_for(workflow_id)
        first_round = round == 1
        if first_round and fraction(ticket_no, department, "return") < s.return_rate:
            await clerk.request_return(workflow_id, "经核实，该事项不属于本单位职责范围，建议改派")
            return
        if first_round and fraction(ticket_no, department, "extend") < s.extension_rate:
            await clerk.request_extension(workflow_id, 3, "需协调多方现场勘查，申请延期")
        await self._finish(workflow_id, ticket_no, round)

    async def _finish(self, workflow_id: str, ticket_no: str, round: int) -> None:
        s, clerk = self.settings, self.clerk
        await asyncio.sleep(s.contact_delay_s)
        await clerk.contact_citizen(workflow_id, "已电话联系诉求人，了解具体情况")
        await asyncio.sleep(s.answer_delay_s)
        resolved = round > 1 or fraction(ticket_no, clerk.actor.department, "resolve") >= s.unresolved_rate
        text = "已到现场核实并处理完毕" if resolved else "已现场核实，问题需进一步协调，暂未解决"
        await clerk.answer(workflow_id, text, resolved=resolved)

    async def _assist(self, delivery: Delivery) -> None:
        """An assisting department: sign for its part, then report to the lead."""
        await asyncio.sleep(self.settings.sign_delay_s)
        await self.clerk.assist_sign_for(delivery.workflow_id)
        await asyncio.sleep(self.settings.contact_delay_s)
        await self.clerk.assist_report(delivery.workflow_id, "已配合现场处置，相关情况已报主办单位")

    async def _answer_whistle(self, workflow_id: str) -> None:
        await asyncio.sleep(self.settings.sign_delay_s)
        await self.clerk.report_in(workflow_id, "已到现场报到")
        await asyncio.sleep(self.settings.answer_delay_s)
        await self.clerk.answer_whistle(workflow_id, "已会同相关单位现场研究，明确整改措施和完成时限")

    async def _serve_enterprise(self, delivery: ItemDelivery) -> None:
        """An enterprise's item: note progress, then close it as done with the evidence."""
        workflow_id, item_no = delivery.workflow_id, delivery.item_no
        await asyncio.sleep(self.settings.sign_delay_s)
        await self.clerk.note_progress(workflow_id, item_no, "已与企业对接，按措施推进办理")
        await asyncio.sleep(self.settings.answer_delay_s)
        outcome = Outcome(
            kind=OutcomeKind.DONE,
            text=f"已办结：{delivery.need}",
            evidence=[f"{self.clerk.actor.department}办理记录-{item_no}-{delivery.round}"],
        )
        await self.clerk.close_item(workflow_id, item_no, outcome)

    async def _attend(self, workflow_id: str) -> None:
        await asyncio.sleep(self.settings.sign_delay_s)
        await self.clerk.attend(workflow_id)


class SimulatedCallbacks:
    """A simulated callback survey (回访): the citizen's verdict is recorded by the configured
    operator after a delay. The citizen is called once per round; only the first answer of a
    ticket may disappoint."""

    def __init__(self, survey: SimulatedSurvey, operator: Actor, client: Client) -> None:
        self.survey = survey
        self.operator = SimulatedClerk(operator, patient(client))
        self._work = Background("callback")

    async def request(self, request: CallbackRequest) -> None:
        self._work.spawn(self._call(request))

    async def aclose(self) -> None:
        await self._work.aclose()

    def verdict(self, request: CallbackRequest) -> Callback:
        survey, ticket_no = self.survey, request.ticket_no
        first = request.round == 1
        disappoints = ticket_no in survey.always_unresolved
        resolved = not (first and (disappoints or fraction(ticket_no, "callback") < survey.unresolved_rate))
        unsatisfied = first and fraction(ticket_no, "satisfaction") < survey.unsatisfied_rate
        if not resolved or unsatisfied:
            satisfaction = Satisfaction.UNSATISFIED
        elif fraction(ticket_no, "basic") < 0.2:
            satisfaction = Satisfaction.BASICALLY_SATISFIED
        else:
            satisfaction = Satisfaction.SATISFIED
        return Callback(resolved=resolved, satisfaction=satisfaction)

    async def _call(self, request: CallbackRequest) -> None:
        verdict = self.verdict(request)
        await asyncio.sleep(self.survey.delay_s)
        await self.operator.record_callback(request.workflow_id, verdict)
