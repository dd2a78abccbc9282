"""办结台账 (the closed-ticket ledger): the facts of the tickets closed on each past day, one file a
day, so that a month's report lists from visibility only what can still change.

Why: the embedded server's SQLite visibility lists about 1,200 rows a second, so a report over a
month of 20,000 tickets spent 16 s (idle) to 41 s (loaded) listing them. Most of those tickets are
closed, and a closed ticket's search attributes never change again (its status is final), so each
day's closed tickets are listed once, by the daily report the morning after, and kept.

Safe to keep because:
- a day is kept only once it ended `SETTLE` ago, so visibility has caught up with its last ticket;
- the files are kept per namespace id, so another server (a new embedded one, the simulator's) never
  reads this one's days;
- they are a cache, not a record: the workflows stay the source. Delete the folder and the next
  report lists everything from visibility again; each file names the query that filled it, and every
  row its workflow id, so a figure can still be traced back to the workflows it counts.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client

from domain import search_attributes as sa
from domain.calendar import CHINA_TZ

SETTLE = timedelta(minutes=10)  # visibility follows a ticket's last step within seconds; a day waits this long
DAY = timedelta(days=1)
FORMAT = 1

Rows = dict[str, dict[str, Any]]  # workflow id → its fact attributes' values, as visibility holds them
Lister = Callable[[Client, str], Awaitable[Rows]]  # a visibility listing (report_source's raw one)


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=CHINA_TZ)


def kept_days(since: datetime, until: datetime, now: datetime, settle: timedelta = SETTLE) -> list[date]:
    """The whole days (China time) from `since` that may come from the ledger: each ended before
    `until` and `settle` before `now`. None unless `since` is a midnight, as months and weeks are."""
    start = since.astimezone(CHINA_TZ)
    if start.timetz().replace(tzinfo=None) != datetime.min.time():
        return []
    days, day = [], start.date()
    while midnight(day) + DAY <= until and midnight(day) + DAY + settle <= now:
        days.append(day)
        day += timedelta(days=1)
    return days


def spans(days: Iterable[date]) -> list[tuple[date, date]]:
    """Consecutive days as (first, last) pairs, so each gap is listed with one query."""
    result: list[tuple[date, date]] = []
    for day in sorted(days):
        if result and result[-1][1] + timedelta(days=1) == day:
            result[-1] = (result[-1][0], day)
        else:
            result.append((day, day))
    return result


def closed_between(start: datetime, end: datetime) -> str:
    return (
        f"WorkflowType = 'TicketWorkflow' AND {sa.CLOSED_AT.name} >= '{start.isoformat()}'"
        f" AND {sa.CLOSED_AT.name} < '{end.isoformat()}'"
    )


class Ledger:
    """The kept days of one namespace, in `folder/<namespace id>/<day>.json`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @classmethod
    async def of(cls, client: Client, root: Path) -> Ledger:
        described = await client.workflow_service.describe_namespace(
            DescribeNamespaceRequest(namespace=client.namespace)
        )
        return cls(root / described.namespace_info.id)

    def path(self, day: date) -> Path:
        return self.folder / f"{day.isoformat()}.json"

    def read(self, day: date) -> Rows | None:
        """The day's rows, or None if the day is not kept (or its file cannot be read: listed again)."""
        try:
            kept = json.loads(self.path(day).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(kept, dict) or kept.get("format") != FORMAT or kept.get("day") != day.isoformat():
            return None
        tickets = kept.get("tickets")
        return tickets if isinstance(tickets, dict) else None

    def write(self, day: date, rows: Rows, query: str) -> None:
        """Whole or not at all: written aside, then renamed over (two reports may keep the same day)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        kept = {
            "format": FORMAT,
            "day": day.isoformat(),
            "kept_at": datetime.now(UTC).isoformat(),
            "query": query,
            "tickets": rows,
        }
        target = self.path(day)
        aside = target.with_suffix(f".{os.getpid()}.tmp")
        aside.write_text(json.dumps(kept, ensure_ascii=False), encoding="utf-8")
        aside.replace(target)

    async def days(self, client: Client, days: list[date], list_rows: Lister) -> Rows:
        """Every row of `days`: read where kept; the rest listed from visibility (one query per run
        of consecutive days, a few side by side) and kept."""
        found: Rows = {}
        missing = []
        for day in days:
            rows = self.read(day)
            if rows is None:
                missing.append(day)
            else:
                found.update(rows)
        limit = asyncio.Semaphore(4)

        async def fill(first: date, last: date) -> Rows:
            query = closed_between(midnight(first), midnight(last) + DAY)
            async with limit:
                rows = await list_rows(client, query)
            by_day: dict[date, Rows] = {first + timedelta(days=i): {} for i in range((last - first).days + 1)}
            for workflow_id, values in rows.items():
                closed = datetime.fromisoformat(values[sa.CLOSED_AT.name]).astimezone(CHINA_TZ).date()
                by_day[closed][workflow_id] = values
            for day, day_rows in by_day.items():
                self.write(day, day_rows, closed_between(midnight(day), midnight(day) + DAY))
            return rows

        for rows in await asyncio.gather(*(fill(first, last) for first, last in spans(missing))):
            found.update(rows)
        return found
