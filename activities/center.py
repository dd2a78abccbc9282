"""Activities of the centre's worker: the callback survey channel (回访)."""

from __future__ import annotations

import structlog
from temporalio import activity
from temporalio.client import Client

from activities.adapters.base import CallbackSurvey, DeliveryError, DepartmentAdapter, MessageSink, activity_error
from domain import search_attributes as sa
from domain.campaign import FindTickets, Snapshot
from domain.delivery import CallbackRequest, CityMessage, Notice

log = structlog.get_logger()


class CenterActivities:
    def __init__(
        self,
        callbacks: CallbackSurvey,
        client: Client,
        notices: DepartmentAdapter,
        city: MessageSink,
    ) -> None:
        self.city = city  # the city centre (市域社会治理中心)
        self.callbacks = callbacks  # operators, or a simulated survey (activities/adapters/factory.py)
        self.client = client
        self.notices = notices  # where the shift lead's and leaders' notices are dropped

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
        await self.callbacks.request(request)

    async def aclose(self) -> None:
        await self.callbacks.aclose()
