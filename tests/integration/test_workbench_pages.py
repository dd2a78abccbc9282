"""The workbench a clerk keeps open all day (issue 22): the queue's search, filters, order by due time,
paging and export; the shift lead's batch approval; the live endpoints; the ticket page's folded
timeline, names instead of codes, the Web UI link by role, and 答复 with attachments kept by digest.

Integration tests run the app over httpx against a real dev server and workers (the `pages` fixture
of test_web_pages); the timeline and the file store are also checked on their own.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from PIL import Image

from activities.runtime.settings import CONFIG_ENV, load_config
from domain.calendar import Span, Unit
from domain.enterprise_plan import enterprise_for, item_spec
from domain.models import TicketStatus
from domain.ticket_record import TicketRecord
from starter.attachments import AttachmentRefused, FileStore, attachments_in
from starter.enterprises import record_visit, view_enterprise
from starter.tickets import ActionFailed, submit, view
from starter.web import pages_queue
from starter.web.app import create_app
from starter.web.pages_tickets import Ladder, timeline_rounds
from tests.support.city import with_reply_window
from tests.support.helpers import eventually, person, sample_ticket
from tests.support.records import delivered
from tests.support.web_pages import Pages, actions_offered, csrf, waiting_ticket

T0 = datetime(2024, 5, 6, 9, 0, tzinfo=UTC)


def photo(kind: str = "JPEG") -> bytes:
    data = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(data, kind)
    return data.getvalue()


def numbers_in(html: str, candidates: list[str]) -> list[str]:
    """The candidates in the order the page shows them."""
    shown = [(html.find(f'href="/tickets/{n}"'), n) for n in candidates]
    return [n for at, n in sorted(shown) if at >= 0]


async def signed_ticket(web: Pages, **fields: object) -> str:
    """A ticket of the 城管局 (cgj), signed for by its clerk."""
    ticket = sample_ticket(**fields)  # type: ignore[arg-type]  # the fields are sample_ticket's own keywords
    await submit(web.client, web.config, ticket)
    await eventually(web.client, ticket.ticket_no, lambda r: r.status is TicketStatus.AWAITING_SIGN_FOR)
    clerk = await web.as_("cgj_sun")
    token = csrf((await clerk.get(f"/tickets/{ticket.ticket_no}")).text)
    await clerk.post(f"/tickets/{ticket.ticket_no}/actions/sign", data={"csrf": token})
    return ticket.ticket_no


# ----- the queue -----


async def test_the_queue_sorts_by_due_time_pages_and_searches(
    pages: Pages,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    plain = sample_ticket(title="垃圾清运", content="垃圾箱满了")
    urgent = sample_ticket(urgency="紧急", title="井盖缺失", content="人行道井盖缺失，夜间危险，编号甲乙丙丁")
    urgent = urgent.model_copy(
        update={"citizen": urgent.citizen.model_copy(update={"phone": "13900005678"}), "ticket_no": urgent.ticket_no}
    )
    for ticket in (plain, urgent):
        await submit(pages.client, pages.config, ticket)
    for ticket in (plain, urgent):
        await eventually(pages.client, ticket.ticket_no, lambda r: r.status is TicketStatus.AWAITING_SIGN_FOR)
    lead = await pages.as_("zhangli")
    queue = await lead.get("/queue")
    assert queue.status_code == 200 and "meta http-equiv" not in queue.text and "/static/live.js" in queue.text
    # The urgent ticket, received later, is due first: the queue shows it first (and so does the
    # newest-first order).
    records = {n: await view(pages.client, n) for n in (plain.ticket_no, urgent.ticket_no)}
    assert records[urgent.ticket_no].resolve_due < records[plain.ticket_no].resolve_due  # type: ignore[operator]  # both are dispatched: each has its due time
    assert numbers_in(queue.text, [plain.ticket_no, urgent.ticket_no]) == [urgent.ticket_no, plain.ticket_no]
    by_received = await lead.get("/queue?sort=received")
    assert numbers_in(by_received.text, [plain.ticket_no, urgent.ticket_no]) == [urgent.ticket_no, plain.ticket_no]

    searches = {
        urgent.ticket_no: [urgent.ticket_no],  # the number
        "甲乙丙丁": [urgent.ticket_no],  # a word of the content (an encrypted payload)
        "0000567": [urgent.ticket_no],  # part of the phone, for who sees it in full
        f"镇北社区{plain.ticket_no}": [plain.ticket_no],  # the address
    }
    for q, expected in searches.items():
        found = await lead.get("/queue", params={"q": q})
        assert numbers_in(found.text, [plain.ticket_no, urgent.ticket_no]) == expected, q
    street = await pages.as_("bhjd_street")  # sees the phone masked: cannot find a ticket by it
    both = [plain.ticket_no, urgent.ticket_no]
    assert numbers_in((await street.get("/queue", params={"q": "13900005678"})).text, both) == []
    assert numbers_in((await street.get("/queue", params={"q": "甲乙丙丁"})).text, both) == [urgent.ticket_no]
    other = await pages.as_("zjj_li")  # another department's clerk: not even by its number
    assert numbers_in((await other.get("/queue", params={"q": urgent.ticket_no})).text, both) == []

    filtered = await lead.get("/queue", params={"category": "市容环卫", "street": "滨河街道", "department": "cgj"})
    assert numbers_in(filtered.text, both) == [urgent.ticket_no, plain.ticket_no]
    assert numbers_in((await lead.get("/queue", params={"category": "政策咨询"})).text, both) == []
    assert numbers_in((await lead.get("/queue", params={"backlog": "true"})).text, both) == []

    monkeypatch.setattr(pages_queue, "PAGE_SIZE", 1)
    first = await lead.get("/queue", params={"category": "市容环卫"})
    assert 'id="next-page"' in first.text and "第 1 /" in first.text
    second = await lead.get("/queue", params={"category": "市容环卫", "page": "2"})
    assert "第 2 /" in second.text and 'rel="prev"' in second.text


async def test_the_filtered_queue_exports_as_csv_and_xlsx(pages: Pages) -> None:
    number = await waiting_ticket(pages)
    clerk = await pages.as_("cgj_sun")
    params = {"q": number}
    text = (await clerk.get("/queue/export.csv", params=params)).content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:3] == ["工单号", "标题", "状态"] and len(rows) == 2
    assert rows[1][0] == number and rows[1][1] == "小区门口垃圾堆积无人清运" and rows[1][3] == "区城市管理综合执法局"

    response = await clerk.get("/queue/export.xlsx", params=params)
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content)).active
    header = [c.value for c in sheet[1]]  # type: ignore[index]  # a loaded workbook's active sheet
    row = {name: cell.value for name, cell in zip(header, sheet[2], strict=True)}  # type: ignore[index]  # a loaded workbook's active sheet
    assert sheet.max_row == 2 and row["工单号"] == number
    assert isinstance(row["受理时间"], datetime) and isinstance(row["办结时限"], datetime)  # dates, not text
    assert row["重办次数"] == 0 and isinstance(row["重办次数"], int)
    other = await pages.as_("zjj_li")  # its own queue: not this ticket
    assert number not in (await other.get("/queue/export.csv", params=params)).text


async def test_the_live_endpoints_tell_of_urgent_tickets_in_scope(pages: Pages) -> None:
    urgent = sample_ticket(urgency="紧急", title="路面塌陷")
    await submit(pages.client, pages.config, urgent)
    await eventually(pages.client, urgent.ticket_no, lambda r: r.status is TicketStatus.AWAITING_SIGN_FOR)
    clerk = await pages.as_("cgj_sun")
    live = (await clerk.get("/queue/live.json")).json()
    alert = next(a for a in live["alerts"] if a["ticket_no"] == urgent.ticket_no)
    assert alert["why"] == "紧急" and alert["department"] == "区城市管理综合执法局" and live["open"] >= 1
    other = (await (await pages.as_("zjj_li")).get("/queue/live.json")).json()
    assert all(a["ticket_no"] != urgent.ticket_no for a in other["alerts"])

    one = (await clerk.get(f"/tickets/{urgent.ticket_no}/live.json")).json()
    assert one == {"status": "待签收", "actions": 2}
    token = csrf((await clerk.get(f"/tickets/{urgent.ticket_no}")).text)
    await clerk.post(f"/tickets/{urgent.ticket_no}/actions/sign", data={"csrf": token})
    assert (await clerk.get(f"/tickets/{urgent.ticket_no}/live.json")).json()["status"] == "已签收"
    refused = await (await pages.as_("zjj_li")).get(f"/tickets/{urgent.ticket_no}/live.json")
    assert refused.status_code == 403 and "城管" not in refused.text


# ----- batch approval -----


async def test_the_shift_lead_approves_a_batch_with_one_reason(pages: Pages) -> None:
    first, second = await signed_ticket(pages), await signed_ticket(pages)
    clerk = await pages.as_("cgj_sun")
    for number in (first, second):
        token = csrf((await clerk.get(f"/tickets/{number}")).text)
        form = {"csrf": token, "amount": "2", "unit": "wd", "reason": "需协调物业"}
        assert (await clerk.post(f"/tickets/{number}/actions/extend", data=form)).status_code == 303
    lead = await pages.as_("zhangli")
    center = await lead.get("/center")
    for number in (first, second):
        await eventually(pages.client, number, lambda r: bool(r.pending_approvals))
    center = await lead.get("/center")
    assert f'value="{first}:E1"' in center.text and f'value="{second}:E1"' in center.text
    assert "延期 2个工作日" in center.text and "2wd" not in center.text
    picks = [f"{first}:E1", f"{second}:E1", f"{first}:E9"]
    done = await lead.post("/center/approve-batch", data={"csrf": csrf(center.text), "pick": picks, "note": "同意延期"})
    assert done.status_code == 200
    assert "批准 2 件，未批准 1 件" in done.text and "没有编号为 E9 的异常申请" in done.text
    for number in (first, second):
        record = await view(pages.client, number)
        assert record.extensions_granted == 1 and record.approvals[0].decision_note == "同意延期"
    again = await lead.post("/center/approve-batch", data={"csrf": csrf(center.text), "pick": [f"{first}:E1"]})
    assert "未批准 1 件" in again.text and "已批准" in again.text  # the workflow refuses a second decision
    clerk_tries = await clerk.post("/center/approve-batch", data={"csrf": csrf(center.text), "pick": picks})
    assert clerk_tries.status_code == 403


# ----- the ticket page -----


async def test_the_ticket_page_names_people_and_units_and_links_the_ui_for_the_shift_lead(
    pages: Pages,
    tmp_path: Path,
) -> None:
    number = await signed_ticket(pages)
    clerk = await pages.as_("cgj_sun")
    token = csrf((await clerk.get(f"/tickets/{number}")).text)
    form = {"csrf": token, "amount": "2", "unit": "wd", "reason": "需协调物业"}
    await clerk.post(f"/tickets/{number}/actions/extend", data=form)
    page = (await clerk.get(f"/tickets/{number}")).text
    assert "孙浩（区城市管理综合执法局）" in page
    assert "cgj·" not in page and "承办单位经办人)" not in page and "2wd" not in page
    assert "2个工作日" in page and '<details class="round" open>' in page

    with_ui = create_app(
        pages.client, pages.config, pages.app.state.users, secret=b"test-secret-for-the-pages", data_dir=tmp_path
    )
    with_ui.state.temporal_ui_url = "http://127.0.0.1:8233"
    shown = Pages(with_ui, pages.client, pages.config)
    link = f"/namespaces/default/workflows/ticket-{number}"
    assert link not in (await (await shown.as_("cgj_sun")).get(f"/tickets/{number}")).text
    assert link not in (await (await shown.as_("leader_wang")).get(f"/tickets/{number}")).text
    assert link in (await (await shown.as_("zhangli")).get(f"/tickets/{number}")).text


async def test_an_answer_carries_a_photo_kept_by_its_digest(pages: Pages) -> None:
    number = await signed_ticket(pages)
    clerk = await pages.as_("cgj_sun")
    token = csrf((await clerk.get(f"/tickets/{number}")).text)
    await clerk.post(f"/tickets/{number}/actions/contact", data={"csrf": token, "note": "已联系"})

    fake = {"files": ("现场照片.jpg", b"MZ\x90\x00 not a photo", "image/jpeg")}
    refused = await clerk.post(f"/tickets/{number}/actions/answer", data={"csrf": token, "text": "已清运"}, files=fake)
    assert refused.status_code == 303
    assert "只接受照片" in (await clerk.get(f"/tickets/{number}")).text
    assert (await view(pages.client, number)).status is TicketStatus.CONTACTED  # nothing half-done

    picture = photo()
    digest = hashlib.sha256(picture).hexdigest()
    files = [("files", ("现场照片.jpg", picture, "image/jpeg")), ("files", ("回执.png", photo("PNG"), "image/png"))]
    answered = await clerk.post(
        f"/tickets/{number}/actions/answer", data={"csrf": token, "text": "已清运", "resolved": "yes"}, files=files
    )
    assert answered.status_code == 303
    record = await view(pages.client, number)
    assert record.answer is not None and f"附件 sha256:{digest} 现场照片.jpg" in record.answer.evidence
    history = await pages.client.get_workflow_handle(f"ticket-{number}").fetch_history()
    assert picture not in history.to_json().encode()  # the digest in the history, never the bytes
    store = pages.app.state.attachments
    assert (store.folder / digest[:2] / digest).read_bytes() == picture

    page = await clerk.get(f"/tickets/{number}")
    assert f"/tickets/{number}/attachments/{digest}" in page.text and "现场照片.jpg" in page.text
    served = await clerk.get(f"/tickets/{number}/attachments/{digest}")
    assert served.status_code == 200 and served.content == picture and served.headers["content-type"] == "image/jpeg"
    lead = await pages.as_("zhangli")
    assert (await lead.get(f"/tickets/{number}/attachments/{digest}")).status_code == 200
    assert (await (await pages.as_("zjj_li")).get(f"/tickets/{number}/attachments/{digest}")).status_code == 403
    assert (await clerk.get(f"/tickets/{number}/attachments/{'0' * 64}")).status_code == 404


# ----- on their own -----


def test_the_timeline_folds_rounds_and_the_ladder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    record: TicketRecord = delivered(load_config())
    fired = 0
    while (event := record.next_clock_event()) is not None and fired < 6:
        record.fire(event, event.at)
        fired += 1
    assert fired >= 2
    rounds = timeline_rounds(record)
    assert [r.title for r in rounds] == ["受理", "第 1 轮办理"] and rounds[-1].current
    ladders = [e for e in rounds[-1].entries if isinstance(e, Ladder)]
    assert len(ladders) == 1 and len(ladders[0].steps) == fired
    assert ladders[0].summary.startswith(f"预警与督办 {fired} 条")


def test_the_file_store_keeps_photos_and_pdfs_by_digest(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    picture = photo()
    kept = store.put("../../etc/现场.jpg", picture)
    assert kept.name == "现场.jpg" and kept.digest == hashlib.sha256(picture).hexdigest()
    assert store.get(kept.digest) == (picture, "image/jpeg")
    assert store.put("again.jpg", picture).digest == kept.digest  # one copy
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    assert store.get(store.put("回执.pdf", pdf).digest) == (pdf, "application/pdf")
    for name, data, reason in (
        ("empty.jpg", b"", "文件为空"),
        ("run.jpg", b"MZ\x90\x00\x03", "只接受照片"),
        ("big.pdf", b"%PDF-" + b"0" * (10 * 1024 * 1024), "超过 10 MB"),
    ):
        with pytest.raises(AttachmentRefused, match=reason):
            store.put(name, data)
    (tmp_path / kept.digest[:2] / kept.digest).write_bytes(b"changed")
    assert store.get(kept.digest) is None  # a file that no longer matches its digest is not served
    assert store.get("../../etc/passwd") is None
    assert attachments_in([kept.evidence, "现场照片两张"]) == [kept]


def test_the_queue_sorts_due_first_and_undispatched_last() -> None:
    from starter.web.pages_tickets import QueueRow

    def row(no: str, due: timedelta | None, received: timedelta) -> QueueRow:
        return QueueRow(
            ticket_no=no,
            status="",
            department="",
            street="",
            category="",
            urgency="",
            received_at=T0 + received,
            resolve_due=T0 + due if due is not None else None,
            overdue=False,
            escalation=None,
            awaiting_approval=False,
        )

    rows = [
        row("A", timedelta(days=3), timedelta(0)),
        row("B", None, timedelta(1)),
        row("C", timedelta(days=1), timedelta(2)),
    ]
    assert [r.ticket_no for r in pages_queue.sort_rows(rows, "due")] == ["C", "A", "B"]
    assert [r.ticket_no for r in pages_queue.sort_rows(rows, "received")] == ["C", "B", "A"]
    assert [r.ticket_no for r in pages_queue.sort_rows(rows, "number")] == ["A", "B", "C"]


# ----- enterprise items on the pages -----

MINING = "91150302MA0N8K2L3P"  # 海勃湾宏达矿业有限公司, its contact hd_zhang


async def test_a_department_closes_an_enterprise_item_and_the_enterprise_confirms_it(pages: Pages) -> None:
    need = f"厂区道路照明整改{uuid.uuid4().hex[:6]}"
    item = item_spec(
        pages.config, {"need": need, "category": "生产经营", "unit": "cgj", "person": "王科长", "within": "5wd"}
    )
    result = await record_visit(
        pages.client,
        pages.config,
        actor=person(pages.config, "hft_li"),
        enterprise=enterprise_for(pages.config, MINING),
        visited_on=datetime.now(UTC).date() - timedelta(days=1),
        members=["hft_li"],
        met=["张志远（总经理）"],
        policies=[],
        summary="企业反映厂区道路照明不足",
        items=[item],
    )
    (item_no,) = result.item_nos
    base = f"/enterprises/{MINING}/items/{item_no}"
    clerk = await pages.as_("cgj_sun")
    page = (await clerk.get("/enterprises")).text
    assert f'action="{base}/progress"' in page and f'action="{base}/close"' in page
    assert f'action="{base}/confirm"' not in page  # the enterprise confirms, not the department
    stranger = await pages.as_("zjj_li")
    other = (await stranger.get("/enterprises")).text
    assert f'action="{base}/' not in other  # another department: nothing to do on it

    token = csrf(page)
    await clerk.post(f"{base}/progress", data={"csrf": token, "text": "已现场勘查"})
    assert "已记录进展" in (await clerk.get("/enterprises")).text
    missing = await clerk.post(f"{base}/close", data={"csrf": token, "kind": "已办结", "text": "已安装路灯"})
    assert missing.status_code == 303
    assert "须附佐证材料" in (await clerk.get("/enterprises")).text  # nothing half-done: still open
    evidence = "现场照片\n验收单"
    await clerk.post(
        f"{base}/close", data={"csrf": token, "kind": "已办结", "text": "已安装路灯", "evidence": evidence}
    )
    shown = (await clerk.get("/enterprises")).text
    assert "待企业确认" in shown and f'action="{base}/close"' not in shown

    forged = await stranger.post(f"{base}/confirm", data={"csrf": csrf(other), "satisfaction": "满意"})
    assert forged.status_code == 303  # refused by the workflow, with its reason
    assert "拒绝确认" in (await stranger.get("/enterprises")).text
    contact = await pages.as_("hd_zhang")
    page = (await contact.get("/enterprises")).text
    assert f'action="{base}/confirm"' in page and f'action="{base}/reopen"' in page
    await contact.post(f"{base}/confirm", data={"csrf": csrf(page), "satisfaction": "满意", "comment": "路灯很亮"})
    record = await view_enterprise(pages.client, MINING)
    done = record.item(item_no)
    assert done.confirmation is not None and done.confirmation.by.id == "hd_zhang"
    assert [p.text for p in done.progress] == ["已现场勘查"] and done.outcome is not None


async def test_the_red_service_team_records_a_visit_and_adds_an_item_from_the_pages(pages: Pages) -> None:
    team, clerk = await pages.as_("hft_li"), await pages.as_("cgj_sun")
    page = (await team.get("/enterprises")).text
    assert 'action="/enterprises/visits"' in page
    assert 'action="/enterprises/visits"' not in (await clerk.get("/enterprises")).text
    before = await _visits(pages, MINING)
    token, run = csrf(page), uuid.uuid4().hex[:6]
    visit = {"csrf": token, "enterprise": MINING, "summary": f"企业反映用电负荷不足{run}", "met": "张志远、李会计"}
    item = {"category": "生产经营", "unit": "cgj", "person": "王科长", "within": "5wd"}
    await team.post("/enterprises/visits", data={**visit, **item, "need": f"厂区增容{run}", "category": "不存在"})
    assert "item.category" in (await team.get("/enterprises")).text  # the field named, nothing recorded
    assert await _visits(pages, MINING) == before

    await team.post("/enterprises/visits", data={**visit, **item, "need": f"厂区增容{run}"})
    assert "事项" in (await team.get("/enterprises")).text
    record = await view_enterprise(pages.client, MINING)
    recorded = record.visits[-1]
    assert len(record.visits) == before + 1 and recorded.met == ["张志远", "李会计"]
    assert recorded.recorded_by.id == "hft_li" and [m.id for m in recorded.members] == ["hft_li"]
    (first,) = recorded.item_nos
    assert record.item(first).spec.need == f"厂区增容{run}" and record.item(first).spec.unit.code == "cgj"

    page = (await team.get("/enterprises")).text
    assert f'action="/enterprises/{MINING}/items"' in page
    added = {**item, "csrf": token, "visit": recorded.visit_no, "need": f"办理电力接入{run}", "unit": "zjj"}
    await team.post(f"/enterprises/{MINING}/items", data={**added, "person": "刘工"})
    record = await view_enterprise(pages.client, MINING)
    (second,) = [no for no in record.visits[-1].item_nos if no != first]
    assert record.item(second).spec.need == f"办理电力接入{run}" and record.item(second).spec.unit.code == "zjj"
    # Not the team: refused before anything reaches the workflow.
    refused = await clerk.post(f"/enterprises/{MINING}/items", data={**added, "csrf": csrf(page)})
    assert refused.status_code == 403


async def _visits(web: Pages, enterprise_id: str) -> int:
    try:
        return len((await view_enterprise(web.client, enterprise_id)).visits)
    except ActionFailed:  # no visit yet: no workflow for it
        return 0


async def test_a_departments_queue_lists_the_tickets_it_assists_on(pages: Pages) -> None:
    # 紧急诉求联动处置: the 水务公司 leads, the 城管局 (cgj) assists.
    ticket = sample_ticket("供水供电", urgency="紧急", title="小区停水", content="全楼停水半天")
    await submit(pages.client, pages.config, ticket)
    await eventually(pages.client, ticket.ticket_no, lambda r: any(a.assignment.department == "cgj" for a in r.assists))
    clerk = await pages.as_("cgj_sun")
    for _ in range(40):  # visibility follows the workflow's upsert
        queue = (await clerk.get("/queue", params={"q": ticket.ticket_no})).text
        if f'href="/tickets/{ticket.ticket_no}"' in queue:
            break
        await asyncio.sleep(0.25)
    assert f'href="/tickets/{ticket.ticket_no}"' in queue
    row = queue[queue.index(f'href="/tickets/{ticket.ticket_no}"') :].split("</tr>")[0]
    assert '<span class="mark">协办</span>' in row
    other = await pages.as_("zjj_li")
    assert f'href="/tickets/{ticket.ticket_no}"' not in (await other.get("/queue", params={"q": ticket.ticket_no})).text


async def test_the_shift_lead_merges_unlinks_and_transfers_from_the_ticket_page(pages: Pages) -> None:
    repeat, main, up = await waiting_ticket(pages), await waiting_ticket(pages), await waiting_ticket(pages)
    clerk, lead = await pages.as_("cgj_sun"), await pages.as_("zhangli")
    assert not {"link", "transfer", "unlink"} & actions_offered((await clerk.get(f"/tickets/{repeat}")).text)
    page = await lead.get(f"/tickets/{repeat}")
    assert {"link", "transfer"} <= actions_offered(page.text)
    token = csrf(page.text)
    await lead.post(f"/tickets/{repeat}/actions/link", data={"csrf": token, "main": repeat})
    assert "不能并入自身" in (await lead.get(f"/tickets/{repeat}")).text  # the workflow's own refusal
    await lead.post(f"/tickets/{repeat}/actions/link", data={"csrf": token, "main": main})
    merged = await eventually(pages.client, repeat, lambda r: r.status is TicketStatus.MERGED)
    assert merged.merged_into == f"ticket-{main}"
    page = await lead.get(f"/tickets/{repeat}")
    assert actions_offered(page.text) == {"unlink"}
    await lead.post(f"/tickets/{repeat}/actions/unlink", data={"csrf": token, "note": "不是同一事项"})
    apart = await eventually(pages.client, repeat, lambda r: r.merged_into is None)
    assert apart.actions[-1].actor.id == "zhangli" or any(a.action == "解除并单" for a in apart.actions)

    await lead.post(f"/tickets/{up}/actions/transfer", data={"csrf": token, "reason": "涉及市级审批权限"})
    sent = await eventually(pages.client, up, lambda r: r.status is TicketStatus.TRANSFERRED)
    assert any(a.action == "上转市级" and a.actor.id == "zhangli" for a in sent.actions)


async def test_the_shift_lead_determines_the_owner_on_site_from_the_ticket_page(pages: Pages) -> None:
    number = await waiting_ticket(pages)  # the 城管局's (cgj)
    clerk, lead = await pages.as_("cgj_sun"), await pages.as_("zhangli")
    assert "determine" not in actions_offered((await clerk.get(f"/tickets/{number}")).text)
    page = await lead.get(f"/tickets/{number}")
    assert "determine" in actions_offered(page.text) and "现场确权" in page.text
    token = csrf(page.text)
    await lead.post(f"/tickets/{number}/actions/determine", data={"csrf": token, "lead": "zjj"})
    assert "现场确权说明" in (await lead.get(f"/tickets/{number}")).text  # the missing note named; nothing sent
    assert (await view(pages.client, number)).determination is None
    form = {"csrf": token, "lead": "zjj", "assist": ["cgj", "bhjd"], "note": "现场查看，属建设工地管理"}
    await lead.post(f"/tickets/{number}/actions/determine", data=form)
    assert "已确权：主办 区住房和城乡建设局" in (await lead.get(f"/tickets/{number}")).text
    record = await eventually(pages.client, number, lambda r: r.determination is not None)
    assert record.determination is not None and record.determination.source == "现场确权"
    assert record.determination.lead.department == "zjj"
    assert [a.department for a in record.determination.assisting] == ["cgj", "bhjd"]
    assert record.determination.decided_by.id == "zhangli"
    assert any(a.action == "现场确权" and a.actor.id == "zhangli" for a in record.actions)


async def test_the_shift_lead_records_the_citys_return_from_the_ticket_page(pages: Pages) -> None:
    # Received with a reply window (fixed into its plan at intake): the city may send it back.
    ticket = sample_ticket()
    await submit(pages.client, with_reply_window(pages.config, Span(amount=1, unit=Unit.HOURS)), ticket)
    number = ticket.ticket_no
    await eventually(pages.client, number, lambda r: r.status is TicketStatus.AWAITING_SIGN_FOR)
    lead = await pages.as_("zhangli")
    page = await lead.get(f"/tickets/{number}")
    assert "city-reply" not in actions_offered(page.text)  # not sent up yet
    token = csrf(page.text)
    await lead.post(f"/tickets/{number}/actions/transfer", data={"csrf": token, "reason": "涉及市级审批权限"})
    await eventually(pages.client, number, lambda r: r.status is TicketStatus.TRANSFERRED)
    page = await lead.get(f"/tickets/{number}")
    assert "city-reply" in actions_offered(page.text)
    form = {"csrf": token, "action": "市级不予受理", "reason": "不属于市级受理范围"}
    await lead.post(f"/tickets/{number}/actions/city-reply", data=form)
    assert "已登记市级不予受理" in (await lead.get(f"/tickets/{number}")).text
    record = await eventually(pages.client, number, lambda r: r.status is TicketStatus.AWAITING_DISPATCH)
    assert any(a.action == "市级不予受理" and a.actor.id == "zhangli" for a in record.actions)
    assert "dispatch" in actions_offered((await lead.get(f"/tickets/{number}")).text)


def test_an_overdue_enterprise_item_is_marked_red_in_the_lists() -> None:
    from domain.enterprise_lists import OVERDUE_MARK
    from domain.tables import Table
    from starter.web.pages import templates

    table = Table(
        title="服务清单", columns=["事项", "状态"], rows=[["照明", f"办理中{OVERDUE_MARK}"], ["道路", "办理中"]]
    )
    html = str(templates.env.get_template("_macros.html").module.table(table))  # type: ignore[attr-defined]  # a template's macro, as Jinja gives it
    late, on_time = html.split("<tr")[2:4]
    assert 'class="overdue"' in late and 'class="item-late"' in late
    assert "overdue" not in on_time and "item-late" not in on_time


async def test_the_export_keeps_a_citizens_formula_as_text(pages: Pages) -> None:
    ticket = sample_ticket(title='=HYPERLINK("http://evil.example","点我")')
    await submit(pages.client, pages.config, ticket)
    await eventually(pages.client, ticket.ticket_no, lambda r: r.status is TicketStatus.AWAITING_SIGN_FOR)
    clerk = await pages.as_("cgj_sun")
    params = {"q": ticket.ticket_no}
    text = (await clerk.get("/queue/export.csv", params=params)).content.decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(text)))[1][1] == "'" + ticket.title
    sheet = load_workbook(io.BytesIO((await clerk.get("/queue/export.xlsx", params=params)).content)).active
    assert sheet.cell(row=2, column=2).data_type == "s" and sheet.cell(row=2, column=2).value == ticket.title


async def test_the_shift_lead_runs_a_campaign_from_the_pages(pages: Pages) -> None:
    number = await waiting_ticket(pages)
    lead = await pages.as_("zhangli")
    listing = await lead.get("/campaigns")
    assert listing.status_code == 200 and "启动专项" in listing.text
    form = {"csrf": csrf(listing.text), "kind": "专项推进", "title": "垃圾清运攻坚", "within": "10wd"}
    refused = await lead.post("/campaigns", data=form)  # 专项推进 needs its department
    assert "未能启动" in (await lead.get(refused.headers["location"])).text
    started = await lead.post(
        "/campaigns", data={**form, "kind": "专项行动", "department": "cgj", "category": "市容环卫"}
    )
    page_url = started.headers["location"]
    assert page_url.startswith("/campaigns/C")
    page = (await lead.get(page_url)).text
    header = page.split('<p class="state">')[1].split("</p>")[0]
    assert "已启动专项行动" in page and "范围 市容环卫、区城市管理综合执法局" in header and "cgj" not in header
    for _ in range(40):  # the campaign gathers its tickets from visibility
        if f'href="/tickets/{number}"' in page:
            break
        await asyncio.sleep(0.25)
        page = (await lead.get(page_url)).text
    assert f'href="/tickets/{number}"' in page
    await lead.post(f"{page_url}/actions/record", data={"csrf": csrf(page), "minutes": "明确三天内清运完毕"})
    assert "明确三天内清运完毕" in (await lead.get(page_url)).text
    leader = await pages.as_("leader_wang")
    seen = (await leader.get(page_url)).text
    assert "垃圾清运攻坚" in seen and "/actions/close" not in seen
    assert (await (await pages.as_("cgj_sun")).get("/campaigns")).status_code == 403
    closed = await lead.post(f"{page_url}/actions/close", data={"csrf": csrf(page), "note": "阶段性结束"})
    assert closed.status_code == 303
    done = (await lead.get(page_url)).text
    assert "已结束：共" in done and 'id="campaign-status">已结束' in done and "/actions/close" not in done


async def test_a_consultation_meeting_runs_from_the_pages(pages: Pages) -> None:
    number = await waiting_ticket(pages)
    lead = await pages.as_("zhangli")
    listing = await lead.get("/meetings")
    assert listing.status_code == 200 and "召集会商" in listing.text
    form = {
        "csrf": csrf(listing.text),
        "reason": "职责交叉的路面保洁",
        "tickets": number,
        "departments": ["cgj", "zjj"],
    }
    convened = await lead.post("/meetings", data=form)
    page_url = convened.headers["location"]
    assert page_url.startswith("/meetings/M"), (await lead.get(page_url)).text
    first = (await lead.get(page_url)).text
    assert "已召集会商" in first and "待出席" in first and 'id="no-actions"' in first  # attendance first

    for username in ("cgj_sun", "zjj_li"):
        clerk = await pages.as_(username)
        invited = (await clerk.get("/meetings")).text
        assert f'href="{page_url}"' in invited, username
        page = (await clerk.get(page_url)).text
        assert f'action="{page_url}/actions/attend"' in page and "/actions/decide" not in page
        await clerk.post(f"{page_url}/actions/attend", data={"csrf": csrf(page)})
        assert "/actions/attend" not in (await clerk.get(page_url)).text  # confirmed once
    assert (await (await pages.as_("hft_li")).get(page_url)).status_code == 403

    page = (await lead.get(page_url)).text
    assert "会商中" in page and f'action="{page_url}/actions/record"' in page
    early = await lead.post(f"{page_url}/actions/decide", data={"csrf": csrf(page), "lead": "cgj"})
    assert early.status_code == 303 and "请先记录会议纪要" in (await lead.get(page_url)).text
    await lead.post(f"{page_url}/actions/record", data={"csrf": csrf(page), "minutes": "城管主办，住建协办"})
    await lead.post(f"{page_url}/actions/decide", data={"csrf": csrf(page), "lead": "cgj", "assist": ["zjj"]})
    done = (await lead.get(page_url)).text
    assert "已确权" in done and "主办 区城市管理综合执法局；协办 区住房和城乡建设局" in done
    record = await eventually(pages.client, number, lambda r: any(a.action == "会商确权" for a in r.actions))
    assert any(part.assignment.department == "zjj" for part in record.assists)
