"""疑难工单会商会议: the centre convenes the departments concerned with one or more hard or disputed
tickets; they confirm attendance by a deadline (absence is recorded and escalated); the meeting is
recorded (minutes, attendees) and decides who owns each ticket (确权: a lead 主办 and assisting 协办
departments). If they cannot agree, the matter goes to the configured arbiter (机构编制部门 or
司法行政部门), whose ruling is final. Until a decision, the tickets' current assignments keep running.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from domain.calendar import CalendarData, Span, WorkCalendar, add, china_time
from domain.commands import DetermineOwner
from domain.config import DistrictConfig
from domain.delivery import NoticeKind
from domain.intake import TicketRejected, assignment_for
from domain.models import (
    ROLE_LABELS,
    SYSTEM_ACTOR,
    Action,
    Actor,
    Assignment,
    Determination,
    Frozen,
    Ref,
    Role,
    ShortText,
    TicketNo,
)
from domain.records import ActionRefused, PendingNotice, require_fit, require_role


class MeetingInput(Frozen):
    meeting_no: TicketNo
    convened_by: Actor  # the shift lead, or the system for a 问题工单
    reason: ShortText
    tickets: list[TicketNo] = Field(min_length=1, max_length=50)
    departments: list[Assignment] = Field(min_length=1, max_length=30)
    attendance_window: Span
    arbiter: Ref
    calendar: CalendarData


class MeetingStatus(StrEnum):
    INVITING = "待出席"
    IN_SESSION = "会商中"
    DECIDED = "已确权"
    REFERRED = "提交裁定"
    RULED = "已裁定"

    @property
    def is_final(self) -> bool:
        return self in (MeetingStatus.DECIDED, MeetingStatus.RULED)


class MeetingResult(Frozen):
    status: MeetingStatus
    message: str


class MeetingOutcome(Frozen):
    meeting_no: str
    status: MeetingStatus
    determination: Determination


class Invitee(BaseModel):
    assignment: Assignment
    attended_by: Actor | None = None
    confirmed_at: datetime | None = None
    absent: bool = False


class MeetingRecord(BaseModel):
    input: MeetingInput
    status: MeetingStatus = MeetingStatus.INVITING
    convened_at: datetime
    attendance_due: datetime
    invitees: list[Invitee]
    minutes: str | None = None
    determination: Determination | None = None
    referral_reason: str | None = None
    actions: list[Action] = Field(default_factory=list)
    outbox: list[PendingNotice] = Field(default_factory=list)

    @classmethod
    def convene(cls, meeting: MeetingInput, at: datetime) -> MeetingRecord:
        due, _ = add(WorkCalendar(meeting.calendar), at, meeting.attendance_window)
        record = cls(
            input=meeting,
            convened_at=at,
            attendance_due=due,
            invitees=[Invitee(assignment=a) for a in meeting.departments],
        )
        names = "、".join(a.department_name for a in meeting.departments)
        tickets = "、".join(meeting.tickets)
        record._log(at, meeting.convened_by, "召集会商", f"{meeting.reason}；工单 {tickets}；邀请 {names}")
        for invitee in record.invitees:
            text = f"疑难工单会商（{meeting.reason}），涉及工单 {tickets}，请于 {china_time(due)} 前确认出席"
            record.outbox.append(PendingNotice(department=invitee.assignment, kind=NoticeKind.MEETING, text=text))
        return record

    # ----- attendance (出席) -----

    def check_attend(self, actor: Actor) -> None:
        if self.status is not MeetingStatus.INVITING:
            raise ActionRefused(f"拒绝确认出席：会商当前为「{self.status.value}」")
        if actor.role is not Role.CLERK:
            raise ActionRefused(f"拒绝确认出席：{actor.label} 无权操作，仅限受邀部门的{ROLE_LABELS[Role.CLERK]}")
        require_fit(actor, "确认出席")
        invitee = self._invitee(actor.department or "")
        if invitee is None:
            raise ActionRefused(f"拒绝确认出席：{actor.label} 所在单位未受邀")
        if invitee.attended_by is not None:
            raise ActionRefused("拒绝确认出席：本单位已确认")

    def attend(self, actor: Actor, at: datetime) -> None:
        invitee = self._invitee(actor.department or "")
        assert invitee is not None
        invitee.attended_by, invitee.confirmed_at = actor, at
        self._log(at, actor, "确认出席", invitee.assignment.department_name)
        if all(i.attended_by for i in self.invitees):
            self._open(at)

    def close_attendance(self, at: datetime) -> None:
        """The attendance deadline passed: those not confirmed are absent, and the centre is told."""
        for invitee in self.invitees:
            if invitee.attended_by is None:
                invitee.absent = True
                text = f"{invitee.assignment.department_name}未按时确认出席疑难工单会商（{self.input.reason}）"
                self._log(at, None, "缺席", text)
                notice = {"kind": NoticeKind.ESCALATION, "text": text, "level": "缺席督办"}
                self.outbox.append(PendingNotice(department=invitee.assignment, **notice))
                self.outbox.append(PendingNotice(department=None, audience=["shift_lead"], **notice))
        self._open(at)

    # ----- the meeting: minutes, decision, referral, ruling -----

    def check_record_minutes(self, actor: Actor) -> None:
        self._require_lead(actor, "记录会议")
        self._require_status("记录会议", MeetingStatus.IN_SESSION)

    def record_minutes(self, actor: Actor, minutes: str, at: datetime) -> None:
        self.minutes = minutes
        attendees = "、".join(i.assignment.department_name for i in self.invitees if i.attended_by) or "无"
        self._log(at, actor, "会议纪要", f"出席：{attendees}；{minutes}")

    def check_decide(self, actor: Actor, lead: Assignment, assisting: list[Assignment]) -> None:
        self._require_lead(actor, "确权")
        self._require_status("确权", MeetingStatus.IN_SESSION)
        if self.minutes is None:
            raise ActionRefused("拒绝确权：请先记录会议纪要")
        _check_parties(lead, assisting, "确权")

    def decide(self, cmd: DetermineOwner, at: datetime) -> Determination:
        self.status = MeetingStatus.DECIDED
        return self._determine(cmd, "会商确权", at)

    def check_refer(self, actor: Actor) -> None:
        self._require_lead(actor, "提交裁定")
        self._require_status("提交裁定", MeetingStatus.IN_SESSION)

    def refer(self, actor: Actor, reason: str, at: datetime) -> None:
        self.status = MeetingStatus.REFERRED
        self.referral_reason = reason
        self._log(at, actor, "提交裁定", f"未能达成一致，提交{self.input.arbiter}裁定：{reason}")
        text = f"疑难工单会商未能确权，请{self.input.arbiter}裁定：{reason}"
        self.outbox.append(PendingNotice(department=None, kind=NoticeKind.MEETING, text=text, audience=["arbiter"]))

    def check_rule(self, actor: Actor, lead: Assignment, assisting: list[Assignment]) -> None:
        if actor.role is not Role.ARBITER:
            raise ActionRefused(f"拒绝裁定：{actor.label} 无权操作，仅限{self.input.arbiter}")
        require_fit(actor, "裁定")
        self._require_status("裁定", MeetingStatus.REFERRED)
        _check_parties(lead, assisting, "裁定")

    def rule(self, cmd: DetermineOwner, at: datetime) -> Determination:
        self.status = MeetingStatus.RULED
        return self._determine(cmd, "裁定", at)

    def log_delivered(self, at: datetime, ticket_no: str) -> None:
        self._log(at, None, "确权送达", f"工单 {ticket_no}")

    def log_not_delivered(self, at: datetime, ticket_no: str, error: str) -> None:
        self._log(at, None, "确权未送达", f"工单 {ticket_no}：{error}")

    # ----- helpers -----

    def _determine(self, cmd: DetermineOwner, source: str, at: datetime) -> Determination:
        self.determination = determination_from(cmd, source, self.input.meeting_no, at)
        helpers = "、".join(a.department_name for a in cmd.assisting) or "无"
        limits = "".join(
            f"；{who}时限 {span.label}"
            for who, span in (("主办", cmd.lead_within), ("协办", cmd.assist_within))
            if span
        )
        self._log(at, cmd.actor, source, f"主办 {cmd.lead.department_name}；协办 {helpers}{limits}")
        return self.determination

    def _open(self, at: datetime) -> None:
        if self.status is MeetingStatus.INVITING:
            self.status = MeetingStatus.IN_SESSION
            self._log(at, None, "开始会商", "")

    def _invitee(self, department: str) -> Invitee | None:
        return next((i for i in self.invitees if i.assignment.department == department), None)

    def _require_lead(self, actor: Actor, action: str) -> None:
        require_role(actor, action, Role.SHIFT_LEAD)

    def _require_status(self, action: str, *allowed: MeetingStatus) -> None:
        if self.status not in allowed:
            wanted = "、".join(f"「{s.value}」" for s in allowed)
            raise ActionRefused(f"拒绝{action}：会商当前为「{self.status.value}」，仅在{wanted}时可{action}")

    def _log(self, at: datetime, actor: Actor | None, action: str, detail: str) -> None:
        self.actions.append(Action(at=at, actor=actor or SYSTEM_ACTOR, action=action, detail=detail))


def _check_parties(lead: Assignment, assisting: list[Assignment], action: str) -> None:
    codes = [a.department for a in assisting]
    if lead.department in codes:
        raise ActionRefused(f"拒绝{action}：主办单位不能同时是协办单位")
    if len(set(codes)) != len(codes):
        raise ActionRefused(f"拒绝{action}：协办单位重复")


def determination_from(cmd: DetermineOwner, source: str, reference: str, at: datetime) -> Determination:
    return Determination(
        lead=cmd.lead,
        assisting=cmd.assisting,
        source=source,
        reference=reference,
        decided_by=cmd.actor,
        decided_at=at,
        lead_within=str(cmd.lead_within) if cmd.lead_within else None,
        assist_within=str(cmd.assist_within) if cmd.assist_within else None,
    )


def plan_meeting(
    config: DistrictConfig,
    calendar: CalendarData,
    *,
    meeting_no: str,
    convened_by: Actor,
    reason: str,
    tickets: list[str],
    departments: list[str],
) -> MeetingInput:
    if convened_by.role not in (Role.SHIFT_LEAD, Role.SYSTEM):
        raise TicketRejected(f"actor: {convened_by.label} 不是值班长，不能召集会商")
    if not tickets:
        raise TicketRejected("tickets: name at least one ticket")
    if not departments or len(set(departments)) != len(departments):
        raise TicketRejected("departments: name each invited department once")
    return MeetingInput(
        meeting_no=meeting_no,
        convened_by=convened_by,
        reason=reason,
        tickets=tickets,
        departments=[assignment_for(config, code) for code in departments],
        attendance_window=config.center.attendance_window,
        arbiter=config.center.arbiter,
        calendar=calendar,
    )


def workflow_id_for_meeting(meeting_no: str) -> str:
    return f"meeting-{meeting_no}"
