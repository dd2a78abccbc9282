"""How long a monthly report takes over a month of thousands of tickets: `python -m starter.tools.bench_reports`.

A measurement, not a test. It starts a dev server of its own, writes `--tickets` tickets' search
attributes (this month and last, spread over the departments, streets and categories, with every
kind of outcome) as workflows that no worker runs — visibility holds exactly what real tickets
publish — then times the three parts of a monthly report: reading the facts (the closed-ticket
ledger's kept days, and visibility for the rest), computing the tables, and writing the files
(Markdown, HTML with charts, .xlsx, CSV).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from activities.reports.files import write_report
from activities.reports.ledger import Ledger, kept_days
from activities.reports.source import list_rows, ticket_facts
from activities.runtime.binaries import start_dev_server
from activities.runtime.codec import data_converter
from activities.runtime.keys import KeyRing
from activities.runtime.settings import load_config
from domain import search_attributes as sa
from domain.calendar import CHINA_TZ
from domain.config import DistrictConfig
from domain.facts import tags
from domain.metrics import Period
from domain.models import Satisfaction, TicketStatus
from domain.reports import monthly_analysis


def synthetic_attributes(config: DistrictConfig, n: int, period: Period, seed: int = 7) -> list[TypedSearchAttributes]:
    """`n` tickets' search attributes over `period` and the one before it, reproducibly."""
    rng = random.Random(seed)
    start, end = period.previous().start, period.end
    span = (end - start).total_seconds()
    result = []
    for _ in range(n):
        received = start + timedelta(seconds=rng.random() * span * 0.95)
        closed = rng.random() < 0.85
        values: list[SearchAttributePair[Any]] = [
            SearchAttributePair(sa.STATUS, TicketStatus.CLOSED.value if closed else TicketStatus.SIGNED.value),
            SearchAttributePair(sa.DEPARTMENT, rng.choice(config.departments).code),
            SearchAttributePair(sa.STREET, rng.choice(config.streets).name),
            SearchAttributePair(sa.CATEGORY, rng.choice(config.categories).name),
            SearchAttributePair(sa.URGENCY, rng.choice(config.urgencies).name),
            SearchAttributePair(sa.RECEIVED_AT, received),
            SearchAttributePair(sa.RESOLVE_DUE, received + timedelta(days=7)),
            SearchAttributePair(sa.OVERDUE, rng.random() < 0.05),
        ]
        if rng.random() < 0.08:
            values.append(SearchAttributePair(sa.RETURN_COUNT, 1))
        if rng.random() < 0.05:
            values.append(SearchAttributePair(sa.EXTENSION_COUNT, 1))
        if closed:
            satisfaction = rng.choices(list(Satisfaction), weights=(80, 15, 5))[0]
            values += [
                SearchAttributePair(sa.CLOSED_AT, received + timedelta(hours=rng.uniform(2, 150))),
                SearchAttributePair(sa.SATISFACTION, satisfaction.value),
                SearchAttributePair(sa.REDO_COUNT, int(rng.random() < 0.04)),
            ]
            on_time = [rng.random() < p for p in (0.97, 0.93, 0.9)]
            signed, contacted, answered = on_time
            found = tags(signed, contacted, answered, resolved=satisfaction is not Satisfaction.UNSATISFIED)
        else:
            found = tags(rng.random() < 0.95, None, None, None)
        values.append(SearchAttributePair(sa.FACTS, found))
        result.append(TypedSearchAttributes(values))
    return result


async def _start_all(client: Client, attributes: list[TypedSearchAttributes], prefix: str) -> None:
    """Start a workflow per ticket (no worker will run them: only their visibility rows matter)."""
    limit = asyncio.Semaphore(64)

    async def start(i: int, attrs: TypedSearchAttributes) -> None:
        async with limit:
            await client.start_workflow(
                "TicketWorkflow", id=f"ticket-{prefix}-{i:06d}", task_queue=f"{prefix}-nobody", search_attributes=attrs
            )

    await asyncio.gather(*(start(i, a) for i, a in enumerate(attributes)))


async def seed(client: Client, config: DistrictConfig, n: int, period: Period, prefix: str) -> float:
    """Start `n` tickets over `period` and the one before it, and wait until visibility lists them all;
    returns the seconds it took."""
    begun = time.perf_counter()
    await _start_all(client, synthetic_attributes(config, n, period), prefix)
    seeded = f"WorkflowId STARTS_WITH 'ticket-{prefix}-'"
    while (await client.count_workflows(seeded)).count < n:
        await asyncio.sleep(0.2)  # visibility catches up
    return time.perf_counter() - begun


async def measure(n: int, out: Path, client: Client | None = None) -> dict[str, Any]:
    """Seed `n` tickets' attributes and time a monthly report over them: on `client`'s server (the
    benchmark's own), or on a dev server of its own."""
    if client is not None:
        return await _measure(n, out, client)
    env = await start_dev_server(data_converter(KeyRing.generate()))
    try:
        return await _measure(n, out, env.client)
    finally:
        await env.shutdown()


async def _measure(n: int, out: Path, client: Client) -> dict[str, Any]:
    """A monthly report as it runs on the 1st: the daily reports have kept each past day's closed
    tickets (办结台账), so visibility is asked only for the open ones. Also timed: the same report
    with nothing kept (all listed from visibility, as with `reports.ledger: false` or on a new
    ledger), and keeping the ledger's days (the daily reports' share, spread over the month)."""
    config = load_config(None)
    now = datetime.now(CHINA_TZ)
    period = Period.month(now.year, now.month)
    seeded_s = await seed(client, config, n, period, f"BENCH{now:%H%M%S}")
    since, until = period.previous().start, period.end
    ledger = await Ledger.of(client, out / "ledger")
    names = {d.code: d.name for d in config.departments}

    async def report(kept: Ledger | None) -> tuple[int, dict[str, float]]:
        begun = time.perf_counter()
        facts = await ticket_facts(client, since, until, kept)
        listed_s = time.perf_counter() - begun
        begun = time.perf_counter()
        report = monthly_analysis(facts, period, config.reports.metrics, [], None, names=names, now=until)
        computed_s = time.perf_counter() - begun
        begun = time.perf_counter()
        files = write_report(report, out / ("kept" if kept else "listed"), config.reports.formats)
        written_s = time.perf_counter() - begun
        return len(files), {
            "facts": len(facts),
            "list_s": round(listed_s, 3),
            "compute_tables_s": round(computed_s, 3),
            "write_files_s": round(written_s, 3),
            "total_s": round(listed_s + computed_s + written_s, 3),
        }

    files, cold = await report(None)
    begun = time.perf_counter()
    days = kept_days(since, until, datetime.now(UTC))
    kept_rows = await ledger.days(client, days, list_rows)
    keep_s = time.perf_counter() - begun
    _, warm = await report(ledger)
    return {
        "tickets": n,
        "facts_listed": warm["facts"],
        "seed_s": round(seeded_s, 2),
        "list_from_visibility_s": warm["list_s"],
        "compute_tables_s": warm["compute_tables_s"],
        "write_files_s": warm["write_files_s"],
        "monthly_report_s": warm["total_s"],
        "ledger": {
            "days_kept": len(days),
            "tickets_kept": len(kept_rows),
            "keep_all_days_s": round(keep_s, 3),
            "keep_one_day_s": round(keep_s / max(1, len(days)), 3),
        },
        "without_ledger": cold,
        "files": files,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="Time the monthly report over thousands of tickets")
    parser.add_argument("--tickets", type=int, default=3000, help="tickets over this month and last (default 3000)")
    parser.add_argument("--out", type=Path, default=None, help="where to write the report and results.json")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="hotline-bench-"))
    result = asyncio.run(measure(args.tickets, out))
    (out / "results.json").parent.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
