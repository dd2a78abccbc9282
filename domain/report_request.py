"""What a report run is asked for, and which period it covers: the same for a run started by a
Temporal Schedule and one made on demand, so both give the same report."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import StrEnum

from pydantic import AwareDatetime, Field

from domain.calendar import CHINA_TZ
from domain.models import Frozen


class ReportRun(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    CUMULATIVE = "cumulative"  # 累计, 截至目前: on demand only


class ReportRequest(Frozen):
    kind: ReportRun
    as_of: AwareDatetime | None = None  # the report's time; None: the Schedule's time, or now
    month: str | None = Field(default=None, pattern=r"^\d{4}-(0[1-9]|1[0-2])$")  # 月报: "2026-11"; None: last month
    since: date | None = None  # 累计: the first day counted; None: the configured day, or 1 January
    out: str | None = None  # where the files go; None: the configured folder
    deliver: bool = True  # to the configured recipients


class ReportReceipt(Frozen):
    kind: ReportRun
    title: str
    period: str
    as_of: AwareDatetime  # the report's time: a run on demand at this time gives the same report
    files: list[str]
    tickets: int  # how many tickets the figures were computed from
    headline: str | None = None  # 累计: the figures in one sentence, as the district publishes them
    delivered_to: list[str] = Field(default_factory=list)
    unread: list[str] = Field(default_factory=list)  # workflows left out: they did not answer (their worker stopped)
    notes: list[str] = Field(default_factory=list)  # what was asked for and not made, and why (no PDF converter)


def month_covered(request: ReportRequest, as_of: datetime) -> tuple[int, int]:
    """The month a 月报 covers: the one asked for, else the calendar month before `as_of` (China time)."""
    if request.month:
        year, month = request.month.split("-")
        return int(year), int(month)
    first = as_of.astimezone(CHINA_TZ).date().replace(day=1)
    last_month = first - timedelta(days=1)
    return last_month.year, last_month.month


def cumulative_since(request: ReportRequest, configured: date | None, as_of: datetime) -> date:
    """The first day a 累计 report counts: the one asked for, else the configured one, else 1 January
    of the year `as_of` falls in (China time)."""
    return request.since or configured or date(as_of.astimezone(CHINA_TZ).year, 1, 1)


def morning(day: date, hour: int = 8) -> datetime:
    """The report time of a day asked for by date (08:00 China time)."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=CHINA_TZ)
