"""`hotline calendar …`: see what the deadline engine computes from the working-day calendar."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import typer
from rich.table import Table

from activities.runtime.calendar_source import MAKEUP_KEYS, calendar_window, package_years
from domain.calendar import CHINA_TZ, CalendarData, DayKind, WorkCalendar
from starter.cli import common

app = typer.Typer(help="工作日历：查询某天、计算若干工作日之后", no_args_is_help=True)

ESTIMATE_NOTE = (
    "（该年份尚无官方放假安排：已计入《全国年节及纪念日放假办法》规定的法定节假日，调休未知，其余按周一至周五推算；"
    f"官方安排公布后请在配置 {MAKEUP_KEYS}）"
)
LAW_BASIS = "按放假办法推算（调休未知）"


def _date(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        common.fail(f"{option}: '{value}' is not a date like 2026-10-01")


def _instant(value: str) -> datetime:
    """A date (start of the day) or a date and time, in China time unless an offset is given."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        common.fail(f"DATE: '{value}' is not a date like 2026-09-30 or 2026-09-30T10:00")
    if len(value) <= 10:
        parsed = datetime.combine(parsed.date(), time(0))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=CHINA_TZ)


def _calendar(config: str | None, start: date, end: date) -> CalendarData:
    settings = common.config_from(config).calendar
    return calendar_window(settings, start - timedelta(days=1), end + timedelta(days=1))


@app.command("check")
def check(
    day: str = typer.Argument(..., metavar="DATE", help="日期，如 2026-10-01"),
    days: int = typer.Option(1, "--days", min=1, max=366, help="连续查询的天数"),
    config: common.ConfigPath = None,
) -> None:
    """某天是工作日、周末、法定节假日还是调休上班。"""
    first = _date(day, "DATE")
    calendar = WorkCalendar(_calendar(config, first, first + timedelta(days=days)))
    table = Table(title="工作日历", title_justify="left")
    for column in ("日期", "星期", "类型", "是否上班", "节日", "依据"):
        table.add_column(column)
    estimated_years = set()
    for offset in range(days):
        info = calendar.day(first + timedelta(days=offset))
        unknown_year = info.day.year not in calendar.data.known_years
        estimated_years |= {info.day.year} if unknown_year else set()
        basis = "法定/配置数据"
        if info.estimated:
            basis = "按周一至周五推算（调休未知）"
        elif unknown_year and info.kind is DayKind.HOLIDAY:
            basis = LAW_BASIS
        table.add_row(
            info.day.isoformat(),
            "一二三四五六日"[info.day.weekday()],
            info.kind.value,
            "上班" if info.working else "休息",
            info.name or "",
            basis,
        )
    common.console.print(table)
    if estimated_years:
        common.console.print(ESTIMATE_NOTE, soft_wrap=True)
    known = sorted(package_years())
    common.console.print(f"节假日数据：chinese-calendar {known[0]}–{known[-1]} 年，另加配置中的补充", soft_wrap=True)


@app.command("add-days")
def add_days(
    day: str = typer.Argument(..., metavar="DATE", help="起算时间，如 2026-09-30 或 2026-09-30T10:00（北京时间）"),
    count: int = typer.Argument(..., metavar="N", min=0, max=250, help="工作日数"),
    config: common.ConfigPath = None,
) -> None:
    """起算时间之后第 N 个工作日的同一时刻（起算日休息则从下一个工作日 0 点起算）。"""
    start = _instant(day)
    calendar = WorkCalendar(_calendar(config, start.date(), start.date() + timedelta(days=count * 3 + 30)))
    result, estimated = calendar.add_working_days(start, count)
    local = result.astimezone(CHINA_TZ)
    line = f"{start.astimezone(CHINA_TZ):%Y-%m-%d %H:%M} 加 {count} 个工作日 = {local:%Y-%m-%d %H:%M}（星期{'一二三四五六日'[local.weekday()]}）"
    common.console.print(line + (ESTIMATE_NOTE if estimated else ""), soft_wrap=True)
