"""Open311 GeoReport v2 (https://wiki.open311.org/GeoReport_v2) on the gateway, JSON only:

    GET  /open311/v2/services.json                 the services offered (the configured categories)
    GET  /open311/v2/services/{service_code}.json  a service's definition (its 镇街 attribute)
    POST /open311/v2/requests.json                 file a request: a ticket, through the same intake as the hotline
    GET  /open311/v2/requests.json                 the requests filed through Open311 (by id, service, status, dates)
    GET  /open311/v2/requests/{id}.json            one request

Every call carries `api_key` (each client has its own; the configuration keeps its argon2 hash,
`open311.clients`), and `jurisdiction_id`, when given, must be the configured one. Unlike the
specification's open reads, the district lets only its clients read, and only what was filed
through Open311: the description, address and position the client gave, never the caller's name,
phone or e-mail, nor the centre's notes. Errors are the specification's list of {code, description}.

Our tickets need a 镇街 and a phone for the callback (回访): the service definitions ask for the
street as the attribute `street` (or a street named in `address_string`), and `phone` is required.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Coroutine, Mapping
from datetime import UTC, datetime
from typing import Any

import structlog
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import ValidationError
from temporalio.service import RPCError

from domain import search_attributes as sa
from domain.calendar import CHINA_TZ
from domain.config import DistrictConfig, Open311Client, Open311Service, Open311Settings
from domain.intake import TicketRejected
from domain.limits import PayloadRejected
from domain.models import Citizen, GeoPoint, Ticket, TicketSource
from domain.public_status import PROGRESS
from domain.ticket_record import TicketRecord
from starter.tickets import ActionFailed, submit, view

log = structlog.get_logger(__name__)
PREFIX = "/open311/v2"
MAX_REQUESTS = 100  # a requests.json listing returns at most this many (the newest)
TITLE_CHARS = 30
ANONYMOUS = "网上诉求人"
NUMBER_PREFIX = "OS"  # the ticket numbers of requests filed through Open311
_hasher = PasswordHasher()


class Open311Error(Exception):
    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description

    def response(self) -> JSONResponse:
        return JSONResponse([{"code": self.code, "description": self.description}], status_code=self.code)


class Open311Route(APIRoute):
    """Every refusal, the framework's own validation errors included, in the specification's error format."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def spec_errors(request: Request) -> Response:
            try:
                return await handler(request)
            except Open311Error as err:
                return err.response()
            except RequestValidationError as err:
                first = err.errors()[0] if err.errors() else {}
                where = ".".join(str(p) for p in first.get("loc", ())[1:]) or "request"
                return Open311Error(400, f"{where}: {first.get('msg', 'invalid')}").response()

        return spec_errors


router = APIRouter(prefix=PREFIX, route_class=Open311Route, tags=["Open311 GeoReport v2"])


# ----- configuration -----


def settings(request: Request) -> tuple[DistrictConfig, Open311Settings]:
    config: DistrictConfig = request.app.state.config
    if config.open311 is None:
        raise Open311Error(404, "Open311 is not enabled for this jurisdiction")
    return config, config.open311


def services(config: DistrictConfig) -> list[Open311Service]:
    """The services offered: as configured, else every category coded by its position."""
    assert config.open311 is not None
    if config.open311.services:
        return list(config.open311.services)
    return [
        Open311Service(code=f"{i:03d}", category=c.name, description=c.description)
        for i, c in enumerate(config.categories, start=1)
    ]


def _admitted(
    request: Request, jurisdiction_id: str | None, api_key: str | None
) -> tuple[DistrictConfig, Open311Client]:
    """What every Open311 call checks first: Open311 is on, the jurisdiction (if given) is ours, and
    the api_key is a client's. The configuration and that client."""
    config, open311 = settings(request)
    if jurisdiction_id is not None and jurisdiction_id != open311.jurisdiction_id:
        raise Open311Error(404, f"jurisdiction_id: unknown '{jurisdiction_id}'")
    return config, client_for(request, api_key)


def client_for(request: Request, api_key: str | None) -> Open311Client:
    """The client whose key this is (argon2 against each configured hash; a key once verified is
    remembered by its SHA-256 for this process, so a busy client costs one hash, not one per call)."""
    _, open311 = settings(request)
    if not api_key:
        raise Open311Error(403, "api_key: required")
    cache: dict[str, str] = request.app.state.__dict__.setdefault("open311_keys", {})
    digest = hashlib.sha256(api_key.encode()).hexdigest()
    clients = {c.name: c for c in open311.clients}
    known = cache.get(digest)
    if known in clients:
        return clients[known]
    for candidate in open311.clients:
        try:
            _hasher.verify(candidate.api_key_hash, api_key)
        except (VerificationError, InvalidHashError):
            continue
        cache[digest] = candidate.name
        return candidate
    raise Open311Error(403, "api_key: invalid")


def new_api_key() -> tuple[str, str]:
    """A new client key and the argon2 hash to put in `open311.clients`."""
    key = uuid.uuid4().hex + uuid.uuid4().hex
    return key, _hasher.hash(key)


# ----- services -----


def _service_json(service: Open311Service, config: DistrictConfig) -> dict[str, Any]:
    description = service.description or next(
        (c.description for c in config.categories if c.name == service.category), ""
    )
    return {
        "service_code": service.code,
        "service_name": service.category,
        "description": description or service.category,
        "metadata": True,  # the 镇街 attribute: services/{code}.json
        "type": "batch",  # handled by people over days, not at once
        "keywords": service.category,
        "group": config.district,
    }


@router.get("/services.json", summary="Open311 服务列表 (services)")
async def list_services(request: Request, jurisdiction_id: str | None = None, api_key: str | None = None) -> Response:
    config, _ = _admitted(request, jurisdiction_id, api_key)
    return JSONResponse([_service_json(s, config) for s in services(config)])


@router.get("/services/{service_code}.json", summary="Open311 服务定义 (service definition)")
async def service_definition(
    request: Request, service_code: str, jurisdiction_id: str | None = None, api_key: str | None = None
) -> Response:
    config, _ = _admitted(request, jurisdiction_id, api_key)
    service = _service(config, service_code, missing=404)
    streets = [{"key": s.name, "name": s.name} for s in config.streets]
    attribute = {
        "variable": True,
        "code": "street",
        "datatype": "singlevaluelist",
        "required": True,
        "datatype_description": "问题所在的镇街（街道、镇）",
        "order": 1,
        "description": "镇街",
        "values": streets,
    }
    return JSONResponse({"service_code": service.code, "attributes": [attribute]})


def _service(config: DistrictConfig, code: str | None, missing: int = 400) -> Open311Service:
    """The service of `code`; an error with status `missing` (400 for a parameter, 404 for a path) if none."""
    if code is None:
        raise Open311Error(400, "service_code: required")
    found = next((s for s in services(config) if s.code == code), None)
    if found is None:
        raise Open311Error(missing, f"service_code: unknown '{code}'")
    return found


# ----- requests -----


def _form_value(form: Mapping[str, Any], key: str) -> str | None:
    value = form.get(key)
    if value is None or not isinstance(value, str):
        return None
    return value.strip() or None


def ticket_from(config: DistrictConfig, form: Mapping[str, Any], now: datetime) -> Ticket:
    """A POST requests.json's fields as a ticket (Open311 errors naming the field)."""
    service = _service(config, _form_value(form, "service_code"))
    description = _form_value(form, "description")
    if description is None:
        raise Open311Error(400, "description: required")
    phone = _form_value(form, "phone")
    if phone is None:
        raise Open311Error(400, "phone: required (the hotline calls the citizen back)")
    address = _form_value(form, "address_string")
    lat, long = _form_value(form, "lat"), _form_value(form, "long")
    if (lat is None) != (long is None):
        raise Open311Error(400, "lat, long: give both or neither")
    if lat is None and address is None and _form_value(form, "address_id") is None:
        raise Open311Error(400, "lat/long, address_string or address_id: one is required")
    location = None
    if lat is not None and long is not None:
        try:
            location = GeoPoint(lat=float(lat), long=float(long))
        except (ValueError, ValidationError):
            raise Open311Error(400, "lat, long: not a position (latitude -90…90, longitude -180…180)") from None
    streets = [s.name for s in config.streets]
    street = _form_value(form, "attribute[street]")
    if street is None and address is not None:
        street = next((s for s in streets if s in address), None)
    if street is None:
        raise Open311Error(400, "attribute[street]: required (镇街; see services/{service_code}.json)")
    if street not in streets:
        raise Open311Error(400, f"attribute[street]: unknown '{street}'")
    name = " ".join(p for p in (_form_value(form, "last_name"), _form_value(form, "first_name")) if p) or ANONYMOUS
    media = _form_value(form, "media_url")
    content = description + (f"\n附件：{media}" if media else "")
    number = f"{NUMBER_PREFIX}{now.astimezone(CHINA_TZ):%Y%m%d}{uuid.uuid4().hex[:8].upper()}"
    try:
        return Ticket(
            ticket_no=number,
            received_at=now,
            category=service.category,
            street=street,
            title=" ".join(description.split())[:TITLE_CHARS],
            content=content,
            citizen=Citizen(name=name[:64], phone=phone, address=address),
            source=TicketSource.OPEN311,
            location=location,
        )
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise Open311Error(400, f"{_OPEN311_FIELD.get(where, where)}: {first['msg']}") from None


_OPEN311_FIELD = {"citizen.phone": "phone", "citizen.name": "first_name", "citizen.address": "address_string"}


@router.post("/requests.json", status_code=201, summary="Open311 提交诉求 (POST service request)")
async def post_request(request: Request) -> Response:
    form = await request.form()
    config, client = _admitted(request, _form_value(form, "jurisdiction_id"), _form_value(form, "api_key"))
    ticket = ticket_from(config, form, datetime.now(UTC))
    try:
        await submit(request.app.state.client, config, ticket)
    except TicketRejected as err:
        raise Open311Error(400, str(err)) from None
    except PayloadRejected as err:
        raise Open311Error(400, str(err)) from None
    except RPCError as err:
        raise Open311Error(503, f"暂时无法受理：{err.message}") from None
    log.info("open311_request_filed", client=client.name, ticket_no=ticket.ticket_no)
    notice = "已受理，将按 12345 热线的时限办理并回访"
    return JSONResponse(
        [{"service_request_id": ticket.ticket_no, "service_notice": notice, "account_id": None}], status_code=201
    )


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.astimezone(CHINA_TZ).isoformat(timespec="seconds")


def request_json(record: TicketRecord, config: DistrictConfig) -> dict[str, Any]:
    """A ticket as an Open311 service request (what the client gave, and how far it has got)."""
    ticket = record.ticket
    code = next((s.code for s in services(config) if s.category == ticket.category), None)
    updated = max([a.at for a in record.actions], default=ticket.received_at)
    location = ticket.location
    return {
        "service_request_id": ticket.ticket_no,
        "status": "closed" if record.status.is_final else "open",
        "status_notes": PROGRESS.get(record.status),
        "service_name": ticket.category,
        "service_code": code,
        "description": ticket.content,
        "agency_responsible": record.assignment.department_name if record.assignment else None,
        "service_notice": None,
        "requested_datetime": _iso(ticket.received_at),
        "updated_datetime": _iso(updated),
        "expected_datetime": _iso(None if record.status.is_final else record.resolve_due),
        "address": ticket.citizen.address,
        "address_id": None,
        "zipcode": None,
        "lat": location.lat if location else None,
        "long": location.long if location else None,
        "media_url": None,
    }


async def _open311_record(request: Request, ticket_no: str) -> TicketRecord | None:
    if not ticket_no.startswith(NUMBER_PREFIX) or not ticket_no.isalnum():
        return None  # only what was filed through Open311
    try:
        record = await view(request.app.state.client, ticket_no)
    except ActionFailed:
        return None
    except RPCError as err:
        raise Open311Error(503, f"暂时无法查询：{err.message}") from None
    return record if record.ticket.source is TicketSource.OPEN311 else None


@router.get("/requests/{service_request_id}.json", summary="Open311 查询一条诉求 (GET service request)")
async def get_request(
    request: Request, service_request_id: str, jurisdiction_id: str | None = None, api_key: str | None = None
) -> Response:
    config, _ = _admitted(request, jurisdiction_id, api_key)
    record = await _open311_record(request, service_request_id)
    if record is None:
        raise Open311Error(404, f"service_request_id: no request '{service_request_id}'")
    return JSONResponse([request_json(record, config)])


def _date(name: str, text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise Open311Error(400, f"{name}: not a w3c date-time '{text}'") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=CHINA_TZ)


@router.get("/requests.json", summary="Open311 查询诉求 (GET service requests)")
async def list_requests(
    request: Request,
    jurisdiction_id: str | None = None,
    api_key: str | None = None,
    service_request_id: str | None = None,
    service_code: str | None = None,
    start_date: str | None = None,
    end_date: str | None = None,
    status: str | None = None,
) -> Response:
    config, _ = _admitted(request, jurisdiction_id, api_key)
    wanted = {s.strip() for s in (status or "").split(",") if s.strip()}
    if wanted - {"open", "closed"}:
        raise Open311Error(400, f"status: open or closed, not '{status}'")
    category = _service(config, service_code).category if service_code else None
    start, end = _date("start_date", start_date), _date("end_date", end_date)
    if service_request_id:
        ids = [i.strip() for i in service_request_id.split(",") if i.strip()][:MAX_REQUESTS]
    else:
        query = (
            f"WorkflowType = 'TicketWorkflow' AND WorkflowId STARTS_WITH 'ticket-{NUMBER_PREFIX}'"
            + (f" AND {sa.CATEGORY.name} = '{category}'" if category and "'" not in category else "")
            + (f" AND {sa.RECEIVED_AT.name} >= '{start.isoformat()}'" if start else "")
            + (f" AND {sa.RECEIVED_AT.name} < '{end.isoformat()}'" if end else "")
        )
        try:
            ids = [wf.id.removeprefix("ticket-") async for wf in request.app.state.client.list_workflows(query)]
        except RPCError as err:
            raise Open311Error(503, f"暂时无法查询：{err.message}") from None
        ids = ids[:MAX_REQUESTS]
    found = []
    for ticket_no in ids:
        record = await _open311_record(request, ticket_no)
        if record is None:
            continue
        shown = request_json(record, config)
        if wanted and shown["status"] not in wanted:
            continue
        if category and record.ticket.category != category:
            continue
        found.append(shown)
    return JSONResponse(found)
