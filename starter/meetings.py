"""Client-side consultation meetings (疑难工单会商) and on-site determinations (现场确权)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from temporalio.client import Client

from activities.runtime.calendar_source import calendar_for
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
from starter.numbered import Numbered
from starter.tickets import act
from workflows.meeting import ConsultationMeetingWorkflow, for_meeting
from workflows.ticket import TicketWorkflow

MEETINGS: Numbered[MeetingRecord, MeetingResult, MeetingOutcome] = Numbered(
    "meeting",
    "会商",
    ConsultationMeetingWorkflow.run,
    ConsultationMeetingWorkflow.view,
    workflow_id_for_meeting,
    for_meeting,
    letter="M",
)


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
        meeting_no=MEETINGS.new_number(now) if meeting_no is None else meeting_no,
        convened_by=convened_by,
        reason=reason,
        tickets=tickets,
        departments=departments,
    )
    record = MeetingRecord.convene(meeting, now)
    await MEETINGS.start(client, config, meeting, meeting.meeting_no, record, summary=f"疑难工单会商：{meeting.reason}")
    return meeting


act_meeting = MEETINGS.act
view_meeting = MEETINGS.view
meeting_outcome = MEETINGS.outcome


async def determine_on_site(client: Client, ticket_no: str, command: DetermineOwner) -> Any:
    """现场确权督办: the centre decides a ticket's lead and assisting departments without a meeting."""
    return await act(client, ticket_no, TicketWorkflow.determine, command)
