"""The workbench pages over HTTP (httpx against the app, a real dev server and real workers): signing
in, what each role sees and may do, and refusals — by the page for what a user may not open, and by
the workflow for an action sent anyway. Also the users file and the signed session cookies."""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from domain.models import TicketStatus
from starter.tickets import submit, view
from starter.web.app import create_app
from starter.web.users import (
    UsersFileError,
    WebUser,
    add_user,
    hash_password,
    load_users,
    session_user,
    sign,
    unsign,
)
from tests.support.district import make_config
from tests.support.helpers import eventually, sample_ticket
from tests.support.web_pages import PASSWORD, SECRET, Pages, actions_offered, csrf, waiting_ticket

# ----- signing in -----


async def test_signing_in_and_out(pages: Pages) -> None:
    web = await pages.as_(None)
    response = await web.get("/queue")
    assert response.status_code == 303 and response.headers["location"] == "/login?next=/queue"
    wrong = await web.post("/login", data={"username": "cgj_sun", "password": "not-it"})
    assert wrong.status_code == 401 and "用户名或口令错误" in wrong.text
    unknown = await web.post("/login", data={"username": "nobody", "password": PASSWORD})
    assert unknown.status_code == 401 and "用户名或口令错误" in unknown.text
    elsewhere = await web.post("/login", data={"username": "cgj_sun", "password": PASSWORD, "next": "//evil.example/"})
    assert elsewhere.headers["location"] == "/queue"  # never off the site
    right = await web.post("/login", data={"username": "cgj_sun", "password": PASSWORD, "next": "/queue?all=true"})
    assert right.status_code == 303 and right.headers["location"] == "/queue?all=true"
    queue = await web.get("/queue")
    assert queue.status_code == 200 and "区城市管理综合执法局 工单队列" in queue.text
    assert "孙浩" in queue.text
    out = await web.post("/logout", data={"csrf": csrf(queue.text)})
    assert out.status_code == 303
    assert (await web.get("/queue")).status_code == 303


def browser(app: FastAPI, session: str | None = None, address: str = "127.0.0.1") -> httpx.AsyncClient:
    """A client of `app` from `address`, holding the session cookie `session` if given."""
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    web = httpx.AsyncClient(transport=transport, base_url="http://testserver")
    if session:
        web.cookies.set("hotline_session", session)
    return web


async def test_signing_out_ends_the_session_for_good(pages: Pages) -> None:
    web = await pages.as_("zjj_li")
    other = await pages.as_("zjj_li")  # the same account in another browser
    kept = web.cookies["hotline_session"]
    queue = await web.get("/queue")
    assert queue.status_code == 200
    assert (await web.post("/logout", data={"csrf": csrf(queue.text)})).status_code == 303
    # The cookie as it was before signing out (a copy an attacker kept) no longer opens anything …
    stolen = browser(pages.app, kept)
    assert (await stolen.get("/queue")).status_code == 303
    # … nor does the account's other session, nor the old cookie after a restart.
    assert (await other.get("/queue")).status_code == 303
    users_file = pages.app.state.users.path
    restarted = create_app(pages.client, pages.config, load_users(users_file, pages.config), secret=SECRET)
    assert (await browser(restarted, kept).get("/queue")).status_code == 303
    # Signing out takes the form's CSRF token: another site cannot sign a user out.
    again = await pages.as_("zjj_li")
    assert (await again.post("/logout", data={"csrf": "forged"})).status_code == 403
    assert (await again.get("/queue")).status_code == 200
    assert (await again.get("/logout")).status_code == 405


async def test_a_new_password_ends_the_accounts_sessions(pages: Pages) -> None:
    web = await pages.as_("hd_zhang")
    kept = web.cookies["hotline_session"]
    assert (await web.get("/enterprises")).status_code == 200
    users_file = pages.app.state.users.path
    # `hotline web users add hd_zhang …` again: the same password here, a new one in practice.
    add_user(users_file, WebUser(username="hd_zhang", person="hd_zhang", password_hash=hash_password(PASSWORD)))
    assert (await web.get("/enterprises")).status_code == 303  # the running web read the file again
    restarted = create_app(pages.client, pages.config, load_users(users_file, pages.config), secret=SECRET)
    assert (await browser(restarted, kept).get("/enterprises")).status_code == 303
    assert (await (await pages.as_("hd_zhang")).get("/enterprises")).status_code == 200


async def test_failed_sign_ins_are_throttled_per_user_and_per_address(pages: Pages) -> None:
    app = create_app(pages.client, pages.config, pages.app.state.users, secret=SECRET)
    guesser = browser(app, address="10.0.0.7")
    for attempt in range(5):
        wrong = await guesser.post("/login", data={"username": "cgj_sun", "password": f"guess-{attempt}"})
        assert wrong.status_code == 401
    # The sixth try is refused whatever the password, from any address, for that username only.
    for web in (guesser, browser(app, address="10.0.0.8")):
        refused = await web.post("/login", data={"username": "cgj_sun", "password": PASSWORD})
        assert refused.status_code == 429 and "登录失败次数过多" in refused.text and "分钟后再试" in refused.text
    assert (await guesser.post("/login", data={"username": "zjj_li", "password": PASSWORD})).status_code == 303

    # One address trying many usernames is stopped too.
    sprayer = browser(app, address="10.0.0.9")
    for attempt in range(20):
        name = f"user{attempt}"  # each name only once: no one username reaches its own limit
        assert (await sprayer.post("/login", data={"username": name, "password": "spray"})).status_code == 401
    refused = await sprayer.post("/login", data={"username": "liumei", "password": PASSWORD})
    assert refused.status_code == 429
    assert (
        await browser(app, address="10.0.0.10").post("/login", data={"username": "liumei", "password": PASSWORD})
    ).status_code == 303


async def test_cookies_can_be_forced_secure(pages: Pages) -> None:
    plain = await browser(pages.app).post("/login", data={"username": "liumei", "password": PASSWORD})
    assert "secure" not in plain.headers["set-cookie"].lower()  # http://, not told otherwise
    app = create_app(pages.client, pages.config, pages.app.state.users, secret=SECRET, secure_cookies=True)
    forced = await browser(app).post("/login", data={"username": "liumei", "password": PASSWORD})
    assert forced.status_code == 303 and "; secure" in forced.headers["set-cookie"].lower()


async def test_an_assisting_department_sees_the_phone_masked(pages: Pages) -> None:
    # 紧急诉求联动处置: the 水务公司 leads, the 供电公司 and the 城管局 (cgj) assist.
    ticket = sample_ticket("供水供电", urgency="紧急", title="小区停水", content="全楼停水半天")
    await submit(pages.client, pages.config, ticket)
    await eventually(pages.client, ticket.ticket_no, lambda r: any(a.assignment.department == "cgj" for a in r.assists))
    page = await (await pages.as_("cgj_sun")).get(f"/tickets/{ticket.ticket_no}")
    assert page.status_code == 200, page.text
    assert "138****1234" in page.text and "13812341234" not in page.text
    assert "王小明" in page.text  # the name and address stay: it may go on site
    shift_lead = await (await pages.as_("zhangli")).get(f"/tickets/{ticket.ticket_no}")
    assert "13812341234" in shift_lead.text


async def test_the_delivery_line_shows_no_server_path(pages: Pages) -> None:
    number = await waiting_ticket(pages)
    page = await (await pages.as_("cgj_sun")).get(f"/tickets/{number}")
    inbox = os.path.abspath(pages.config.department("cgj").adapter.folder)
    record = await view(pages.client, number)
    assert any(inbox in a.detail for a in record.actions)  # the receipt names the file written …
    assert f"（{number}_round1.json）" in page.text  # … the page its name alone
    assert inbox not in page.text and f"tickets/{number}_round1.json" not in page.text


async def test_each_role_lands_on_its_own_page(pages: Pages) -> None:
    homes = {
        "cgj_sun": "/queue",
        "zhangli": "/center",
        "liumei": "/center",
        "bhjd_street": "/whistles",
        "hft_li": "/enterprises",
        "hd_zhang": "/enterprises",
        "leader_wang": "/dashboard",
    }
    for username, home in homes.items():
        web = await pages.as_(username)
        assert (await web.get("/")).headers["location"] == home, username


# ----- what each role sees and may do -----


async def test_a_ticket_offers_each_viewer_only_what_they_may_do(pages: Pages) -> None:
    number = await waiting_ticket(pages)
    clerk = await pages.as_("cgj_sun")
    page = await clerk.get(f"/tickets/{number}")
    assert page.status_code == 200
    assert actions_offered(page.text) == {"sign", "return", "exempt"}  # not contact, answer or extend yet
    assert "王小明" in page.text and "13812341234" in page.text  # the clerk must call the citizen

    # The shift lead may merge it into another ticket, determine its owner on site (现场确权) or send
    # it up to the city (上转), nothing else.
    for username, offered in (
        ("zhangli", {"link", "determine", "transfer"}),
        ("liumei", set()),
        ("leader_wang", set()),
    ):
        centre = await (await pages.as_(username)).get(f"/tickets/{number}")
        assert centre.status_code == 200, username
        assert actions_offered(centre.text) == offered, username
        assert ("当前没有您可办理的操作" in centre.text) == (not offered)
    street = await (await pages.as_("bhjd_street")).get(f"/tickets/{number}")
    assert street.status_code == 200 and "王*" in street.text and "138****1234" in street.text
    assert "王小明" not in street.text

    for username in ("zjj_li", "hft_li", "hd_zhang"):
        refused = await (await pages.as_(username)).get(f"/tickets/{number}")
        assert refused.status_code == 403, username
        assert "无权查看" in refused.text
    zjj_queue = await (await pages.as_("zjj_li")).get("/queue")
    assert number not in zjj_queue.text
    assert number in (await clerk.get("/queue")).text

    await clerk.post(f"/tickets/{number}/actions/sign", data={"csrf": csrf(page.text)})
    signed = await clerk.get(f"/tickets/{number}")
    assert "已签收" in signed.text
    assert actions_offered(signed.text) == {"contact", "return", "extend", "exempt", "backlog", "pause"}


async def test_the_workflow_refuses_what_a_page_would_not_offer(pages: Pages) -> None:
    number = await waiting_ticket(pages)
    other = await pages.as_("zjj_li")
    token = csrf((await other.get("/queue")).text)
    refused = await other.post(f"/tickets/{number}/actions/sign", data={"csrf": token})
    assert refused.status_code == 403 and "无权办理" in refused.text
    assert "城市管理综合执法局" not in refused.text  # who holds a ticket one may not see is not told

    clerk = await pages.as_("cgj_sun")
    token = csrf((await clerk.get(f"/tickets/{number}")).text)
    early = await clerk.post(f"/tickets/{number}/actions/answer", data={"csrf": token, "text": "已处理"})
    assert early.status_code == 303
    shown = await clerk.get(f"/tickets/{number}")
    assert "拒绝答复" in shown.text and 'role="alert"' in shown.text
    assert "拒绝答复" not in (await clerk.get(f"/tickets/{number}")).text  # a message is shown once

    empty = await clerk.post(f"/tickets/{number}/actions/return", data={"csrf": token, "reason": " "})
    assert empty.status_code == 303
    assert "请填写退单理由" in (await clerk.get(f"/tickets/{number}")).text
    forged = await clerk.post(f"/tickets/{number}/actions/sign", data={"csrf": "forged"})
    assert forged.status_code == 403 and "表单已失效" in forged.text

    leader = await pages.as_("leader_wang")
    token = csrf((await leader.get("/dashboard")).text)
    reading = await leader.post(f"/tickets/{number}/actions/sign", data={"csrf": token})
    assert reading.status_code == 403 and "只能查看" in reading.text
    record = await view(pages.client, number)
    assert record.status is TicketStatus.AWAITING_SIGN_FOR
    assert [a.action for a in record.actions] == ["受理", "派遣"]

    missing = await clerk.get("/tickets/NO-SUCH-TICKET")
    assert missing.status_code == 404 and "不存在" in missing.text


async def test_the_shift_lead_dispatches_and_decides_from_the_pages(pages: Pages) -> None:
    ticket = sample_ticket(category="政策咨询", title="创业补贴政策咨询", content="想了解创业补贴的办理条件。")
    await submit(pages.client, pages.config, ticket)  # no catalogue line: 待派遣
    await eventually(pages.client, ticket.ticket_no, lambda r: r.status is TicketStatus.AWAITING_DISPATCH)
    lead = await pages.as_("zhangli")
    page = await lead.get(f"/tickets/{ticket.ticket_no}")
    assert actions_offered(page.text) == {"dispatch", "determine", "link", "transfer"}
    done = await lead.post(
        f"/tickets/{ticket.ticket_no}/actions/dispatch", data={"csrf": csrf(page.text), "to": "cgj", "note": "人工派遣"}
    )
    assert done.status_code == 303
    assert "已派往 区城市管理综合执法局" in (await lead.get(f"/tickets/{ticket.ticket_no}")).text
    record = await eventually(pages.client, ticket.ticket_no, lambda r: r.status is TicketStatus.AWAITING_SIGN_FOR)
    assert record.actions[-2].actor.id == "zhangli"

    clerk = await pages.as_("cgj_sun")
    token = csrf((await clerk.get(f"/tickets/{ticket.ticket_no}")).text)
    await clerk.post(f"/tickets/{ticket.ticket_no}/actions/sign", data={"csrf": token})
    asked = await clerk.post(
        f"/tickets/{ticket.ticket_no}/actions/extend",
        data={"csrf": token, "amount": "2", "unit": "wd", "reason": "需协调人社部门"},
    )
    assert asked.status_code == 303
    assert "E1" in (await clerk.get(f"/tickets/{ticket.ticket_no}")).text
    center = await lead.get("/center")
    assert center.status_code == 200 and "待审批" in center.text
    decided = await lead.get(f"/tickets/{ticket.ticket_no}")
    assert "批准 E1" in decided.text and "改派单位" not in decided.text  # an extension is not reassigned
    await lead.post(f"/tickets/{ticket.ticket_no}/actions/approve", data={"csrf": token_of(decided), "approval": "E1"})
    record = await view(pages.client, ticket.ticket_no)
    assert record.extensions_granted == 1 and not record.pending_approvals
    assert (await (await pages.as_("cgj_sun")).get("/center")).status_code == 403


async def test_the_shift_lead_verifies_an_unsatisfied_ticket_from_the_pages(pages: Pages) -> None:
    """核查: offered to the shift lead only once the callback found it unsatisfied; 核查结案 closes it."""
    number = await waiting_ticket(pages)
    clerk, lead = await pages.as_("cgj_sun"), await pages.as_("zhangli")
    token = csrf((await clerk.get(f"/tickets/{number}")).text)
    await clerk.post(f"/tickets/{number}/actions/sign", data={"csrf": token})
    await clerk.post(f"/tickets/{number}/actions/contact", data={"csrf": token, "note": "已联系"})
    paused = await clerk.post(f"/tickets/{number}/actions/pause", data={"csrf": token, "category": "不在家"})
    assert paused.status_code == 303
    page = await lead.get(f"/tickets/{number}")
    assert "批准 P1" in page.text and "verify-close" not in actions_offered(page.text)
    await lead.post(f"/tickets/{number}/actions/approve", data={"csrf": token_of(page), "approval": "P1"})
    shown = await clerk.get(f"/tickets/{number}")
    assert "resume" in actions_offered(shown.text) and 'id="mark-paused"' in shown.text
    await clerk.post(f"/tickets/{number}/actions/resume", data={"csrf": token, "note": "已见到诉求人"})
    await clerk.post(f"/tickets/{number}/actions/answer", data={"csrf": token, "text": "已解释", "resolved": "no"})
    operator = await pages.as_("liumei")
    form = {"csrf": token_of(await operator.get(f"/tickets/{number}")), "resolved": "no", "satisfaction": "不满意"}
    await operator.post(f"/tickets/{number}/actions/callback", data=form)
    assert actions_offered((await operator.get(f"/tickets/{number}")).text) == set()

    page = await lead.get(f"/tickets/{number}")
    assert actions_offered(page.text) == {"verify-redo", "verify-close", "determine"}
    assert "待核查" in (await lead.get("/center")).text
    bad = await lead.post(
        f"/tickets/{number}/actions/verify-close", data={"csrf": token_of(page), "closure": "随便", "reason": "x"}
    )
    assert bad.status_code == 303 and "结案类别应为" in (await lead.get(f"/tickets/{number}")).text
    done = await lead.post(
        f"/tickets/{number}/actions/verify-close",
        data={"csrf": token_of(page), "closure": "历史遗留问题", "reason": "小区规划遗留，已解释"},
    )
    assert done.status_code == 303
    record = await eventually(pages.client, number, lambda r: r.status is TicketStatus.CLOSED)
    assert record.closure is not None and record.actions[-1].actor.id == "zhangli"
    assert 'id="mark-closure"' in (await lead.get(f"/tickets/{number}")).text


def token_of(response: httpx.Response) -> str:
    return csrf(response.text)


# ----- whistles, lists and the dashboard -----


async def test_a_street_blows_a_whistle_and_the_named_department_reports_in(pages: Pages) -> None:
    street = await pages.as_("bhjd_street")
    listing = await street.get("/whistles")
    assert listing.status_code == 200 and "滨河街道 吹哨" in listing.text
    blown = await street.post(
        "/whistles",
        data={
            "csrf": csrf(listing.text),
            "kind": "推进",
            "title": "背街小巷路灯不亮",
            "content": "多条背街小巷路灯损坏，需城管与供电协同处置。",
            "departments": ["cgj"],
        },
    )
    assert blown.status_code == 303
    page = blown.headers["location"]
    assert "已吹哨" in (await street.get(page)).text
    clerk = await pages.as_("cgj_sun")
    shown = await clerk.get(page)
    assert shown.status_code == 200 and "/actions/report-in" in shown.text and "/actions/answer" not in shown.text
    await clerk.post(f"{page}/actions/report-in", data={"csrf": csrf(shown.text), "note": "已到场"})
    assert "已报到" in (await clerk.get(page)).text
    assert (await (await pages.as_("zjj_li")).get(page)).status_code == 403


async def test_the_dashboard_and_the_enterprise_lists_open_for_their_readers(pages: Pages) -> None:
    leader = await pages.as_("leader_wang")
    board = await leader.get("/dashboard")
    assert board.status_code == 200
    for title in ("总体情况", "各单位办理情况", "红榜", "黑榜", "各单位响应率"):
        assert title in board.text
    chart = await leader.get("/dashboard/charts/0.png")
    assert chart.headers["content-type"] == "image/png" and chart.content.startswith(b"\x89PNG")
    assert (await leader.get("/dashboard?month=2026-13")).status_code == 404
    assert (await (await pages.as_("cgj_sun")).get("/dashboard")).status_code == 403
    for username, title in (("hft_li", "红色服务团"), ("hd_zhang", "本企业两张清单"), ("cgj_sun", "负责的企业事项")):
        lists = await (await pages.as_(username)).get("/enterprises")
        assert lists.status_code == 200 and title in lists.text, username
    assert (await (await pages.as_("liumei")).get("/enterprises")).status_code == 200


# ----- the users file and sessions -----


def test_the_users_file_is_checked_against_the_configuration(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    path = tmp_path / "users.yaml"
    digest = hash_password(PASSWORD)
    add_user(path, WebUser(username="cgj_sun", person="cgj_sun", password_hash=digest))
    assert add_user(path, WebUser(username="cgj_sun", person="cgj_sun", password_hash=digest))  # replaced
    users = load_users(path, config)
    viewer = users.authenticate("cgj_sun", PASSWORD)
    assert viewer is not None and viewer.department == "cgj" and viewer.role_label == "承办单位经办人"
    assert users.authenticate("cgj_sun", "wrong") is None and users.authenticate("nobody", PASSWORD) is None
    assert path.stat().st_mode & 0o077 == 0  # hashes are for the owner only

    path.write_text(f"users:\n  - {{username: x, person: nobody, password_hash: '{digest}'}}\n", encoding="utf-8")
    with pytest.raises(UsersFileError, match=r"users\.0\.person: unknown 'nobody'"):
        load_users(path, config)
    path.write_text(f"users:\n  - {{username: x, password_hash: '{digest}'}}\n", encoding="utf-8")
    with pytest.raises(UsersFileError, match=r"users\.0: .*person"):
        load_users(path, config)


def test_session_cookies_cannot_be_forged_or_kept_forever() -> None:
    token = sign(SECRET, {"u": "cgj_sun", "t": int(time.time())})
    assert session_user(SECRET, token) == "cgj_sun"
    assert session_user(b"another secret", token) is None
    body, mac = token.rsplit(".", 1)
    assert unsign(SECRET, f"{body}x.{mac}") is None
    assert session_user(SECRET, sign(SECRET, {"u": "cgj_sun", "t": int(time.time()) - 13 * 3600})) is None
    assert session_user(SECRET, "garbage") is None and session_user(SECRET, None) is None
