"""The workbench a clerk keeps open all day: the queue with filters, search, paging by due time and
export (CSV and xlsx of the filtered list), the shift lead's batch approval, and a small JSON
endpoint the pages poll for live counts and the notice of a new urgent or 领导督办 ticket.

Cost: one visibility listing of the filtered tickets' search attributes (bounded by SCAN_LIMIT),
sorted here (SQL visibility sorts only by start time), then the tickets' own `view` queries only for
the page shown — and, for a search by phone, address or words (encrypted payloads, not search
attributes), for at most CONTENT_SCAN tickets of the filtered listing.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from domain import search_attributes as sa
from domain.calendar import CHINA_TZ
from domain.commands import Decide
from domain.facts import Fact, scoped_tag
from domain.models import Role, TicketStatus
from domain.ticket_record import TicketRecord
from starter.tickets import ActionFailed, act, view
from starter.web.pages import Forbidden, client_of, config_of, form_of, render, require, signed_in, unit_of
from starter.web.pages_tickets import (
    QueueRow,
    can_view,
    fill_views,
    listed_rows,
    passes,
    phone_seen_by,
    queue_query,
    quoted,
    sees_citizen,
)
from starter.web.users import Viewer
from workflows.ticket import TicketWorkflow

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
SCAN_LIMIT = 5000  # tickets one listing reads (their search attributes): the queue, a search, an export
CONTENT_SCAN = 200  # tickets whose content, phone and address a search reads (one view query each)
EXPORT_VIEW_TIMEOUT_S = 30.0
BATCH_LIMIT = 100
LIVE_LIMIT = 50
ALERT_ESCALATION = "领导督办"
URGENT = "紧急"
ASSIST_MARK = "协办"  # beside a ticket another department leads, in the queue of one assisting on it
SORTS = {"due": "按办结时限", "received": "按受理时间（新到先）", "number": "按工单号"}


@dataclass
class Filters:
    """What the queue's form asks for (as the URL carries it, so a page, its next page and its export
    are the same list)."""

    q: str = ""
    status: str = ""
    department: str = ""
    street: str = ""
    category: str = ""
    overdue: bool = False
    backlog: bool = False
    all: bool = False
    sort: str = "due"

    def params(self, **changes: Any) -> str:
        values = {**self.__dict__, **changes}
        kept = {k: ("true" if v is True else v) for k, v in values.items() if v not in ("", False, None)}
        if kept.get("sort") == "due":
            del kept["sort"]
        return urlencode(kept)


@dataclass
class Scope:
    title: str
    department: str | None
    street: str | None
    assisting: bool = False  # a department's own queue: also the tickets it assists on (协办)

    def query(self, **clauses: Any) -> str:
        """The open tickets of this scope (queue_query's clauses), a department's with its 协办 ones."""
        if not self.assisting or not self.department:
            return queue_query(department=self.department, street=self.street, **clauses)
        tag = quoted(scoped_tag(Fact.ASSISTING, self.department))
        own = f"({sa.DEPARTMENT.name} = {quoted(self.department)} OR {sa.FACTS.name} = {tag})"
        return f"{queue_query(street=self.street, **clauses)} AND {own}"


def scope_of(viewer: Viewer, filters: Filters, config: Any) -> Scope:
    """Whose tickets the viewer's queue holds: a clerk's department, a street's street, or all."""
    if viewer.is_(Role.CLERK):
        return Scope(f"{unit_of(viewer, config)} 工单队列", viewer.department, None, assisting=True)
    if viewer.is_(Role.STREET):
        return Scope(f"{viewer.street} 工单", filters.department or None, viewer.street)
    if viewer.of_centre:
        return Scope("全部工单", filters.department or None, filters.street or None)
    raise Forbidden(f"{viewer.name}（{viewer.role_label}）无权查看工单队列")


def _status(text: str) -> TicketStatus | None:
    try:
        return TicketStatus(text) if text else None
    except ValueError:
        return None


def filtered_query(scope: Scope, filters: Filters) -> str:
    query = scope.query(status=_status(filters.status), open_only=not filters.all, overdue=filters.overdue)
    if filters.category:
        query += f" AND {sa.CATEGORY.name} = {quoted(filters.category)}"
    if filters.backlog:
        query += f" AND {sa.FACTS.name} = '{Fact.BACKLOG.value}'"
    return query


_FAR = datetime.max.replace(tzinfo=UTC)


def sort_rows(rows: list[QueueRow], sort: str) -> list[QueueRow]:
    if sort == "received":
        return sorted(rows, key=lambda r: r.received_at or _FAR, reverse=True)
    if sort == "number":
        return sorted(rows, key=lambda r: r.ticket_no)
    # 办结时限 first due first; no due time (not yet dispatched) last, oldest received first.
    return sorted(rows, key=lambda r: (r.resolve_due or _FAR, r.received_at or _FAR))


def _plain(text: str) -> str:
    return text.strip().casefold()


def matches_attributes(row: QueueRow, q: str) -> bool:
    """The search over what the listing carries: number, street, category, department, status, marks."""
    fields = (row.ticket_no, row.street, row.category, row.department, row.status, row.urgency, *row.marks)
    return any(q in _plain(value) for value in fields if value)


def matches_content(record: TicketRecord, viewer: Viewer, q: str) -> bool:
    """The search over a ticket's own view: title, content and answer for all who see the ticket;
    the phone only for those who see it in full, the address only for those who see it unmasked."""
    ticket = record.ticket
    texts = [ticket.title, ticket.content, record.answer.text if record.answer else ""]
    if sees_citizen(record, viewer) and ticket.citizen.address:
        texts.append(ticket.citizen.address)
    if any(q in _plain(text) for text in texts if text):
        return True
    digits = re.sub(r"\D", "", q)
    if len(digits) >= 4 and "*" not in phone_seen_by(record, viewer):
        return digits in re.sub(r"\D", "", ticket.citizen.phone or "")
    return False


@dataclass
class Found:
    rows: list[QueueRow]
    scanned_all: bool  # every ticket of the filtered listing was read (not capped by SCAN_LIMIT)
    content_scanned: int  # how many tickets a search read the content of (0: no search)
    listed: int  # tickets in the filtered listing


async def find(request: Request, viewer: Viewer, filters: Filters) -> Found:
    scope = scope_of(viewer, filters, config_of(request))
    rows = await listed_rows(request, filtered_query(scope, filters), SCAN_LIMIT)
    if scope.assisting:
        own = unit_of(viewer, config_of(request))
        for row in rows:
            if row.department != own:
                row.marks.insert(0, ASSIST_MARK)
    rows = sort_rows(rows, filters.sort)
    listed = len(rows)
    q = _plain(filters.q)
    content_scanned = 0
    if q:
        by_attributes = [r for r in rows if matches_attributes(r, q)]
        others = [r for r in rows if not matches_attributes(r, q)][:CONTENT_SCAN]
        await fill_views(request, others)
        content_scanned = len(others)
        hits = {id(r) for r in others if r.record is not None and matches_content(r.record, viewer, q)}
        rows = [r for r in rows if id(r) in hits or r in by_attributes]
    return Found(rows, listed < SCAN_LIMIT, content_scanned, listed)


def filters_from(request: Request) -> Filters:
    params = request.query_params
    sort = params.get("sort", "due")
    return Filters(
        q=params.get("q", "")[:100],
        status=params.get("status", ""),
        department=params.get("department", ""),
        street=params.get("street", ""),
        category=params.get("category", ""),
        overdue=params.get("overdue") in ("true", "1", "on"),
        backlog=params.get("backlog") in ("true", "1", "on"),
        all=params.get("all") in ("true", "1", "on"),
        sort=sort if sort in SORTS else "due",
    )


@router.get("/queue", response_class=HTMLResponse)
async def queue(request: Request, page: int = 1) -> Response:
    viewer = signed_in(request)
    config = config_of(request)
    filters = filters_from(request)
    scope = scope_of(viewer, filters, config)
    found = await find(request, viewer, filters)
    pages = max(1, -(-len(found.rows) // PAGE_SIZE))
    page = min(max(page, 1), pages)
    shown = found.rows[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    await fill_views(request, shown)
    wide = viewer.of_centre or viewer.is_(Role.STREET)
    return render(
        request,
        "queue.html",
        title=scope.title,
        rows=shown,
        total=len(found.rows),
        found=found,
        page=page,
        pages=pages,
        page_size=PAGE_SIZE,
        scan_limit=SCAN_LIMIT,
        content_scan=CONTENT_SCAN,
        f=filters,
        sorts=SORTS,
        statuses=[s.value for s in TicketStatus],
        departments=config.departments if wide else [],
        streets=[s.name for s in config.streets] if viewer.of_centre else [],
        categories=sorted({c.name for c in config.categories}),
        refresh=None,
        live=True,
    )


# ----- export -----

COLUMNS = [
    "工单号",
    "标题",
    "状态",
    "承办单位",
    "镇街",
    "类别",
    "紧急程度",
    "受理时间",
    "办结时限",
    "超期",
    "督办",
    "标记",
    "重办次数",
]


def _local(at: datetime | None) -> datetime | None:
    """A time as the district reads it, without a zone (a spreadsheet's date cell has none)."""
    return at.astimezone(CHINA_TZ).replace(tzinfo=None) if at else None


def export_rows(rows: list[QueueRow]) -> list[list[Any]]:
    return [
        [
            r.ticket_no,
            r.title,
            r.status,
            r.department,
            r.street,
            r.category,
            r.urgency,
            _local(r.received_at),
            _local(r.resolve_due),
            "是" if r.overdue else "否",
            r.escalation or "",
            "、".join(r.marks),
            r.redo_count,
        ]
        for r in rows
    ]


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _as_text(value: Any) -> Any:
    """A citizen's words as text in a spreadsheet, never a formula ("=HYPERLINK(…)" in a title)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _filename(viewer: Viewer, suffix: str) -> str:
    stamp = datetime.now(CHINA_TZ).strftime("%Y%m%d-%H%M")
    return f"queue-{viewer.department or viewer.street or 'all'}-{stamp}.{suffix}"


def _attachment(name: str) -> dict[str, str]:
    ascii_name = re.sub(r"[^A-Za-z0-9._-]", "_", name)
    return {"Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{ascii_name}"}


@router.get("/queue/export.{suffix}")
async def export(request: Request, suffix: str) -> Response:
    """The filtered list (every page of it, up to SCAN_LIMIT tickets) as CSV or xlsx."""
    viewer = signed_in(request)
    if suffix not in ("csv", "xlsx"):
        raise Forbidden("导出格式应为 csv 或 xlsx")
    found = await find(request, viewer, filters_from(request))
    await fill_views(request, found.rows, EXPORT_VIEW_TIMEOUT_S)
    table = export_rows(found.rows)
    if suffix == "csv":
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(COLUMNS)
        for row in table:
            writer.writerow([v.strftime("%Y-%m-%d %H:%M") if isinstance(v, datetime) else _as_text(v) for v in row])
        # With a BOM, Excel opens the Chinese as UTF-8.
        return Response(
            "\ufeff" + text.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers=_attachment(_filename(viewer, "csv")),
        )
    book = Workbook()
    sheet = book.active
    assert isinstance(sheet, Worksheet)  # a new workbook's one sheet
    sheet.title = "工单队列"
    sheet.append(COLUMNS)
    for row in table:
        sheet.append(row)
    for cells in sheet.iter_rows(min_row=2):
        for cell in cells:
            if isinstance(cell.value, datetime):
                cell.number_format = "yyyy-mm-dd hh:mm"
            elif cell.data_type == "f":  # openpyxl reads a leading "=" as a formula: keep it text
                cell.data_type = "s"
    widths = [16, 30, 10, 18, 12, 14, 8, 17, 17, 6, 10, 16, 8]
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions
    data = io.BytesIO()
    book.save(data)
    return Response(
        data.getvalue(),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers=_attachment(_filename(viewer, "xlsx")),
    )


# ----- live updates -----


@router.get("/queue/live.json")
async def live(request: Request) -> Response:
    """Counts of the viewer's open tickets and the open urgent or 领导督办 ones (newest first): the
    page polls this and tells the clerk of one it has not seen."""
    viewer = signed_in(request)
    scope = scope_of(viewer, Filters(), config_of(request))
    client = client_of(request)
    base = scope.query()
    open_count = (await client.count_workflows(base)).count
    overdue_count = (await client.count_workflows(f"{base} AND {sa.OVERDUE.name} = true")).count
    alerting = f"{base} AND ({sa.URGENCY.name} = {quoted(URGENT)} OR {sa.ESCALATION.name} = {quoted(ALERT_ESCALATION)})"
    rows = await listed_rows(request, alerting, SCAN_LIMIT)
    rows = sort_rows(rows, "received")[:LIVE_LIMIT]
    alerts = [
        {
            "ticket_no": r.ticket_no,
            "why": ALERT_ESCALATION if r.escalation == ALERT_ESCALATION else URGENT,
            "street": r.street,
            "category": r.category,
            "department": r.department,
            "received_at": r.received_at.isoformat() if r.received_at else None,
        }
        for r in rows
    ]
    body = {"open": open_count, "overdue": overdue_count, "alerts": alerts, "at": datetime.now(UTC).isoformat()}
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


@router.get("/tickets/{ticket_no}/live.json")
async def ticket_live(request: Request, ticket_no: str) -> Response:
    """A ticket's status and how many lines its record has: the ticket page polls it and offers to
    reload when someone else moved the ticket."""
    viewer = signed_in(request)
    try:
        record = await view(client_of(request), ticket_no)
    except ActionFailed:
        return JSONResponse({"error": f"工单 {ticket_no} 不存在"}, status_code=404)
    if not can_view(record, viewer):
        return JSONResponse({"error": "无权查看"}, status_code=403)
    body = {"status": record.status.value, "actions": len(record.actions)}
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


# ----- the shift lead's batch approval -----


@dataclass
class BatchResult:
    ticket_no: str
    approval_id: str
    kind: str
    applied: bool
    message: str


def batchable(record: TicketRecord, viewer: Viewer) -> list[str]:
    """The pending requests the viewer may approve without more input (a 退单 needs its 改派单位, so
    it is approved on the ticket's page)."""
    actor = viewer.actor
    if actor is None:
        return []
    return [
        a.id
        for a in record.pending_approvals
        if passes(partial(record.check_decision, actor, a.id, None, approve=True))
    ]


@router.post("/center/approve-batch", response_class=HTMLResponse)
async def approve_batch(request: Request) -> Response:
    """批量审批: each chosen request approved through the workflow's own update, with one reason;
    each result shown (批准 or the workflow's refusal)."""
    viewer = signed_in(request)
    require(viewer, Role.SHIFT_LEAD, what="批量审批")
    form = await form_of(request)
    if viewer.actor is None:
        raise Forbidden(f"{viewer.name}（{viewer.role_label}）的账号只能查看，不能审批")
    picks = [p for p in form.get("pick", "").split(",") if p]
    note = form.get("note", "").strip()
    results: list[BatchResult] = []
    error = None
    if not picks:
        error = "请勾选要批准的申请"
    elif len(picks) > BATCH_LIMIT:
        error = f"一次最多批准 {BATCH_LIMIT} 件"
    else:
        client = client_of(request)
        for pick in picks:
            ticket_no, _, approval_id = pick.partition(":")
            kind = ""
            try:
                record = await view(client, ticket_no)
                approval = next((a for a in record.approvals if a.id == approval_id), None)
                kind = approval.kind.value if approval else ""
                command = Decide(actor=viewer.actor, approval_id=approval_id, reassign_to=None, note=note)
                result = await act(client, ticket_no, TicketWorkflow.approve, command)
            except ActionFailed as refused:
                results.append(BatchResult(ticket_no, approval_id, kind, False, str(refused)))
            else:
                results.append(
                    BatchResult(
                        ticket_no, approval_id, kind, True, f"{result.message}；当前状态：{result.status.value}"
                    )
                )
    return render(
        request,
        "batch.html",
        title="批量审批结果",
        results=results,
        error=error,
        note=note,
        applied=sum(r.applied for r in results),
        refresh=None,
    )
