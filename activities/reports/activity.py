"""Making a report: read the figures from the workflows (visibility and queries), lay them out
(domain/reports.py), write the files, deliver them to the configured recipients.

The same `make_report` serves the Schedule's workflow (as the `make_report` activity on the centre's
worker) and `hotline report … --out DIR` on demand, so the two give the same report.
"""

from __future__ import annotations

import hashlib
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import structlog
from temporalio import activity
from temporalio.client import Client

from activities.adapters.factory import build_sink
from activities.reports.files import NO_PDF_CONVERTER, pdf_converter, write_report
from activities.reports.ledger import Ledger, kept_days
from activities.reports.source import list_rows, open_ticket_facts, ticket_facts
from activities.runtime.workflow_client import Unread, query_each
from domain.campaign import CampaignRecord
from domain.config import DistrictConfig, FileInboxAdapter
from domain.enterprise_lists import summarize
from domain.metrics import Period
from domain.report_request import ReportReceipt, ReportRequest, ReportRun, cumulative_since, month_covered
from domain.reports import (
    Report,
    cumulative,
    daily_warning,
    headline,
    monthly_analysis,
    unread_of,
    weekly_supervision,
    with_backlog_pushes,
    with_unread,
)
from domain.whistle import WhistleRecord
from workflows.campaign import CampaignWorkflow
from workflows.enterprise import EnterpriseServiceWorkflow
from workflows.registry import workflow_type
from workflows.whistle import WhistleWorkflow

log = structlog.get_logger()
DAY = timedelta(hours=24)


async def compose(
    client: Client, config: DistrictConfig, request: ReportRequest, as_of: datetime
) -> tuple[Report, int]:
    """The report asked for, at `as_of`, and how many tickets it was computed from. A whistle,
    enterprise or campaign that does not answer its query (its worker stopped) is left out and
    named in the report's table of what could not be read; the report is made all the same."""
    names = {d.code: d.name for d in config.departments}
    if request.kind is ReportRun.DAILY:
        open_facts = await open_ticket_facts(client)
        today = [f for f in await ticket_facts(client, as_of - DAY, as_of) if f.escalation]
        return daily_warning(open_facts, as_of, today, names=names), len(open_facts)
    if request.kind is ReportRun.WEEKLY:
        open_facts = await open_ticket_facts(client)
        report = weekly_supervision(open_facts, as_of, names=names)
        campaigns, unread = await _backlog_pushes(client, as_of)
        return with_unread(with_backlog_pushes(report, campaigns, names), _named(unread)), len(open_facts)
    if request.kind is ReportRun.CUMULATIVE:
        period = cumulative_period(config, request, as_of)
        facts = await ticket_facts(client, period.start, period.end, await ledger_of(client, config, request))
        return cumulative(facts, period, config.reports.metrics, names=names), len(facts)
    year, month = month_covered(request, as_of)
    period = Period.month(year, month)
    facts = await ticket_facts(client, period.previous().start, period.end, await ledger_of(client, config, request))
    whistles, unread_whistles = await _whistles(client, period)
    running = f"WorkflowType = '{workflow_type(EnterpriseServiceWorkflow)}' AND ExecutionStatus = 'Running'"
    enterprises, unread_enterprises = await query_each(client, running, EnterpriseServiceWorkflow.view)
    items = summarize(enterprises, period.end) if enterprises else None
    policy = config.reports.metrics
    # A month not over yet is reported as of now (截至), never with its end (a time to come) as 生成时间.
    report = monthly_analysis(facts, period, policy, whistles, items, names=names, now=min(as_of, period.end))
    return with_unread(report, _named([*unread_whistles, *unread_enterprises])), len(facts)


def _named(unread: list[Unread]) -> list[tuple[str, str]]:
    return [(u.workflow_id, u.reason) for u in unread]


def cumulative_period(config: DistrictConfig, request: ReportRequest, as_of: datetime) -> Period:
    """累计: from the first day counted to the report's time."""
    return Period.cumulative(cumulative_since(request, config.reports.cumulative_since, as_of), as_of)


def report_root(config: DistrictConfig, request: ReportRequest) -> Path:
    """Where a run writes: the folder asked for (--out), else the configured one."""
    return Path(request.out or config.reports.folder)


async def ledger_of(client: Client, config: DistrictConfig, request: ReportRequest) -> Ledger | None:
    """The ledger kept beside the reports (under --out when given, not always the configured folder)."""
    return await Ledger.of(client, report_root(config, request) / "ledger") if config.reports.ledger else None


async def keep_ledger(client: Client, config: DistrictConfig, request: ReportRequest, as_of: datetime) -> int:
    """The daily report keeps the ledger: every whole day since the start of last month that is not
    kept yet (yesterday, normally) is listed once and kept. Returns the tickets the kept days hold."""
    ledger = await ledger_of(client, config, request)
    if ledger is None:
        return 0
    now = datetime.now(UTC)
    month = Period.containing(min(as_of, now), "month").previous()
    days = kept_days(month.start, now, now)
    return len(await ledger.days(client, days, list_rows))


async def make_report(client: Client, config: DistrictConfig, request: ReportRequest) -> ReportReceipt:
    as_of = request.as_of or datetime.now().astimezone()
    if request.kind is ReportRun.DAILY:
        await keep_ledger(client, config, request, as_of)
    report, tickets = await compose(client, config, request, as_of)
    sentence = None
    if request.kind is ReportRun.CUMULATIVE:
        sentence = headline(report)
    out = report_root(config, request) / request.kind.value
    files = write_report(report, out, config.reports.formats)
    notes = [NO_PDF_CONVERTER] if "pdf" in config.reports.formats and pdf_converter() is None else []
    delivered = await _deliver(config, report, files) if request.deliver else []
    log.info("report made", kind=report.kind.value, period=report.period, files=len(files), tickets=tickets)
    return ReportReceipt(
        kind=request.kind,
        title=report.title,
        period=report.period,
        as_of=as_of,
        files=[str(p) for p in files],
        tickets=tickets,
        delivered_to=delivered,
        headline=sentence,
        unread=unread_of(report),
        notes=notes,
    )


async def _whistles(client: Client, period: Period) -> tuple[list[WhistleRecord], list[Unread]]:
    query = f"WorkflowType = 'WhistleWorkflow' AND StartTime < '{period.end.isoformat()}'"
    return await query_each(client, query, WhistleWorkflow.view)


async def _backlog_pushes(client: Client, as_of: datetime) -> tuple[list[CampaignRecord], list[Unread]]:
    """专项推进 running now, or ended within the week before `as_of`."""
    week_ago = (as_of - 7 * DAY).isoformat()
    query = f"WorkflowType = 'CampaignWorkflow' AND (ExecutionStatus = 'Running' OR CloseTime >= '{week_ago}')"
    return await query_each(client, query, CampaignWorkflow.view)


async def _deliver(config: DistrictConfig, report: Report, files: list[Path]) -> list[str]:
    """File drops get a copy of every file; webhooks get the report's Markdown and the files' digests."""
    delivered = []
    folder_name = f"{report.kind.value}-{report.period}"
    for recipient in config.reports.recipients:
        adapter = recipient.adapter
        if isinstance(adapter, FileInboxAdapter):
            target = Path(adapter.folder) / folder_name
            target.mkdir(parents=True, exist_ok=True)
            for path in files:
                if path.is_dir():
                    shutil.copytree(path, target / path.name, dirs_exist_ok=True)
                else:
                    shutil.copy2(path, target / path.name)
        else:
            sink = build_sink(adapter)
            try:
                markdown = next((p.read_text(encoding="utf-8") for p in files if p.suffix == ".md"), "")
                payload = {
                    "title": report.title,
                    "period": report.period,
                    "markdown": markdown,
                    "files": {p.name: _digest(p) for p in files if p.is_file()},
                }
                key = quote(f"{folder_name}#{recipient.name}", safe="")  # headers carry ASCII only
                await sink.send("report", key, payload)
            finally:
                await sink.aclose()
        delivered.append(recipient.name)
    return delivered


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class ReportActivities:
    """The centre worker's report activity, bound to its client and configuration."""

    def __init__(self, client: Client, config: DistrictConfig) -> None:
        self.client = client
        self.config = config

    @activity.defn(name="make_report")
    async def make_report(self, request: ReportRequest) -> ReportReceipt:
        return await make_report(self.client, self.config, request)
