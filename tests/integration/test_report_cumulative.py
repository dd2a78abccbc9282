"""`hotline report cumulative` (累计, 截至目前) as a user runs it: a real CLI process against a dev server
of its own, over tickets whose search attributes are written as real tickets publish them (workflows no
worker runs, as starter/tools/bench_reports.py seeds them), so the figures are known by hand."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime
from pathlib import Path

import pytest
import yaml
from openpyxl import load_workbook
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.testing import WorkflowEnvironment

from activities.runtime.binaries import start_dev_server
from domain import search_attributes as sa
from domain.calendar import CHINA_TZ
from domain.facts import Fact, closure_tag, scoped_tag, tags
from domain.models import Satisfaction, TicketStatus
from tests.support.district import make_config


def at(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 10, tzinfo=CHINA_TZ)


def attributes(
    status: TicketStatus,
    department: str,
    received: datetime,
    found: list[str],
    closed: datetime | None = None,
    satisfaction: Satisfaction | None = None,
    resolve_due: datetime | None = None,
) -> TypedSearchAttributes:
    values = [
        SearchAttributePair(sa.STATUS, status.value),
        SearchAttributePair(sa.DEPARTMENT, department),
        SearchAttributePair(sa.STREET, "滨河街道"),
        SearchAttributePair(sa.CATEGORY, "市容环卫"),
        SearchAttributePair(sa.URGENCY, "一般"),
        SearchAttributePair(sa.RECEIVED_AT, received),
        SearchAttributePair(sa.FACTS, found),
    ]
    if closed is not None:
        values.append(SearchAttributePair(sa.CLOSED_AT, closed))
    if satisfaction is not None:
        values.append(SearchAttributePair(sa.SATISFACTION, satisfaction.value))
    if resolve_due is not None:
        values.append(SearchAttributePair(sa.RESOLVE_DUE, resolve_due))
    return TypedSearchAttributes(values)  # type: ignore[arg-type]  # a list of pairs of several value types


# Counted from 2026-06-01 (--since):
# A received 05-20, still open (已签收): in 在办, not in 受理 nor in any rate (received before).
# B received 06-10, closed 06-12: contacted on time, resolved, 满意.
# C received 07-01, closed 07-05 after 核查 (核查结案 已解释说明): contacted late, unresolved, 不满意.
# D received 11-01, open on the backlog (挂账 until 2027-06-30): contacted on time.
# E received 08-03, closed 08-10, exempted (免考核) for zjj: still in the district's figures; 基本满意.
# 受理 B C D E = 4; 办结 B C E = 3; 在办 A D = 2, 其中挂账 D = 1; 响应率 B C D E: 3/4 = 75.00%;
# 解决率 B C E: 2/3 = 66.67%; 满意率 (满意 + 基本满意) B E of B C E: 2/3 = 66.67%.
TICKETS = {
    "A": attributes(
        TicketStatus.SIGNED, "cgj", datetime(2026, 5, 20, 10, tzinfo=CHINA_TZ), tags(True, None, None, None)
    ),
    "B": attributes(
        TicketStatus.CLOSED, "cgj", at(6, 10), tags(True, True, True, True), at(6, 12), Satisfaction.SATISFIED
    ),
    "C": attributes(
        TicketStatus.CLOSED,
        "zjj",
        at(7, 1),
        [*tags(True, False, True, False), closure_tag("已解释说明")],
        at(7, 5),
        Satisfaction.UNSATISFIED,
    ),
    "D": attributes(
        TicketStatus.CONTACTED,
        "zjj",
        at(11, 1),
        [*tags(True, True, None, None), Fact.BACKLOG.value],
        resolve_due=datetime(2027, 6, 30, 18, tzinfo=CHINA_TZ),
    ),
    "E": attributes(
        TicketStatus.CLOSED,
        "zjj",
        at(8, 3),
        [*tags(True, True, True, True), scoped_tag(Fact.EXEMPTED, "zjj")],
        at(8, 10),
        Satisfaction.BASICALLY_SATISFIED,
    ),
}
HEADLINE = "受理诉求 4 件，办结 3 件，在办 2 件（其中挂账 1 件）；响应率 75.00%，解决率 66.67%，满意率 66.67%"


@pytest.fixture(scope="module")
async def seeded() -> AsyncIterator[Client]:
    env: WorkflowEnvironment = await start_dev_server()
    try:
        client = env.client
        run = uuid.uuid4().hex[:8]
        for name, attrs in TICKETS.items():
            await client.start_workflow(
                "TicketWorkflow", id=f"ticket-{run}-{name}", task_queue=f"{run}-nobody", search_attributes=attrs
            )
        while (await client.count_workflows(f"WorkflowId STARTS_WITH 'ticket-{run}-'")).count < len(TICKETS):
            await asyncio.sleep(0.2)  # visibility catches up
        yield client
    finally:
        await env.shutdown()


async def hotline(client: Client, config_file: Path, *args: str) -> tuple[int, str, str]:
    env = {
        **os.environ,
        "HOTLINE_CONFIG": str(config_file),
        "TEMPORAL_ADDRESS": client.service_client.config.target_host,
        "COLUMNS": "200",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "starter.cli.app",
        *args,
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    return process.returncode or 0, out.decode(), err.decode()


async def test_report_cumulative_prints_the_published_figures(seeded: Client, tmp_path: Path) -> None:
    config = make_config(tmp_path)
    config_file = tmp_path / "district.yaml"
    config_file.write_text(yaml.safe_dump(config.model_dump(mode="json"), allow_unicode=True), encoding="utf-8")
    out = tmp_path / "out"

    code, stdout, stderr = await hotline(
        seeded, config_file, "report", "cumulative", "--since", "2026-06-01", "--out", str(out)
    )
    assert code == 0, stderr
    first_line = stdout.splitlines()[0]
    assert first_line.startswith("截至 ") and first_line.endswith(f"：{HEADLINE}"), stdout
    assert "12345热线累计情况（2026-01-01 起" not in stdout and "2026-06-01 起" in stdout
    # The closed days were kept in the ledger (办结台账): a second run reads them and agrees.
    # … under --out, not the configured folder, when --out is given
    assert list((out / "ledger").rglob("2026-07-05.json"))
    assert not (Path(config.reports.folder) / "ledger").exists()
    code, again, stderr = await hotline(
        seeded, config_file, "report", "cumulative", "--since", "2026-06-01", "--out", str(out)
    )
    assert code == 0 and again.splitlines()[0].endswith(f"：{HEADLINE}"), stderr

    [workbook] = list((out / "cumulative").glob("*.xlsx"))
    sheet = load_workbook(workbook)["累计情况"]
    values = {row[0].value: row[1] for row in sheet.iter_rows(min_row=4)}  # under the title, period and header
    assert (values["受理"].value, values["在办"].value, values["其中挂账"].value) == (4, 2, 1)
    assert (values["响应率"].value, values["响应率"].number_format) == (0.75, "0.00%")
    assert values["解决率"].value == 0.6667

    # Without --since: from the configured reports.cumulative_since (else 1 January): A counts in 受理
    # too, and in no rate but 签收 (its only clock stopped).
    reports = config.reports.model_copy(update={"cumulative_since": date(2026, 1, 1)})
    configured = config.model_copy(update={"reports": reports})
    config_file.write_text(yaml.safe_dump(configured.model_dump(mode="json"), allow_unicode=True), encoding="utf-8")
    code, stdout, stderr = await hotline(seeded, config_file, "report", "cumulative", "--out", str(out))
    assert code == 0, stderr
    assert "受理诉求 5 件，办结 3 件，在办 2 件（其中挂账 1 件）" in stdout.splitlines()[0]
    assert "2026-01-01 起" in stdout


async def test_report_cumulative_refuses_a_bad_since(seeded: Client, tmp_path: Path) -> None:
    config_file = tmp_path / "district.yaml"
    config_file.write_text(yaml.safe_dump(make_config(tmp_path).model_dump(mode="json"), allow_unicode=True))
    code, _, stderr = await hotline(seeded, config_file, "report", "cumulative", "--since", "2026-6-1")
    assert code == 2 and stderr.strip().splitlines() == ["错误：--since: 日期应写作 YYYY-MM-DD，而不是 '2026-6-1'"]
    code, _, stderr = await hotline(seeded, config_file, "report", "cumulative", "--since", "2099-01-01")
    assert code == 2 and stderr.strip().splitlines() == ["错误：--since: 起算日期 2099-01-01 不在今天之前"]
