"""专项行动协调会 and 专项推进会: a campaign groups the tickets a filter chooses (category, street,
department, overdue), holds its coordination meeting, has a target and a deadline; its progress is
its tickets' progress, and tickets arriving later that match join it. A backlog push (专项推进) is a
campaign on one department's overdue tickets; at its deadline what remains is escalated.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from domain.calendar import CalendarData, Span
from domain.delivery import NoticeKind
from domain.models import (
    SYSTEM_ACTOR,
    Action,
    Actor,
    Frozen,
    Ref,
    Role,
    ShortText,
    TicketNo,
    TicketStatus,
)
from domain.records import ActionRefused, PendingNotice, require_role


class CampaignKind(StrEnum):
    SPECIAL_ACTION = "专项行动"
    BACKLOG_PUSH = "专项推进"


class TicketFilter(Frozen):
    """Which tickets belong to the campaign (all given conditions must hold)."""

    category: Ref | None = None
    street: Ref | None = None
    department: Ref | None = None
    overdue_only: bool = False

    @property
    def label(self) -> str:
        parts = [self.category, self.street, self.department, "超期" if self.overdue_only else None]
        return "、".join(p for p in parts if p) or "全部工单"


class CampaignInput(Frozen):
    campaign_no: TicketNo
    kind: CampaignKind
    title: ShortText
    started_by: Actor
    filter: TicketFilter
    target_percent: int = Field(default=100, ge=1, le=100)  # share of its tickets to close by the deadline
    deadline: datetime
    refresh: Span  # how often membership and progress are refreshed
    calendar: CalendarData | None = None


class CampaignStatus(StrEnum):
    RUNNING = "进行中"
    CLOSED = "已结束"


class Member(BaseModel):
    workflow_id: str
    status: str
    joined_at: datetime


class Snapshot(Frozen):
    """What a refresh found: new matching tickets, and the status of every member."""

    new: list[str] = Field(default_factory=list)
    statuses: dict[str, str] = Field(default_factory=dict)


class FindTickets(Frozen):
    filter: TicketFilter
    members: list[str] = Field(default_factory=list)


class CampaignSummary(Frozen):
    total: int
    closed: int
    open: int
    percent: float
    target_reached: bool
    remaining: list[str]


class CampaignRecord(BaseModel):
    input: CampaignInput
    status: CampaignStatus = CampaignStatus.RUNNING
    started_at: datetime
    members: list[Member] = Field(default_factory=list)
    minutes: str | None = None
    summary: CampaignSummary | None = None
    refreshed_at: datetime | None = None
    actions: list[Action] = Field(default_factory=list)
    outbox: list[PendingNotice] = Field(default_factory=list)

    @classmethod
    def start(cls, campaign: CampaignInput, at: datetime) -> CampaignRecord:
        record = cls(input=campaign, started_at=at)
        detail = f"{campaign.title}；范围：{campaign.filter.label}；目标：办结 {campaign.target_percent}%"
        record._log(at, campaign.started_by, f"启动{campaign.kind.value}", detail)
        return record

    def apply(self, snapshot: Snapshot, at: datetime) -> None:
        known = {m.workflow_id for m in self.members}
        for workflow_id in snapshot.new:
            if workflow_id not in known:
                self.members.append(
                    Member(workflow_id=workflow_id, status=snapshot.statuses.get(workflow_id, ""), joined_at=at)
                )
                known.add(workflow_id)
        for member in self.members:
            member.status = snapshot.statuses.get(member.workflow_id, member.status)
        self.refreshed_at = at

    def progress(self) -> CampaignSummary:
        final = {TicketStatus.CLOSED.value, TicketStatus.ANSWERED_DIRECTLY.value, TicketStatus.TRANSFERRED.value}
        closed = [m for m in self.members if m.status in final]
        total = len(self.members)
        percent = 100.0 * len(closed) / total if total else 100.0
        return CampaignSummary(
            total=total,
            closed=len(closed),
            open=total - len(closed),
            percent=round(percent, 1),
            target_reached=percent >= self.input.target_percent,
            remaining=[m.workflow_id.removeprefix("ticket-") for m in self.members if m.status not in final],
        )

    # ----- the shift lead -----

    def check_lead(self, actor: Actor, action: str) -> None:
        require_role(actor, action, Role.SHIFT_LEAD)
        if self.status is not CampaignStatus.RUNNING:
            raise ActionRefused(f"拒绝{action}：{self.input.kind.value}已结束")

    def record_meeting(self, actor: Actor, minutes: str, at: datetime) -> None:
        self.minutes = minutes
        self._log(at, actor, "专项协调会", minutes)

    def close(self, actor: Actor | None, note: str, at: datetime) -> CampaignSummary:
        if self.summary is not None:  # two closings crossed: the first one stands
            return self.summary
        summary = self.summary = self.progress()
        self.status = CampaignStatus.CLOSED
        result = "达成目标" if summary.target_reached else "未达成目标"
        self._log(
            at,
            actor,
            "结束",
            f"{note}；共 {summary.total} 件，办结 {summary.closed} 件（{summary.percent}%），{result}".lstrip("；"),
        )
        if self.input.kind is CampaignKind.BACKLOG_PUSH and summary.remaining:
            # What a backlog push leaves behind goes to the leaders.
            text = f"{self.input.title}到期未清：{'、'.join(summary.remaining[:50])}"
            self.outbox.append(
                PendingNotice(
                    department=None,
                    kind=NoticeKind.ESCALATION,
                    text=text,
                    level="专项督办",
                    audience=["shift_lead", "leadership"],
                )
            )
            self._log(at, None, "专项督办", text)
        return summary

    def _log(self, at: datetime, actor: Actor | None, action: str, detail: str) -> None:
        self.actions.append(Action(at=at, actor=actor or SYSTEM_ACTOR, action=action, detail=detail))


def workflow_id_for_campaign(campaign_no: str) -> str:
    return f"campaign-{campaign_no}"
