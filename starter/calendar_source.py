"""Where the working-day calendar comes from: the chinese-calendar package (statutory holidays and
调休 published by the State Council, 2004 to its latest year) plus the district's overrides.

A ticket takes a slice of it at intake (`calendar_for`), so its clocks never depend on what this
module knows later.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache

import chinese_calendar
from chinese_calendar import constants as statutory

from domain.calendar import CHINA_TZ, CalendarData
from domain.config import CalendarSettings

# How far ahead a ticket's slice reaches: longer than any limit, ladder and extension together.
WINDOW_DAYS = 400

NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利纪念日",
}


def package_years() -> set[int]:
    """The years the installed package has data for."""
    return {d.year for d in statutory.holidays} | {d.year for d in statutory.workdays}


def calendar_for(settings: CalendarSettings, received_at: datetime, now: datetime | None = None) -> CalendarData:
    """The slice a ticket takes: from its receipt (or now, for a ticket entered late) onwards."""
    first = min(received_at, now or received_at).astimezone(CHINA_TZ).date()
    last = max(received_at, now or received_at).astimezone(CHINA_TZ).date()
    return calendar_window(settings, first - timedelta(days=1), last + timedelta(days=WINDOW_DAYS))


def calendar_window(settings: CalendarSettings, start: date, end: date) -> CalendarData:
    return _window(_key(settings), start, end)


def _key(settings: CalendarSettings) -> tuple:
    return (
        tuple(settings.holidays),
        tuple(settings.workdays),
        tuple(settings.complete_years),
        tuple(settings.names.items()),
    )


@lru_cache(maxsize=64)
def _window(key: tuple, start: date, end: date) -> CalendarData:
    holidays_extra, workdays_extra, complete_years, names_extra = key
    known = package_years() | set(complete_years)
    holidays: set[date] = set()
    workdays: set[date] = set()
    names: dict[str, str] = {}
    for d, name in statutory.holidays.items():
        if start <= d <= end:
            holidays.add(d)
            names[d.isoformat()] = NAMES.get(name, name)
    for d, name in statutory.workdays.items():
        if start <= d <= end and d.weekday() >= 5:
            workdays.add(d)
            names[d.isoformat()] = f"{NAMES.get(name, name)}调休"
    holidays |= {d for d in holidays_extra if start <= d <= end}
    workdays |= {d for d in workdays_extra if start <= d <= end}
    names.update(dict(names_extra))
    return CalendarData(
        start=start,
        end=end,
        known_years=sorted(y for y in known if start.year <= y <= end.year),
        holidays=sorted(holidays - workdays),
        workdays=sorted(workdays),
        names={k: v for k, v in names.items() if start.isoformat() <= k <= end.isoformat()},
    )


def statutory_is_workday(day: date) -> bool | None:
    """The package's own answer, or None for a year it does not know (for cross-checks)."""
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        return None
