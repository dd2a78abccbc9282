"""The centre: the shift lead's workbench (异常审批, 人工派遣, overdue tickets), the operators'
callbacks (待回访), and the leaders' dashboard: this month's rates per department, the red and black
lists and the charts, computed by the monthly report's own code (`activities.reports.activity.compose`)."""

from __future__ import annotations

import asyncio
import re
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from activities.reports.activity import compose
from activities.reports.files import draw_chart, write_report
from domain import search_attributes as sa
from domain.calendar import CHINA_TZ
from domain.facts import Fact
from domain.models import Role, TicketStatus
from domain.report_request import ReportRequest, ReportRun
from domain.reports import BLACK_LIST, BY_DEPARTMENT, OVERVIEW, RED_LIST, UNREAD, Report
from starter.web.pages import NotFound, client_of, config_of, render, require, signed_in
from starter.web.pages_queue import _attachment, batchable
from starter.web.pages_tickets import queue_query, queue_rows
from starter.web.users import LEADER

router = APIRouter(include_in_schema=False)

REPORT_FILES = {  # the monthly analysis as an office circulates it, from the dashboard
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
CACHE_S = 60.0  # the charts of a dashboard are drawn from its figures for this long
_drawing = threading.Lock()  # matplotlib's rc settings are process-wide: one chart at a time


@router.get("/center", response_class=HTMLResponse)
async def center(request: Request) -> Response:
    viewer = signed_in(request)
    require(viewer, Role.SHIFT_LEAD, Role.OPERATOR, LEADER, what="中心工作台")
    lead = viewer.is_(Role.SHIFT_LEAD, LEADER)
    undispatched = ", ".join(f"'{s.value}'" for s in (TicketStatus.AWAITING_DISPATCH, TicketStatus.DISPATCH_FAILED))
    sections = []
    if lead:
        sections += [
            # A closed ticket may still wait for its 免考核 decision.
            (
                "approvals",
                "待审批（退单 / 延期 / 免考核 / 挂账 / 暂停计时）",
                queue_query(awaiting_approval=True, open_only=False),
            ),
            ("verification", "待核查（回访未解决或不满意）", queue_query(status=TicketStatus.AWAITING_VERIFICATION)),
            (
                "dispatch",
                "待人工派遣（派单目录无匹配 / 派遣失败）",
                f"{sa.ticket_query()} AND {sa.STATUS.name} IN ({undispatched})",
            ),
        ]
    sections.append(("callbacks", "待回访", queue_query(status=TicketStatus.AWAITING_CALLBACK)))
    if lead:
        sections.append(("overdue", "超期工单", queue_query(overdue=True)))
        sections.append(("backlog", "挂账工单", f"{queue_query()} AND {sa.FACTS.name} = '{Fact.BACKLOG.value}'"))
    found = await asyncio.gather(*(queue_rows(request, query) for _, _, query in sections))
    # 批量审批: the requests the shift lead may approve from here (as the workflow's checks say).
    batch = {
        row.ticket_no: batchable(row.record, viewer)
        for (key, _, _), rows in zip(sections, found, strict=True)
        if key == "approvals" and viewer.is_(Role.SHIFT_LEAD)
        for row in rows
        if row.record is not None
    }
    return render(
        request,
        "center.html",
        title="值班长工作台" if viewer.is_(Role.SHIFT_LEAD) else "中心工作台",
        sections=[(key, title, rows) for (key, title, _), rows in zip(sections, found, strict=True)],
        batch=batch,
        can_batch=any(batch.values()),
        live=True,
    )


# ----- the leaders' dashboard -----


def this_month() -> str:
    return datetime.now(CHINA_TZ).strftime("%Y-%m")


async def monthly(request: Request, month: str, *, fresh: bool) -> tuple[Report, datetime]:
    """月报分析 of `month` as the report computes it, and when it was computed. The dashboard
    computes it afresh; its charts use that computation for a while, so they show the same figures."""
    cache: dict[str, tuple[float, Report, datetime]] = request.app.state.dashboard_cache
    hit = cache.get(month)
    if not fresh and hit is not None and time.monotonic() - hit[0] < CACHE_S:
        return hit[1], hit[2]
    as_of = datetime.now(UTC)
    report, _ = await compose(
        client_of(request), config_of(request), ReportRequest(kind=ReportRun.MONTHLY, month=month), as_of
    )
    cache[month] = (time.monotonic(), report, as_of)
    return report, as_of


def _month(text: str | None) -> str:
    if text is None:
        return this_month()
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", text):
        raise NotFound(f"月份应写作 YYYY-MM，而不是 {text}")
    return text


@router.get("/dashboard", response_class=HTMLResponse)
async def dashboard(request: Request, month: str | None = None) -> Response:
    viewer = signed_in(request)
    require(viewer, LEADER, Role.SHIFT_LEAD, what="领导驾驶舱")
    chosen = _month(month)
    report, as_of = await monthly(request, chosen, fresh=True)
    return render(
        request,
        "dashboard.html",
        title="领导驾驶舱",
        report=report,
        as_of=as_of,
        month=chosen,
        overview=report.table(OVERVIEW),
        by_department=report.table(BY_DEPARTMENT),
        red=report.table(RED_LIST),
        black=report.table(BLACK_LIST),
        charts=list(enumerate(report.charts)),
        unread=next((t for t in report.tables if t.title == UNREAD), None),
        refresh=None,
    )


def _draw(report: Report, index: int) -> bytes:
    chart = report.charts[index]
    with _drawing, tempfile.TemporaryDirectory(prefix="hotline-chart-") as folder:
        path = Path(folder) / "chart.png"
        draw_chart(chart, report.table(chart.table), path)
        return path.read_bytes()


@router.get("/dashboard/charts/{index}.png")
async def chart(request: Request, index: int, month: str | None = None) -> Response:
    viewer = signed_in(request)
    require(viewer, LEADER, Role.SHIFT_LEAD, what="领导驾驶舱")
    report, _ = await monthly(request, _month(month), fresh=False)
    if not 0 <= index < len(report.charts):
        raise NotFound(f"没有第 {index} 张图表")
    png = await asyncio.to_thread(_draw, report, index)
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=30"})


def _report_file(report: Report, suffix: str) -> bytes:
    with _drawing, tempfile.TemporaryDirectory(prefix="hotline-report-") as folder:
        [path] = write_report(report, Path(folder), [suffix])
        return path.read_bytes()


@router.get("/dashboard/report.{suffix}")
async def report_file(request: Request, suffix: str, month: str | None = None) -> Response:
    """月报分析 of the month shown, as the workbook (numbers as numbers, the charts inserted) or the
    Word document `hotline report monthly` writes: the figures the dashboard shows."""
    viewer = signed_in(request)
    require(viewer, LEADER, Role.SHIFT_LEAD, what="领导驾驶舱")
    if suffix not in REPORT_FILES:
        raise NotFound(f"月报分析可下载 xlsx 或 docx，而不是 {suffix}")
    chosen = _month(month)
    report, _ = await monthly(request, chosen, fresh=False)
    data = await asyncio.to_thread(_report_file, report, suffix)
    return Response(data, media_type=REPORT_FILES[suffix], headers=_attachment(f"monthly-report-{chosen}.{suffix}"))
