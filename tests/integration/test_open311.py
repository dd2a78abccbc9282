"""Open311 GeoReport v2 on the gateway (starter/web/open311.py), checked against the shapes of the
specification's own documented examples and exercised by an Open311 client over HTTP against a
real web server, dev server and workers: it files a request and reads it back as the workflow has it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from domain.config import DistrictConfig, Open311Client, Open311Settings
from domain.models import TicketSource, TicketStatus
from starter.tickets import submit, view
from starter.web.app import create_app, serving
from starter.web.open311 import new_api_key
from starter.web.users import demo_users
from tests.support.district import make_config
from tests.support.helpers import eventually, replaying_workers, sample_ticket

JURISDICTION = "haibowan.wuhai.gov.cn"

# The specification's documented example responses (GeoReport v2), typed from its field lists: one
# element of each list. Ids are written as strings here: the specification calls them strings though
# its examples print some bare.
SPEC_SERVICE = {
    "service_code": "001",
    "service_name": "Cans left out 24x7",
    "description": "Garbage or recycling cans that have been left out for more than 24 hours after collection.",
    "metadata": True,
    "type": "realtime",
    "keywords": "lorem, ipsum, dolor",
    "group": "sanitation",
}
SPEC_SERVICE_DEFINITION = {
    "service_code": "DMV66",
    "attributes": [
        {
            "variable": True,
            "code": "WHISHETN",
            "datatype": "singlevaluelist",
            "required": True,
            "datatype_description": None,
            "order": 1,
            "description": "What is the ticket/tag/DL number?",
            "values": [{"key": "123", "name": "Ford"}],
        }
    ],
}
SPEC_POST_RESPONSE = {"service_request_id": "293944", "service_notice": "The City will inspect …", "account_id": None}
SPEC_REQUEST = {
    "service_request_id": "638344",
    "status": "closed",
    "status_notes": "Duplicate request.",
    "service_name": "Sidewalk and Curb Issues",
    "service_code": "006",
    "description": None,
    "agency_responsible": None,
    "service_notice": None,
    "requested_datetime": "2010-04-14T06:37:38-08:00",
    "updated_datetime": "2010-04-14T06:37:38-08:00",
    "expected_datetime": "2010-04-15T06:37:38-08:00",
    "address": "8TH AVE and JUDAH ST",
    "address_id": "545483",
    "zipcode": "94122",
    "lat": 37.762221815,
    "long": -122.4651145,
    "media_url": "http://city.org/media/638344.jpg",
}
SPEC_ERROR = {"code": 403, "description": "Invalid api_key"}


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def assert_shape(ours: dict[str, Any], spec: dict[str, Any]) -> None:
    """The same fields, each of the same JSON type where both have a value (null is always allowed)."""
    assert set(ours) == set(spec), set(ours) ^ set(spec)
    for key, value in ours.items():
        if value is not None and spec[key] is not None:
            assert _kind(value) == _kind(spec[key]), (key, value)


@dataclass
class Open311Site:
    url: str
    key: str
    client: Client
    config: DistrictConfig

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=f"{self.url}/open311/v2", timeout=30)


@pytest.fixture(scope="module")
async def site(dev_env, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Open311Site]:
    folder = tmp_path_factory.mktemp("open311")
    key, digest = new_api_key()
    _, other = new_api_key()
    clients = [
        Open311Client(name="other-app", api_key_hash=other),
        Open311Client(name="城市随手拍", api_key_hash=digest),
    ]
    config = make_config(folder)
    config = DistrictConfig.model_validate(
        {**config.model_dump(), "open311": Open311Settings(jurisdiction_id=JURISDICTION, clients=clients).model_dump()}
    )
    app = create_app(dev_env.client, config, demo_users(folder / "users.yaml", config, ["cgj_sun"]), secret=b"s" * 32)
    async with replaying_workers(dev_env.client, config), serving(app) as url:
        yield Open311Site(url, key, dev_env.client, config)


def filing(site: Open311Site, **overrides: str) -> dict[str, str]:
    services = {c.name: f"{i:03d}" for i, c in enumerate(site.config.categories, start=1)}
    form = {
        "api_key": site.key,
        "jurisdiction_id": JURISDICTION,
        "service_code": services["市容环卫"],
        "lat": "39.6553",
        "long": "106.7942",
        "address_string": f"滨河街道镇北社区{id(overrides)}号楼下",
        "attribute[street]": "滨河街道",
        "description": "楼下垃圾桶满溢两天无人清运，气味很大。",
        "first_name": "小明",
        "last_name": "王",
        "email": "wang@example.cn",
        "phone": "13900001111",
    }
    form.update(overrides)
    return {k: v for k, v in form.items() if v != ""}


async def test_services_are_the_configured_categories(site: Open311Site) -> None:
    async with site.http() as http:
        response = await http.get("/services.json", params={"jurisdiction_id": JURISDICTION, "api_key": site.key})
        assert response.status_code == 200, response.text
        listed = response.json()
        assert [s["service_name"] for s in listed] == [c.name for c in site.config.categories]
        for service in listed:
            assert_shape(service, SPEC_SERVICE)
            assert service["type"] in ("realtime", "batch", "blackbox")
        definition = await http.get(f"/services/{listed[0]['service_code']}.json", params={"api_key": site.key})
    body = definition.json()
    assert set(body) == set(SPEC_SERVICE_DEFINITION)
    [street] = body["attributes"]
    assert set(street) == set(SPEC_SERVICE_DEFINITION["attributes"][0])
    assert [v["key"] for v in street["values"]] == [s.name for s in site.config.streets]


async def test_errors_are_the_specifications_list(site: Open311Site) -> None:
    async with site.http() as http:
        cases = [
            (await http.get("/services.json", params={"api_key": site.key, "jurisdiction_id": "elsewhere"}), 404),
            (await http.get("/services.json"), 403),
            (await http.get("/services.json", params={"api_key": "not-a-key"}), 403),
            (await http.post("/requests.json", data=filing(site, phone="")), 400),
            (await http.post("/requests.json", data=filing(site, service_code="999")), 400),
            (await http.post("/requests.json", data=filing(site, lat="91")), 400),
            (await http.post("/requests.json", data=filing(site, **{"attribute[street]": "火星街道"})), 400),
            (await http.get("/requests.json", params={"api_key": site.key, "status": "pending"}), 400),
            (await http.get("/requests/OSNOSUCH1.json", params={"api_key": site.key}), 404),
        ]
    for response, status in cases:
        assert response.status_code == status, response.text
        [error] = response.json()
        assert_shape(error, SPEC_ERROR)
        assert error["code"] == status and error["description"]
    assert "phone" in cases[3][0].json()[0]["description"]
    assert "attribute[street]" in cases[6][0].json()[0]["description"]


async def test_an_open311_client_files_a_request_and_reads_it_back(site: Open311Site) -> None:
    async with site.http() as http:
        filed = await http.post("/requests.json", data=filing(site))
        assert filed.status_code == 201, filed.text
        [receipt] = filed.json()
        assert_shape(receipt, SPEC_POST_RESPONSE)
        request_id = receipt["service_request_id"]

        # the request is a ticket in the real workflow, with its position, dispatched like any other
        record = await eventually(site.client, request_id, lambda r: r.status is TicketStatus.AWAITING_SIGN_FOR)
        assert record.ticket.source is TicketSource.OPEN311
        assert record.ticket.location is not None
        assert (record.ticket.location.lat, record.ticket.location.long) == (39.6553, 106.7942)
        assert (record.ticket.category, record.ticket.street) == ("市容环卫", "滨河街道")

        one = await http.get(
            f"/requests/{request_id}.json", params={"api_key": site.key, "jurisdiction_id": JURISDICTION}
        )
        assert one.status_code == 200, one.text
        [shown] = one.json()
        assert_shape(shown, SPEC_REQUEST)
        assert (shown["service_request_id"], shown["status"], shown["lat"], shown["long"]) == (
            request_id,
            "open",
            39.6553,
            106.7942,
        )
        assert shown["agency_responsible"] == record.assignment.department_name  # by name
        assert shown["service_name"] == "市容环卫" and shown["expected_datetime"] is not None
        for private in ("王", "小明", "13900001111", "wang@example.cn"):
            assert private not in one.text

        by_id = await http.get("/requests.json", params={"api_key": site.key, "service_request_id": request_id})
        assert [r["service_request_id"] for r in by_id.json()] == [request_id]
        closed = await http.get(
            "/requests.json", params={"api_key": site.key, "service_request_id": request_id, "status": "closed"}
        )
        assert closed.json() == []

        async def listed() -> list[str]:
            found = await http.get("/requests.json", params={"api_key": site.key, "status": "open"})
            assert found.status_code == 200, found.text
            return [r["service_request_id"] for r in found.json()]

        for _ in range(50):  # visibility is eventually consistent
            if request_id in await listed():
                break
            await _pause()
        assert request_id in await listed()


async def test_hotline_tickets_are_not_read_through_open311(site: Open311Site) -> None:
    ticket = sample_ticket()
    await submit(site.client, site.config, ticket)
    assert (await view(site.client, ticket.ticket_no)).ticket.source is TicketSource.HOTLINE
    async with site.http() as http:
        response = await http.get(f"/requests/{ticket.ticket_no}.json", params={"api_key": site.key})
        listing = await http.get("/requests.json", params={"api_key": site.key, "service_request_id": ticket.ticket_no})
    assert response.status_code == 404 and listing.json() == []


async def _pause() -> None:
    await asyncio.sleep(0.2)
