"""红色服务团: an enterprise's two lists (服务清单 and 成效清单) as `hotline enterprise lists` writes
them (domain/enterprise_lists.py): the enterprise's contact sees its own, a department the items it
is responsible for, the team, the centre and the leaders every enterprise with the summary. The
team records its visits (走访, with the items agreed) and adds items to a visit here, as `hotline
enterprise visit` and `hotline enterprise item add` do."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from activities.runtime.calendar_source import calendar_for
from domain.enterprise import (
    CloseItem,
    ConfirmItem,
    EnterpriseRecord,
    NoteProgress,
    Outcome,
    OutcomeKind,
    ReopenItem,
    ServiceItem,
    today_in_china,
)
from domain.enterprise_lists import lists_by_unit, results_list, service_list, summarize, summary_table
from domain.enterprise_plan import enterprise_for, item_spec, plan_add_item, plan_reopen
from domain.intake import TicketRejected
from domain.models import Actor, Role, Satisfaction
from domain.tables import Table
from starter.enterprises import act_enterprise, all_enterprises, record_visit, view_enterprise
from starter.tickets import ActionFailed
from starter.web.pages import (
    Forbidden,
    NotFound,
    client_of,
    config_of,
    form_of,
    go,
    render,
    signed_in,
    unit_of,
    workflow_link,
)
from starter.web.pages_tickets import passes
from starter.web.users import Viewer
from workflows.enterprise import EnterpriseServiceWorkflow

router = APIRouter(include_in_schema=False)


@router.get("/enterprises", response_class=HTMLResponse)
async def enterprises(request: Request) -> Response:
    viewer = signed_in(request)
    client = client_of(request)
    now = datetime.now(UTC)
    summary: Table | None = None
    items: list[ItemRow] = []
    sections: list[tuple[str, list[Table], str | None, EnterpriseRecord | None]] = []  # (…, Web UI link, record)
    if viewer.is_(Role.ENTERPRISE):
        title = "本企业两张清单"
        records: list[EnterpriseRecord] = []
        with contextlib.suppress(ActionFailed):
            records.append(await view_enterprise(client, viewer.enterprise or ""))
        items = actionable_items(records, viewer, now)
    elif viewer.is_(Role.CLERK):
        unit = unit_of(viewer, config_of(request))
        title = f"{unit} 负责的企业事项"
        every = await all_enterprises(client)
        service, results = lists_by_unit(every, now).get(unit, (None, None))
        sections = [(unit, [t for t in (service, results) if t is not None], None, None)]
        records = []
        items = actionable_items(every, viewer, now)
    elif viewer.is_(Role.SERVICE_TEAM) or viewer.of_centre:
        title = "红色服务团：企业两张清单"
        records = await all_enterprises(client)
        if records:
            summary = summary_table({r.enterprise.name: summarize(r, now) for r in records})
    else:
        raise Forbidden(f"{viewer.name}（{viewer.role_label}）无权查看企业清单")
    for record in records:
        link = workflow_link(request, f"enterprise-{record.enterprise.id}")
        heading = f"{record.enterprise.name}（{record.enterprise.id}）· {record.status.value}"
        sections.append((heading, [service_list(record, now), results_list(record)], link, record))
    config = config_of(request)
    return render(
        request,
        "enterprises.html",
        title=title,
        summary=summary,
        sections=sections,
        items=items,
        outcome_kinds=[k.value for k in OutcomeKind],
        satisfactions=[s.value for s in Satisfaction],
        now=now,
        refresh=None,
        # The team's own forms: 记录走访 and 新增事项 (the enterprise workflow checks the rest).
        team=viewer.is_(Role.SERVICE_TEAM),
        known=config.red_service.enterprises,
        streets=[s.name for s in config.streets],
        categories=config.red_service.categories,
        units=[(d.code, d.name) for d in config.departments],
        today=today_in_china(now).isoformat(),
    )


def _team_actor(viewer: Viewer) -> Any:
    if viewer.actor is None or not viewer.is_(Role.SERVICE_TEAM):
        raise Forbidden(f"{viewer.name}（{viewer.role_label}）不是红色服务团成员，不能记录走访或新增事项")
    return viewer.actor


def _listed(text: str) -> list[str]:
    """A form's list field: one entry per line, or separated by 、，, as people write them."""
    return [
        part.strip()
        for part in text.replace("、", "\n").replace("，", "\n").replace(",", "\n").splitlines()
        if part.strip()
    ]


def _item_from(form: dict[str, str], config: Any, where: str) -> Any:
    raw = {
        key: form.get(key, "").strip() or None for key in ("need", "category", "unit", "person", "measures", "within")
    }
    return item_spec(config, raw, where)


@router.post("/enterprises/visits")
async def visit_action(request: Request) -> Response:
    """记录走访: a configured enterprise, or one described on the spot, and the item agreed (if any)."""
    viewer = signed_in(request)
    form = await form_of(request)
    actor = _team_actor(viewer)
    config = config_of(request)
    try:
        enterprise = enterprise_for(
            config, form.get("enterprise", "").strip(), name=form.get("name") or None, street=form.get("street") or None
        )
        text = form.get("visited_on", "")
        try:
            visited_on = date.fromisoformat(text) if text else today_in_china(datetime.now(UTC))
        except ValueError:
            raise TicketRejected(f"visited_on: 走访日期应写作 YYYY-MM-DD，而不是 {text}") from None
        items = [_item_from(form, config, "item")] if form.get("need", "").strip() else []
        result = await record_visit(
            client_of(request),
            config,
            actor=actor,
            enterprise=enterprise,
            visited_on=visited_on,
            members=[],
            met=_listed(form.get("met", "")),
            policies=_listed(form.get("policies", "")),
            summary=form.get("summary", ""),
            items=items,
        )
    except TicketRejected as err:
        return go(request, "/enterprises", f"走访未记录：{err}", ok=False)
    except ActionFailed as refused:
        return go(request, "/enterprises", f"走访未记录：{refused}", ok=False)
    added = f"（事项 {'、'.join(result.item_nos)}）" if result.item_nos else ""
    return go(request, "/enterprises", f"{enterprise.name}：{result.message}{added}")


@router.post("/enterprises/{enterprise_id}/items")
async def add_item_action(request: Request, enterprise_id: str) -> Response:
    """新增事项 under one of the enterprise's visits."""
    viewer = signed_in(request)
    form = await form_of(request)
    actor = _team_actor(viewer)
    config = config_of(request)
    try:
        spec = _item_from(form, config, "item")
        calendar = calendar_for(config.calendar, datetime.now(UTC))
        command = plan_add_item(config, calendar, actor=actor, visit_no=form.get("visit", ""), item=spec)
        result = await act_enterprise(client_of(request), enterprise_id, EnterpriseServiceWorkflow.add_item, command)
    except TicketRejected as err:
        return go(request, "/enterprises", f"事项未添加：{err}", ok=False)
    except ActionFailed as refused:
        return go(request, "/enterprises", f"事项未添加：{refused}", ok=False)
    return go(request, "/enterprises", result.message)


# ----- the items a viewer may act on: the responsible department's 进展 / 办结, the enterprise's 确认 -----


@dataclass
class ItemRow:
    enterprise_id: str
    enterprise: str
    item: ServiceItem
    overdue: bool
    actions: set[str]


def actionable_items(records: list[EnterpriseRecord], viewer: Viewer, now: datetime) -> list[ItemRow]:
    """Each item the enterprise workflow's own checks let this viewer act on now."""
    actor = viewer.actor
    if actor is None:
        return []
    rows = []
    for record in records:
        for item in record.items:
            checks = _item_checks(record, actor, item.item_no)
            # The red service team may confirm for an enterprise, but does so from the CLI with the
            # enterprise on the line; the pages offer 确认 to the enterprise's own contact.
            if viewer.is_(Role.SERVICE_TEAM):
                checks.pop("confirm"), checks.pop("reopen")
            allowed = {name for name, check in checks.items() if passes(check)}
            if allowed:
                rows.append(ItemRow(record.enterprise.id, record.enterprise.name, item, item.overdue(now), allowed))
    return sorted(rows, key=lambda r: (not r.overdue, r.item.due_at))


def _item_checks(record: EnterpriseRecord, actor: Actor, no: str) -> dict[str, Callable[[], None]]:
    """The workflow's check for each item action, run on a sample command (what the page offers)."""
    return {
        "progress": lambda: record.check_progress(NoteProgress(actor=actor, item_no=no, text="—")),
        "close": lambda: record.check_close(
            CloseItem(actor=actor, item_no=no, outcome=Outcome(kind=OutcomeKind.CANNOT, text="—", reason="—"))
        ),
        "confirm": lambda: record.check_confirm(
            ConfirmItem(actor=actor, item_no=no, satisfaction=Satisfaction.SATISFIED)
        ),
        "reopen": lambda: record.check_reopen(ReopenItem(actor=actor, item_no=no, reason="—")),
    }


def _item_command(action: str, actor: Any, item_no: str, form: dict[str, str], config: Any) -> tuple[Any, Any]:
    """The enterprise workflow's update and command for a form, built as `hotline enterprise item` builds them."""
    if action == "progress":
        return EnterpriseServiceWorkflow.note_progress, NoteProgress(
            actor=actor, item_no=item_no, text=form.get("text", "")
        )
    if action == "close":
        evidence = [line.strip() for line in form.get("evidence", "").splitlines() if line.strip()]
        kind = OutcomeKind(form.get("kind", ""))
        outcome = Outcome(kind=kind, text=form.get("text", ""), reason=form.get("reason", ""), evidence=evidence)
        return EnterpriseServiceWorkflow.close_item, CloseItem(actor=actor, item_no=item_no, outcome=outcome)
    if action == "confirm":
        satisfaction = Satisfaction(form.get("satisfaction", ""))
        command = ConfirmItem(actor=actor, item_no=item_no, satisfaction=satisfaction, comment=form.get("comment", ""))
        return EnterpriseServiceWorkflow.confirm_item, command
    if action == "reopen":
        calendar = calendar_for(config.calendar, datetime.now(UTC))
        reopen = plan_reopen(config, calendar, actor=actor, item_no=item_no, reason=form.get("reason", ""), within=None)
        return EnterpriseServiceWorkflow.reopen_item, reopen
    raise NotFound(f"没有名为 {action} 的事项操作")


@router.post("/enterprises/{enterprise_id}/items/{item_no}/{action}")
async def item_action(request: Request, enterprise_id: str, item_no: str, action: str) -> Response:
    viewer = signed_in(request)
    form = await form_of(request)
    if viewer.actor is None:
        raise Forbidden(f"{viewer.name}（{viewer.role_label}）的账号只能查看，不能办理企业事项")
    try:
        update, command = _item_command(action, viewer.actor, item_no, form, config_of(request))
    except ValidationError as err:
        first = err.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "表单"
        return go(request, "/enterprises", f"{item_no}：输入有误（{field}）：{first['msg']}", ok=False)
    except (ValueError, TicketRejected) as err:
        return go(request, "/enterprises", f"{item_no}：输入有误：{err}", ok=False)
    try:
        result = await act_enterprise(client_of(request), enterprise_id, update, command)
    except ActionFailed as refused:
        return go(request, "/enterprises", str(refused), ok=False)
    return go(request, "/enterprises", result.message)
