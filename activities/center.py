"""Activities of the centre's worker: the callback survey channel (回访)."""

from __future__ import annotations

import asyncio

import structlog
from temporalio import activity
from temporalio.client import Client, WorkflowUpdateFailedError

from activities.adapters.base import DeliveryError, DepartmentAdapter, MessageSink, activity_error
from activities.adapters.simulated import fraction
from domain import search_attributes as sa
from domain.campaign import FindTickets, Snapshot
from domain.commands import RecordCallback
from domain.config import ManualSurvey, SimulatedSurvey
from domain.delivery import CallbackRequest, CityMessage, Notice
from domain.models import Actor, Callback, Satisfaction
from workflows.ticket import TicketWorkflow

log = structlog.get_logger()


class CenterActivities:
    def __init__(
        self,
        survey: SimulatedSurvey | ManualSurvey,
        operator: Actor | None,
        client: Client,
        notices: DepartmentAdapter,
        city: MessageSink,
    ) -> None:
        self.city = city  # the city centre (市域社会治理中心)
        self.survey = survey
        self.operator = operator
        self.client = client
        self.notices = notices  # where the shift lead's and leaders' notices are dropped
        self._tasks: set[asyncio.Task[None]] = set()

    @activity.defn(name="find_campaign_tickets")
    async def find_campaign_tickets(self, request: FindTickets) -> Snapshot:
        """Tickets now matching a campaign's filter (open ones join it), and every member's status."""
        f = request.filter
        query = sa.ticket_query(category=f.category, street=f.street, department=f.department, overdue=f.overdue_only)
        new = [wf.id async for wf in self.client.list_workflows(f"{query} AND ExecutionStatus = 'Running'", limit=2000)]
        statuses: dict[str, str] = {}
        members = sorted(set(request.members) | set(new))
        for start in range(0, len(members), 100):  # keep each query small
            ids = ", ".join(f"'{m}'" for m in members[start : start + 100])
            async for wf in self.client.list_workflows(f"WorkflowId IN ({ids})"):
                statuses[wf.id] = wf.typed_search_attributes.get(sa.STATUS) or ""
        return Snapshot(new=new, statuses=statuses)

    @activity.defn(name="notify_city")
    async def notify_city(self, message: CityMessage) -> None:
        """上转 a ticket to the city centre, or report back the result of one it sent down."""
        try:
            await self.city.send("city", message.idempotency_key, message.model_dump(mode="json"))
        except DeliveryError as err:
            raise activity_error(err) from err
        log.info("city notified", ticket=message.ticket.ticket_no, kind=message.kind.value)

    @activity.defn(name="notify_center")
    async def notify_center(self, notice: Notice) -> None:
        """催办/督办/通报 for the shift lead and district leaders."""
        await self.notices.notify(notice)
        log.info("centre notified", ticket=notice.ticket_no, level=notice.level, audience=notice.audience)

    @activity.defn(name="request_callback")
    async def request_callback(self, request: CallbackRequest) -> None:
        """Queue the callback. Operators record manual ones with `hotline center callback`; tickets
        received while operators make the callbacks do not ask (their plan says so, fixed at intake)."""
        if isinstance(self.survey, ManualSurvey) or self.operator is None:
            log.info("awaiting callback by an operator", ticket=request.ticket_no, workflow_id=request.workflow_id)
            return
        task = asyncio.create_task(self._simulate(self.survey, self.operator, request))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _simulate(self, survey: SimulatedSurvey, operator: Actor, request: CallbackRequest) -> None:
        # The citizen is called once per round; only the first answer of a ticket may disappoint.
        first = request.round == 1
        disappoints = request.ticket_no in survey.always_unresolved
        resolved = not (first and (disappoints or fraction(request.ticket_no, "callback") < survey.unresolved_rate))
        unsatisfied = first and fraction(request.ticket_no, "satisfaction") < survey.unsatisfied_rate
        if not resolved or unsatisfied:
            satisfaction = Satisfaction.UNSATISFIED
        elif fraction(request.ticket_no, "basic") < 0.2:
            satisfaction = Satisfaction.BASICALLY_SATISFIED
        else:
            satisfaction = Satisfaction.SATISFIED
        await asyncio.sleep(survey.delay_s)
        handle = self.client.get_workflow_handle(request.workflow_id)
        try:
            await handle.execute_update(
                TicketWorkflow.record_callback,
                RecordCallback(actor=operator, callback=Callback(resolved=resolved, satisfaction=satisfaction)),
            )
        except WorkflowUpdateFailedError as err:
            log.info("simulated callback refused", ticket=request.ticket_no, reason=str(err.cause or err))
