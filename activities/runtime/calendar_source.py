"""Where the working-day calendar comes from: the chinese-calendar package (statutory holidays and
调休 published by the State Council, 2004 to its latest year) plus the district's overrides.

For a year the package has no schedule for (and the configuration does not list as complete), the
days off that follow from the law itself are counted (`statutory_holidays`: 全国年节及纪念日放假办法 as
amended in 2024), so 元旦 2027 is a day off before the State Council publishes 2027's schedule. What
the law does not fix is left out and said to be unknown: the make-up workdays (调休上班) and the extra
days that make the long weeks. They are added under `calendar.workdays` / `calendar.holidays` (or the
`calendar.override_file`), with the year listed in `calendar.complete_years`.

A ticket takes a slice of it at intake (`calendar_for`), so its clocks never depend on what this
module knows later.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import cache, lru_cache

import chinese_calendar
from borax.calendars.lunardate import LunarDate
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


# Where a year's unknown 调休 goes in the configuration (named in the CLI's notes and the docs).
MAKEUP_KEYS = "calendar.workdays / calendar.holidays，并将年份列入 calendar.complete_years"


@cache
def statutory_holidays(year: int) -> dict[date, str]:
    """The days off a year has by the law alone (全国年节及纪念日放假办法, as amended in 2024, in force
    from 2025), with their names:

    - 元旦 1 January; 春节 4 days: 农历除夕 and 正月初一 to 初三; 清明节 the day of the 清明 solar term;
      劳动节 1–2 May; 端午节 农历五月初五; 中秋节 农历八月十五; 国庆节 1–3 October;
    - 补假: a festival day falling on a Saturday or Sunday (or on another festival) is made up on the
      next working day after the festival (全体公民放假的假日，如果适逢周六、周日，应当在工作日
      补假), as every published schedule places it.

    Not included, because the State Council decides them each year: the make-up workdays (调休上班)
    and the extra days off that join a festival to a weekend."""
    new_year = LunarDate(year, 1, 1).to_solar_date()
    [qingming] = [
        day for day, term in chinese_calendar.get_solar_terms(date(year, 4, 1), date(year, 4, 30)) if term == "清明"
    ]
    festivals = [
        ("元旦", [date(year, 1, 1)]),
        ("春节", [new_year + timedelta(days=n) for n in range(-1, 3)]),
        ("清明节", [qingming]),
        ("劳动节", [date(year, 5, 1), date(year, 5, 2)]),
        ("端午节", [LunarDate(year, 5, 5).to_solar_date()]),
        ("中秋节", [LunarDate(year, 8, 15).to_solar_date()]),
        ("国庆节", [date(year, 10, d) for d in (1, 2, 3)]),
    ]
    days: dict[date, str] = {}
    for name, festival in sorted(festivals, key=lambda nf: nf[1][0]):
        owed = 0
        for day in festival:
            owed += day.weekday() >= 5 or day in days
            days.setdefault(day, name)
        after = festival[-1]
        while owed:
            after += timedelta(days=1)
            if after.weekday() < 5 and after not in days:
                days[after] = f"{name}补假"
                owed -= 1
    return dict(sorted(days.items()))


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


# The settings as a hashable key for the cache: holidays, workdays, complete years, names.
_Key = tuple[tuple[date, ...], tuple[date, ...], tuple[int, ...], tuple[tuple[str, str], ...]]


def _key(settings: CalendarSettings) -> _Key:
    return (
        tuple(settings.holidays),
        tuple(settings.workdays),
        tuple(settings.complete_years),
        tuple(settings.names.items()),
    )


@lru_cache(maxsize=64)
def _window(key: _Key, start: date, end: date) -> CalendarData:
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
    for year in range(start.year, end.year + 1):
        if year not in known:  # not published yet: the law's days off, 调休 unknown
            for d, name in statutory_holidays(year).items():
                if start <= d <= end:
                    holidays.add(d)
                    names[d.isoformat()] = name
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
        workday: bool = chinese_calendar.is_workday(day)
        return workday
    except NotImplementedError:
        return None
