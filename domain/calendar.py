"""Working days (工作日) as China's offices count them: weekends off, statutory holidays off, and the
make-up workdays (调休) on.

`CalendarData` is a slice of the calendar, small enough to travel in a workflow's input: the
holidays and make-up workdays in a window of dates, and which years are known. For a date in a year
not known, the rule falls back to "Monday to Friday" and every result computed from it says so
(`estimated`), so a deadline is always produced and never crashes a workflow; it is flagged instead.

Working days are counted in China Standard Time (UTC+8, no daylight saving).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, PlainSerializer, model_validator

from domain.models import Frozen

CHINA_TZ = timezone(timedelta(hours=8), "CST")


def china_time(at: datetime) -> str:
    """An instant as the district reads it: China time to the minute, e.g. "2026-11-30 09:00"."""
    return at.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M")


class DayKind(StrEnum):
    WORKDAY = "工作日"
    WEEKEND = "周末"
    HOLIDAY = "法定节假日"
    MAKEUP_WORKDAY = "调休上班"


class CalendarData(Frozen):
    """Holidays and make-up workdays between `start` and `end`; `known_years` are authoritative."""

    start: date
    end: date
    known_years: list[int] = Field(default_factory=list)
    holidays: list[date] = Field(default_factory=list)
    workdays: list[date] = Field(default_factory=list)
    names: dict[str, str] = Field(default_factory=dict)  # ISO date → holiday name, for display


class Day(Frozen):
    day: date
    kind: DayKind
    working: bool
    estimated: bool  # the year is not in the known data: Monday to Friday assumed
    name: str | None = None


class WorkCalendar:
    """Pure calendar arithmetic over one `CalendarData`."""

    def __init__(self, data: CalendarData) -> None:
        self.data = data
        self._holidays = set(data.holidays)
        self._workdays = set(data.workdays)
        self._known = set(data.known_years)

    def known(self, day: date) -> bool:
        return day.year in self._known and self.data.start <= day <= self.data.end

    def day(self, day: date) -> Day:
        name = self.data.names.get(day.isoformat())
        weekend = day.weekday() >= 5
        if day in self._workdays:
            return Day(day=day, kind=DayKind.MAKEUP_WORKDAY, working=True, estimated=False, name=name)
        if day in self._holidays:
            return Day(day=day, kind=DayKind.HOLIDAY, working=False, estimated=False, name=name)
        estimated = not self.known(day)
        kind = DayKind.WEEKEND if weekend else DayKind.WORKDAY
        return Day(day=day, kind=kind, working=not weekend, estimated=estimated, name=name)

    def add_working_days(self, at: datetime, days: int) -> tuple[datetime, bool]:
        """The same time of day on the `days`-th following working day.

        A clock started on a non-working day starts at 00:00 of the next working day (so one
        working day from a Saturday ends at 00:00 of Tuesday, the end of Monday).
        Returns (result, estimated).
        """
        local = at.astimezone(CHINA_TZ)
        current = local.date()
        estimated = self.day(current).estimated
        if not self.day(current).working:
            while not self.day(current).working:
                current += timedelta(days=1)
                estimated |= self.day(current).estimated
            local = datetime.combine(current, time(0), CHINA_TZ)
        counted = 0
        while counted < days:
            current += timedelta(days=1)
            today = self.day(current)
            estimated |= today.estimated
            counted += today.working
        result = datetime.combine(current, local.timetz()).astimezone(at.tzinfo)
        return result, estimated

    def working_time(self, start: datetime, end: datetime) -> timedelta:
        """How much of [start, end) falls on working days (whole days count, as working days do)."""
        total = timedelta(0)
        cursor = start.astimezone(CHINA_TZ)
        stop = end.astimezone(CHINA_TZ)
        while cursor < stop:
            midnight = datetime.combine(cursor.date() + timedelta(days=1), time(0), CHINA_TZ)
            if self.day(cursor.date()).working:
                total += min(midnight, stop) - cursor
            cursor = midnight
        return total

    def add_working_time(self, at: datetime, span: timedelta) -> tuple[datetime, bool]:
        """The instant after `at` by which `span` of working-day time has passed (non-working days
        are stepped over). Returns (result, estimated)."""
        cursor = at.astimezone(CHINA_TZ)
        left, estimated = span, False
        while left > timedelta(0):
            today = self.day(cursor.date())
            estimated |= today.estimated
            midnight = datetime.combine(cursor.date() + timedelta(days=1), time(0), CHINA_TZ)
            if today.working:
                if cursor + left <= midnight:
                    return (cursor + left).astimezone(at.tzinfo), estimated
                left -= midnight - cursor
            cursor = midnight
        return cursor.astimezone(at.tzinfo), estimated


# ----- durations as the policy writes them: "30m", "2h", "7d", "5wd" (working days), "10s" -----


class Unit(StrEnum):
    SECONDS = "s"
    MINUTES = "m"
    HOURS = "h"
    DAYS = "d"
    WORKING_DAYS = "wd"


_UNIT_LABELS = {
    Unit.SECONDS: "秒",
    Unit.MINUTES: "分钟",
    Unit.HOURS: "小时",
    Unit.DAYS: "天",
    Unit.WORKING_DAYS: "个工作日",
}
_DURATION = re.compile(r"^\s*(\d+)\s*(wd|s|m|h|d)\s*$")


# No limit, window or delay is longer than this: a longer span is a typing error (and would
# overflow the date arithmetic).
MAX_SPAN_DAYS = 3660
_SPAN_SECONDS = {
    Unit.SECONDS: 1,
    Unit.MINUTES: 60,
    Unit.HOURS: 3600,
    Unit.DAYS: 86400,
    Unit.WORKING_DAYS: 86400 * 7 / 5,
}


class Span(Frozen):
    amount: int = Field(ge=0)
    unit: Unit

    @model_validator(mode="after")
    def _not_too_long(self) -> Span:
        if self.amount * _SPAN_SECONDS[self.unit] > MAX_SPAN_DAYS * 86400:
            raise ValueError(f"'{self}' is longer than {MAX_SPAN_DAYS} days")
        return self

    @property
    def label(self) -> str:
        return f"{self.amount}{_UNIT_LABELS[self.unit]}"

    def __str__(self) -> str:
        return f"{self.amount}{self.unit.value}"


def parse_span(value: Any) -> Any:
    if isinstance(value, str):
        match = _DURATION.match(value)
        if not match:
            raise ValueError(f"'{value}' is not a duration like 30m, 2h, 7d or 5wd (working days)")
        return {"amount": int(match.group(1)), "unit": match.group(2)}
    return value


Duration = Annotated[Span, BeforeValidator(parse_span), PlainSerializer(str, return_type=str)]


def add(calendar: WorkCalendar, at: datetime, span: Span) -> tuple[datetime, bool]:
    """`at` plus a duration; working days by the calendar. Returns (result, estimated)."""
    if span.unit is Unit.WORKING_DAYS:
        return calendar.add_working_days(at, span.amount)
    return at + natural(span), False


def natural(span: Span) -> timedelta:
    """A duration in natural time; working days count as 7/5 of a day (an upper bound for look-backs)."""
    return timedelta(seconds=span.amount * _SPAN_SECONDS[span.unit])
