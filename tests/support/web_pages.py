"""The web app over HTTP against a dev server of its own with workers (the page tests share it)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from domain.config import DistrictConfig
from domain.models import TicketStatus
from starter.tickets import submit
from starter.web.app import create_app
from starter.web.users import (
    WebUser,
    hash_password,
    load_users,
    write_users,
)
from tests.support.district import make_config
from tests.support.helpers import eventually, sample_ticket
from worker import build_workers


@dataclass
class Pages:
    app: FastAPI
    client: Client
    config: DistrictConfig

    async def as_(self, username: str | None) -> httpx.AsyncClient:
        """A browser-like client, signed in as `username` (or not signed in)."""
        web = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://testserver")
        if username:
            response = await web.post("/login", data={"username": username, "password": PASSWORD})
            assert response.status_code == 303, response.text
        return web


@pytest.fixture(scope="module")
async def pages(own_dev_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Pages]:
    folder = tmp_path_factory.mktemp("pages")
    config = make_config(folder)
    digest = hash_password(PASSWORD)
    users = [WebUser(username=p, person=p, password_hash=digest) for p in PEOPLE]
    users.append(WebUser(username="leader_wang", role="leader", name="王区长", password_hash=digest))
    write_users(folder / "users.yaml", users)
    users_file = load_users(folder / "users.yaml", config)
    app = create_app(own_dev_env.client, config, users_file, secret=SECRET, data_dir=folder)
    async with build_workers(own_dev_env.client, config, departments=["cgj", "zjj", "bhjd"], center=True):
        yield Pages(app, own_dev_env.client, config)


async def waiting_ticket(pages: Pages) -> str:
    """A 市容环卫 ticket of 滨河街道, delivered to the 城管局 (cgj) and waiting to be signed for."""
    ticket = sample_ticket()
    await submit(pages.client, pages.config, ticket)
    await eventually(pages.client, ticket.ticket_no, lambda r: r.status is TicketStatus.AWAITING_SIGN_FOR)
    return ticket.ticket_no


def csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no form with a CSRF token on the page"
    return found.group(1)


def actions_offered(html: str) -> set[str]:
    return set(re.findall(r'action="/tickets/[^/"]+/actions/([a-z-]+)"', html))


PASSWORD = "pages-口令-2026"


PEOPLE = ("cgj_sun", "zjj_li", "zhangli", "liumei", "bhjd_street", "hft_li", "hd_zhang")


SECRET = b"test-secret-for-the-pages"
