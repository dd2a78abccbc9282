"""镇街吹哨、部门答卷: a street's whistles (blow one, evaluate each department's answer, withdraw),
and the named departments' part (report in, answer). Each action is the CLI's, through
`starter.whistles`; the whistle's own checks decide what is offered and the workflow decides."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from domain import search_attributes as sa
from domain.commands import EvaluateDepartment, ReportIn, WhistleAnswer, Withdraw
from domain.intake import TicketRejected
from domain.models import Role, Satisfaction
from domain.whistle import PartStatus, WhistleRecord
from starter.tickets import ActionFailed
from starter.web.pages import Forbidden, NotFound, client_of, config_of, form_of, go, render, signed_in, workflow_link
from starter.web.pages_tickets import BadInput, clock_view, passes, quoted
from starter.web.users import Viewer
from starter.whistles import act_whistle, blow, view_whistle
from workflows.whistle import WhistleWorkflow

router = APIRouter(include_in_schema=False)
LIST_LIMIT = 50


def can_view(record: WhistleRecord, viewer: Viewer) -> bool:
    if viewer.of_centre:
        return True
    if viewer.is_(Role.STREET):
        return record.input.street == viewer.street
    if viewer.is_(Role.CLERK):
        return any(part.assignment.department == viewer.department for part in record.parts)
    return False


@dataclass
class WhistleAllowed:
    report_in: bool = False
    answer: bool = False
    withdraw: bool = False
    evaluate: tuple[str, ...] = ()  # departments the viewer may evaluate now


def allowed_on(record: WhistleRecord, viewer: Viewer) -> WhistleAllowed:
    actor = viewer.actor
    if actor is None:
        return WhistleAllowed()
    return WhistleAllowed(
        report_in=passes(lambda: record.check_report_in(actor)),
        answer=passes(lambda: record.check_answer(actor)),
        withdraw=passes(lambda: record.check_withdraw(actor)),
        evaluate=tuple(
            p.assignment.department
            for p in record.parts
            if passes(partial(record.check_evaluate, actor, p.assignment.department))
        ),
    )


async def _records(request: Request, query: str) -> list[WhistleRecord]:
    client = client_of(request)
    ids = [wf.id async for wf in client.list_workflows(query, limit=LIST_LIMIT)]
    gate = asyncio.Semaphore(8)

    async def one(workflow_id: str) -> WhistleRecord | None:
        async with gate:
            try:
                return await asyncio.wait_for(view_whistle(client, workflow_id), 5.0)
            except (ActionFailed, TimeoutError):
                return None

    return [r for r in await asyncio.gather(*(one(i) for i in ids)) if r is not None]


@router.get("/whistles", response_class=HTMLResponse)
async def whistles(request: Request) -> Response:
    viewer = signed_in(request)
    query = "WorkflowType = 'WhistleWorkflow'"
    if viewer.is_(Role.STREET):
        query += f" AND {sa.STREET.name} = {quoted(viewer.street or '')}"
        title = f"{viewer.street} 吹哨"
    elif viewer.is_(Role.CLERK):
        title = "点名本单位的吹哨"
    elif viewer.of_centre:
        title = "镇街吹哨"
    else:
        raise Forbidden(f"{viewer.name}（{viewer.role_label}）无权查看吹哨")
    records = [r for r in await _records(request, query) if can_view(r, viewer)]
    config = config_of(request)
    return render(
        request,
        "whistles.html",
        title=title,
        records=records,
        may_blow=viewer.is_(Role.STREET),
        kinds=config.whistle_kinds,
        departments=config.departments,
        refresh=None,
    )


@router.post("/whistles")
async def blow_whistle(request: Request) -> Response:
    viewer = signed_in(request)
    form = await form_of(request)
    if viewer.actor is None or not viewer.is_(Role.STREET):
        raise Forbidden(f"{viewer.name}（{viewer.role_label}）不是镇街工作人员，不能吹哨")
    departments = [code for code in form.get("departments", "").split(",") if code]
    try:
        whistle = await blow(
            client_of(request),
            config_of(request),
            raised_by=viewer.actor,
            kind=form.get("kind", ""),
            title=form.get("title", "").strip(),
            content=form.get("content", "").strip(),
            departments=departments,
        )
    except (TicketRejected, ActionFailed) as err:
        return go(request, "/whistles", f"未能吹哨：{err}", ok=False)
    except ValidationError as err:
        field = ".".join(str(p) for p in err.errors()[0]["loc"])
        return go(
            request,
            "/whistles",
            f"未能吹哨：请填写{ {'title': '事项标题', 'content': '情况说明'}.get(field, field) }",
            ok=False,
        )
    return go(request, f"/whistles/{whistle.whistle_no}", f"已吹哨 {whistle.whistle_no}，已通知被点名部门")


@router.get("/whistles/{whistle_no}", response_class=HTMLResponse)
async def whistle_page(request: Request, whistle_no: str) -> Response:
    viewer = signed_in(request)
    try:
        record = await view_whistle(client_of(request), whistle_no)
    except ActionFailed as err:
        raise NotFound(str(err)) from None
    if not can_view(record, viewer):
        raise Forbidden(f"吹哨 {whistle_no} 与{viewer.name}（{viewer.role_label}）无关，无权查看")
    now = datetime.now(UTC)
    return render(
        request,
        "whistle.html",
        title=f"吹哨 {record.input.whistle_no}",
        record=record,
        allowed=allowed_on(record, viewer),
        clocks={p.assignment.department: [clock_view(c, now) for c in p.clocks] for p in record.parts},
        satisfactions=[s.value for s in Satisfaction],
        answered=PartStatus.ANSWERED,
        workflow_url=workflow_link(request, f"whistle-{record.input.whistle_no}"),
        refresh=None,
    )


def _command(action: str, viewer: Viewer, form: dict[str, str]) -> tuple[Any, Any]:
    actor = viewer.actor
    assert actor is not None
    if action == "report-in":
        return WhistleWorkflow.report_in, ReportIn(actor=actor, note=form.get("note", ""))
    if action == "answer":
        text = form.get("text", "").strip()
        if not text:
            raise BadInput("请填写答卷内容")
        return WhistleWorkflow.answer, WhistleAnswer(actor=actor, text=text)
    if action == "evaluate":
        try:
            satisfaction = Satisfaction(form.get("satisfaction", ""))
        except ValueError:
            raise BadInput("请选择评价：满意、基本满意 或 不满意") from None
        command = EvaluateDepartment(
            actor=actor,
            department=form.get("department", ""),
            satisfaction=satisfaction,
            comment=form.get("comment", ""),
        )
        return WhistleWorkflow.evaluate, command
    if action == "withdraw":
        reason = form.get("reason", "").strip()
        if not reason:
            raise BadInput("请填写撤回理由")
        return WhistleWorkflow.withdraw, Withdraw(actor=actor, reason=reason)
    raise NotFound(f"没有名为 {action} 的吹哨操作")


@router.post("/whistles/{whistle_no}/actions/{action}")
async def whistle_action(request: Request, whistle_no: str, action: str) -> Response:
    viewer = signed_in(request)
    form = await form_of(request)
    page = f"/whistles/{whistle_no}"
    if viewer.actor is None:
        raise Forbidden(f"{viewer.name}（{viewer.role_label}）的账号只能查看，不能办理")
    try:
        update, command = _command(action, viewer, form)
        result = await act_whistle(client_of(request), whistle_no, update, command)
    except BadInput as err:
        return go(request, page, str(err), ok=False)
    except ActionFailed as refused:
        return go(request, page, str(refused), ok=False)
    return go(request, page, f"{result.message}；吹哨状态：{result.status.value}")
