"""Reports and the dashboard when one workflow has no worker (issue 19, finding 11): a whistle, an
enterprise and a campaign whose worker has stopped (as a demo leaves them) no longer make `hotline
report` and /dashboard fail with "no poller seen": the report is made from what answers, and names
what it could not read; so does the dashboard. On a dev server of its own: every report reads every
whistle and enterprise of its namespace."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.reports.activity import compose, make_report
from activities.runtime.binaries import start_dev_server
from activities.runtime.settings import actor_for
from domain.calendar import CHINA_TZ
from domain.campaign import CampaignKind, TicketFilter
from domain.config import DistrictConfig
from domain.report_request import ReportRequest, ReportRun
from domain.reports import UNREAD
from starter.web.app import create_app
from starter.web.users import WebUser, hash_password, load_users, write_users
from starter.whistles import blow, list_whistles
from tests.support.centre_work import campaign as centre_campaign
from tests.support.centre_work import work_advance
from tests.support.district import make_config
from tests.support.enterprise import visited_yesterday
from worker import build_workers

PASSWORD = "unread-口令-2026"


@pytest.fixture(scope="module")
async def server() -> AsyncIterator[WorkflowEnvironment]:
    env = await start_dev_server()
    yield env
    await env.shutdown()


def this_month() -> str:
    return datetime.now(CHINA_TZ).strftime("%Y-%m")


async def silent_workflows(client: Client, config: DistrictConfig) -> list[str]:
    """A whistle, an enterprise and a campaign started by a centre worker of their own, which then
    stops (a demo's, ended): their queries find no worker."""
    queue = f"silent-{uuid.uuid4().hex[:8]}"
    silent = config.model_copy(update={"center": config.center.model_copy(update={"task_queue": queue})})
    run = uuid.uuid4().hex[:6]
    async with build_workers(client, silent, departments=[], center=True):
        whistle = await work_advance(client, silent, whistle_no=f"WSIL{run}")
        enterprise = await visited_yesterday(client, silent, f"qy-sil-{run}", "某某矿业有限公司")
        campaign = await centre_campaign(
            client, silent, CampaignKind.BACKLOG_PUSH, "积案专项推进", TicketFilter(department="cgj"), f"CSIL{run}"
        )
        await client.get_workflow_handle(f"campaign-{campaign.campaign_no}").query("view")  # it has run once
        await client.get_workflow_handle(f"whistle-{whistle.whistle_no}").query("view")
    return [f"whistle-{whistle.whistle_no}", f"enterprise-{enterprise.id}", f"campaign-{campaign.campaign_no}"]


async def test_a_report_and_the_dashboard_finish_and_name_what_they_could_not_read(
    server: WorkflowEnvironment, tmp_path: Path
) -> None:
    client = server.client
    config = make_config(tmp_path)
    whistle, enterprise, campaign = await silent_workflows(client, config)
    try:
        async with build_workers(client, config, departments=["cgj", "zjj"], center=True):
            answering = await blow(
                client,
                config,
                raised_by=actor_for(config, "bhjd_street"),
                kind="推进",
                title="路灯不亮",
                content="需城管现场处置",
                departments=["cgj"],
            )
            started = time.monotonic()
            monthly = ReportRequest(kind=ReportRun.MONTHLY, month=this_month(), out=str(tmp_path), deliver=False)
            report, _ = await compose(client, config, monthly, datetime.now(UTC))
            assert time.monotonic() - started < 30  # a short deadline per query, side by side
            unread = {row[0]: row[1] for row in report.table(UNREAD).rows}
            assert set(unread) == {whistle, enterprise}, unread
            assert f"whistle-{answering.whistle_no}" not in unread
            assert all("worker" in reason for reason in unread.values()), unread

            receipt = await make_report(client, config, monthly)
            assert sorted(receipt.unread) == sorted([whistle, enterprise])
            markdown = next(Path(p) for p in receipt.files if p.endswith(".md")).read_text(encoding="utf-8")
            assert UNREAD in markdown and whistle in markdown

            # `hotline whistle list` too: the answering whistle listed, the silent one named.
            started = time.monotonic()
            listed, missing = await list_whistles(client, "WorkflowType = 'WhistleWorkflow'", 1000)
            assert time.monotonic() - started < 30
            assert answering.whistle_no in [r.input.whistle_no for r in listed]
            assert [u.workflow_id for u in missing] == [whistle]

            weekly = ReportRequest(kind=ReportRun.WEEKLY, out=str(tmp_path), deliver=False)
            report, _ = await compose(client, config, weekly, datetime.now(UTC))
            assert [row[0] for row in report.table(UNREAD).rows] == [campaign]

            folder = tmp_path / "web"
            folder.mkdir()
            leader = WebUser(username="leader", role="leader", name="王区长", password_hash=hash_password(PASSWORD))
            write_users(folder / "users.yaml", [leader])
            app = create_app(client, config, load_users(folder / "users.yaml", config), secret=b"unread-test-secret")
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as web:
                signed_in = await web.post("/login", data={"username": "leader", "password": PASSWORD})
                assert signed_in.status_code == 303, signed_in.text
                board = await web.get("/dashboard")
                assert board.status_code == 200, board.text
                assert "未能读取" in board.text and whistle in board.text and enterprise in board.text
    finally:
        for workflow_id in (whistle, enterprise, campaign):
            await client.get_workflow_handle(workflow_id).terminate("测试结束")
