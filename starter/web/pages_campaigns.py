"""专项行动 and 专项推进 on the pages: the shift lead starts one, records its 协调会 and closes it; the
centre and leaders follow each one's progress and tickets. The same calls as `hotline campaign …`
(`starter.campaigns`), so the workflow's validators decide and a refusal comes back with its reason."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from domain.calendar import Span, parse_span
from domain.campaign import CampaignKind, CampaignRecord, TicketFilter
from domain.commands import CloseCampaign, RecordMinutes
from domain.config import DistrictConfig
from domain.intake import TicketRejected
from domain.models import Role
from starter.campaigns import act_campaign, start_campaign, view_campaign
from starter.tickets import ActionFailed
from starter.web.pages import NotFound, client_of, config_of, form_of, go, render, require, signed_in, unit_name
from starter.web.pages_tickets import passes
from starter.web.users import LEADER, Viewer
from workflows.campaign import CampaignWorkflow

router = APIRouter(include_in_schema=False)

LIST_LIMIT = 100


def scope_label(record: CampaignRecord, config: DistrictConfig) -> str:
    """The campaign's scope as people say it (the department by name, not its code)."""
    f = record.input.filter
    parts = [f.category, f.street, unit_name(config, f.department) if f.department else None]
    parts.append("超期" if f.overdue_only else None)
    return "、".join(p for p in parts if p) or "全部工单"


def may_lead(record: CampaignRecord, viewer: Viewer) -> bool:
    """Whether the campaign's own check lets this viewer record a 协调会 or close it now."""
    actor = viewer.actor
    return actor is not None and passes(lambda: record.check_lead(actor, "操作"))


async def _records(request: Request) -> list[CampaignRecord]:
    client = client_of(request)
    ids = [wf.id async for wf in client.list_workflows("WorkflowType = 'CampaignWorkflow'", limit=LIST_LIMIT)]
    found = await asyncio.gather(
        *(view_campaign(client, i.removeprefix("campaign-")) for i in ids), return_exceptions=True
    )
    records = [r for r in found if isinstance(r, CampaignRecord)]
    return sorted(records, key=lambda r: r.started_at, reverse=True)


@router.get("/campaigns", response_class=HTMLResponse)
async def campaigns(request: Request) -> Response:
    viewer = signed_in(request)
    require(viewer, Role.SHIFT_LEAD, LEADER, what="专项行动")
    config = config_of(request)
    records = await _records(request)
    return render(
        request,
        "campaigns.html",
        title="专项行动与专项推进",
        records=[(r, scope_label(r, config), r.summary or r.progress()) for r in records],
        can_start=viewer.is_(Role.SHIFT_LEAD),
        kinds=[k.value for k in CampaignKind],
        departments=config.departments,
        streets=[s.name for s in config.streets],
        categories=sorted({c.name for c in config.categories}),
        refresh=None,
    )


def _span(text: str, label: str) -> Span:
    try:
        return Span.model_validate(parse_span(text.strip()))
    except (ValueError, ValidationError):
        raise TicketRejected(f"{label}应写作如 30d、10wd（工作日）、48h，而不是「{text}」") from None


@router.post("/campaigns")
async def start(request: Request) -> Response:
    viewer = signed_in(request)
    require(viewer, Role.SHIFT_LEAD, what="启动专项")
    form = await form_of(request)
    assert viewer.actor is not None
    try:
        kind = CampaignKind(form.get("kind", ""))
        target = int(form.get("target", "100") or 100)
        campaign = await start_campaign(
            client_of(request),
            config_of(request),
            started_by=viewer.actor,
            kind=kind,
            title=form.get("title", "").strip() or "",
            filter=TicketFilter(
                category=form.get("category") or None,
                street=form.get("street") or None,
                department=form.get("department") or None,
                overdue_only=form.get("overdue") == "true",
            ),
            within=_span(form.get("within", ""), "期限"),
            target_percent=target,
        )
    except (TicketRejected, ActionFailed) as err:
        return go(request, "/campaigns", f"未能启动：{err}", ok=False)
    except (ValueError, ValidationError) as err:
        first = err.errors()[0]["msg"] if isinstance(err, ValidationError) else str(err)
        return go(request, "/campaigns", f"未能启动：输入有误：{first}", ok=False)
    return go(request, f"/campaigns/{campaign.campaign_no}", f"已启动{kind.value} {campaign.campaign_no}")


@router.get("/campaigns/{campaign_no}", response_class=HTMLResponse)
async def campaign_page(request: Request, campaign_no: str) -> Response:
    viewer = signed_in(request)
    require(viewer, Role.SHIFT_LEAD, LEADER, what="专项行动")
    try:
        record = await view_campaign(client_of(request), campaign_no)
    except ActionFailed as err:
        raise NotFound(str(err)) from None
    return render(
        request,
        "campaign.html",
        title=f"{record.input.kind.value}：{record.input.title}",
        record=record,
        c=record.input,
        scope=scope_label(record, config_of(request)),
        progress=record.summary or record.progress(),
        may_lead=may_lead(record, viewer),
        now=datetime.now(UTC),
        refresh=None,
    )


@router.post("/campaigns/{campaign_no}/actions/{action}")
async def campaign_action(request: Request, campaign_no: str, action: str) -> Response:
    viewer = signed_in(request)
    require(viewer, Role.SHIFT_LEAD, what="办理专项")
    form = await form_of(request)
    assert viewer.actor is not None
    page = f"/campaigns/{campaign_no}"
    try:
        if action == "record":
            command = RecordMinutes(actor=viewer.actor, minutes=form.get("minutes", ""))
            await act_campaign(client_of(request), campaign_no, CampaignWorkflow.record_meeting, command)
            return go(request, page, "已记录专项协调会")
        if action == "close":
            closing = CloseCampaign(actor=viewer.actor, note=form.get("note", ""))
            summary = await act_campaign(client_of(request), campaign_no, CampaignWorkflow.close, closing)
            reached = "达成目标" if summary.target_reached else "未达成目标"
            return go(
                request,
                page,
                f"已结束：共 {summary.total} 件，办结 {summary.closed} 件（{summary.percent}%），{reached}",
            )
    except ValidationError as err:
        return go(request, page, f"输入有误：{err.errors()[0]['msg']}", ok=False)
    except ActionFailed as refused:
        return go(request, page, str(refused), ok=False)
    raise NotFound(f"没有名为 {action} 的专项操作")
