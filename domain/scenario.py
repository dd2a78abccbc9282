"""Scenarios for the simulator (`hotline simulate`): each JSONL line a ticket with the scripted
behaviour of its department and its citizen. Documented in docs/scenario.md.

A line::

    {"no": "S0001", "at": "2026-11-02T09:15:00+08:00", "category": "市容环卫", "street": "滨河街道",
     "urgency": "一般", "kind": "投诉", "title": "垃圾未清运", "content": "东门垃圾三天未清运",
     "sign": "30m", "contact": "2h", "answer": "2d", "resolved": true, "satisfaction": "满意",
     "return_to": null, "extension_days": null, "callback": "1h",
     "redo": [{"answer": "1d", "resolved": true, "satisfaction": "满意"}],
     "after_callback": "redo", "closure": null, "exempt": null, "backlog_until": null}

Delays are natural time after the step before: `sign` after delivery, `contact` after signing,
`answer` after contact, `callback` after the answer. `return_to` (a department code): the first
department asks to return the ticket right after signing, the shift lead approves and reassigns it
there, and the new department then signs, contacts and answers with the same delays.
`extension_days`: an extension of that many working days is asked right after contact and
approved. An unresolved or 不满意 callback sends the ticket back (重办): each `redo` entry scripts
the next round's answer and callback; without one the round repeats the first answer, resolved.
`after_callback: "close"`: instead, the centre closes it after 核查 (核查结案, with `closure`) and the
line's verdict stays final. `exempt`: right after its (first) answer the department asks for 免考核
with that reason, approved. `backlog_until`: right after contact the department asks for 挂账 until
that day, approved; without `answer` the ticket then stays open (在办, 挂账) past the scenario.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import Field, StringConstraints, ValidationError, model_validator

from domain.calendar import CHINA_TZ, CalendarData, DayKind, Duration, Span, Unit, WorkCalendar, natural
from domain.config import DistrictConfig, describe_validation_error
from domain.models import (
    Callback,
    ClosureCategory,
    Day,
    ExemptionReason,
    Frozen,
    Instant,
    LongText,
    RequestKind,
    Satisfaction,
    ShortText,
    TicketNo,
)


class RedoRound(Frozen):
    answer: Duration
    resolved: bool = True
    satisfaction: Satisfaction = Satisfaction.SATISFIED


class AfterCallback(StrEnum):
    """What the centre's 核查 decides after an unresolved or 不满意 callback."""

    REDO = "redo"  # 重办: the next round as `redo` scripts it
    CLOSE = "close"  # 核查结案: the line's verdict is final


class ScenarioLine(Frozen):
    no: TicketNo
    at: Instant
    category: ShortText
    street: ShortText
    urgency: ShortText = "一般"
    kind: RequestKind = RequestKind.COMPLAINT
    title: ShortText
    content: LongText
    sign: Duration
    contact: Duration
    answer: Duration | None = None  # required, unless the ticket is to stay on the backlog (挂账)
    resolved: bool = True
    satisfaction: Satisfaction = Satisfaction.SATISFIED
    callback: Duration = Field(default="1h", validate_default=True)
    return_to: Annotated[str, StringConstraints(max_length=32)] | None = None
    extension_days: int | None = Field(default=None, ge=1, le=60)
    redo: list[RedoRound] = Field(default_factory=list, max_length=5)
    after_callback: AfterCallback = AfterCallback.REDO
    closure: ClosureCategory | None = None  # 核查结案's category; default 已解释说明
    exempt: ExemptionReason | None = None  # 免考核 asked right after the answer, approved
    backlog_until: Day | None = None  # 挂账 asked right after contact with this plan date, approved

    @model_validator(mode="after")
    def _consistent(self) -> ScenarioLine:
        # Each message names its field: the parser prefixes the line (`month.jsonl:7: closure: …`).
        if self.answer is None and self.backlog_until is None:
            raise ValueError("answer: required (only a line with backlog_until may leave it out)")
        closing = self.after_callback is AfterCallback.CLOSE
        if self.closure is not None and not closing:
            raise ValueError("closure: only with after_callback 'close'")
        if closing and not Callback(resolved=self.resolved, satisfaction=self.satisfaction).needs_redo:
            raise ValueError("after_callback: 'close' needs a callback unresolved or 不满意 (nothing to 核查)")
        if closing and self.redo:
            raise ValueError("redo: a line closed after 核查 (after_callback 'close') has no redo rounds")
        if self.backlog_until is not None and self.backlog_until <= self.at.astimezone(CHINA_TZ).date():
            raise ValueError(f"backlog_until: {self.backlog_until.isoformat()} is not after the day received")
        return self

    @property
    def closure_category(self) -> ClosureCategory:
        return self.closure or ClosureCategory.EXPLAINED

    def delay(self, step: str) -> timedelta:
        return natural(getattr(self, step))


class ScenarioError(ValueError):
    """A scenario that cannot run; the message names the line and the field."""


def parse_scenario(text: str, config: DistrictConfig, source: str = "scenario") -> list[ScenarioLine]:
    """Every line checked against the model and the configuration before anything runs."""
    lines: list[ScenarioLine] = []
    seen: dict[str, int] = {}
    categories = {c.name for c in config.categories}
    streets = {s.name for s in config.streets}
    urgencies = {u.name for u in config.urgencies}
    departments = {d.code for d in config.departments}
    # Lines end at newlines only: a JSON string may hold U+2028 and the like, which splitlines() splits at.
    for number, raw in enumerate(text.split("\n"), start=1):
        if not raw.strip():
            continue
        where = f"{source}:{number}"
        try:
            line = ScenarioLine.model_validate_json(raw)
        except ValidationError as err:
            raise ScenarioError(describe_validation_error(where, err)) from None
        checks = (
            ("category", line.category, categories),
            ("street", line.street, streets),
            ("urgency", line.urgency, urgencies),
        )
        for field, value, known in checks:
            if value not in known:
                raise ScenarioError(f"{where}: {field}: unknown '{value}'")
        if line.return_to is not None and line.return_to not in departments:
            raise ScenarioError(f"{where}: return_to: unknown department '{line.return_to}'")
        if line.no in seen:
            raise ScenarioError(f"{where}: no: '{line.no}' already on line {seen[line.no]}")
        seen[line.no] = number
        lines.append(line)
    if not lines:
        raise ScenarioError(f"{source}: no tickets")
    return sorted(lines, key=lambda line: line.at)


LONG_ANSWER = "40d"  # how long after contact a long-running ticket (长期在办) is answered


def sample_month(
    config: DistrictConfig, year: int, month: int, count: int, seed: int = 2026, long_running: float = 0.0
) -> list[ScenarioLine]:
    """A plausible month of `count` tickets for this district: received mostly in office hours, over
    every routed category and street; most steps well inside their tier's limits, a few late; some
    returned, extended, redone or closed after 核查 unsatisfied, a few exempted (免考核) or put on the
    backlog (挂账, left open); a `long_running` share answered 40 days after contact. Seeded, so the
    same arguments give the same month."""
    rng = random.Random(seed)
    sample = _Sampler(config, rng, long_running)
    first = date(year, month, 1)
    days = (date(year + month // 12, month % 12 + 1, 1) - first).days
    lines = []
    for i in range(count):
        day = first + timedelta(days=rng.randrange(days))
        lines.append(sample.line(f"M{year}{month:02d}-{i + 1:05d}", i, day, lambda: rng.choice(sample.routed)))
    return sorted(lines, key=lambda line: line.at)


HEATING = "供暖"  # categories with this in their name follow the heating season
# The heating season in the north (mid-October to mid-April): how much more its complaints come.
HEATING_SEASON = {1: 4.0, 2: 3.5, 3: 2.5, 4: 1.5, 5: 0.3, 6: 0.2, 7: 0.2, 8: 0.2, 9: 0.3, 10: 2.0, 11: 4.0, 12: 4.5}
# How busy a day is by its kind in the working-day calendar: holidays are quiet.
DAY_WEIGHTS = {DayKind.WORKDAY: 1.0, DayKind.MAKEUP_WORKDAY: 1.0, DayKind.WEEKEND: 0.6, DayKind.HOLIDAY: 0.35}


def sample_year(
    config: DistrictConfig, year: int, count: int, calendar: CalendarData, seed: int = 2026, long_running: float = 0.0
) -> list[ScenarioLine]:
    """A plausible year of `count` tickets: as `sample_month`, with the seasons' shape: heating
    complaints in winter, fewer tickets on weekends and fewer still on holidays (by the district's
    working-day calendar, which must cover the year)."""
    rng = random.Random(seed)
    sample = _Sampler(config, rng, long_running)
    work = WorkCalendar(calendar)
    days = [date(year, 1, 1) + timedelta(days=n) for n in range((date(year + 1, 1, 1) - date(year, 1, 1)).days)]
    if not (work.known(days[0]) and work.known(days[-1])):
        raise ScenarioError(f"year: the working-day calendar does not cover {year}")
    weights = [DAY_WEIGHTS[work.day(d).kind] for d in days]

    def route_in(month: int) -> tuple[str, str]:
        season = [HEATING_SEASON[month] if HEATING in category else 1.0 for category, _ in sample.routed]
        return rng.choices(sample.routed, weights=season)[0]

    lines = []
    for i, day in enumerate(rng.choices(days, weights=weights, k=count)):
        lines.append(sample.line(f"Y{year}-{i + 1:06d}", i, day, functools.partial(route_in, day.month)))
    lines.sort(key=lambda line: line.at)
    return lines


class _Sampler:
    """One ticket's script as the samples draw it."""

    def __init__(self, config: DistrictConfig, rng: random.Random, long_running: float) -> None:
        self.config, self.rng, self.long_running = config, rng, long_running
        streets = [s.name for s in config.streets]
        # 派单目录: a line with a street wins over the line without one.
        routes = {(e.category, s): e.department for e in config.catalogue if not e.street for s in streets}
        routes |= {(e.category, e.street): e.department for e in config.catalogue if e.street}
        self.routes = routes
        self.routed = sorted(routes)
        self.departments = sorted(set(routes.values()))

    def step(self, limit: Span, late_rate: float, spent: int = 0) -> int:
        """Minutes for a step: inside the limit (as if every day were worked) or well past it."""
        rng = self.rng
        longest = natural(limit).total_seconds() / 60
        if rng.random() < late_rate:
            return round(longest * rng.uniform(1.3, 2.5))
        shortest = longest * (5 / 7 if limit.unit is Unit.WORKING_DAYS else 1)
        return max(5, round(shortest * rng.uniform(0.05, 0.6)) - spent)

    def line(self, no: str, i: int, day: date, route: Callable[[], tuple[str, str]]) -> ScenarioLine:
        rng, config = self.rng, self.config
        minute = rng.randrange(8 * 60, 20 * 60) if rng.random() < 0.9 else rng.randrange(24 * 60)
        at = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=CHINA_TZ)
        category, street = route()
        urgency = rng.choices(["一般", "加急", "复杂"], weights=[85, 10, 5])[0]
        tier = config.deadlines.tier_for(urgency, category, RequestKind.COMPLAINT)
        sign, contact = self.step(tier.sign_for, 0.05), self.step(tier.contact, 0.08)
        unsatisfied = rng.random() < 0.06
        # Of the unsatisfied, about half closed after 核查 (核查结案) rather than redone.
        closed_unsatisfied = unsatisfied and rng.random() < 0.5
        # 挂账 (about 1%): a plan date months ahead, still open when the scenario ends.
        backlog = day + timedelta(days=rng.randrange(60, 180)) if rng.random() < 0.01 else None
        answer: str | None = f"{self.step(tier.resolve, 0.07, sign + contact)}m"
        if self.long_running and rng.random() < self.long_running:
            answer = LONG_ANSWER
        return ScenarioLine(
            no=no,
            at=at,
            category=category,
            street=street,
            urgency=urgency,
            title=f"{category}诉求",
            content=f"{street}居民反映{category}问题（情景推演样本 {i + 1}）",
            sign=f"{sign}m",
            contact=f"{contact}m",
            answer=None if backlog else answer,
            resolved=not unsatisfied or rng.random() < 0.5,
            satisfaction=Satisfaction.UNSATISFIED
            if unsatisfied
            else rng.choices([Satisfaction.SATISFIED, Satisfaction.BASICALLY_SATISFIED], weights=[8, 2])[0],
            callback=rng.choice(["1h", "3h", "1d"]),
            # Returns and extensions early in the round, while the policy still allows them.
            return_to=rng.choice([d for d in self.departments if d != self.routes[category, street]])
            if rng.random() < 0.04
            else None,
            extension_days=3 if rng.random() < 0.05 else None,
            redo=[RedoRound(answer=f"{contact}m")] if unsatisfied and not closed_unsatisfied else [],
            after_callback=AfterCallback.CLOSE if closed_unsatisfied else AfterCallback.REDO,
            closure=rng.choice(list(ClosureCategory)) if closed_unsatisfied else None,
            exempt=rng.choice(list(ExemptionReason)) if rng.random() < 0.02 else None,
            backlog_until=backlog,
        )
