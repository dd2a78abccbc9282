"""办结台账: a report that reads the kept days gives the same facts as one that lists everything from
visibility; only whole days that ended a while ago are kept; a kept day is read, not listed again;
a damaged file is listed again; the daily report keeps the days the monthly report reads."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.reports.activity import compose, make_report
from activities.reports.ledger import SETTLE, Ledger, kept_days, midnight, spans
from activities.reports.source import ticket_facts
from activities.runtime.binaries import start_dev_server
from domain.calendar import CHINA_TZ
from domain.config import DistrictConfig
from domain.facts import TicketFacts
from domain.metrics import Period
from domain.report_request import ReportRequest, ReportRun
from starter.tools.bench_reports import seed
from tests.support.district import make_config

TICKETS = 300


def at(day: date, hour: int = 0, minute: int = 0) -> datetime:
    return midnight(day) + timedelta(hours=hour, minutes=minute)


def test_only_whole_days_from_a_midnight_that_ended_a_while_ago_are_kept() -> None:
    first = date(2026, 10, 1)
    now = at(date(2026, 10, 4), 0, 5)  # 4 October has begun, but 3 October ended less than SETTLE ago
    assert kept_days(at(first), at(date(2026, 12, 1)), now) == [date(2026, 10, 1), date(2026, 10, 2)]
    assert kept_days(at(first), at(date(2026, 12, 1)), now + SETTLE)[-1] == date(2026, 10, 3)
    assert kept_days(at(first), at(date(2026, 10, 2)), now + SETTLE) == [first]  # not past the window
    assert kept_days(at(first, 8), at(date(2026, 12, 1)), now) == []  # a window not starting at midnight
    assert kept_days(datetime(2026, 9, 30, 16, tzinfo=UTC), at(date(2026, 10, 2)), now) == [first]  # 00:00 CST


def test_runs_of_days_are_listed_together() -> None:
    days = [date(2026, 10, d) for d in (5, 1, 2, 3, 7, 8)]
    assert spans(days) == [
        (date(2026, 10, 1), date(2026, 10, 3)),
        (date(2026, 10, 5), date(2026, 10, 5)),
        (date(2026, 10, 7), date(2026, 10, 8)),
    ]


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> DistrictConfig:
    return make_config(tmp_path_factory.mktemp("ledger"))


@pytest.fixture(scope="module")
async def client(own_dev_env: WorkflowEnvironment, config: DistrictConfig) -> Client:
    """Tickets over this month and last, as their search attributes publish them; no worker."""
    await seed(own_dev_env.client, config, TICKETS, this_month(), prefix="LEDGER")
    return own_dev_env.client


def this_month() -> Period:
    now = datetime.now(CHINA_TZ)
    return Period.month(now.year, now.month)


def by_id(facts: list[TicketFacts]) -> dict[str, TicketFacts]:
    found = {f.workflow_id: f for f in facts}
    assert len(found) == len(facts), "a ticket was counted twice"
    return found


async def test_the_kept_days_give_the_same_facts_as_visibility(client: Client, tmp_path: Path) -> None:
    month = this_month()
    since, until = month.previous().start, month.end
    listed = by_id(await ticket_facts(client, since, until))
    ledger = await Ledger.of(client, tmp_path)
    kept = by_id(await ticket_facts(client, since, until, ledger))
    assert kept == listed
    assert len(listed) > TICKETS / 2

    # One file per whole day since the window began, up to the last that ended SETTLE ago; none later.
    now = datetime.now(UTC)
    days = kept_days(since, until, now)
    assert sorted(p.stem for p in ledger.folder.glob("*.json")) == [d.isoformat() for d in days]
    closed_on_kept_days = {
        f.workflow_id for f in listed.values() if f.closed_at and f.closed_at < midnight(days[-1]) + timedelta(days=1)
    }
    in_files = {wid for d in days for wid in json.loads(ledger.path(d).read_text(encoding="utf-8"))["tickets"]}
    assert in_files == closed_on_kept_days and in_files


async def test_a_kept_day_is_read_and_a_damaged_one_listed_again(client: Client, tmp_path: Path) -> None:
    month = this_month()
    since, until = month.previous().start, month.end
    ledger = await Ledger.of(client, tmp_path)
    listed = by_id(await ticket_facts(client, since, until, ledger))
    kept_day = next(d for d in kept_days(since, until, datetime.now(UTC)) if ledger.read(d))

    # Tamper with one kept ticket: the report shows the file's value, so it read the file.
    path = ledger.path(kept_day)
    kept = json.loads(path.read_text(encoding="utf-8"))
    workflow_id = next(iter(kept["tickets"]))
    kept["tickets"][workflow_id]["HotlineDepartment"] = "tampered"
    path.write_text(json.dumps(kept, ensure_ascii=False), encoding="utf-8")
    assert by_id(await ticket_facts(client, since, until, ledger))[workflow_id].department == "tampered"

    # A file cut short is not trusted: the day is listed again and kept afresh.
    path.write_text(path.read_text(encoding="utf-8")[:100], encoding="utf-8")
    assert by_id(await ticket_facts(client, since, until, ledger)) == listed
    assert ledger.read(kept_day) is not None


async def test_each_namespace_keeps_its_own_days(client: Client, tmp_path: Path) -> None:
    other = await start_dev_server()
    try:
        mine, theirs = await Ledger.of(client, tmp_path), await Ledger.of(other.client, tmp_path)
    finally:
        await other.shutdown()
    assert mine.folder.parent == theirs.folder.parent == tmp_path
    assert mine.folder != theirs.folder


async def test_the_daily_report_keeps_what_the_monthly_report_reads(client: Client, config: DistrictConfig) -> None:
    out = Path(config.reports.folder)
    ledger = await Ledger.of(client, out / "ledger")
    now = datetime.now(UTC)
    await make_report(client, config, ReportRequest(kind=ReportRun.DAILY, out=str(out), deliver=False))
    month = this_month()
    wanted = kept_days(month.previous().start, now, now)
    assert all(ledger.read(day) is not None for day in wanted)

    request = ReportRequest(kind=ReportRun.MONTHLY, month=f"{month.start:%Y-%m}")
    _, counted = await compose(client, config, request, now)
    plain = config.model_copy(update={"reports": config.reports.model_copy(update={"ledger": False})})
    _, counted_plain = await compose(client, plain, request, now)
    assert counted == counted_plain == len(await ticket_facts(client, month.previous().start, month.end))
