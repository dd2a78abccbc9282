"""镇街吹哨、部门答卷: a street blows the whistle on a matter beyond its powers; each named department
must report in (报到) and then answer (答卷), each on its own clocks; the street then evaluates every
department (一哨一考核, the two-way assessment 双考核). The whistle closes when every department has
been evaluated, or when the street withdraws it.

A pure state machine, like `ticket_record`: `check_*` refuse with a reason and change nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from domain.calendar import CalendarData, china_time
from domain.config import DistrictConfig
from domain.deadlines import (
    WHISTLE_CLOCKS,
    Clock,
    ClockEvent,
    ClockKind,
    Escalation,
    TicketDeadlines,
    next_event,
    start_clock,
)
from domain.delivery import NoticeKind
from domain.intake import TicketRejected, assignment_for
from domain.metrics import Period
from domain.models import (
    ROLE_LABELS,
    SYSTEM_ACTOR,
    Action,
    Actor,
    Assignment,
    Frozen,
    LongText,
    Ref,
    Role,
    Satisfaction,
    ShortText,
    TicketNo,
)
from domain.records import ActionRefused, PendingNotice, ladder_notices, require_fit


class WhistleInput(Frozen):
    """What the street raised, fixed when the whistle is blown (kind limits and calendar included)."""

    whistle_no: TicketNo
    street: Ref
    raised_by: Actor
    kind: Ref  # 紧急 / 推进 / 难题
    title: ShortText
    content: LongText
    departments: list[Assignment] = Field(min_length=1, max_length=30)
    tickets: list[TicketNo] = Field(default_factory=list, max_length=50)
    deadlines: TicketDeadlines


class WhistleStatus(StrEnum):
    OPEN = "吹哨中"
    CLOSED = "已完成"
    WITHDRAWN = "已撤回"

    @property
    def is_final(self) -> bool:
        return self is not WhistleStatus.OPEN


class PartStatus(StrEnum):
    AWAITING_REPORT = "待报到"
    REPORTED = "已报到"
    ANSWERED = "已答卷"
    EVALUATED = "已评价"


class WhistleResult(Frozen):
    """What a whistle update returns."""

    status: WhistleStatus
    message: str


class WhistleOutcome(Frozen):
    """The workflow's result: how it ended and the street's evaluation of each department."""

    whistle_no: str
    status: WhistleStatus
    evaluations: dict[str, Satisfaction]


class Evaluation(Frozen):
    """The street's assessment of one department (一哨一考核)."""

    satisfaction: Satisfaction
    comment: str = ""
    by: Actor
    at: datetime


class Part(BaseModel):
    """One department's part in the whistle."""

    assignment: Assignment
    status: PartStatus = PartStatus.AWAITING_REPORT
    reported_at: datetime | None = None
    report_note: str = ""
    answered_at: datetime | None = None
    answer: str | None = None
    reported_on_time: bool | None = None
    answered_on_time: bool | None = None
    evaluation: Evaluation | None = None
    clocks: list[Clock] = Field(default_factory=list)
    escalation_level: str | None = None


class WhistleRecord(BaseModel):
    input: WhistleInput
    status: WhistleStatus = WhistleStatus.OPEN
    raised_at: datetime
    closed_at: datetime | None = None
    withdraw_reason: str | None = None
    parts: list[Part]
    actions: list[Action] = Field(default_factory=list)
    escalations: list[Escalation] = Field(default_factory=list)
    outbox: list[PendingNotice] = Field(default_factory=list)
    clock_version: int = 0

    @classmethod
    def blow(cls, whistle: WhistleInput, at: datetime) -> WhistleRecord:
        parts = [
            Part(
                assignment=a,
                clocks=[start_clock(kind, 1, at, whistle.deadlines) for kind in WHISTLE_CLOCKS],
            )
            for a in whistle.departments
        ]
        record = cls(input=whistle, raised_at=at, parts=parts)
        names = "、".join(a.department_name for a in whistle.departments)
        record._log(at, whistle.raised_by, "吹哨", f"{whistle.kind}哨：{whistle.title}；点名 {names}")
        for part in parts:
            report_due = china_time(part.clocks[0].due_at)
            text = f"{whistle.street}吹哨（{whistle.kind}）：{whistle.title}；请于 {report_due} 前报到"
            record.outbox.append(PendingNotice(department=part.assignment, kind=NoticeKind.WHISTLE, text=text))
        return record

    # ----- the departments: 报到、答卷 -----

    def check_report_in(self, actor: Actor) -> None:
        part = self._own_part(actor, "报到")
        _require_part_status(part, "报到", PartStatus.AWAITING_REPORT)

    def report_in(self, actor: Actor, note: str, at: datetime) -> None:
        part, on_time = self._advance(actor, PartStatus.REPORTED, ClockKind.REPORT_IN, "报到", note, at)
        part.reported_at, part.report_note, part.reported_on_time = at, note, on_time

    def check_answer(self, actor: Actor) -> None:
        part = self._own_part(actor, "答卷")
        if part.status is PartStatus.AWAITING_REPORT:
            raise ActionRefused("拒绝答卷：请先报到")
        _require_part_status(part, "答卷", PartStatus.REPORTED)

    def give_answer(self, actor: Actor, text: str, at: datetime) -> None:
        part, on_time = self._advance(actor, PartStatus.ANSWERED, ClockKind.ANSWER, "答卷", text, at)
        part.answered_at, part.answer, part.answered_on_time = at, text, on_time

    def _advance(
        self, actor: Actor, status: PartStatus, kind: ClockKind, action: str, text: str, at: datetime
    ) -> tuple[Part, bool | None]:
        """A named department's step (报到, 答卷): its part moves on, the step's clock stops (on time or
        not), and the step is on record."""
        part = self.part(actor.department or "")
        part.status = status
        on_time = self._stop(part, kind, at)
        self._log(at, actor, action, text, part.assignment.department)
        return part, on_time

    # ----- the street: 评价、撤回 -----

    def check_evaluate(self, actor: Actor, department: str) -> None:
        self._require_street(actor, "评价")
        part = self._part_or_refuse(department, "评价")
        _require_part_status(part, "评价", PartStatus.ANSWERED)

    def evaluate(self, actor: Actor, department: str, satisfaction: Satisfaction, comment: str, at: datetime) -> None:
        part = self.part(department)
        part.status = PartStatus.EVALUATED
        part.evaluation = Evaluation(satisfaction=satisfaction, comment=comment, by=actor, at=at)
        detail = f"{part.assignment.department_name}：{satisfaction.value}" + (f"；{comment}" if comment else "")
        self._log(at, actor, "评价", detail, department)
        if all(p.status is PartStatus.EVALUATED for p in self.parts):
            self.status = WhistleStatus.CLOSED
            self.closed_at = at
            self._log(at, None, "完成", "各部门均已答卷并评价")

    def check_withdraw(self, actor: Actor) -> None:
        self._require_street(actor, "撤回")

    def withdraw(self, actor: Actor, reason: str, at: datetime) -> None:
        self.status = WhistleStatus.WITHDRAWN
        self.closed_at = at
        self.withdraw_reason = reason
        for part in self.parts:
            self._stop_all(part, at)
            text = f"{self.input.street}已撤回吹哨：{reason}"
            self.outbox.append(PendingNotice(department=part.assignment, kind=NoticeKind.WHISTLE_WITHDRAWN, text=text))
        self._log(at, actor, "撤回", reason)

    # ----- clocks -----

    def next_clock_event(self) -> tuple[Part, ClockEvent] | None:
        candidates = [
            (part, event)
            for part in self.parts
            if (event := next_event([c for c in part.clocks if c.running], self.input.deadlines)) is not None
        ]
        return min(candidates, key=lambda pe: pe[1].at, default=None)

    def fire(self, department: str, event: ClockEvent, at: datetime) -> None:
        part = self.part(department)
        clock = next(c for c in part.clocks if c.kind is event.clock and c.running)
        clock.fired.append(event.key)
        name = part.assignment.department_name
        about = {"clock": clock.kind, "due_at": clock.due_at}
        if event.level is None:
            text = (
                f"吹哨{clock.kind.value}时限 {china_time(clock.due_at)} 已用去 {event.fraction:.0%}：{self.input.title}"
            )
            self._log(at, None, "预警", f"{name}{text}", department)
            self.outbox.append(PendingNotice(department=part.assignment, kind=NoticeKind.REMINDER, text=text, **about))
            return
        clock.level = part.escalation_level = event.level
        self.escalations.append(Escalation(at=at, round=1, level=event.level, department=department, **about))
        text = f"{name}吹哨{clock.kind.value}超期（时限 {china_time(clock.due_at)}）：{event.level}"
        self._log(at, None, event.level, text, department)
        self.outbox += ladder_notices(part.assignment, event, clock, text)

    @property
    def overdue(self) -> bool:
        return any(p.escalation_level for p in self.parts)

    # ----- helpers -----

    def part(self, department: str) -> Part:
        return next(p for p in self.parts if p.assignment.department == department)

    def _part_or_refuse(self, department: str, action: str) -> Part:
        part = next((p for p in self.parts if p.assignment.department == department), None)
        if part is None:
            raise ActionRefused(f"拒绝{action}：{department} 不是本次吹哨点名的部门")
        return part

    def _own_part(self, actor: Actor, action: str) -> Part:
        self._require_open(action)
        if actor.role is not Role.CLERK:
            raise ActionRefused(f"拒绝{action}：{actor.label} 无权操作，仅限被点名部门的{ROLE_LABELS[Role.CLERK]}")
        require_fit(actor, action)
        return self._part_or_refuse(actor.department or "", action)

    def _require_street(self, actor: Actor, action: str) -> None:
        self._require_open(action)
        if actor.role is not Role.STREET or actor.street != self.input.street:
            raise ActionRefused(f"拒绝{action}：仅限{self.input.street}工作人员，{actor.label} 无权操作")
        require_fit(actor, action)

    def _require_open(self, action: str) -> None:
        if self.status.is_final:
            raise ActionRefused(f"拒绝{action}：吹哨已{self.status.value.removeprefix('已')}")

    def _stop(self, part: Part, kind: ClockKind, at: datetime) -> bool | None:
        clock = next(c for c in part.clocks if c.kind is kind)
        if clock.running:
            clock.stopped_at = at
            self.clock_version += 1
        return clock.on_time

    def _stop_all(self, part: Part, at: datetime) -> None:
        for clock in part.clocks:
            if clock.running:
                clock.stopped_at = at
        self.clock_version += 1

    def _log(self, at: datetime, actor: Actor | None, action: str, detail: str, department: str | None = None) -> None:
        self.actions.append(
            Action(at=at, actor=actor or SYSTEM_ACTOR, action=action, detail=detail, department=department)
        )


def _require_part_status(part: Part, action: str, *allowed: PartStatus) -> None:
    if part.status not in allowed:
        wanted = "、".join(f"「{s.value}」" for s in allowed)
        raise ActionRefused(
            f"拒绝{action}：{part.assignment.department_name}当前为「{part.status.value}」，仅在{wanted}时可{action}"
        )


def plan_whistle(
    config: DistrictConfig,
    calendar: CalendarData,
    *,
    whistle_no: str,
    raised_by: Actor,
    kind: str,
    title: str,
    content: str,
    departments: list[str],
    tickets: list[str] = [],  # noqa: B006
) -> WhistleInput:
    """Check a whistle against the configuration and fix its limits; errors name the field."""
    if raised_by.role is not Role.STREET or not raised_by.street:
        raise TicketRejected(f"actor: {raised_by.label} 不是镇街工作人员，不能吹哨")
    try:
        whistle_kind = config.whistle_kind(kind)
    except KeyError:
        known = "、".join(k.name for k in config.whistle_kinds)
        raise TicketRejected(f"kind: unknown '{kind}'（可选：{known}）") from None
    if not departments:
        raise TicketRejected("departments: name at least one department")
    if len(set(departments)) != len(departments):
        raise TicketRejected("departments: a department is named twice")
    assignments = [assignment_for(config, code) for code in departments]
    deadlines = TicketDeadlines(
        tier=whistle_kind.tier(),
        warnings=config.deadlines.warnings,
        ladder=config.deadlines.ladder,
        return_window=config.deadlines.return_window,
        extension=config.deadlines.extension,
        calendar=calendar,
    )
    return WhistleInput(
        whistle_no=whistle_no,
        street=raised_by.street,
        raised_by=raised_by,
        kind=whistle_kind.name,
        title=title,
        content=content,
        departments=assignments,
        tickets=tickets,
        deadlines=deadlines,
    )


def whistle_evaluations(whistles: Iterable[WhistleRecord], period: Period) -> dict[str, list[Satisfaction]]:
    """The streets' evaluations of each department (by code) made in the period, in order of time."""
    found: list[tuple[datetime, str, Satisfaction]] = []
    for whistle in whistles:
        for part in whistle.parts:
            evaluation = part.evaluation
            if evaluation is not None and period.contains(evaluation.at):
                found.append((evaluation.at, part.assignment.department, evaluation.satisfaction))
    result: dict[str, list[Satisfaction]] = {}
    for _, department, satisfaction in sorted(found, key=lambda e: e[0]):
        result.setdefault(department, []).append(satisfaction)
    return dict(sorted(result.items()))


def workflow_id_for_whistle(whistle_no: str) -> str:
    return f"whistle-{whistle_no}"
