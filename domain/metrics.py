"""The hotline's figures for a period (受理量、办结量、在办量 and the rates: 签收及时率、响应率、按时办结率、
解决率、满意率、重办率、退单率、延期率), per department, street, category or urgency; the departments'
assessment (考核得分: the three rates weighted, less the streets' whistle evaluations) and the monthly
red and black lists (红黑榜).

Pure: `TicketFacts` (what each ticket publishes as search attributes) in, figures out. Every rate
keeps its numerator and denominator so a reader can check it. The definitions, with their
populations and the choices made where practice differs, are in docs/metrics.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Annotated, Literal, NamedTuple

from pydantic import AliasChoices, AwareDatetime, BaseModel, ConfigDict, Field, computed_field, model_validator

from domain.calendar import CHINA_TZ
from domain.facts import TicketFacts
from domain.models import Frozen, Satisfaction, TicketStatus

# ----- the policy (configuration section `metrics:`) -----


class Weights(Frozen):
    """考核权重: points out of 100 for 响应率, 解决率 and 满意率 (keys in English or Chinese)."""

    response: float = Field(default=30, ge=0, validation_alias=AliasChoices("response", "响应"))
    resolution: float = Field(default=35, ge=0, validation_alias=AliasChoices("resolution", "解决"))
    satisfaction: float = Field(default=35, ge=0, validation_alias=AliasChoices("satisfaction", "满意"))

    @model_validator(mode="after")
    def _hundred(self) -> Weights:
        total = self.response + self.resolution + self.satisfaction
        if abs(total - 100) > 1e-9:
            raise ValueError(
                "weights: response + resolution + satisfaction must add up to 100 "
                f"(got {self.response:g} + {self.resolution:g} + {self.satisfaction:g} = {total:g})"
            )
        return self


class RedListRule(Frozen):
    """红榜: departments with at least `min_closed` tickets closed and a score of at least `min_score`,
    best first, at most `size`."""

    min_closed: int = Field(default=5, ge=0)
    min_score: float = Field(default=90, ge=0, le=100)
    size: int = Field(default=3, ge=0)


class BlackListRule(Frozen):
    """黑榜: departments with at least `min_closed` tickets closed and a score of at most `max_score`,
    worst first, at most `size`."""

    min_closed: int = Field(default=5, ge=0)
    max_score: float = Field(default=75, ge=0, le=100)
    size: int = Field(default=3, ge=0)


def _default_deductions() -> dict[Satisfaction, float]:
    return {Satisfaction.UNSATISFIED: 2.0, Satisfaction.BASICALLY_SATISFIED: 0.5}


class Rate(StrEnum):
    """The rates, in the order the reports show them."""

    SIGN_FOR = "签收及时率"
    RESPONSE = "响应率"
    ON_TIME = "按时办结率"
    RESOLUTION = "解决率"
    SATISFACTION = "满意率"
    REDO = "重办率"
    RETURN = "退单率"
    EXTENSION = "延期率"


def _default_targets() -> dict[Rate, float]:
    return {Rate.RESPONSE: 100.0, Rate.RESOLUTION: 90.0, Rate.SATISFACTION: 90.0}


class MetricsPolicy(Frozen):
    """How the figures are counted and the departments assessed (configuration section `metrics:`)."""

    basic_counts_as_satisfied: bool = True  # 满意率 counts 基本满意 with 满意
    weights: Weights = Weights()
    # Points taken off a department's score for each whistle evaluation (一哨一考核) of this kind.
    whistle_deduction: dict[Satisfaction, Annotated[float, Field(ge=0)]] = Field(default_factory=_default_deductions)
    red_list: RedListRule = RedListRule()
    black_list: BlackListRule = BlackListRule()
    top_categories: int = Field(default=5, ge=1)
    # 目标值 (percent) drawn as a target line on the rate charts; a rate not named here gets no line.
    targets: dict[Rate, Annotated[float, Field(ge=0, le=100)]] = Field(default_factory=_default_targets)

    @model_validator(mode="after")
    def _lists_apart(self) -> MetricsPolicy:
        if self.red_list.min_score <= self.black_list.max_score:
            raise ValueError(
                f"red_list.min_score ({self.red_list.min_score:g}) must be above "
                f"black_list.max_score ({self.black_list.max_score:g})"
            )
        return self

    @property
    def satisfied(self) -> frozenset[Satisfaction]:
        """The callback verdicts that count as satisfied in 满意率."""
        if self.basic_counts_as_satisfied:
            return frozenset({Satisfaction.SATISFIED, Satisfaction.BASICALLY_SATISFIED})
        return frozenset({Satisfaction.SATISFIED})


# ----- periods (in China time) -----

PeriodKind = Literal["day", "week", "month", "cumulative"]


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=CHINA_TZ)


class Period(Frozen):
    """A day, an ISO week or a month in China time: `start` inclusive, `end` exclusive."""

    kind: PeriodKind
    start: AwareDatetime
    end: AwareDatetime
    label: str

    @model_validator(mode="after")
    def _ordered(self) -> Period:
        if self.end <= self.start:
            raise ValueError("end: must be after start")
        return self

    @classmethod
    def day(cls, day: date) -> Period:
        """One calendar day: label "2026-11-30"."""
        return cls(kind="day", start=_midnight(day), end=_midnight(day + timedelta(days=1)), label=day.isoformat())

    @classmethod
    def iso_week(cls, year: int, week: int) -> Period:
        """ISO week `week` of ISO year `year`, Monday to Sunday: label "2026年第48周"."""
        monday = date.fromisocalendar(year, week, 1)
        end = _midnight(monday + timedelta(days=7))
        return cls(kind="week", start=_midnight(monday), end=end, label=f"{year}年第{week}周")

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        """A calendar month: label "2026年11月"."""
        if not 1 <= month <= 12:
            raise ValueError(f"month: {month} is not between 1 and 12")
        first = date(year, month, 1)
        following = date(year + month // 12, month % 12 + 1, 1)
        return cls(kind="month", start=_midnight(first), end=_midnight(following), label=f"{year}年{month}月")

    @classmethod
    def containing(cls, at: datetime, kind: PeriodKind) -> Period:
        """The day, ISO week or month (in China time) that `at` falls in."""
        day = at.astimezone(CHINA_TZ).date()
        if kind == "day":
            return cls.day(day)
        if kind == "week":
            iso = day.isocalendar()
            return cls.iso_week(iso.year, iso.week)
        return cls.month(day.year, day.month)

    @classmethod
    def cumulative(cls, since: date, until: datetime) -> Period:
        """截至目前: from the start of `since` (China time) to `until`: label "截至 2026-12-04 16:45"."""
        end = until.astimezone(CHINA_TZ)
        return cls(kind="cumulative", start=_midnight(since), end=end, label=f"截至 {end:%Y-%m-%d %H:%M}")

    def previous(self) -> Period:
        """The period of the same kind just before this one (a cumulative period has none)."""
        if self.kind == "cumulative":
            raise ValueError("a cumulative period has no previous period")
        return Period.containing(self.start - timedelta(days=1), self.kind)

    def contains(self, at: datetime | None) -> bool:
        return at is not None and self.start <= at < self.end


# ----- figures -----


class Ratio(BaseModel):
    """A rate with what it is computed from; `rate` is None when there is nothing to rate."""

    model_config = ConfigDict(frozen=True)  # not extra="forbid": a dump carries the computed rate

    numerator: int = 0
    denominator: int = 0

    @computed_field  # type: ignore[prop-decorator]  # mypy takes no decorator above @property (python/mypy#1362)
    @property
    def rate(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None

    @property
    def text(self) -> str:
        return f"{self.numerator}/{self.denominator}"


class Figures(BaseModel):
    """One period's figures for a set of tickets (all of them, or one group)."""

    model_config = ConfigDict(frozen=True)  # not extra="forbid": a dump carries the computed rates

    received: int = 0  # 受理量
    closed: int = 0  # 办结量 (办结 and 直接答复)
    open: int = 0  # 在办量, at the end of the period
    direct: int = 0  # 直接答复
    transferred: int = 0  # 上转 (已上转市级)
    merged: int = 0  # 并单 (已并单)
    backlog: int = 0  # of 在办量, on the long-term backlog (挂账)
    verified_closed: int = 0  # of 参评工单, closed by the centre after 核查 (核查结案)
    exempted: int = 0  # tickets received or closed in the period exempted (免考核) for the group's department
    rated: int = 0  # 参评工单: 办结 in the period and dispatched (not exempted, for a department)
    clocked: int = 0  # 计时轮次: the rounds of the tickets received in the period (the clock rates' population)
    signed_on_time: Ratio = Ratio()  # 签收及时率
    contacted_on_time: Ratio = Ratio()  # 响应率
    answered_on_time: Ratio = Ratio()  # 按时办结率
    resolved: Ratio = Ratio()  # 解决率
    satisfied: Ratio = Ratio()  # 满意率
    redone: Ratio = Ratio()  # 重办率
    returned: Ratio = Ratio()  # 退单率
    extended: Ratio = Ratio()  # 延期率

    @computed_field  # type: ignore[prop-decorator]  # mypy takes no decorator above @property (python/mypy#1362)
    @property
    def sign_for_rate(self) -> float | None:
        return self.signed_on_time.rate

    @computed_field  # type: ignore[prop-decorator]  # mypy takes no decorator above @property (python/mypy#1362)
    @property
    def response_rate(self) -> float | None:
        return self.contacted_on_time.rate

    @computed_field  # type: ignore[prop-decorator]  # mypy takes no decorator above @property (python/mypy#1362)
    @property
    def on_time_rate(self) -> float | None:
        return self.answered_on_time.rate

    @computed_field  # type: ignore[prop-decorator]  # mypy takes no decorator above @property (python/mypy#1362)
    @property
    def resolution_rate(self) -> float | None:
        return self.resolved.rate

    @computed_field  # type: ignore[prop-decorator]  # mypy takes no decorator above @property (python/mypy#1362)
    @property
    def satisfaction_rate(self) -> float | None:
        return self.satisfied.rate

    @computed_field  # type: ignore[prop-decorator]  # mypy takes no decorator above @property (python/mypy#1362)
    @property
    def redo_rate(self) -> float | None:
        return self.redone.rate

    @computed_field  # type: ignore[prop-decorator]  # mypy takes no decorator above @property (python/mypy#1362)
    @property
    def return_rate(self) -> float | None:
        return self.returned.rate

    @computed_field  # type: ignore[prop-decorator]  # mypy takes no decorator above @property (python/mypy#1362)
    @property
    def extension_rate(self) -> float | None:
        return self.extended.rate

    def ratio(self, rate: Rate) -> Ratio:
        ratio: Ratio = getattr(self, _RATIO_FIELDS[rate])
        return ratio

    @property
    def empty(self) -> bool:
        """Nothing of this group happened in the period and nothing of it was open at its end."""
        counts = (
            self.received,
            self.closed,
            self.open,
            self.direct,
            self.transferred,
            self.merged,
            self.rated,
            self.clocked,
            self.exempted,
        )
        return not any(counts)


_RATIO_FIELDS: dict[Rate, str] = {
    Rate.SIGN_FOR: "signed_on_time",
    Rate.RESPONSE: "contacted_on_time",
    Rate.ON_TIME: "answered_on_time",
    Rate.RESOLUTION: "resolved",
    Rate.SATISFACTION: "satisfied",
    Rate.REDO: "redone",
    Rate.RETURN: "returned",
    Rate.EXTENSION: "extended",
}

_CLOSING = (TicketStatus.CLOSED, TicketStatus.ANSWERED_DIRECTLY)
_NOT_OPEN = (TicketStatus.TRANSFERRED, TicketStatus.MERGED)
# Statuses in which the department has answered (or the ticket ended): no resolution clock runs.
_ANSWERED = (
    TicketStatus.AWAITING_CALLBACK,
    TicketStatus.AWAITING_VERIFICATION,
    TicketStatus.CLOSED,
    TicketStatus.ANSWERED_DIRECTLY,
    TicketStatus.TRANSFERRED,
    TicketStatus.MERGED,
)


def _known(values: Iterable[bool | None]) -> Ratio:
    """Over the tickets where the flag is known: how many are True."""
    known = [v for v in values if v is not None]
    return Ratio(numerator=sum(known), denominator=len(known))


def _share(tickets: list[TicketFacts], test: Callable[[TicketFacts], bool]) -> Ratio:
    return Ratio(numerator=sum(1 for f in tickets if test(f)), denominator=len(tickets))


def is_open_at(fact: TicketFacts, at: datetime) -> bool:
    """在办 at `at`: received before it, not closed before it, neither sent up to the city nor merged."""
    return (
        fact.received_at < at
        and not (fact.closed_at is not None and fact.closed_at < at)
        and fact.status not in _NOT_OPEN
    )


def is_overdue(fact: TicketFacts, at: datetime) -> bool:
    """Overdue at `at`: as the ticket publishes it (a clock of its current round past due), except a
    挂账 ticket, whose only clock is its plan date: overdue past that date, not before."""
    if fact.backlog:
        return fact.resolve_due is not None and fact.resolve_due <= at
    return fact.overdue


def answered_on_time(fact: TicketFacts, at: datetime) -> bool | None:
    """The current round's 按时办结 fact as of `at`: the published one; else, for a ticket still
    unanswered whose resolution fell due by `at` (and whose clocks are not paused), late (超时办结:
    the clock ran out before the answer, e.g. a ticket stuck at 领导督办); else unknown. A 挂账 ticket's
    due time is its plan date, so it is late only past that date."""
    if fact.answered_on_time is not None:
        return fact.answered_on_time
    if (
        fact.department is not None
        and fact.status not in _ANSWERED
        and not fact.paused
        and fact.resolve_due is not None
        and fact.resolve_due <= at
    ):
        return False
    return None


class Round(NamedTuple):
    """One round's clock facts and the department that held it (a plain tuple: reports make one per
    ticket and group, tens of thousands at a time)."""

    department: str
    signed_on_time: bool | None
    contacted_on_time: bool | None
    answered_on_time: bool | None


def rounds(fact: TicketFacts, at: datetime) -> list[Round]:
    """Every round of the ticket, each with the department that held it: the finished earlier
    rounds, then the current one (for the current department; none if never dispatched)."""
    found = [
        Round(r.department, r.signed_on_time, r.contacted_on_time, r.answered_on_time) for r in fact.earlier_rounds
    ]
    if fact.department is not None:
        found.append(Round(fact.department, fact.signed_on_time, fact.contacted_on_time, answered_on_time(fact, at)))
    return found


def figures(
    facts: Iterable[TicketFacts], period: Period, policy: MetricsPolicy, *, department: str | None = None
) -> Figures:
    """The period's figures over these tickets (see docs/metrics.md for each definition).

    With `department`, the figures as that department is assessed: the counts over the tickets it
    holds (last), the clock rates over the rounds it held, and nothing exempted (免考核) for it in
    any rate. Without, the whole set: every ticket and every round, exempted or not.
    """
    facts = list(facts)

    def held(f: TicketFacts) -> bool:
        return department is None or group_of(f, "department") == department

    def exempt(f: TicketFacts) -> bool:
        return bool(f.exempted) if department is None else department in f.exempted

    mine = [f for f in facts if held(f)]
    closing = [f for f in mine if f.status in _CLOSING and period.contains(f.closed_at)]
    rated = [
        f
        for f in closing
        if f.status == TicketStatus.CLOSED and f.department is not None and not (department and exempt(f))
    ]
    received = [f for f in facts if period.contains(f.received_at)]
    clocked = [
        r
        for f in received
        if f.status != TicketStatus.MERGED and not (department and exempt(f))  # a repeat is its main ticket's
        for r in rounds(f, period.end)
        if department is None or r.department == department
    ]
    open_now = [f for f in mine if is_open_at(f, period.end)]

    def involved(f: TicketFacts) -> bool:
        return held(f) or any(r.department == department for r in f.earlier_rounds)

    touched = {f.workflow_id: f for f in [*(f for f in received if involved(f)), *closing]}
    satisfied = policy.satisfied
    return Figures(
        received=sum(1 for f in mine if period.contains(f.received_at)),
        closed=len(closing),
        open=len(open_now),
        direct=sum(1 for f in closing if f.status == TicketStatus.ANSWERED_DIRECTLY),
        transferred=sum(1 for f in mine if f.status == TicketStatus.TRANSFERRED and period.contains(f.closed_at)),
        merged=sum(1 for f in mine if f.status == TicketStatus.MERGED and period.contains(f.received_at)),
        backlog=sum(1 for f in open_now if f.backlog),
        verified_closed=sum(1 for f in rated if f.closure is not None),
        exempted=sum(1 for f in touched.values() if exempt(f)),
        rated=len(rated),
        clocked=len(clocked),
        signed_on_time=_known(r.signed_on_time for r in clocked),
        contacted_on_time=_known(r.contacted_on_time for r in clocked),
        answered_on_time=_known(r.answered_on_time for r in clocked),
        resolved=_known(f.resolved for f in rated),
        satisfied=_known(None if f.satisfaction is None else f.satisfaction in satisfied for f in rated),
        redone=_share(rated, lambda f: f.redo_count > 0),
        returned=_share(rated, lambda f: f.return_count > 0),
        extended=_share(rated, lambda f: f.extension_count > 0),
    )


GroupKey = Literal["department", "street", "category", "urgency"]

NO_DEPARTMENT = "（未派遣）"  # the group of tickets never dispatched (direct answers, merged repeats …)
NO_VALUE = "（未填写）"  # the group of tickets without a street, category or urgency


def group_of(fact: TicketFacts, key: GroupKey) -> str:
    value: str | None = getattr(fact, key)
    if value:
        return value
    return NO_DEPARTMENT if key == "department" else NO_VALUE


def by(facts: Iterable[TicketFacts], period: Period, policy: MetricsPolicy, key: GroupKey) -> dict[str, Figures]:
    """The figures per department, street, category or urgency.

    Per department, the counts are the tickets it holds last and the clock rates the rounds it held
    (an earlier round counts for the department that held it), with its 免考核 tickets left out of
    its rates (`figures(…, department=…)`). Groups in which nothing happened in the period (and
    nothing was open at its end) are left out; the others come in order of their names, with the
    group of tickets lacking the key last.
    """
    groups: dict[str, list[TicketFacts]] = {}
    for fact in facts:
        names = {group_of(fact, key)}
        if key == "department":
            names |= {r.department for r in fact.earlier_rounds}
        for name in names:
            groups.setdefault(name, []).append(fact)
    order = sorted(groups, key=lambda name: (name in (NO_DEPARTMENT, NO_VALUE), name))
    result = {
        name: figures(groups[name], period, policy, department=name if key == "department" else None) for name in order
    }
    return {name: fig for name, fig in result.items() if not fig.empty}


# ----- whistle evaluations (一哨一考核) -----


def whistle_counts(evaluations: Iterable[Satisfaction]) -> dict[Satisfaction, int]:
    """How many evaluations of each kind (every kind present, 满意 first)."""
    counts = dict.fromkeys(Satisfaction, 0)
    for satisfaction in evaluations:
        counts[satisfaction] += 1
    return counts


def whistle_deduction(evaluations: Iterable[Satisfaction], policy: MetricsPolicy) -> float:
    """Points taken off for these evaluations, rounded to two decimals."""
    return round(sum(policy.whistle_deduction.get(s, 0.0) for s in evaluations), 2)


# ----- assessment (考核) and the red and black lists -----

INSUFFICIENT = "样本不足"


class Score(Frozen):
    """One department's assessment: the rates it is scored on, each weighted part, the whistle
    deduction with its inputs, and the total (None: 样本不足, no score)."""

    department: str
    closed: int  # 办结量 in the period
    rated: int  # the rates' population
    response_rate: float | None
    resolution_rate: float | None
    satisfaction_rate: float | None
    response_points: float | None  # 响应率 × 100 × weight / 100, rounded to two decimals
    resolution_points: float | None
    satisfaction_points: float | None
    whistle_counts: dict[Satisfaction, int]
    whistle_deduction: float
    total: float | None  # the parts less the deduction, never below 0; None: 样本不足
    rank: int | None = None  # 1 = best; None without a score

    @property
    def scored(self) -> bool:
        return self.total is not None


def _points(rate: float | None, weight: float) -> float | None:
    return None if rate is None else round(rate * weight, 2)


def assessment(
    by_department: Mapping[str, Figures], whistle_evaluations: Mapping[str, list[Satisfaction]], policy: MetricsPolicy
) -> list[Score]:
    """Score every department seen in the figures or in the whistle evaluations.

    total = 响应率 × w响应 + 解决率 × w解决 + 满意率 × w满意 − whistle deduction (rates as 0–1, weights
    summing to 100). A department whose three rates are not all known (no ticket closed in the
    period, or none with the fact recorded) gets no score: 样本不足. Scored departments come first,
    best first (ties by department code), numbered by `rank`; then the others by code.
    """
    weights = policy.weights
    departments = sorted((set(by_department) | set(whistle_evaluations)) - {NO_DEPARTMENT})
    scores: list[Score] = []
    for department in departments:
        fig = by_department.get(department, Figures())
        evaluations = whistle_evaluations.get(department, [])
        deduction = whistle_deduction(evaluations, policy)
        parts = (
            _points(fig.response_rate, weights.response),
            _points(fig.resolution_rate, weights.resolution),
            _points(fig.satisfaction_rate, weights.satisfaction),
        )
        total = None
        if all(p is not None for p in parts):
            total = max(0.0, round(sum(p for p in parts if p is not None) - deduction, 2))
        scores.append(
            Score(
                department=department,
                closed=fig.closed,
                rated=fig.rated,
                response_rate=fig.response_rate,
                resolution_rate=fig.resolution_rate,
                satisfaction_rate=fig.satisfaction_rate,
                response_points=parts[0],
                resolution_points=parts[1],
                satisfaction_points=parts[2],
                whistle_counts=whistle_counts(evaluations),
                whistle_deduction=deduction,
                total=total,
            )
        )
    scored = sorted((s for s in scores if s.total is not None), key=lambda s: (-(s.total or 0.0), s.department))
    ranked = [s.model_copy(update={"rank": i}) for i, s in enumerate(scored, start=1)]
    return ranked + [s for s in scores if s.total is None]


def red_and_black(
    scores: Iterable[Score], by_department: Mapping[str, Figures], policy: MetricsPolicy
) -> tuple[list[Score], list[Score]]:
    """红榜 (best first) and 黑榜 (worst first) by the policy's rules; the department's closed tickets
    are its 参评工单 read from `by_department` (办结 less those exempted for it, 免考核)."""

    def closed(score: Score) -> int:
        return by_department.get(score.department, Figures()).rated

    scored = [s for s in scores if s.total is not None]
    red_rule, black_rule = policy.red_list, policy.black_list
    red = [s for s in scored if closed(s) >= red_rule.min_closed and (s.total or 0.0) >= red_rule.min_score]
    black = [s for s in scored if closed(s) >= black_rule.min_closed and (s.total or 0.0) <= black_rule.max_score]
    red.sort(key=lambda s: (-(s.total or 0.0), s.department))
    black.sort(key=lambda s: (s.total or 0.0, s.department))
    return red[: red_rule.size], black[: black_rule.size]
