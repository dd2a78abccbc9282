"""`hotline web` after `hotline keys rotate` (issue 19, finding 5): the workers were restarted with
the new key and write its payloads; the web, still running, reads the key file again when it
changes, and until it holds the key answers 503 with the documented body (and a Chinese page),
never a bare 500. Its own dev server: workers with another ring must not share task queues."""

from __future__ import annotations

from pathlib import Path

import httpx
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.runtime.codec import data_converter
from activities.runtime.keys import load_key_ring, update_key_file
from domain.models import TicketStatus
from starter.tickets import submit
from starter.web.app import create_app
from starter.web.gateway_auth import signed_headers
from starter.web.users import UserDirectory, WebUser, hash_password
from tests.support.district import make_config
from tests.support.helpers import eventually, sample_ticket
from tests.support.web_keys import KEYS, with_keys
from worker import build_workers

PASSWORD = "rotation-口令-1"


async def test_the_web_follows_a_rotated_key_file_and_answers_503_until_it_has_the_key(
    own_dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    before = load_key_ring()  # the session's ring (k1)
    assert before is not None
    rotated = before.rotated()  # `hotline keys rotate`: k2 added and current
    address = own_dev_env.client.service_client.config.target_host
    workers_client = await Client.connect(address, data_converter=data_converter(rotated))
    key_file = tmp_path / "keys.json"
    update_key_file(key_file, before)  # what the web read when it started
    web_client = await Client.connect(address, data_converter=data_converter(before, watch=key_file))

    config = with_keys(make_config(tmp_path))
    users = UserDirectory(
        [WebUser(username="zhangli", person="zhangli", password_hash=hash_password(PASSWORD))], config
    )
    app = create_app(web_client, config, users, secret=b"rotation-test-secret")
    async with (
        build_workers(workers_client, config, departments=["cgj"], center=True),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as web,
    ):
        ticket = sample_ticket()
        await submit(workers_client, config, ticket)
        await eventually(workers_client, ticket.ticket_no, lambda r: r.status is TicketStatus.AWAITING_SIGN_FOR)
        path = f"/api/tickets/{ticket.ticket_no}"

        async def read() -> httpx.Response:
            return await web.get(path, headers=signed_headers(KEYS["center"], "center", "GET", path))

        # The web lacks k2, in which the workers answer: 503, saying which key and what to do.
        refused = await read()
        assert refused.status_code == 503, refused.text
        assert set(refused.json()) == {"detail", "field"} and refused.json()["field"] is None
        assert "'k2'" in refused.json()["detail"] and "密钥文件" in refused.json()["detail"]
        signed_in = await web.post("/login", data={"username": "zhangli", "password": PASSWORD})
        assert signed_in.status_code == 303
        page = await web.get(f"/tickets/{ticket.ticket_no}")
        assert page.status_code == 503 and "数据暂时无法解密" in page.text
        assert (await web.get("/queue")).status_code == 200  # the queue still comes, from search attributes

        # The rotated file reaches this machine: the running web reads it again.
        update_key_file(key_file, rotated)
        shown = await read()
        assert shown.status_code == 200 and shown.json()["ticket_no"] == ticket.ticket_no
        page = await web.get(f"/tickets/{ticket.ticket_no}")
        assert page.status_code == 200 and ticket.title in page.text
