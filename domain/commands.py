"""Human actions on a ticket, as the payloads of its workflow updates. Each names its actor."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from domain.calendar import Duration, Span, Unit
from domain.models import (
    Actor,
    Answer,
    Assignment,
    Callback,
    CityAction,
    ClosureCategory,
    Day,
    ExemptionReason,
    Frozen,
    LongText,
    PauseReason,
    Printable,
    Ref,
    Satisfaction,
    TicketNo,
    TicketStatus,
    VerifyDecision,
)

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000), Printable]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000), Printable]


class SignFor(Frozen):
    actor: Actor


class ContactCitizen(Frozen):
    actor: Actor
    note: Note = ""


class GiveAnswer(Frozen):
    actor: Actor
    answer: Answer


class RequestReturn(Frozen):
    actor: Actor
    reason: Reason


class RequestExtension(Frozen):
    """延期: by hours or by working days (exactly one)."""

    actor: Actor
    hours: int | None = Field(default=None, gt=0, le=24 * 60)
    working_days: int | None = Field(default=None, gt=0, le=60)
    reason: Reason

    @model_validator(mode="after")
    def _one_length(self) -> RequestExtension:
        if (self.hours is None) == (self.working_days is None):
            raise ValueError("give either hours or working_days")
        return self

    @property
    def span(self) -> Span:
        if self.working_days is not None:
            return Span(amount=self.working_days, unit=Unit.WORKING_DAYS)
        return Span(amount=self.hours or 0, unit=Unit.HOURS)


class ManualDispatch(Frozen):
    actor: Actor
    to: Assignment
    note: Note = ""


class Decide(Frozen):
    """The shift lead's decision on an 异常审批 request (approve or reject)."""

    actor: Actor
    approval_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=16), Printable]
    reassign_to: Assignment | None = None  # 改派: required when approving a return
    note: Note = ""


class RecordCallback(Frozen):
    actor: Actor
    callback: Callback


class VerifyTicket(Frozen):
    """核查: after an unresolved or 不满意 callback the centre redoes the ticket or closes it (核查结案)
    with a closure category; either way with a reason."""

    actor: Actor
    decision: VerifyDecision
    closure: ClosureCategory | None = None  # required to close, refused with a redo
    reason: Reason

    @model_validator(mode="after")
    def _closure_with_close(self) -> VerifyTicket:
        if self.decision is VerifyDecision.CLOSE and self.closure is None:
            raise ValueError("closure: a 核查结案 names its closure category")
        if self.decision is VerifyDecision.REDO and self.closure is not None:
            raise ValueError("closure: only a 核查结案 has a closure category")
        return self


class RequestExemption(Frozen):
    """免考核: the department asks that the ticket not count against it, with evidence."""

    actor: Actor
    category: ExemptionReason
    evidence: LongText


class RequestBacklog(Frozen):
    """挂账: a demand no time limit can meet; the department names the day it plans to be done."""

    actor: Actor
    plan_date: Day
    reason: Reason


class RequestPause(Frozen):
    """暂停计时: the department waits for the citizen (materials, not at home …)."""

    actor: Actor
    category: PauseReason
    note: Note = ""


class ResumeClock(Frozen):
    """恢复计时: the department resumes the paused clocks."""

    actor: Actor
    note: Note = ""


class ActionResult(Frozen):
    """What an update returns: the ticket's new status and, for requests, the approval's id."""

    status: TicketStatus
    message: str
    approval_id: str | None = None


class TicketOutcome(Frozen):
    """The workflow's result when the ticket ends."""

    ticket_no: str
    status: TicketStatus
    department: str | None
    redo_count: int
    return_count: int


# ----- 吹哨 (whistle) -----


class ReportIn(Frozen):
    """报到: a named department reports in (on site, for an urgent whistle)."""

    actor: Actor
    note: Note = ""


class WhistleAnswer(Frozen):
    """答卷: the department's answer to the street."""

    actor: Actor
    text: LongText


class EvaluateDepartment(Frozen):
    """一哨一考核: the street's evaluation of one department."""

    actor: Actor
    department: Ref
    satisfaction: Satisfaction
    comment: Note = ""


class Withdraw(Frozen):
    actor: Actor
    reason: Reason


# ----- 会商、确权 (consultation and responsibility determination) -----


class DetermineOwner(Frozen):
    """确权: the lead (主办) and assisting (协办) departments, decided by a meeting, an arbiter, or on
    site by the centre (then with a note saying where and why)."""

    actor: Actor
    lead: Assignment
    assisting: list[Assignment] = Field(default_factory=list, max_length=10)
    note: Note = ""
    lead_within: Duration | None = None  # the lead's time to answer (else the ticket's tier)
    assist_within: Duration | None = None  # the assistants' time to report


class Attend(Frozen):
    actor: Actor


class RecordMinutes(Frozen):
    actor: Actor
    minutes: LongText


class Refer(Frozen):
    """No agreement: the matter goes to the arbiter."""

    actor: Actor
    reason: Reason


# ----- 并单 (merging repeats) -----


class AssistReport(Frozen):
    """协办报告: an assisting department reports its part to the lead."""

    actor: Actor
    text: LongText


class TransferToCity(Frozen):
    """上转: the matter is outside the district's powers; the city centre takes it."""

    actor: Actor
    reason: Reason


class CityReply(Frozen):
    """The city's word on a ticket, as the shift lead records it: a ticket sent up returned to the
    district (市级退回) or refused (不予受理), or a ticket it sent down and the district closed sent
    back to be done again (市级重派); each way the district works it again."""

    actor: Actor
    action: CityAction = CityAction.RETURN
    reason: Reason


class LinkTicket(Frozen):
    actor: Actor
    main_ticket: TicketNo


class Unlink(Frozen):
    actor: Actor
    note: Note = ""


class CloseCampaign(Frozen):
    actor: Actor
    note: Note = ""
