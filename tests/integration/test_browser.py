"""The workbench in a real browser: Playwright driving Debian's Chromium (installed by .ci/run with
apt; nothing is downloaded) against the pages served by uvicorn in this process, a real dev server
and real workers. A clerk signs for, contacts and answers a ticket; the shift lead approves a
return with reassignment; another department is refused; the dashboard shows the report's figures
and gives the monthly report's xlsx and docx; a citizen looks a ticket up without signing in.

Set HOTLINE_SCREENSHOTS=DIR to keep a screenshot of each page visited."""

from __future__ import annotations

import io
import os
import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from docx import Document
from openpyxl import load_workbook
from PIL import Image
from playwright.async_api import Browser, Locator, Page, async_playwright, expect
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.reports.activity import compose
from activities.reports.document import NEXT_STEPS, PROBLEMS
from domain.calendar import CHINA_TZ
from domain.commands import ContactCitizen, GiveAnswer, RecordCallback, RequestExtension, SignFor
from domain.config import DistrictConfig
from domain.models import Answer, Callback, Satisfaction, TicketStatus
from domain.report_request import ReportRequest, ReportRun
from domain.reports import BLACK_LIST, BY_DEPARTMENT, OVERVIEW, RATE_COLUMNS, RED_LIST, Rate, Report  # type: ignore[attr-defined]  # Rate is domain.metrics', used by domain.reports
from starter.tickets import act, submit, view
from starter.web.app import create_app, serving
from starter.web.users import WebUser, hash_password, load_users, write_users
from tests.support.district import make_config
from tests.support.helpers import eventually, person, sample_ticket
from worker import build_workers
from workflows.ticket import TicketWorkflow

PASSWORD = "browser-口令-2026"
CLERK, OTHER_CLERK, LEAD, LEADER = "cgj_sun", "zjj_li", "zhangli", "leader_wang"
SHOTS = os.environ.get("HOTLINE_SCREENSHOTS")


def chromium() -> str:
    """Debian's Chromium; its absence is a failure, not a skip (CI installs it with apt)."""
    path = shutil.which("chromium")
    if path is None:
        pytest.fail(
            "Debian's chromium is not installed: the browser tests need it (apt-get install -y chromium; "
            ".ci/run does this). Playwright's own browser downloads are not used.",
            pytrace=False,
        )
    return path


@dataclass
class Site:
    url: str
    client: Client
    config: DistrictConfig
    browser: Browser

    async def signed_in(self, username: str, width: int = 1280) -> Page:
        viewport = {"width": width, "height": 900 if width > 600 else 844}
        context = await self.browser.new_context(locale="zh-CN", viewport=viewport, accept_downloads=True)  # type: ignore[arg-type]  # a plain dict for Playwright's ViewportSize TypedDict
        await context.add_init_script("window.HOTLINE_LIVE_MS = 1000;")  # the live poll, faster for tests
        page = await context.new_page()
        await page.goto(f"{self.url}/login")
        await page.get_by_label("用户名").fill(username)
        await page.get_by_label("口令").fill(PASSWORD)
        await page.get_by_role("button", name="登录").click()
        await expect(page.get_by_role("button", name="退出")).to_be_visible()
        return page


async def listed(page: Page, scope: Locator, ticket_no: str) -> Locator:
    """The ticket's link in a list, reloading while visibility catches up with the workflow."""
    link = scope.get_by_role("link", name=ticket_no)
    for _ in range(40):
        if await link.count():
            break
        await page.wait_for_timeout(250)
        await page.reload()
    return link


async def shot(page: Page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


@pytest.fixture(scope="module")
async def site(own_dev_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Site]:
    executable = chromium()
    folder = tmp_path_factory.mktemp("web")
    config = make_config(folder)
    digest = hash_password(PASSWORD)
    people = [WebUser(username=u, person=u, password_hash=digest) for u in (CLERK, OTHER_CLERK, LEAD)]
    people.append(WebUser(username=LEADER, role="leader", name="王区长", password_hash=digest))
    write_users(folder / "users.yaml", people)
    client = own_dev_env.client
    users = load_users(folder / "users.yaml", config)
    app = create_app(client, config, users, temporal_ui_url="http://127.0.0.1:8233", data_dir=folder)
    async with (
        build_workers(client, config, departments=["cgj", "zjj", "bhjd"], center=True),
        serving(app) as url,
        async_playwright() as playwright,
    ):
        browser = await playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"], headless=True)
        try:
            yield Site(url, client, config, browser)
        finally:
            await browser.close()


async def test_a_clerk_signs_for_contacts_and_answers_and_another_department_is_refused(site: Site) -> None:
    ticket = sample_ticket()  # 市容环卫 in 滨河街道: the 城管局 (cgj)
    await submit(site.client, site.config, ticket)
    await eventually(site.client, ticket.ticket_no, lambda r: r.status is TicketStatus.AWAITING_SIGN_FOR)

    page = await site.signed_in(CLERK)
    await expect(page.get_by_role("heading", name="区城市管理综合执法局 工单队列")).to_be_visible()
    link = await listed(page, page.locator("main"), ticket.ticket_no)
    await expect(link).to_be_visible()
    await shot(page, "1-queue")
    await link.click()
    status = page.locator("#ticket-status")
    await expect(status).to_have_text("待签收")
    # Only what the state allows: signing for, or a return; not yet contacting or answering.
    await expect(page.get_by_role("button", name="签收", exact=True)).to_be_visible()
    await expect(page.get_by_role("button", name="联系诉求人")).to_have_count(0)
    await expect(page.get_by_role("button", name="提交答复")).to_have_count(0)
    await shot(page, "2-ticket-to-sign")

    await page.get_by_role("button", name="签收", exact=True).click()
    await expect(page.get_by_role("status")).to_contain_text("已签收")
    await expect(status).to_have_text("已签收")
    await page.get_by_label("联系情况").fill("已电话联系诉求人，约定今日清运")
    await page.get_by_role("button", name="联系诉求人").click()
    await expect(status).to_have_text("已联系")
    await page.get_by_label("答复内容").fill("已安排清运车辆，垃圾已清运完毕")
    await page.get_by_role("button", name="提交答复").click()
    await expect(status).to_have_text("待回访")
    await expect(page.locator("details.round[open] > ol.timeline")).to_contain_text("已安排清运车辆")
    # Answered: nothing left to do on it but ask for 免考核 (which may follow the answer).
    for button in ("签收", "联系诉求人", "提交答复"):
        await expect(page.get_by_role("button", name=button, exact=True)).to_have_count(0)
    await expect(page.locator("summary", has_text="申请免考核")).to_be_visible()
    await shot(page, "3-ticket-answered")

    # The workflow agrees with the page, and every step names the clerk.
    record = await view(site.client, ticket.ticket_no)
    assert record.status is TicketStatus.AWAITING_CALLBACK
    assert [a.action for a in record.actions if a.actor.id == CLERK] == ["签收", "联系诉求人", "答复"]

    # Another department's clerk may not open it; an action sent anyway is refused by the workflow.
    other = await site.signed_in(OTHER_CLERK)
    response = await other.goto(f"{site.url}/tickets/{ticket.ticket_no}")
    assert response is not None and response.status == 403
    await expect(other.get_by_role("alert")).to_contain_text("无权查看")
    await shot(other, "4-other-department-refused")
    csrf = await other.locator("input[name=csrf]").first.input_value()
    refused = await other.request.post(
        f"{site.url}/tickets/{ticket.ticket_no}/actions/contact", form={"csrf": csrf, "note": "越权"}
    )
    assert refused.status == 403
    text = await refused.text()
    assert "无权办理" in text and record.assignment.department_name not in text  # the holder is not named
    assert (await view(site.client, ticket.ticket_no)).actions == record.actions


async def test_the_shift_lead_approves_a_return_with_reassignment(site: Site) -> None:
    ticket = sample_ticket(title="物业管理范围内的楼道垃圾")
    await submit(site.client, site.config, ticket)
    await eventually(site.client, ticket.ticket_no, lambda r: r.status is TicketStatus.AWAITING_SIGN_FOR)

    clerk = await site.signed_in(CLERK)
    await clerk.goto(f"{site.url}/tickets/{ticket.ticket_no}")
    await clerk.get_by_text("申请退单（非本单位职责）").click()
    await clerk.get_by_label("退单理由").fill("属小区物业管理范围，建议改派街道")
    await clerk.get_by_role("button", name="申请退单").click()
    await expect(clerk.get_by_role("status")).to_contain_text("R1")
    await expect(clerk.locator("#ticket-status")).to_have_text("退单审批中")

    lead = await site.signed_in(LEAD)
    await expect(lead.get_by_role("heading", name="值班长工作台")).to_be_visible()
    approvals = lead.locator("section", has=lead.get_by_role("heading", name=re.compile("待审批")))
    link = await listed(lead, approvals, ticket.ticket_no)
    await shot(lead, "5-center")
    await link.click()
    await expect(lead.get_by_role("button", name="签收", exact=True)).to_have_count(0)
    await lead.get_by_label("改派单位").select_option("bhjd")
    await lead.get_by_label("审批意见").fill("同意改派滨河街道")
    await shot(lead, "6-approve")
    await lead.get_by_role("button", name="批准 R1").click()
    await expect(lead.get_by_role("status")).to_contain_text("已批准 R1")
    await expect(lead.locator("#ticket-department")).to_have_text("滨河街道办事处")

    record = await eventually(
        site.client,
        ticket.ticket_no,
        lambda r: (
            r.assignment is not None
            and r.assignment.department == "bhjd"
            and r.status is TicketStatus.AWAITING_SIGN_FOR
        ),
    )
    assert record.approvals[0].decided_by is not None and record.approvals[0].decided_by.id == LEAD
    # The department that returned it may still read it, and may do nothing more.
    await clerk.reload()
    await expect(clerk.locator("#ticket-department")).to_have_text("滨河街道办事处")
    await expect(clerk.locator("#no-actions")).to_be_visible()


def _cells(rows: list[list[str]]) -> list[list[str]]:
    return [[cell.strip() for cell in row] for row in rows]


async def _table(page: Page, section: str) -> list[list[str]]:
    rows = page.locator(f"#{section} tbody tr")
    return _cells([await rows.nth(i).locator("td").all_inner_texts() for i in range(await rows.count())])


async def _monthly(site: Site) -> Report:
    month = datetime.now(CHINA_TZ).strftime("%Y-%m")
    report, _ = await compose(
        site.client, site.config, ReportRequest(kind=ReportRun.MONTHLY, month=month), datetime.now(UTC)
    )
    return report


async def _closed_ticket(site: Site) -> None:
    """One ticket handled on time and called back 满意, so the month's rates have figures to show."""
    ticket = sample_ticket()
    no, clerk = ticket.ticket_no, person(site.config, "cgj_sun")
    await submit(site.client, site.config, ticket)
    await eventually(site.client, no, lambda r: r.status is TicketStatus.AWAITING_SIGN_FOR)
    await act(site.client, no, TicketWorkflow.sign_for, SignFor(actor=clerk))
    await act(site.client, no, TicketWorkflow.contact_citizen, ContactCitizen(actor=clerk))
    await act(
        site.client, no, TicketWorkflow.answer, GiveAnswer(actor=clerk, answer=Answer(text="已清运", resolved=True))
    )
    verdict = Callback(resolved=True, satisfaction=Satisfaction.SATISFIED)
    operator = person(site.config, "liumei")
    await act(site.client, no, TicketWorkflow.record_callback, RecordCallback(actor=operator, callback=verdict))
    await eventually(site.client, no, lambda r: r.status is TicketStatus.CLOSED)


async def test_the_dashboard_shows_the_figures_the_monthly_report_computes(site: Site) -> None:
    await _closed_ticket(site)
    page = await site.signed_in(LEADER)
    for _ in range(3):  # tickets of other tests may move between two readings: compare a still moment
        before = await _monthly(site)
        await page.goto(f"{site.url}/dashboard")
        shown = {name: await _table(page, name) for name in ("by-department", "red-list", "black-list")}
        after = await _monthly(site)
        if before.tables == after.tables:
            break
    expected = {
        "by-department": after.table(BY_DEPARTMENT).rows,
        "red-list": after.table(RED_LIST).rows or [["暂无"]],
        "black-list": after.table(BLACK_LIST).rows or [["暂无"]],
    }
    assert shown == {name: _cells(rows) for name, rows in expected.items()}
    cgj = next(row for row in shown["by-department"] if row[0] == "区城市管理综合执法局")
    first_rate = 1 + RATE_COLUMNS.index(next(iter(Rate)).value)  # after 受理, 办结, 在办, 其中挂账, 免考核
    assert int(cgj[2]) >= 1 and cgj[first_rate].endswith("%")  # a closed ticket: 办结 and a rate, not dashes
    images = page.locator("figure img")
    assert await images.count() == len(after.charts)
    for i in range(await images.count()):
        # Each chart is drawn on request (matplotlib): on a loaded machine that takes more than 5 s.
        await expect(images.nth(i)).to_have_js_property("complete", True, timeout=30000)
        assert await images.nth(i).evaluate("img => img.naturalWidth") > 100
    await shot(page, "7-dashboard")


# ----- the workbench a clerk keeps open all day (issue 22), at desktop width and on a phone -----


def _photo() -> bytes:
    data = io.BytesIO()
    Image.new("RGB", (16, 16), (30, 120, 200)).save(data, "JPEG")
    return data.getvalue()


async def _fits(page: Page) -> None:
    """Nothing wider than the window but the tables' own scrolling boxes (no sideways page)."""
    overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"the page is {overflow}px wider than the window"


@pytest.mark.parametrize("width", [1280, 390])
async def test_a_day_at_the_workbench(site: Site, width: int, tmp_path: Path) -> None:
    """Clerk: search, a new urgent ticket's notice, answer with a photo, export the queue. Shift lead:
    batch approval. Leader: reads, no Temporal link, opens the monthly report's xlsx and docx. At
    desktop width and at 390 px."""
    words = f"步行街{width}号人行道"  # this run's own words: the other width's ticket says others
    ticket = sample_ticket(title="人行道砖块松动", content=f"{words}砖块松动，雨天溅水")
    await submit(site.client, site.config, ticket)
    await eventually(site.client, ticket.ticket_no, lambda r: r.status is TicketStatus.AWAITING_SIGN_FOR)
    no = ticket.ticket_no

    clerk = await site.signed_in(CLERK, width)
    await clerk.get_by_role("searchbox", name="搜索").fill(words)
    await clerk.get_by_role("button", name="筛选").click()
    link = await listed(clerk, clerk.locator("table.queue"), no)
    await expect(link).to_be_visible()
    await expect(clerk.locator("table.queue tbody tr")).to_have_count(1)
    await _fits(clerk)
    await shot(clerk, f"w{width}-1-search")

    # A new urgent ticket while the queue is open: a notice, without reloading.
    await clerk.goto(f"{site.url}/queue")
    await expect(clerk.locator("#live-status")).to_contain_text("在办")
    urgent = sample_ticket(urgency="紧急", title="路面塌陷")
    await submit(site.client, site.config, urgent)
    notice = clerk.locator("#live-notice")
    await expect(notice).to_contain_text(f"紧急工单 {urgent.ticket_no}", timeout=20000)
    await shot(clerk, f"w{width}-2-urgent-notice")

    # Export the queue: the xlsx holds dates as dates and counts as numbers.
    async with clerk.expect_download() as download_info:
        await clerk.locator("#export-xlsx").click()
    saved = tmp_path / "queue.xlsx"
    await (await download_info.value).save_as(saved)
    sheet = load_workbook(saved).active
    numbers = [row[0].value for row in sheet.iter_rows(min_row=2)]
    assert no in numbers and urgent.ticket_no in numbers
    row = next(r for r in sheet.iter_rows(min_row=2) if r[0].value == no)
    assert isinstance(row[7].value, datetime) and isinstance(row[12].value, int)

    # Answer with a photo: the photo comes back from the file store, its digest is in the history.
    await clerk.goto(f"{site.url}/tickets/{no}")
    await clerk.get_by_role("button", name="签收", exact=True).click()
    await expect(clerk.locator("#ticket-status")).to_have_text("已签收")
    await clerk.get_by_role("button", name="联系诉求人").click()
    await expect(clerk.locator("#ticket-status")).to_have_text("已联系")
    await clerk.get_by_label("答复内容").fill("已更换松动砖块")
    picture = _photo()
    await clerk.locator("#answer-files").set_input_files(
        files=[{"name": "现场照片.jpg", "mimeType": "image/jpeg", "buffer": picture}]  # type: ignore[arg-type]  # a plain dict for Playwright's FilePayload TypedDict
    )
    await clerk.get_by_role("button", name="提交答复").click()
    await expect(clerk.locator("#ticket-status")).to_have_text("待回访")
    photo_link = clerk.get_by_role("link", name="现场照片.jpg")
    await expect(photo_link).to_be_visible()
    served = await clerk.request.get(site.url + (await photo_link.get_attribute("href") or ""))
    assert served.status == 200 and await served.body() == picture
    record = await view(site.client, no)
    assert record.answer is not None and any(e.startswith("附件 sha256:") for e in record.answer.evidence)
    await expect(clerk.locator("details.round[open]")).to_have_count(1)
    await expect(clerk.get_by_text("孙浩（区城市管理综合执法局）").first).to_be_visible()
    await expect(clerk.get_by_text("Temporal Web UI")).to_have_count(0)
    await _fits(clerk)
    await shot(clerk, f"w{width}-3-answered-with-photo")

    # The shift lead approves two extensions at once, with one reason.
    pending = []
    for title in ("路灯不亮", "护栏破损"):
        other = sample_ticket(title=title)
        await submit(site.client, site.config, other)
        await eventually(site.client, other.ticket_no, lambda r: r.status is TicketStatus.AWAITING_SIGN_FOR)
        officer = person(site.config, CLERK)
        await act(site.client, other.ticket_no, TicketWorkflow.sign_for, SignFor(actor=officer))
        ask = RequestExtension(actor=officer, reason="需采购配件", working_days=2)
        await act(site.client, other.ticket_no, TicketWorkflow.request_extension, ask)
        pending.append(other.ticket_no)
    lead = await site.signed_in(LEAD, width)
    approvals = lead.locator("section", has=lead.get_by_role("heading", name=re.compile("待审批")))
    for number in pending:
        await listed(lead, approvals, number)
        await lead.get_by_label(f"选择 {number} 的 E1").check()
    await lead.get_by_label("审批意见（统一）").fill("同意延期两个工作日")
    await _fits(lead)
    await shot(lead, f"w{width}-4-batch")
    await lead.get_by_role("button", name="批量批准所选申请").click()
    await expect(lead.locator("#batch-summary")).to_contain_text("批准 2 件，未批准 0 件")
    for number in pending:
        assert (await view(site.client, number)).extensions_granted == 1
    await lead.goto(f"{site.url}/tickets/{no}")
    await expect(lead.get_by_role("link", name=re.compile("Temporal Web UI"))).to_be_visible()

    # A ticket page left open learns that someone else moved the ticket, and offers to reload.
    await lead.goto(f"{site.url}/tickets/{pending[0]}")
    officer = person(site.config, CLERK)
    await act(site.client, pending[0], TicketWorkflow.contact_citizen, ContactCitizen(actor=officer, note="已联系"))
    await expect(lead.locator("#live-notice")).to_contain_text("工单已有新的办理记录（当前状态：已联系）")

    leader = await site.signed_in(LEADER, width)
    await leader.goto(f"{site.url}/tickets/{no}")
    await expect(leader.locator("#ticket-status")).to_have_text("待回访")
    await expect(leader.get_by_text("Temporal Web UI")).to_have_count(0)
    await expect(leader.locator("#no-actions")).to_be_visible()
    await _monthly_files(site, leader, tmp_path)
    for page in (clerk, lead, leader):
        await page.context.close()


async def _download(page: Page, link: str, path: Path) -> Path:
    async with page.expect_download() as download_info:
        await page.locator(link).click()
    await (await download_info.value).save_as(path)
    return path


async def _monthly_files(site: Site, leader: Page, tmp_path: Path) -> None:
    """The leader opens this month's analysis from the dashboard as an office circulates it: the
    workbook holds the dashboard's figures as numbers (rates as percentages), the Word document
    has the usual sections and the same figures."""
    await _closed_ticket(site)  # a rate with a figure, not a dash
    await leader.goto(f"{site.url}/dashboard")
    shown = await _table(leader, "by-department")
    cgj = next(row for row in shown if row[0] == "区城市管理综合执法局")
    received, first_rate = RATE_COLUMNS.index("受理") + 1, 1 + RATE_COLUMNS.index(next(iter(Rate)).value)

    sheet = load_workbook(await _download(leader, "#report-xlsx", tmp_path / "monthly.xlsx"))[BY_DEPARTMENT]
    header_row = next(r for r in range(1, 6) if sheet.cell(row=r, column=1).value == "单位")
    row = next(r for r in sheet.iter_rows(min_row=header_row + 1) if r[0].value == "区城市管理综合执法局")
    assert isinstance(row[received].value, int) and row[received].value == int(cgj[received])
    rate = row[first_rate]
    assert isinstance(rate.value, int | float) and rate.number_format == "0.00%"  # 100% reads back as 1
    assert f"{rate.value:.2%}" == cgj[first_rate]

    document = Document(str(await _download(leader, "#report-docx", tmp_path / "monthly.docx")))
    paragraphs = [p.text for p in document.paragraphs]
    for heading in (f"一、{OVERVIEW}", f"二、{BY_DEPARTMENT}", "三、红黑榜", PROBLEMS, NEXT_STEPS):
        assert heading in paragraphs, paragraphs
    rows = [[cell.text for cell in r.cells] for table in document.tables for r in table.rows]
    assert ["区城市管理综合执法局", cgj[received], cgj[received + 1]] == next(
        r[:3] for r in rows if r[0] == "区城市管理综合执法局"
    )


@pytest.mark.parametrize("width", [1280, 390])
async def test_a_citizen_looks_a_ticket_up(site: Site, width: int) -> None:
    """No sign-in: the ticket number and the phone's last four digits give its progress, the
    department by name, and nothing personal; a wrong digit gives the one refusal for every miss."""
    ticket = sample_ticket(title="小区门口积水")
    await submit(site.client, site.config, ticket)
    record = await eventually(site.client, ticket.ticket_no, lambda r: r.status is TicketStatus.AWAITING_SIGN_FOR)
    viewport = {"width": width, "height": 900 if width > 600 else 844}
    context = await site.browser.new_context(locale="zh-CN", viewport=viewport)  # type: ignore[arg-type]  # a plain dict for Playwright's ViewportSize TypedDict
    page = await context.new_page()
    await page.goto(f"{site.url}/status")
    await page.get_by_label("工单号").fill(ticket.ticket_no)
    await page.get_by_label("手机号后四位").fill(ticket.citizen.phone[-4:])
    await page.get_by_role("button", name="查询").click()
    result = page.locator(".status-result")
    await expect(result.get_by_role("heading")).to_have_text(f"工单 {ticket.ticket_no}")
    await expect(result).to_contain_text("小区门口积水")
    assert record.assignment is not None
    await expect(result).to_contain_text(record.assignment.department_name)
    text = await page.locator("main").inner_text()
    for private in (ticket.citizen.name, ticket.citizen.phone, ticket.citizen.address or "-", "cgj"):
        assert private not in text
    await _fits(page)
    await shot(page, f"w{width}-citizen-status")
    wrong = str((int(ticket.citizen.phone[-1]) + 1) % 10)
    await page.get_by_label("手机号后四位").fill(ticket.citizen.phone[-4:-1] + wrong)
    await page.get_by_role("button", name="查询").click()
    await expect(page.get_by_role("alert")).to_be_visible()
    await expect(page.locator(".status-result")).to_have_count(0)
    await context.close()


async def test_chinese_renders_with_a_cjk_font_not_boxes(site: Site) -> None:
    """Two different characters drawn in the pages' own font differ, as real glyphs do; two
    characters no font has (private use) come out the same box, so the check does see boxes."""
    page = await site.signed_in(CLERK)
    drawn = await page.evaluate(
        """() => {
        const font = "32px " + getComputedStyle(document.body).fontFamily;
        const image = (text) => {
          const canvas = document.createElement("canvas");
          canvas.width = 48; canvas.height = 48;
          const ctx = canvas.getContext("2d");
          ctx.font = font; ctx.fillStyle = "#000"; ctx.textBaseline = "top";
          ctx.fillText(text, 4, 4);
          return canvas.toDataURL();
        };
        return {cjk: [image("工"), image("单")], boxes: [image("\\ue000"), image("\\ue001")]};
      }"""
    )
    assert drawn["boxes"][0] == drawn["boxes"][1]
    assert drawn["cjk"][0] != drawn["cjk"][1], (
        "Chinese renders as boxes: install a CJK font (apt-get install -y fonts-noto-cjk; .ci/run does this)"
    )
    await shot(page, "cjk-queue")
    await page.context.close()
