"""The centre's activities as the workflows call them: typed stubs (name, argument, result), so that a
workflow refers to an activity by method and its result is decoded as the stub's return type.

The workflows cannot import the implementations (activities/ stands above workflows/): those are
registered under the same names by the centre's worker (activities/center.py,
activities/reports/activity.py); tests/unit/test_activity_interfaces.py holds the two sides
together. A stub is never run.

A department's activities (deliver_ticket, deliver_item, notify_department) have no stub here and
the workflows name them by string: they run on the department's own task queue and worker, next
to the department's system (activities/department.py and its adapter), whose code stays out of
the centre's workflow sandbox and off the workflows' import graph.
"""

from __future__ import annotations

from temporalio import activity, workflow

with workflow.unsafe.imports_passed_through():
    from domain.campaign import FindTickets, Snapshot
    from domain.delivery import CallbackRequest, CityMessage, Notice
    from domain.report_request import ReportReceipt, ReportRequest


def _stub(name: str) -> NotImplementedError:
    return NotImplementedError(f"{name} is a stub: the centre's worker runs the activity")


@activity.defn(name="request_callback")
async def request_callback(request: CallbackRequest) -> None:
    """Ask the callback survey channel (回访) to call the citizen back (a local activity)."""
    raise _stub("request_callback")


@activity.defn(name="notify_center")
async def notify_center(notice: Notice) -> None:
    """催办/督办/通报 for the shift lead and district leaders."""
    raise _stub("notify_center")


@activity.defn(name="notify_city")
async def notify_city(message: CityMessage) -> None:
    """上转 a ticket to the city centre, or report back the result of one it sent down."""
    raise _stub("notify_city")


@activity.defn(name="find_campaign_tickets")
async def find_campaign_tickets(request: FindTickets) -> Snapshot:
    """Tickets now matching a campaign's filter, and every member's status."""
    raise _stub("find_campaign_tickets")


@activity.defn(name="make_report")
async def make_report(request: ReportRequest) -> ReportReceipt:
    """Make one report and deliver it."""
    raise _stub("make_report")


CENTER_ACTIVITIES = [request_callback, notify_center, notify_city, find_campaign_tickets, make_report]
