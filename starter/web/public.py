"""工单查询: a citizen follows their own ticket with its number and the last four digits of their
phone, on a page (`GET/POST /status`) or as JSON (`GET /api/public/status?no=…&phone4=…`, or
`POST /api/public/status` with the same two fields, which keeps the digits out of access logs).

No sign-in, so guessing is made useless rather than trusted away:
- every lookup from an address counts against a moving window (the `limits` package, in memory);
- every failed lookup gets the same refusal, status and body, whether the ticket does not exist or
  the digits are wrong, and every answer takes at least `LOOKUP_FLOOR` seconds, so neither the text
  nor the time tells which;
- what is shown is `domain.public_status.PublicStatus`: progress, department by name, dates, answer.
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from pydantic import BaseModel, Field
from temporalio.service import RPCError

from domain.public_status import PHONE_DIGITS, REFUSED, PublicStatus, phone_matches, public_status
from starter.tickets import ActionFailed, view
from starter.web.pages import render

log = structlog.get_logger(__name__)
router = APIRouter()

LOOKUPS_PER_ADDRESS = 10
LOOKUP_WINDOW_MINUTES = 10
LOOKUP_FLOOR = 0.8  # seconds: longer than a lookup takes, found or not
TICKET_NO = re.compile(r"^[A-Za-z0-9-]{1,40}$")
BAD_DIGITS = f"请输入来电手机号的后{PHONE_DIGITS}位数字"
TOO_MANY = "查询过于频繁，请 {minutes} 分钟后再试"
UNAVAILABLE = "查询服务暂时不可用，请稍后再试"


class StatusLookups:
    """Lookups per client address over a moving window (this process's memory, bounded by it)."""

    def __init__(self, per_address: int = LOOKUPS_PER_ADDRESS, minutes: int = LOOKUP_WINDOW_MINUTES) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._item = RateLimitItemPerMinute(per_address, minutes)

    def take(self, address: str) -> int | None:
        """Count a lookup from `address`; None if allowed, else the minutes until it may try again."""
        if self._limiter.hit(self._item, "status", address):
            return None
        reset = self._limiter.get_window_stats(self._item, "status", address).reset_time
        return max(1, -int(-(reset - time.time()) // 60))


class Refusal(BaseModel):
    detail: str


class StatusQuery(BaseModel):
    no: str = Field(max_length=64, description="工单号")
    phone4: str = Field(max_length=16, description="来电手机号后四位")


class Outcome(BaseModel):
    """What a lookup gives: the ticket, or a refusal with its HTTP status."""

    status_code: int
    found: PublicStatus | None = None
    detail: str | None = None


def _lookups(request: Request) -> StatusLookups:
    lookups = getattr(request.app.state, "status_lookups", None)
    if lookups is None:
        lookups = request.app.state.status_lookups = StatusLookups()
    return lookups


async def lookup(request: Request, ticket_no: str, digits: str) -> Outcome:
    """Look a ticket up for a citizen: rate-limited per address, one refusal for every miss."""
    address = request.client.host if request.client else "unknown"
    wait = _lookups(request).take(address)
    if wait is not None:
        return Outcome(status_code=429, detail=TOO_MANY.format(minutes=wait))
    digits = digits.strip()
    if not re.fullmatch(rf"\d{{{PHONE_DIGITS}}}", digits):
        return Outcome(status_code=422, detail=BAD_DIGITS)  # says nothing about the ticket
    started = time.monotonic()
    outcome = Outcome(status_code=404, detail=REFUSED)
    ticket_no = ticket_no.strip()
    if TICKET_NO.fullmatch(ticket_no):
        try:
            record = await view(request.app.state.client, ticket_no)
            if phone_matches(record.ticket.citizen.phone, digits):
                outcome = Outcome(status_code=200, found=public_status(record))
        except ActionFailed:
            pass  # no such ticket: the same refusal as wrong digits
        except RPCError as err:
            log.warning("status_lookup_unavailable", error=err.message)
            outcome = Outcome(status_code=503, detail=UNAVAILABLE)
    log.info("status_lookup", found=outcome.status_code == 200)  # never the number or the digits
    await asyncio.sleep(max(0.0, LOOKUP_FLOOR - (time.monotonic() - started)))
    return outcome


def _json(outcome: Outcome) -> Response:
    headers = {"Cache-Control": "no-store"}
    if outcome.found is not None:
        return JSONResponse(outcome.found.model_dump(mode="json"), headers=headers)
    return JSONResponse({"detail": outcome.detail}, status_code=outcome.status_code, headers=headers)


_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": PublicStatus},
    404: {"model": Refusal, "description": REFUSED},
    422: {"model": Refusal},
    429: {"model": Refusal},
}


@router.get(
    "/api/public/status",
    operation_id="public_status",
    summary="工单查询（市民）",
    description="凭工单号与来电手机号后四位查询办理进度；无需密钥，按来源地址限频。查不到与号码不符的回复完全相同。",
    responses=_RESPONSES,
    response_model=None,
)
async def status_json(
    request: Request,
    no: Annotated[str, Query(max_length=64, description="工单号")],
    phone4: Annotated[str, Query(max_length=16, description="来电手机号后四位")],
) -> Response:
    return _json(await lookup(request, no, phone4))


@router.post(
    "/api/public/status",
    operation_id="public_status_post",
    summary="工单查询（市民，POST）",
    description="同 GET，参数放在 JSON 正文中（不进访问日志）。",
    responses=_RESPONSES,
    response_model=None,
)
async def status_json_post(request: Request, body: StatusQuery) -> Response:
    return _json(await lookup(request, body.no, body.phone4))


@router.get("/status", include_in_schema=False)
async def status_page(request: Request) -> HTMLResponse:
    return _page(request, Outcome(status_code=200), "")


@router.post("/status", include_in_schema=False)
async def status_form(
    request: Request,
    no: Annotated[str, Form(max_length=64)] = "",
    phone4: Annotated[str, Form(max_length=16)] = "",
) -> HTMLResponse:
    return _page(request, await lookup(request, no, phone4), no.strip())


def _page(request: Request, outcome: Outcome, ticket_no: str) -> HTMLResponse:
    response = render(
        request,
        "status.html",
        status_code=outcome.status_code,
        title="工单查询",
        found=outcome.found,
        refused=outcome.detail,
        ticket_no=ticket_no if TICKET_NO.fullmatch(ticket_no) else "",
    )
    response.headers["Cache-Control"] = "no-store"
    return response
