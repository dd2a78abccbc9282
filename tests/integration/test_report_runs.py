"""Reports from real workflows on a dev server of their own (so the figures count only these
tickets): the monthly figures equal those computed by hand, and the Schedules are created once,
updated in place, and produce the same report as a run on demand at the same time."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.adapters.webhook import verify
from activities.reports.activity import compose, make_report
from activities.reports.files import NO_PDF_CONVERTER, pdf_converter
from activities.reports.source import ticket_facts
from domain.calendar import CHINA_TZ
from domain.commands import ContactCitizen, GiveAnswer, RecordCallback, SignFor
from domain.config import DistrictConfig, ReportRecipient
from domain.metrics import MetricsPolicy
from domain.models import Answer, Callback, Satisfaction, TicketStatus
from domain.report_request import ReportReceipt, ReportRequest, ReportRun
from starter.report_schedules import ensure_schedules, schedule_id
from starter.tickets import act, submit
from tests.support.district import make_config
from tests.support.fake_department import SECRET, FakeDepartment
from tests.support.helpers import eventually, person, sample_ticket
from worker import build_workers
from workflows.report import ReportWorkflow
from workflows.ticket import TicketWorkflow


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> DistrictConfig:
    return make_config(tmp_path_factory.mktemp("reports"))


@pytest.fixture(scope="module")
async def tickets(own_dev_env: WorkflowEnvironment, config: DistrictConfig) -> AsyncIterator[Client]:
    """Three tickets this month: closed 满意, closed 基本满意, and one still waiting to be signed for."""
    client = own_dev_env.client
    async with build_workers(client, config, departments=["cgj"], center=True):
        batch = [sample_ticket() for _ in range(3)]
        for ticket in batch:
            await submit(client, config, ticket)
            await eventually(client, ticket.ticket_no, lambda r: r.status is TicketStatus.AWAITING_SIGN_FOR)
        clerk, operator = person(config, "cgj_sun"), person(config, "liumei")
        for ticket, satisfaction in zip(
            batch, (Satisfaction.SATISFIED, Satisfaction.BASICALLY_SATISFIED), strict=False
        ):
            no = ticket.ticket_no
            await act(client, no, TicketWorkflow.sign_for, SignFor(actor=clerk))
            await act(client, no, TicketWorkflow.contact_citizen, ContactCitizen(actor=clerk))
            answer = GiveAnswer(actor=clerk, answer=Answer(text="已处理", resolved=True, evidence=["photo.jpg"]))
            await act(client, no, TicketWorkflow.answer, answer)
            callback = Callback(resolved=True, satisfaction=satisfaction)
            await act(client, no, TicketWorkflow.record_callback, RecordCallback(actor=operator, callback=callback))
        deadline = time.monotonic() + 20
        while True:  # visibility is eventually consistent
            found = await ticket_facts(client, datetime(2000, 1, 1, tzinfo=UTC), datetime.now(UTC))
            if sum(f.status == TicketStatus.CLOSED.value for f in found) == 2:
                break
            assert time.monotonic() < deadline, found
            await asyncio.sleep(0.2)
    yield client  # the figures come from visibility alone: no worker needed from here


def this_month() -> str:
    return datetime.now(CHINA_TZ).strftime("%Y-%m")


async def test_the_monthly_figures_are_those_computed_by_hand(
    tickets: Client, config: DistrictConfig, tmp_path: Path
) -> None:
    request = ReportRequest(kind=ReportRun.MONTHLY, month=this_month(), out=str(tmp_path), deliver=False)
    report, counted = await compose(tickets, config, request, datetime.now(UTC))
    assert counted == 3
    overview = report.table("总体情况")
    values = {row[0]: row[1:] for row in overview.rows}
    # 受理 3; 办结 2 (both closed); 在办 1; 签收及时率 2/2; 满意率 (满意 + 基本满意) 2/2.
    assert values["受理量"][0] == "3" and values["办结量"][0] == "2" and values["在办量"][0] == "1"
    assert values["签收及时率"][0] == "100.00%" and values["满意率"][0] == "100.00%"
    # Where 基本满意 does not count as satisfied: 1/2.
    strict = config.model_copy(
        update={
            "reports": config.reports.model_copy(update={"metrics": MetricsPolicy(basic_counts_as_satisfied=False)})
        }
    )
    report, _ = await compose(tickets, strict, request, datetime.now(UTC))
    assert {row[0]: row[1] for row in report.table("总体情况").rows}["满意率"] == "50.00%"

    # This month is not over: the report is as of now (截至), never dated at the month's end.
    now = datetime.now(UTC)
    assert report.partial_until is not None and report.generated_at == report.partial_until <= now

    receipt = await make_report(tickets, config, request)
    names = sorted(Path(p).name for p in receipt.files)
    assert any(n.endswith(".xlsx") for n in names) and any(n.endswith(".html") for n in names)
    assert any(n.endswith(".png") for n in names) and any(n.endswith(".docx") for n in names)
    if pdf_converter() is None:  # PDF is in the default formats: its absence is said, not a failure
        assert receipt.notes == [NO_PDF_CONVERTER] and not any(n.endswith(".pdf") for n in names)
    else:
        assert receipt.notes == [] and any(n.endswith(".pdf") for n in names)


async def test_schedules_are_idempotent_and_match_a_run_on_demand(
    tickets: Client, config: DistrictConfig, tmp_path: Path
) -> None:
    client = tickets
    first = await ensure_schedules(client, config)
    again = await ensure_schedules(client, config)
    assert [e.created for e in first] == [True, True, True]
    assert [e.created for e in again] == [False, False, False]
    described = await client.get_schedule_handle(schedule_id(ReportRun.DAILY)).describe()
    [calendar] = described.schedule.spec.calendars
    assert (calendar.hour[0].start, calendar.minute[0].start) == (8, 0)
    assert described.schedule.spec.time_zone_name == "Asia/Shanghai"
    # When the server will start each report, as the server computes it: on the configured China time.
    now = datetime.now(CHINA_TZ)
    for kind, at, within in (
        (ReportRun.DAILY, (8, 0), timedelta(days=1)),
        (ReportRun.WEEKLY, (8, 30), timedelta(days=7)),
        (ReportRun.MONTHLY, (9, 0), timedelta(days=31)),
    ):
        times = [
            t.astimezone(CHINA_TZ)
            for t in (await client.get_schedule_handle(schedule_id(kind)).describe()).info.next_action_times
        ]
        assert times and times[0] - now <= within, kind
        assert all((t.hour, t.minute, t.second) == (*at, 0) for t in times), kind
        if kind is ReportRun.WEEKLY:
            assert all(t.weekday() == 0 for t in times)
        if kind is ReportRun.MONTHLY:
            assert all(t.day == 1 for t in times)

    async with build_workers(client, config, departments=[], center=True):
        await client.get_schedule_handle(schedule_id(ReportRun.DAILY)).trigger()
        deadline = time.monotonic() + 30
        while True:
            described = await client.get_schedule_handle(schedule_id(ReportRun.DAILY)).describe()
            if described.info.recent_actions:
                break
            assert time.monotonic() < deadline
            await asyncio.sleep(0.2)
        started = described.info.recent_actions[-1].action
        handle = client.get_workflow_handle_for(ReportWorkflow.run, started.workflow_id)  # type: ignore[var-annotated, arg-type, attr-defined]  # the action is a workflow start; mypy infers no type from run()
        scheduled: ReportReceipt = await handle.result()
    assert scheduled.kind is ReportRun.DAILY and scheduled.files
    request = ReportRequest(kind=ReportRun.DAILY, as_of=scheduled.as_of, out=str(tmp_path), deliver=False)
    on_demand = await make_report(client, config, request)
    for ours, theirs in zip(sorted(on_demand.files), sorted(scheduled.files), strict=True):
        if ours.endswith((".md", ".html", ".csv", ".png")):
            assert Path(ours).read_bytes() == Path(theirs).read_bytes(), ours


async def test_a_report_reaches_a_folder_and_a_webhook(
    tickets: Client, config: DistrictConfig, tmp_path: Path, department: FakeDepartment
) -> None:
    recipients = [
        {"name": "区委办公室", "adapter": {"type": "file_inbox", "folder": str(tmp_path / "drop")}},
        {"name": "督查平台", "adapter": {"type": "webhook", "url": department.url, "secret": SECRET}},
    ]
    reports = config.reports.model_copy(update={"recipients": [ReportRecipient.model_validate(r) for r in recipients]})
    with_recipients = config.model_copy(update={"reports": reports})
    request = ReportRequest(kind=ReportRun.WEEKLY, out=str(tmp_path / "out"), deliver=True)

    receipt = await make_report(tickets, with_recipients, request)

    assert receipt.delivered_to == ["区委办公室", "督查平台"]
    [dropped] = list((tmp_path / "drop").iterdir())
    assert sorted(p.name for p in dropped.iterdir()) == sorted(Path(p).name for p in receipt.files)
    [seen] = department.requests
    assert verify(seen.body, SECRET, seen.headers["X-Hotline-Signature"])
    payload = json.loads(seen.body)["report"]
    assert payload["title"] == receipt.title and payload["markdown"].startswith("# ")
    digests = {name: hashlib.sha256((dropped / name).read_bytes()).hexdigest() for name in payload["files"]}
    assert payload["files"] == digests  # the webhook's digests are those of the files dropped
