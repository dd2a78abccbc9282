"""疑难工单会商 on the pages: the shift lead convenes a meeting, records its minutes and decides (确权)
or refers it to the arbiter; an invited department's clerk confirms attendance (出席); the arbiter
rules (裁定). The same calls as `hotline meeting …` (`starter.meetings`), each offered only when the
meeting's own check (`MeetingRecord.check_*`, which the update validators run) lets it through."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from domain.commands import Attend, DetermineOwner, RecordMinutes, Refer
from domain.intake import TicketRejected, assignment_for
from domain.meeting import MeetingRecord
from domain.models import Role
from starter.meetings import act_meeting, convene, view_meeting
from starter.tickets import ActionFailed
from starter.web.pages import Forbidden, NotFound, client_of, config_of, form_of, go, render, signed_in
from starter.web.pages_tickets import passes
from starter.web.users import Viewer
from workflows.meeting import ConsultationMeetingWorkflow

router = APIRouter(include_in_schema=False)

LIST_LIMIT = 100


def sees_meeting(record: MeetingRecord, viewer: Viewer) -> bool:
    """The centre, leaders and the arbiter: every meeting; a department: the meetings it is invited to."""
    if viewer.of_centre or viewer.is_(Role.ARBITER):
        return True
    return viewer.is_(Role.CLERK) and any(i.assignment.department == viewer.department for i in record.invitees)


def allowed(record: MeetingRecord, viewer: Viewer) -> set[str]:
    actor = viewer.actor
    if actor is None:
        return set()
    some = record.invitees[0].assignment
    checks: dict[str, Callable[[], None]] = {
        "attend": lambda: record.check_attend(actor),
        "record": lambda: record.check_record_minutes(actor),
        "decide": lambda: record.check_decide(actor, some, []),
        "refer": lambda: record.check_refer(actor),
        "rule": lambda: record.check_rule(actor, some, []),
    }
    return {name for name, check in checks.items() if passes(check)}


async def _records(request: Request) -> list[MeetingRecord]:
    client = client_of(request)
    query = "WorkflowType = 'ConsultationMeetingWorkflow'"
    ids = [wf.id async for wf in client.list_workflows(query, limit=LIST_LIMIT)]
    found = await asyncio.gather(
        *(view_meeting(client, i.removeprefix("meeting-")) for i in ids), return_exceptions=True
    )
    return sorted((r for r in found if isinstance(r, MeetingRecord)), key=lambda r: r.input.meeting_no, reverse=True)


def _seer(viewer: Viewer) -> None:
    if not (viewer.of_centre or viewer.is_(Role.ARBITER, Role.CLERK)):
        raise Forbidden(f"{viewer.name}（{viewer.role_label}）无权查看会商")


@router.get("/meetings", response_class=HTMLResponse)
async def meetings(request: Request) -> Response:
    viewer = signed_in(request)
    _seer(viewer)
    config = config_of(request)
    records = [r for r in await _records(request) if sees_meeting(r, viewer)]
    return render(
        request,
        "meetings.html",
        title="疑难工单会商",
        records=[(r, allowed(r, viewer)) for r in records],
        can_convene=viewer.is_(Role.SHIFT_LEAD),
        departments=config.departments,
        refresh=None,
    )


@router.post("/meetings")
async def convene_meeting(request: Request) -> Response:
    viewer = signed_in(request)
    if not viewer.is_(Role.SHIFT_LEAD) or viewer.actor is None:
        raise Forbidden(f"{viewer.name}（{viewer.role_label}）无权召集会商")
    form = await form_of(request)
    tickets = [t for t in re.split(r"[\s,，、]+", form.get("tickets", "")) if t]
    departments = [d for d in form.get("departments", "").split(",") if d]
    try:
        meeting = await convene(
            client_of(request),
            config_of(request),
            convened_by=viewer.actor,
            reason=form.get("reason", "").strip(),
            tickets=tickets,
            departments=departments,
        )
    except (TicketRejected, ActionFailed, ValueError) as err:
        return go(request, "/meetings", f"未能召集：{err}", ok=False)
    return go(request, f"/meetings/{meeting.meeting_no}", f"已召集会商 {meeting.meeting_no}")


@router.get("/meetings/{meeting_no}", response_class=HTMLResponse)
async def meeting_page(request: Request, meeting_no: str) -> Response:
    viewer = signed_in(request)
    _seer(viewer)
    try:
        record = await view_meeting(client_of(request), meeting_no)
    except ActionFailed as err:
        raise NotFound(str(err)) from None
    if not sees_meeting(record, viewer):
        raise Forbidden(f"会商 {meeting_no} 未邀请{viewer.name}（{viewer.role_label}）所在单位")
    return render(
        request,
        "meeting.html",
        title=f"会商 {record.input.meeting_no}：{record.input.reason}",
        record=record,
        m=record.input,
        allowed=allowed(record, viewer),
        departments=config_of(request).departments,
        refresh=None,
    )


def _determination(viewer: Viewer, form: dict[str, str], config: Any) -> DetermineOwner:
    assert viewer.actor is not None
    lead = assignment_for(config, form.get("lead", ""))
    assisting = [assignment_for(config, code) for code in form.get("assist", "").split(",") if code]
    return DetermineOwner(
        actor=viewer.actor,
        lead=lead,
        assisting=assisting,
        lead_within=form.get("lead_within") or None,  # a duration as written ("3wd"): pydantic parses it
        assist_within=form.get("assist_within") or None,
    )


@router.post("/meetings/{meeting_no}/actions/{action}")
async def meeting_action(request: Request, meeting_no: str, action: str) -> Response:
    viewer = signed_in(request)
    form = await form_of(request)
    if viewer.actor is None:
        raise Forbidden(f"{viewer.name}（{viewer.role_label}）的账号只能查看，不能办理会商")
    page = f"/meetings/{meeting_no}"
    config = config_of(request)
    updates = {
        "attend": ConsultationMeetingWorkflow.attend,
        "record": ConsultationMeetingWorkflow.record_minutes,
        "decide": ConsultationMeetingWorkflow.decide,
        "refer": ConsultationMeetingWorkflow.refer,
        "rule": ConsultationMeetingWorkflow.rule,
    }
    if action not in updates:
        raise NotFound(f"没有名为 {action} 的会商操作")
    try:
        command: Any
        if action == "attend":
            command = Attend(actor=viewer.actor)
        elif action == "record":
            command = RecordMinutes(actor=viewer.actor, minutes=form.get("minutes", ""))
        elif action == "refer":
            command = Refer(actor=viewer.actor, reason=form.get("reason", ""))
        else:
            command = _determination(viewer, form, config)
    except TicketRejected as err:
        return go(request, page, f"输入有误：{err}", ok=False)
    except ValidationError as err:
        first = err.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "表单"
        return go(request, page, f"输入有误（{field}）：{first['msg']}", ok=False)
    try:
        result = await act_meeting(client_of(request), meeting_no, updates[action], command)
    except ActionFailed as refused:
        return go(request, page, str(refused), ok=False)
    return go(request, page, result.message)
