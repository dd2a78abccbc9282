"""Working days (工作日) by China's calendar: the chinese-calendar package's statutory holidays and
make-up workdays (调休), local overrides, years the package does not know, and the durations the
deadline policy is written in. Pure: no Temporal, explicit times."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import TypeAdapter, ValidationError

from activities.runtime.calendar_source import (
    calendar_for,
    calendar_window,
    package_years,
    statutory_holidays,
    statutory_is_workday,
)
from domain.calendar import CHINA_TZ, CalendarData, DayKind, Duration, Span, Unit, WorkCalendar, add
from domain.config import CalendarSettings

DURATION: TypeAdapter[Span] = TypeAdapter(Duration)


def china(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    """A wall-clock time in China (UTC+8)."""
    return datetime(year, month, day, hour, minute, tzinfo=CHINA_TZ)


def span(text: str) -> Span:
    """A duration as the policy writes it ("2h", "1wd")."""
    return DURATION.validate_python(text)


@pytest.fixture(scope="module")
def year_2026() -> WorkCalendar:
    """2026 as the installed package publishes it, without local overrides."""
    return WorkCalendar(calendar_window(CalendarSettings(), date(2026, 1, 1), date(2026, 12, 31)))


def without_year(data: CalendarData, year: int) -> CalendarData:
    """The slice as it looks while `year` is not yet published (whatever the installed package knows)."""
    return data.model_copy(
        update={
            "known_years": [y for y in data.known_years if y != year],
            "holidays": [d for d in data.holidays if d.year != year],
            "workdays": [d for d in data.workdays if d.year != year],
        }
    )


# --- the statutory calendar of 2026 ----------------------------------------------------------


def test_2026_is_in_the_package() -> None:
    assert 2026 in package_years()


@pytest.mark.parametrize("day", [date(2026, 10, d) for d in range(1, 8)])
def test_national_day_week_is_a_holiday(year_2026: WorkCalendar, day: date) -> None:
    today = year_2026.day(day)

    assert today.kind is DayKind.HOLIDAY and not today.working and not today.estimated
    assert today.name == "国庆节"


@pytest.mark.parametrize("day", [date(2026, 9, 20), date(2026, 10, 10)])  # Sunday and Saturday
def test_make_up_workdays_are_working_days(year_2026: WorkCalendar, day: date) -> None:
    today = year_2026.day(day)

    assert day.weekday() >= 5
    assert today.kind is DayKind.MAKEUP_WORKDAY and today.working
    assert today.name == "国庆节调休"


@pytest.mark.parametrize("day", [date(2026, 10, 17), date(2026, 10, 18), date(2026, 9, 19)])
def test_ordinary_weekends_are_off(year_2026: WorkCalendar, day: date) -> None:
    today = year_2026.day(day)

    assert today.kind is DayKind.WEEKEND and not today.working and not today.estimated


def test_ordinary_weekday_is_a_workday(year_2026: WorkCalendar) -> None:
    today = year_2026.day(date(2026, 10, 8))

    assert today.kind is DayKind.WORKDAY and today.working and not today.estimated and today.name is None


def test_every_day_of_2026_agrees_with_the_package(year_2026: WorkCalendar) -> None:
    day, disagreements = date(2026, 1, 1), []
    while day.year == 2026:
        if year_2026.day(day).working != statutory_is_workday(day):
            disagreements.append(day)
        day += timedelta(days=1)

    assert disagreements == []


# --- adding working days ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        (china(2026, 10, 16), 1, china(2026, 10, 19)),  # Friday → Monday
        (china(2026, 10, 16), 0, china(2026, 10, 16)),
        (china(2026, 10, 12), 4, china(2026, 10, 16)),  # Monday → Friday
        (china(2026, 9, 30), 1, china(2026, 10, 8)),  # over the National Day week
        (china(2026, 10, 9), 1, china(2026, 10, 10)),  # Friday → the make-up Saturday
        (china(2026, 9, 18), 1, china(2026, 9, 20)),  # Friday → the make-up Sunday
        (china(2026, 10, 3), 1, china(2026, 10, 9, 0)),  # from a holiday: counted from 00:00 of Oct 8
        (china(2026, 10, 17), 1, china(2026, 10, 20, 0)),  # from a Saturday: the end of Monday
        (china(2026, 10, 3), 0, china(2026, 10, 8, 0)),
    ],
)
def test_add_working_days(year_2026: WorkCalendar, start: datetime, days: int, expected: datetime) -> None:
    assert year_2026.add_working_days(start, days) == (expected, False)


def test_add_working_days_counts_in_china_time(year_2026: WorkCalendar) -> None:
    """17:00 UTC on Friday 2026-10-09 is already 01:00 on the make-up Saturday in China; the next
    working day is Monday. Counted in UTC it would have been that Saturday."""
    at = datetime(2026, 10, 9, 17, 0, tzinfo=UTC)
    assert at.astimezone(CHINA_TZ) == china(2026, 10, 10, 1)

    result, estimated = year_2026.add_working_days(at, 1)

    assert result == china(2026, 10, 12, 1) and not estimated
    assert result.tzinfo is UTC  # given back in the caller's time zone


def test_natural_units_ignore_the_calendar(year_2026: WorkCalendar) -> None:
    start = china(2026, 9, 30)

    assert add(year_2026, start, span("2d")) == (china(2026, 10, 2), False)  # a holiday is still a day
    assert add(year_2026, start, span("24h")) == (china(2026, 10, 1), False)
    assert add(year_2026, start, span("30m")) == (china(2026, 9, 30, 10, 30), False)
    assert add(year_2026, start, span("10s")) == (start + timedelta(seconds=10), False)
    assert add(year_2026, start, span("1wd")) == (china(2026, 10, 8), False)


# --- years the package does not know -----------------------------------------------------------


def test_a_year_not_known_is_estimated_monday_to_friday() -> None:
    at = china(2026, 12, 30)
    data = without_year(calendar_for(CalendarSettings(), at), 2027)
    calendar = WorkCalendar(data)

    result, estimated = calendar.add_working_days(at, 3)  # Thu 31, Fri Jan 1 (assumed working), Mon 4

    assert (result, estimated) == (china(2027, 1, 4), True)
    assert calendar.day(date(2027, 1, 1)).estimated and calendar.day(date(2027, 1, 1)).working
    assert calendar.add_working_days(at, 1) == (china(2026, 12, 31), False)  # 2026 alone: known
    assert add(calendar, at, span("3wd")) == (china(2027, 1, 4), True)


# --- the law's days off, for a year without an official schedule --------------------------------


@pytest.mark.parametrize("year", [2025, 2026])
def test_the_law_days_are_days_off_in_every_official_schedule(year: int) -> None:
    """全国年节及纪念日放假办法 (2024 amendment, from 2025): its days, 补假 included, are a subset of
    the State Council's published days off for the years the package knows."""
    official = {d for d in chinese_calendar_holidays() if d.year == year}
    law = statutory_holidays(year)
    assert set(law) <= official, sorted(set(law) - official)
    # 13 festival days a year (元旦 1, 春节 4, 清明 1, 劳动节 2, 端午 1, 中秋 1, 国庆 3) besides 补假.
    assert sum(1 for name in law.values() if not name.endswith("补假")) == 13


def chinese_calendar_holidays() -> set[date]:
    from chinese_calendar import constants

    return set(constants.holidays)


def test_the_law_days_of_2026_and_their_make_up_days() -> None:
    days = statutory_holidays(2026)
    assert days[date(2026, 2, 16)] == "春节"  # 除夕
    assert [d for d, n in days.items() if n == "春节"] == [date(2026, 2, 16) + timedelta(days=n) for n in range(4)]
    assert days[date(2026, 4, 5)] == "清明节"  # the solar term, a Sunday: made up on Monday
    assert days[date(2026, 4, 6)] == "清明节补假"
    assert days[date(2026, 5, 4)] == "劳动节补假"  # 2 May is a Saturday
    assert days[date(2026, 10, 5)] == "国庆节补假"  # 3 October is a Saturday; Sunday is off anyway
    assert date(2026, 10, 4) not in days  # a plain Sunday (the State Council made it a holiday: not the law)


def test_2027_by_the_law() -> None:
    days = statutory_holidays(2027)
    assert days == {
        date(2027, 1, 1): "元旦",  # a Friday
        date(2027, 2, 5): "春节",  # 除夕
        date(2027, 2, 6): "春节",  # 正月初一 (Saturday)
        date(2027, 2, 7): "春节",  # Sunday
        date(2027, 2, 8): "春节",
        date(2027, 2, 9): "春节补假",
        date(2027, 2, 10): "春节补假",
        date(2027, 4, 5): "清明节",
        date(2027, 5, 1): "劳动节",  # Saturday
        date(2027, 5, 2): "劳动节",  # Sunday
        date(2027, 5, 3): "劳动节补假",
        date(2027, 5, 4): "劳动节补假",
        date(2027, 6, 9): "端午节",  # 农历五月初五
        date(2027, 9, 15): "中秋节",  # 农历八月十五
        date(2027, 10, 1): "国庆节",
        date(2027, 10, 2): "国庆节",
        date(2027, 10, 3): "国庆节",
        date(2027, 10, 4): "国庆节补假",
        date(2027, 10, 5): "国庆节补假",
    }


def test_a_year_without_a_schedule_gets_the_law_days_off() -> None:
    assert 2027 not in package_years()  # when the package learns 2027, its schedule takes over
    at = china(2026, 12, 25, 0)
    calendar = WorkCalendar(calendar_for(CalendarSettings(), at))

    new_year = calendar.day(date(2027, 1, 1))
    assert (new_year.kind, new_year.working, new_year.name) == (DayKind.HOLIDAY, False, "元旦")
    # `hotline calendar add-days 2026-12-25 15` gave 2027-01-15 counting 元旦 as a working day.
    assert calendar.add_working_days(at, 15) == (china(2027, 1, 18, 0), True)  # still estimated: 调休 unknown
    assert calendar.day(date(2027, 2, 9)).name == "春节补假" and not calendar.day(date(2027, 2, 9)).working
    assert calendar.day(date(2027, 1, 4)).estimated and calendar.day(date(2027, 1, 4)).working

    # The State Council's schedule, once published, goes in the configuration: it wins.
    published = CalendarSettings(workdays=[date(2027, 2, 9)], holidays=[date(2027, 2, 11)], complete_years=[2027])
    official = WorkCalendar(calendar_for(published, at))
    assert official.day(date(2027, 2, 9)).kind is DayKind.MAKEUP_WORKDAY
    assert not official.day(date(2027, 2, 11)).working and not official.day(date(2027, 1, 4)).estimated
    assert official.day(date(2027, 2, 10)).working  # the law's guess is not used for a complete year


def test_a_day_outside_the_slice_is_estimated(year_2026: WorkCalendar) -> None:
    assert year_2026.day(date(2027, 1, 4)).estimated
    result, estimated = year_2026.add_working_days(china(2026, 12, 31), 1)
    assert estimated and result == china(2027, 1, 1)


def test_a_year_published_in_the_settings_is_not_estimated() -> None:
    settings = CalendarSettings(holidays=[date(2027, 1, 1)], complete_years=[2027])
    at = china(2026, 12, 30)

    result, estimated = WorkCalendar(calendar_for(settings, at)).add_working_days(at, 3)

    # Thu Dec 31, (Jan 1 元旦, Jan 2-3 weekend), Mon Jan 4, Tue Jan 5.
    assert (result, estimated) == (china(2027, 1, 5), False)


def test_local_overrides_add_holidays_workdays_and_names() -> None:
    settings = CalendarSettings(holidays=[date(2026, 6, 1)], workdays=[date(2026, 6, 6)], names={"2026-06-01": "区庆"})
    calendar = WorkCalendar(calendar_window(settings, date(2026, 5, 1), date(2026, 7, 1)))

    assert calendar.day(date(2026, 6, 1)).kind is DayKind.HOLIDAY and calendar.day(date(2026, 6, 1)).name == "区庆"
    assert calendar.day(date(2026, 6, 6)).kind is DayKind.MAKEUP_WORKDAY  # a Saturday
    assert calendar.add_working_days(china(2026, 5, 29), 1) == (china(2026, 6, 2), False)  # Fri → Tue
    assert calendar.add_working_days(china(2026, 6, 5), 1) == (china(2026, 6, 6), False)  # Fri → Sat


@pytest.mark.parametrize(
    ("received_at", "start"),
    [
        (datetime(2026, 9, 30, 20, 0, tzinfo=UTC), date(2026, 9, 30)),  # already Oct 1 in China
        (datetime(2026, 9, 30, 15, 59, tzinfo=UTC), date(2026, 9, 29)),  # still Sep 30 in China
    ],
)
def test_calendar_for_slices_from_the_day_before_the_ticket(received_at: datetime, start: date) -> None:
    data = calendar_for(CalendarSettings(), received_at)

    assert data.start == start
    assert date(2026, 10, 1) in data.holidays and date(2026, 10, 10) in data.workdays
    assert all(data.start <= d <= data.end for d in [*data.holidays, *data.workdays])
    assert 2026 in data.known_years


# --- durations as the policy writes them -------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "amount", "unit", "label"),
    [
        ("30m", 30, Unit.MINUTES, "30分钟"),
        ("2h", 2, Unit.HOURS, "2小时"),
        ("7d", 7, Unit.DAYS, "7天"),
        ("5wd", 5, Unit.WORKING_DAYS, "5个工作日"),
        ("10s", 10, Unit.SECONDS, "10秒"),
        (" 2 h ", 2, Unit.HOURS, "2小时"),
    ],
)
def test_durations_parse(text: str, amount: int, unit: Unit, label: str) -> None:
    parsed = span(text)

    assert (parsed.amount, parsed.unit, parsed.label) == (amount, unit, label)
    assert DURATION.dump_python(parsed) == f"{amount}{unit.value}"  # written back as the policy writes it


@pytest.mark.parametrize("text", ["5 weeks", "-1h", "", "2", "h", "1.5h", "5wdd"])
def test_bad_durations_are_rejected_with_a_clear_message(text: str) -> None:
    with pytest.raises(ValidationError) as info:
        span(text)

    assert f"'{text}' is not a duration like 30m, 2h, 7d or 5wd (working days)" in str(info.value)


def test_negative_span_is_rejected() -> None:
    with pytest.raises(ValidationError):
        Span(amount=-1, unit=Unit.HOURS)
