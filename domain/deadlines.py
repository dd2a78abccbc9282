"""The deadline policy (时限规则) and the clocks a ticket keeps.

Each dispatch round runs three clocks: 签收 (sign-for), 响应 (first contact with the citizen) and
办结 (the answer). Each clock warns the department at fractions of its time (预警), and once
breached climbs the escalation ladder: 催办 → 督办 → 通报 → 领导督办, each step after a delay
counted from the breach. Everything here is pure: the workflow asks `next_event` when to wake
and `fire` what to record.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from itertools import pairwise
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from domain.calendar import CalendarData, Duration, Span, WorkCalendar, add
from domain.models import Frozen, RequestKind


class ClockKind(StrEnum):
    SIGN_FOR = "签收"
    CONTACT = "响应"
    RESOLVE = "办结"
    REPORT_IN = "报到"  # a whistle's department reports in (on site for an urgent whistle)
    ANSWER = "答卷"  # a whistle's department answers the street
    ASSIST_SIGN_FOR = "协办签收"  # an assisting (协办) department signs for its part
    ASSIST_REPORT = "协办报告"  # and reports to the lead department, within the tier's response limit
    ITEM = "事项办结"  # an enterprise service item (红色服务团), within its agreed time limit


TICKET_CLOCKS = (ClockKind.SIGN_FOR, ClockKind.CONTACT, ClockKind.RESOLVE)
WHISTLE_CLOCKS = (ClockKind.REPORT_IN, ClockKind.ANSWER)


Target = Literal["department", "shift_lead", "leadership"]


class LadderStep(Frozen):
    level: str  # 催办, 督办, 通报, 领导督办 …
    after: Duration  # counted from the breach
    notify: list[Target] = Field(min_length=1)


class TierMatch(Frozen):
    urgency: list[str] = Field(default_factory=list)
    category: list[str] = Field(default_factory=list)
    kind: list[RequestKind] = Field(default_factory=list)

    def matches(self, urgency: str, category: str, kind: RequestKind) -> bool:
        return (
            (not self.urgency or urgency in self.urgency)
            and (not self.category or category in self.category)
            and (not self.kind or kind in self.kind)
        )


class Tier(Frozen):
    name: str
    match: TierMatch = TierMatch()
    sign_for: Duration
    contact: Duration
    resolve: Duration


class ExtensionRule(Frozen):
    max_count: int = Field(default=1, ge=0)
    max: Duration = Span(amount=10, unit="wd")


class ItemTier(Frozen):
    """The tier of the red service team's items: a default time limit when the visit agrees none."""

    name: str = "企业服务事项"
    limit: Duration = Span(amount=15, unit="wd")

    def tier(self, limit: Span | None = None) -> Tier:
        span = limit or self.limit
        return Tier(name=self.name, sign_for=span, contact=span, resolve=span)


class DeadlinePolicy(Frozen):
    """Configuration: the first tier whose match fits a ticket gives its limits."""

    tiers: list[Tier] = Field(min_length=1)
    enterprise_item: ItemTier = ItemTier()
    warnings: list[float] = Field(default_factory=lambda: [0.5, 0.75])
    ladder: list[LadderStep] = Field(min_length=1)
    return_window: Duration = Span(amount=2, unit="wd")
    extension: ExtensionRule = ExtensionRule()

    @model_validator(mode="after")
    def _sane(self) -> DeadlinePolicy:
        if any(not 0 < f < 1 for f in self.warnings):
            raise ValueError("warnings: each fraction must be between 0 and 1")
        if any(a >= b for a, b in pairwise(self.warnings)):
            raise ValueError("warnings: fractions must be strictly increasing")
        if self.tiers[-1].match != TierMatch():
            raise ValueError(f"tiers.{len(self.tiers) - 1}: the last tier must match every ticket (no match)")
        return self

    def tier_for(self, urgency: str, category: str, kind: RequestKind) -> Tier:
        return next(t for t in self.tiers if t.match.matches(urgency, category, kind))


class TicketDeadlines(Frozen):
    """What one ticket's clocks need, fixed at intake (part of the workflow input)."""

    tier: Tier
    warnings: list[float]
    ladder: list[LadderStep]
    return_window: Duration
    extension: ExtensionRule
    calendar: CalendarData

    def limit(self, kind: ClockKind) -> Span:
        if kind in (ClockKind.SIGN_FOR, ClockKind.REPORT_IN, ClockKind.ASSIST_SIGN_FOR):
            return self.tier.sign_for
        if kind in (ClockKind.CONTACT, ClockKind.ASSIST_REPORT):
            return self.tier.contact
        return self.tier.resolve


def deadlines_for(
    policy: DeadlinePolicy, calendar: CalendarData, urgency: str, category: str, kind: RequestKind
) -> TicketDeadlines:
    tier = policy.tier_for(urgency, category, kind)
    return TicketDeadlines(
        tier=tier,
        warnings=policy.warnings,
        ladder=policy.ladder,
        return_window=policy.return_window,
        extension=policy.extension,
        calendar=calendar,
    )


class Clock(BaseModel):
    """One running (or stopped) clock of one dispatch round."""

    kind: ClockKind
    round: int
    started_at: datetime
    due_at: datetime
    armed_from: datetime  # events before this instant are not fired (set anew when the due time moves)
    estimated: bool = False  # the due time was computed without holiday data for its year
    stopped_at: datetime | None = None
    fired: list[str] = Field(default_factory=list)
    level: str | None = None  # the highest escalation step reached
    owner: str | None = None  # an assisting department's code; None for the lead's clocks

    @property
    def running(self) -> bool:
        return self.stopped_at is None

    @property
    def on_time(self) -> bool | None:
        return None if self.stopped_at is None else self.stopped_at <= self.due_at

    def breached(self, now: datetime) -> bool:
        return (self.stopped_at or now) > self.due_at


class Escalation(Frozen):
    """One step of the ladder, as it happened."""

    at: datetime
    clock: ClockKind
    level: str
    round: int
    department: str
    due_at: datetime


class ClockEvent(Frozen):
    at: datetime
    clock: ClockKind
    key: str
    level: str | None  # None: a warning (预警); otherwise the ladder step
    notify: list[Target]
    fraction: float | None = None
    owner: str | None = None  # the assisting department whose clock this is


def start_clock(
    kind: ClockKind,
    round: int,
    at: datetime,
    deadlines: TicketDeadlines,
    owner: str | None = None,
    limit: Span | None = None,  # a limit set by a determination instead of the tier's
) -> Clock:
    due, estimated = add(WorkCalendar(deadlines.calendar), at, limit or deadlines.limit(kind))
    return Clock(kind=kind, round=round, started_at=at, due_at=due, armed_from=at, estimated=estimated, owner=owner)


def events(clock: Clock, deadlines: TicketDeadlines) -> list[ClockEvent]:
    """Every warning and ladder step of a clock, in time order (fired or not)."""
    span = clock.due_at - clock.started_at
    result = [
        ClockEvent(
            at=clock.started_at + span * f,
            clock=clock.kind,
            key=f"warn{f}",
            level=None,
            notify=["department"],
            fraction=f,
            owner=clock.owner,
        )
        for f in deadlines.warnings
    ]
    calendar = WorkCalendar(deadlines.calendar)
    for i, step in enumerate(deadlines.ladder):
        at, _ = add(calendar, clock.due_at, step.after)
        # A step with no delay (催办) fires at the due time itself: the clock was still running then.
        result.append(
            ClockEvent(at=at, clock=clock.kind, key=f"step{i}", level=step.level, notify=step.notify, owner=clock.owner)
        )
    return sorted(result, key=lambda e: e.at)


def next_event(clocks: list[Clock], deadlines: TicketDeadlines) -> ClockEvent | None:
    pending = [
        e for c in clocks if c.running for e in events(c, deadlines) if e.key not in c.fired and e.at >= c.armed_from
    ]
    return min(pending, key=lambda e: e.at, default=None)
