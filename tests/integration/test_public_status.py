"""工单查询 (starter/web/public.py, domain/public_status.py): a citizen looks their ticket up with
its number and the last four digits of their phone, on a page and as JSON, against a real dev
server with workers; what is shown, what is not, the rate limit, and that a wrong guess cannot tell
"no such ticket" from "wrong digits" by status, body or time."""

from __future__ import annotations

import statistics
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from temporalio.client import Client

from domain.config import DistrictConfig
from domain.models import TicketStatus
from domain.public_status import REFUSED, PublicStatus, last_digits, phone_matches
from starter.tickets import submit
from starter.web.app import create_app
from starter.web.public import LOOKUP_FLOOR, StatusLookups
from starter.web.users import demo_users
from tests.support.district import make_config
from tests.support.helpers import eventually, replaying_workers, sample_ticket
from tests.support.ticket_steps import handle_to_answer

SECRET = b"public-status-test-secret-0123456789"


@dataclass
class Site:
    app: FastAPI
    client: Client
    config: DistrictConfig
    waiting: str  # a ticket waiting for its department
    answered: str  # a ticket its department has answered
    phone: str

    def browser(self, address: str = "203.0.113.7", app: FastAPI | None = None) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app or self.app, client=(address, 40000))
        return httpx.AsyncClient(transport=transport, base_url="http://hotline.test")


@pytest.fixture(scope="module")
async def site(dev_env, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Site]:
    folder: Path = tmp_path_factory.mktemp("public")
    config = make_config(folder)
    client = dev_env.client
    async with replaying_workers(client, config):
        waiting, answered = sample_ticket(), sample_ticket()
        for ticket in (waiting, answered):
            await submit(client, config, ticket)
            await eventually(client, ticket.ticket_no, lambda r: r.status is TicketStatus.AWAITING_SIGN_FOR)
        await handle_to_answer(client, config, answered.ticket_no, "cgj_sun")
        await eventually(client, answered.ticket_no, lambda r: r.status is TicketStatus.AWAITING_CALLBACK)
        users = demo_users(folder / "users.yaml", config, ["cgj_sun"])  # the workbench's; the lookup needs none
        app = create_app(client, config, users, secret=SECRET)
        yield Site(app, client, config, waiting.ticket_no, answered.ticket_no, waiting.citizen.phone)


def test_the_phone_check() -> None:
    assert last_digits("138-1234 5678") == "5678"
    assert phone_matches("13812345678", "5678") and phone_matches("13812345678", " 5678 ")
    assert not phone_matches("13812345678", "1234") and not phone_matches("13812345678", "")
    assert not phone_matches("567", "567")  # too short a phone never matches


async def test_a_citizen_sees_the_progress_and_nothing_else(site: Site) -> None:
    digits = last_digits(site.phone)
    async with site.browser() as http:
        response = await http.get("/api/public/status", params={"no": site.waiting, "phone4": digits})
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == set(PublicStatus.model_fields)  # nothing else is sent
    assert body["ticket_no"] == site.waiting and body["status"] == "办理中"
    department = {d.code: d.name for d in site.config.departments}["cgj"]
    assert body["department"] == department  # by name, not its code
    assert body["answer"] is None and body["answered_at"] is None and body["due_at"] is not None
    text = response.text
    ticket = sample_ticket()  # the same citizen as the tickets filed
    for private in (ticket.citizen.name, site.phone, "滨河街道镇北社区", "cgj_sun", "actions", "approvals"):
        assert private not in text


async def test_the_answer_is_shown_once_answered(site: Site) -> None:
    async with site.browser() as http:
        response = await http.post("/api/public/status", json={"no": site.answered, "phone4": last_digits(site.phone)})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "已答复，待回访"
    assert body["answer"] == "已安排环卫车辆清运完毕" and body["answered_at"] is not None
    assert "photo-001.jpg" not in response.text  # the evidence stays internal


async def test_a_miss_cannot_tell_no_such_ticket_from_wrong_digits(site: Site) -> None:
    """Same status, same body, and (within the floor's jitter) the same time, for both."""
    right = last_digits(site.phone)
    wrong = f"{(int(right) + 1) % 10000:04d}"
    guesses = [("T-no-such-ticket-000", right), (site.waiting, wrong)] * 3
    timings: dict[str, list[float]] = {"missing": [], "wrong": []}
    bodies, statuses = set(), set()
    app = create_app(site.client, site.config, site.app.state.users, secret=SECRET)
    async with site.browser(app=app) as http:
        for no, digits in guesses:
            started = time.monotonic()
            response = await http.get("/api/public/status", params={"no": no, "phone4": digits})
            timings["wrong" if no == site.waiting else "missing"].append(time.monotonic() - started)
            bodies.add(response.content)
            statuses.add(response.status_code)
    assert statuses == {404} and bodies == {f'{{"detail":"{REFUSED}"}}'.encode()}
    assert min(min(t) for t in timings.values()) >= LOOKUP_FLOOR
    assert abs(statistics.median(timings["missing"]) - statistics.median(timings["wrong"])) < 0.15
    # and the page says the same for both
    async with site.browser(address="203.0.113.8", app=app) as http:
        pages = [
            await http.post("/status", data={"no": no, "phone4": digits})
            for no, digits in (("T-no-such-ticket-000", right), (site.waiting, wrong))
        ]
    assert [p.status_code for p in pages] == [404, 404]
    assert all(REFUSED in p.text for p in pages)
    assert pages[0].text.replace("T-no-such-ticket-000", site.waiting) == pages[1].text


async def test_lookups_are_limited_per_address(site: Site) -> None:
    app = create_app(site.client, site.config, site.app.state.users, secret=SECRET)
    app.state.status_lookups = StatusLookups(per_address=2, minutes=10)
    params = {"no": site.waiting, "phone4": last_digits(site.phone)}
    async with site.browser(app=app) as http:
        assert [(await http.get("/api/public/status", params=params)).status_code for _ in range(2)] == [200, 200]
        limited = await http.get("/api/public/status", params=params)
        assert limited.status_code == 429 and "查询过于频繁" in limited.json()["detail"]
        page = await http.post("/status", data=params)
        assert page.status_code == 429 and "查询过于频繁" in page.text
    async with site.browser(address="198.51.100.9", app=app) as other:  # another address is not held back
        assert (await other.get("/api/public/status", params=params)).status_code == 200


async def test_the_page_needs_no_sign_in_and_shows_the_result(site: Site) -> None:
    async with site.browser(address="203.0.113.20") as http:
        form = await http.get("/status")
        assert form.status_code == 200 and 'name="phone4"' in form.text and "工单查询" in form.text
        bad = await http.post("/status", data={"no": site.waiting, "phone4": "12a4"})
        assert bad.status_code == 422 and "后4位数字" in bad.text
        shown = await http.post("/status", data={"no": site.answered, "phone4": last_digits(site.phone)})
    assert shown.status_code == 200
    assert "已答复，待回访" in shown.text and "已安排环卫车辆清运完毕" in shown.text
    assert sample_ticket().citizen.name not in shown.text and site.phone not in shown.text
    assert "退出" not in shown.text  # nobody is signed in
