"""Client-side consultation meetings (疑难工单会商) and on-site determinations (现场确权)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from temporalio.client import Client

from activities.runtime.calendar_source import calendar_for
from activities.runtime.workflow_client import handle_by_number, query_view, start_once
from domain.commands import DetermineOwner
from domain.config import DistrictConfig
from domain.meeting import (
    MeetingInput,
    MeetingOutcome,
    MeetingRecord,
    MeetingResult,
    plan_meeting,
    workflow_id_for_meeting,
)
from domain.models import Actor
from starter.tickets import act, act_on
from workflows.meeting import ConsultationMeetingWorkflow, for_meeting
from workflows.ticket import TicketWorkflow


def new_meeting_no(now: datetime | None = None) -> str:
    return f"M{(now or datetime.now(UTC)):%Y%m%d%H%M%S%f}"[:-3]


async def convene(
    client: Client,
    config: DistrictConfig,
    *,
    convened_by: Actor,
    reason: str,
    tickets: list[str],
    departments: list[str],
    meeting_no: str | None = None,
) -> MeetingInput:
    now = datetime.now(UTC)
    meeting = plan_meeting(
        config,
        calendar_for(config.calendar, now),
        meeting_no=new_meeting_no(now) if meeting_no is None else meeting_no,
        convened_by=convened_by,
        reason=reason,
        tickets=tickets,
        departments=departments,
    )
    await start_once(
        client,
        ConsultationMeetingWorkflow.run,
        meeting,
        workflow_id=workflow_id_for_meeting(meeting.meeting_no),
        task_queue=config.center.task_queue,
        search_attributes=for_meeting(MeetingRecord.convene(meeting, now)),
        summary=f"疑难工单会商：{meeting.reason}",
        what=f"会商 {meeting.meeting_no}",
    )
    return meeting


def _handle(client: Client, meeting_no: str) -> Any:
    return handle_by_number(client, meeting_no, "meeting")


async def act_meeting(client: Client, meeting_no: str, update: Any, command: Any) -> MeetingResult:
    result: MeetingResult = await act_on(_handle(client, meeting_no), update, command, f"会商 {meeting_no}")
    return result


async def view_meeting(client: Client, meeting_no: str) -> MeetingRecord:
    return await query_view(_handle(client, meeting_no), ConsultationMeetingWorkflow.view, f"会商 {meeting_no}")


async def meeting_outcome(client: Client, meeting_no: str) -> MeetingOutcome:
    workflow_id = _handle(client, meeting_no).id
    return await client.get_workflow_handle_for(ConsultationMeetingWorkflow.run, workflow_id).result()


async def determine_on_site(client: Client, ticket_no: str, command: DetermineOwner) -> Any:
    """现场确权督办: the centre decides a ticket's lead and assisting departments without a meeting."""
    return await act(client, ticket_no, TicketWorkflow.determine, command)
