"""The bad-input catalogue against a dev server with workers: every update payload of every workflow
sent raw (as a client that bypasses the models would) to one running ticket, whistle, meeting,
campaign and enterprise; the payload limit on the client and in the validators; and the HTTP API's
intake and the departments' callbacks. Each bad input is refused with one line naming the field,
no workflow starts, and the running workflows' histories do not grow by a single event.

Hypothesis drives the session's event loop from a thread (support.on_loop): its tests are
synchronous, and the workers must keep running on the loop meanwhile."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from hypothesis import assume
from hypothesis import strategies as st
from temporalio.client import Client, WorkflowUpdateFailedError

from activities.runtime.settings import actor_for
from domain.commands import GiveAnswer, SignFor
from domain.config import DistrictConfig
from domain.enterprise import ItemSpec, RecordVisit
from domain.enterprise_plan import enterprise_for
from domain.limits import PayloadRejected
from domain.models import Answer, Ticket
from starter.enterprises import record_visit
from starter.tickets import ActionFailed, act, refusal
from starter.web.api import (
    AnswerBody,
    BacklogBody,
    ContactBody,
    ExemptionBody,
    ExtensionBody,
    PauseBody,
    ResumeBody,
    ReturnBody,
    SignForBody,
    api_app,
)
from starter.web.gateway_auth import signed_headers
from tests.support.bad_input_support import (
    CONFIGURED,
    TEXT,
    Bad,
    Running,
    Tally,
    bad_fields,
    each_site,
    encodable,
    exists,
    history_length,
    on_loop,
    settled,
    start_running,
    valid_payloads,
    workflow_updates,
)
from tests.support.district import make_config
from tests.support.helpers import sample_ticket
from worker import build_workers
from workflows.ticket import TicketWorkflow

pytestmark = pytest.mark.usefixtures("hypothesis_home")

CENTER_KEY = "bad-input-centre-key"
CGJ_KEY = "bad-input-cgj-key"


@dataclass
class Live:
    client: Client
    config: DistrictConfig
    running: Running
    http: httpx.AsyncClient
    lengths: dict[str, int]  # each running workflow's history length once settled

    async def unchanged(self) -> None:
        now = {w: await history_length(self.client, w) for w in self.running.ids.values()}
        assert now == self.lengths, "a refused input changed a running workflow"

    async def post(self, caller: str, path: str, body: Any = None, raw: bytes | None = None, key: str = "k1") -> Any:
        content = raw if raw is not None else json.dumps(body, ensure_ascii=False).encode()
        secret = CENTER_KEY if caller == "center" else CGJ_KEY
        headers = {"Content-Type": "application/json"}
        headers |= signed_headers(secret, caller, "POST", path, content, idempotency_key=key)
        return await self.http.post(path, content=content, headers=headers)


@pytest.fixture(scope="module")
async def live(dev_env: Any, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Live]:
    config = make_config(tmp_path_factory.mktemp("bad-input"))
    departments = [
        d.model_copy(update={"callback_secret": CGJ_KEY}) if d.code == "cgj" else d for d in config.departments
    ]
    config = config.model_copy(
        update={"center": config.center.model_copy(update={"api_secret": CENTER_KEY}), "departments": departments}
    )
    client = dev_env.client
    async with build_workers(client, config, departments=["cgj", "zjj"], center=True):
        running = await start_running(client, config)
        lengths = await settled(client, list(running.ids.values()))
        transport = httpx.ASGITransport(app=api_app(client, config))
        async with httpx.AsyncClient(transport=transport, base_url="http://hotline.test") as http:
            yield Live(client, config, running, http, lengths)


def assert_one_line(message: str) -> None:
    assert message and "\n" not in message and "\r" not in message and len(message) <= 500, message


async def refused_update(client: Client, workflow_id: str, update: str, payload: Any) -> str:
    try:
        await client.get_workflow_handle(workflow_id).execute_update(update, payload, id=str(uuid.uuid4()))
    except WorkflowUpdateFailedError as err:
        return refusal(err)
    raise AssertionError(f"{workflow_id} accepted {update}: {payload!r}")


# ----- raw update payloads -----


async def test_a_bad_update_payload_is_refused_naming_the_field_and_changes_nothing(live: Live, tally: Tally):
    run = on_loop(asyncio.get_running_loop())
    valid = valid_payloads(live.config)
    sites = {
        f"{workflow}.{name} {site}": strategy.map(lambda case, key=(workflow, name): (key, *case))  # type: ignore[misc]  # mypy cannot infer a lambda with a default argument
        for (workflow, name), update in workflow_updates().items()
        for site, strategy in bad_fields(
            update.arg_types[0], valid[update.arg_types[0]].model_dump(mode="json"), CONFIGURED
        ).items()
    }

    def check(case: tuple[tuple[str, str], Any, Bad]) -> None:
        (workflow, name), data, bad = case
        assume(encodable(data))
        tally("update_payloads", bad.kind)
        message = run(refused_update(live.client, live.running.ids[workflow], name, data))
        assert_one_line(message)
        assert bad.where in message, (workflow, name, bad, message)
        assert run(history_length(live.client, live.running.ids[workflow])) == live.lengths[live.running.ids[workflow]]

    await asyncio.to_thread(each_site, sites, 100, check)
    await live.unchanged()


async def test_oversized_payloads_never_reach_a_history(live: Live, tally: Tally):
    """Every field within its bound, the whole over 64 KiB: refused by the client before it is sent,
    and by the workflow's validator when sent raw; a first visit that big starts nothing."""
    config, client, running = live.config, live.client, live.running
    visit = valid_payloads(config)[RecordVisit]
    item = ItemSpec.model_validate({**visit.items[0].model_dump(), "measures": "措" * 2000})  # type: ignore[attr-defined]  # valid_payloads() types its samples BaseModel; this one is a RecordVisit
    big = visit.model_copy(update={"items": [item] * 50})

    tally("update_payloads", "oversized payload")
    message = await refused_update(client, running.ids["EnterpriseServiceWorkflow"], "record_visit", big)
    assert message.startswith("RecordVisit: ") and "more than the limit of 64 KiB" in message, message

    tally("update_payloads", "oversized payload")
    fresh = enterprise_for(config, f"qy-big-{uuid.uuid4().hex[:8]}", name="大企业")
    with pytest.raises(PayloadRejected, match=r"^visit: .* more than the limit of 64 KiB$"):
        await record_visit(
            client,
            config,
            actor=actor_for(config, "hft_li"),
            enterprise=fresh,
            visited_on=visit.visited_on,  # type: ignore[attr-defined]  # valid_payloads() types its samples BaseModel; this one is a RecordVisit
            members=["hft_li"],
            items=[item] * 50,
        )
    assert not await exists(client, f"enterprise-{fresh.id}")

    tally("update_payloads", "oversized payload")  # a command built without its checks: the client refuses it
    huge = GiveAnswer.model_construct(
        actor=actor_for(config, "cgj_sun"),
        answer=Answer.model_construct(text="长" * 30_000, resolved=True, evidence=[]),
    )
    with pytest.raises(ActionFailed, match=r"^GiveAnswer: .* more than the limit of 64 KiB$"):
        await act(client, running.ticket_no, TicketWorkflow.answer, huge)

    sign = SignFor(actor=actor_for(config, "cgj_sun"))
    for number in ("", "a b", "x" * 200, "T1/../T2", "工单1", "T1\n"):
        tally("update_payloads", "bad number")
        with pytest.raises(ActionFailed, match="不是有效的编号"):
            await act(client, number, TicketWorkflow.sign_for, sign)
    await live.unchanged()


# ----- the HTTP API -----


def intake_cases(config: DistrictConfig) -> dict[str, st.SearchStrategy[tuple[Any, Bad]]]:
    """Bad intake bodies: a field of the ticket made bad (received_at may be left out here), a code
    the configuration does not know, a receipt in the future."""
    valid = sample_ticket(ticket_no="API").model_dump(mode="json")
    sites = {
        name: strategy for name, strategy in bad_fields(Ticket, valid).items() if name != "received_at: missing field"
    }
    known = {"category": {c.name for c in config.categories}, "street": {s.name for s in config.streets}}
    sites["(unknown code)"] = st.sampled_from(sorted(known)).flatmap(
        lambda field: TEXT.filter(lambda v: v.strip() and v.strip() not in known[field]).map(
            lambda v: ({**valid, field: v}, Bad("unknown code", v, (field,)))
        )
    )
    sites["(in the future)"] = st.sampled_from(["2099-01-01T00:00:00+08:00", "2030-06-01T12:00:00Z"]).map(
        lambda at: ({**valid, "received_at": at}, Bad("bad date", at, ("received_at",)))
    )
    return sites


async def test_the_api_refuses_a_bad_ticket_naming_the_field_and_starts_nothing(live: Live, tally: Tally):
    run = on_loop(asyncio.get_running_loop())

    def check(case: tuple[Any, Bad]) -> None:
        data, bad = case
        number = f"API{uuid.uuid4().hex[:10]}"
        if isinstance(data, dict) and bad.path[:1] != ("ticket_no",):
            data = {**data, "ticket_no": number}
        assume(encodable(data))
        tally("submissions", f"api: {bad.kind}")
        response = run(live.post("center", "/api/tickets", data))
        assert response.status_code in (413, 422), response.text
        body = response.json()
        assert set(body) == {"detail", "field"}
        assert_one_line(body["detail"])
        assert bad.where in body["detail"], (bad, body)
        assert not run(exists(live.client, f"ticket-{number}"))

    await asyncio.to_thread(each_site, intake_cases(live.config), 60, check)

    raw = {
        "not JSON": b'{"ticket_no": "X1", ',
        "not UTF-8": b'{"ticket_no": "\xff\xfe"}',
        "nested too deeply": b"[" * 5000,
        "number too long": b"9" * 5000,
        "not an object": b"[1, 2]",
        "empty": b"",
        "too large": b'{"content": "' + b"x" * 300_000 + b'"}',
    }
    reasons = {"not UTF-8": "UTF-8", "nested too deeply": "嵌套层数过多", "number too long": "数字位数过多"}
    for kind, content in raw.items():
        tally("submissions", f"api: {kind}")
        response = await live.post("center", "/api/tickets", raw=content)
        assert response.status_code in (413, 422), (kind, response.text)
        assert_one_line(response.json()["detail"])
        assert reasons.get(kind, "") in response.json()["detail"], (kind, response.text)
    await live.unchanged()


CALLBACKS = {
    "sign-for": (SignForBody, {"actor": "cgj_sun"}),
    "contact": (ContactBody, {"actor": "cgj_sun", "note": "已联系"}),
    "answer": (AnswerBody, {"actor": "cgj_sun", "answer": {"text": "已清运", "resolved": True, "evidence": ["p.jpg"]}}),
    "return": (ReturnBody, {"actor": "cgj_sun", "reason": "非本单位职责"}),
    "extension": (ExtensionBody, {"actor": "cgj_sun", "working_days": 3, "reason": "需现场勘查"}),
    "exemption": (ExemptionBody, {"actor": "cgj_sun", "category": "不合理诉求", "evidence": "说明"}),
    "backlog": (BacklogBody, {"actor": "cgj_sun", "plan_date": "2030-06-30", "reason": "需列入改造计划"}),
    "pause": (PauseBody, {"actor": "cgj_sun", "category": "补充材料", "note": "待补充"}),
    "resume": (ResumeBody, {"actor": "cgj_sun", "note": "已补齐"}),
}


async def test_the_api_refuses_a_bad_callback_naming_the_field_and_changes_nothing(live: Live, tally: Tally):
    run = on_loop(asyncio.get_running_loop())
    path = f"/api/tickets/{live.running.ticket_no}"
    sites = {
        f"{action} {name}": strategy.map(lambda case, action=action: (action, *case))  # type: ignore[misc]  # mypy cannot infer a lambda with a default argument
        for action, (model, valid) in CALLBACKS.items()
        for name, strategy in bad_fields(model, valid).items()  # type: ignore[arg-type]  # the table's payloads are dicts, typed object
    }
    sites["(unknown person)"] = st.sampled_from(sorted(CALLBACKS)).flatmap(
        lambda action: st.sampled_from(["nobody", "zhang li", "cgj-sun"]).map(
            lambda who: (action, {**CALLBACKS[action][1], "actor": who}, Bad("unknown code", who, ("actor",)))  # type: ignore[dict-item]  # the table's payloads are dicts, typed object
        )
    )

    def check(case: tuple[str, Any, Bad]) -> None:
        action, data, bad = case
        assume(encodable(data))
        tally("update_payloads", f"api: {bad.kind}")
        response = run(live.post("cgj", f"{path}/{action}", data, key=uuid.uuid4().hex))
        assert response.status_code == 422, response.text
        detail = response.json()["detail"]
        assert_one_line(detail)
        assert bad.where in detail, (bad, detail)
        ticket = live.running.ids["TicketWorkflow"]
        assert run(history_length(live.client, ticket)) == live.lengths[ticket]

    await asyncio.to_thread(each_site, sites, 50, check)
    for key in ("", "a b", "a;b", "x" * 129):
        tally("update_payloads", "api: bad idempotency key")
        response = await live.post("cgj", f"{path}/sign-for", {"actor": "cgj_sun"}, key=key)
        assert response.status_code == 422 and "idempotency-key" in response.json()["detail"].lower(), response.text
    await live.unchanged()
