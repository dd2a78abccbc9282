"""工单: the queue (a department's, a street's or everyone's) with its clocks and overdue marks, one
ticket's page with its timeline and the actions its viewer may take now, and those actions.

Which actions are offered is decided by the ticket's own checks (`TicketRecord.check_*`), the same
ones the workflow's update validators run; the action itself is the CLI's (`starter.tickets.act`),
so the workflow has the last word and a refusal comes back with its reason.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import partial
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from activities.runtime.codec import PayloadDecryptionError
from domain import search_attributes as sa
from domain.audit import mask_address, mask_name
from domain.calendar import Span, Unit
from domain.commands import (
    AssistReport,
    CityReply,
    ContactCitizen,
    Decide,
    DetermineOwner,
    GiveAnswer,
    LinkTicket,
    ManualDispatch,
    RecordCallback,
    RequestBacklog,
    RequestExemption,
    RequestExtension,
    RequestPause,
    RequestReturn,
    ResumeClock,
    SignFor,
    TransferToCity,
    Unlink,
    VerifyTicket,
)
from domain.config import DistrictConfig
from domain.deadlines import Clock
from domain.facts import marks as fact_marks
from domain.intake import TicketRejected, assignment_for
from domain.models import (
    Action,
    Actor,
    Answer,
    ApprovalKind,
    Callback,
    CityAction,
    ClosureCategory,
    ExceptionApproval,
    ExemptionReason,
    PauseReason,
    Role,
    Satisfaction,
    TicketStatus,
    VerifyDecision,
)
from domain.privacy import phone_as_seen, sees_phone
from domain.records import ActionRefused
from domain.ticket_record import TicketRecord
from starter.attachments import ALLOWED, MAX_BYTES, MAX_FILES, Attachment, AttachmentRefused, FileStore, attachments_in
from starter.render import remaining
from starter.tickets import ActionFailed, act, view
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
from starter.web.users import Viewer
from workflows.ticket import TicketWorkflow

router = APIRouter(include_in_schema=False)

FINAL = (TicketStatus.CLOSED, TicketStatus.ANSWERED_DIRECTLY, TicketStatus.TRANSFERRED)
QUEUE_LIMIT = 100
VIEW_TIMEOUT_S = 5.0
QUEUE_TIMEOUT_S = 8.0


class BadInput(Exception):
    """A form that cannot become a command; the message says which field, in Chinese."""


# ----- who sees what -----


def can_view(record: TicketRecord, viewer: Viewer) -> bool:
    """The centre and leaders see every ticket; a department the tickets it holds, held or assists
    on; a street the tickets of its street. Nobody else."""
    if viewer.of_centre:
        return True
    if viewer.is_(Role.CLERK):
        code = viewer.department
        return (
            (record.assignment is not None and record.assignment.department == code)
            or any(seen.department == code for seen in record.departments_seen)
            or any(part.assignment.department == code for part in record.assists)
        )
    if viewer.is_(Role.STREET):
        return record.ticket.street == viewer.street
    return False


def sees_citizen(record: TicketRecord, viewer: Viewer) -> bool:
    """The citizen's name and address, unmasked: for the centre and the departments working on it
    (the phone follows `domain.privacy.sees_phone`, see `phone_seen_by`)."""
    if viewer.is_(Role.SHIFT_LEAD, Role.OPERATOR):
        return True
    if not viewer.is_(Role.CLERK):
        return False
    holds = record.assignment is not None and record.assignment.department == viewer.department
    return holds or any(part.assignment.department == viewer.department for part in record.assists)


def phone_seen_by(record: TicketRecord, viewer: Viewer) -> str:
    """The citizen's phone as this viewer may see it (the one rule of domain/privacy.py)."""
    full = sees_phone(
        record,
        centre=viewer.is_(Role.SHIFT_LEAD, Role.OPERATOR),
        department=viewer.department if viewer.is_(Role.CLERK) else None,
    )
    return phone_as_seen(record.ticket.citizen.phone, full)


def passes(check: Callable[[], None]) -> bool:
    """Whether the workflow's own check lets this action through now (what the page offers)."""
    try:
        check()
    except ActionRefused:
        return False
    return True


@dataclass
class Allowed:
    """What the viewer may do to the ticket now (as the workflow's own checks say)."""

    actions: set[str] = field(default_factory=set)
    decisions: list[ExceptionApproval] = field(default_factory=list)  # pending requests the viewer may decide


def allowed_actions(record: TicketRecord, actor: Actor | None, now: datetime) -> Allowed:
    allowed = Allowed()
    if actor is None:
        return allowed
    one = Span(amount=1, unit=Unit.WORKING_DAYS if record.plan.deadlines is not None else Unit.HOURS)
    checks: dict[str, Callable[[], None]] = {
        "sign": lambda: record.check_sign_for(actor),
        "contact": lambda: record.check_contact(actor),
        "answer": lambda: record.check_answer(actor),
        "return": lambda: record.check_request_return(actor, "—", now),
        "extend": lambda: record.check_request_extension(actor, one, "—", now),
        "assist-sign": lambda: record.check_assist_sign_for(actor),
        "assist-report": lambda: record.check_assist_report(actor),
        "dispatch": lambda: record.check_may_dispatch(actor),
        "callback": lambda: record.check_callback(actor),
        "exempt": lambda: record.check_request_exemption(actor),
        "backlog": lambda: record.check_request_backlog(actor, date(2099, 12, 31), now),
        "pause": lambda: record.check_request_pause(actor, now),
        "resume": lambda: record.check_resume(actor),
        "verify-close": lambda: record.check_verify(actor, VerifyDecision.CLOSE),
        "verify-redo": lambda: record.check_verify(actor, VerifyDecision.REDO),
        # The shift lead's: 现场确权, 上转市级, 并单 into another open ticket, 解除并单.
        "determine": lambda: record.check_determine(actor),
        "transfer": lambda: record.check_transfer(actor),
        "city-reply": lambda: record.check_city_reply(
            actor, CityAction.REDISPATCH if record.status is TicketStatus.CLOSED else CityAction.RETURN
        ),
        "link": lambda: record.check_link(actor, "ticket-", f"ticket-{record.ticket.ticket_no}"),
        "unlink": lambda: record.check_unlink(actor),
    }
    allowed.actions = {name for name, check in checks.items() if passes(check)}
    if record.merged_into is not None:  # a merged ticket's owner is its main ticket's
        allowed.actions.discard("determine")
    allowed.decisions = [
        approval
        for approval in record.pending_approvals
        if passes(partial(record.check_decision, actor, approval.id, None, approve=False))
    ]
    return allowed


# ----- clocks as the pages show them -----


@dataclass
class ClockView:
    label: str
    due_at: datetime | None
    state: str
    breached: bool
    level: str | None = None
    running: bool = True


def clock_view(clock: Clock, now: datetime) -> ClockView:
    return ClockView(
        label=clock.kind.value,
        due_at=clock.due_at,
        state=remaining(clock.due_at, now, clock.stopped_at),
        breached=clock.breached(now),
        level=clock.level,
        running=clock.running,
    )


def round_clocks(record: TicketRecord, now: datetime) -> list[ClockView]:
    """This round's clocks (the lead's and each assisting department's)."""
    views = []
    for clock in record.clocks:
        if clock.round == record.dispatch_round:
            shown = clock_view(clock, now)
            if clock.owner:
                shown.label = f"{shown.label}（{record.assist(clock.owner).assignment.department_name}）"
            views.append(shown)
    if not views and record.dispatch_round:  # first-release tickets: two due times, no clock objects
        views = [
            ClockView("签收", record.sign_for_due, remaining(record.sign_for_due, now, record.signed_at), False),
            ClockView(
                "办结", record.resolve_due, remaining(record.resolve_due, now, record.answered_at), record.overdue
            ),
        ]
    return views


def current_clock(record: TicketRecord, now: datetime) -> ClockView | None:
    """The clock the department is working against now: the earliest running one of the lead."""
    running = [c for c in record.clocks if c.round == record.dispatch_round and c.owner is None and c.running]
    if running:
        return clock_view(min(running, key=lambda c: c.due_at), now)
    shown = [c for c in round_clocks(record, now) if c.label == "办结"]
    return shown[0] if shown else None


# ----- the queue -----


@dataclass
class QueueRow:
    ticket_no: str
    status: str
    department: str
    street: str
    category: str
    urgency: str
    received_at: datetime | None
    resolve_due: datetime | None
    overdue: bool
    escalation: str | None
    awaiting_approval: bool
    title: str = "—"
    clock: ClockView | None = None
    pending: list[ExceptionApproval] = field(default_factory=list)  # requests awaiting the shift lead
    marks: list[str] = field(default_factory=list)  # 挂账, 暂停计时, 核查结案:…, 免考核 (from the facts)
    redo_count: int = 0
    record: TicketRecord | None = None  # the ticket's own view, once read (None: attributes alone)


def quoted(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def queue_query(
    *,
    department: str | None = None,
    street: str | None = None,
    status: TicketStatus | None = None,
    open_only: bool = True,
    overdue: bool = False,
    awaiting_approval: bool = False,
) -> str:
    """The visibility query of a queue (the search attributes `hotline ticket list` reads)."""
    query = sa.ticket_query(department=department, street=street, overdue=overdue)
    if status is not None:
        query += f" AND {sa.STATUS.name} = {quoted(status.value)}"
    elif open_only:
        query += f" AND {sa.STATUS.name} NOT IN ({', '.join(quoted(s.value) for s in FINAL)})"
    if awaiting_approval:
        query += f" AND {sa.AWAITING_APPROVAL.name} = true"
    return query


async def queue_rows(request: Request, query: str, limit: int = QUEUE_LIMIT) -> list[QueueRow]:
    """The tickets the query finds, each with its title and current clock from its own view (a
    ticket whose view does not answer in time is shown from its search attributes alone)."""
    rows = await listed_rows(request, query, limit)
    await fill_views(request, rows)
    return rows


async def listed_rows(request: Request, query: str, limit: int = QUEUE_LIMIT) -> list[QueueRow]:
    """The tickets the query finds, from their search attributes alone (one listing, no queries)."""
    client, config = client_of(request), config_of(request)
    names = {d.code: d.name for d in config.departments}
    rows: list[QueueRow] = []
    async for wf in client.list_workflows(query, limit=limit):
        attrs = wf.typed_search_attributes
        rows.append(
            QueueRow(
                ticket_no=wf.id.removeprefix("ticket-"),
                status=attrs.get(sa.STATUS) or "",
                department=names.get(attrs.get(sa.DEPARTMENT) or "", attrs.get(sa.DEPARTMENT) or "—"),
                street=attrs.get(sa.STREET) or "",
                category=attrs.get(sa.CATEGORY) or "",
                urgency=attrs.get(sa.URGENCY) or "",
                received_at=attrs.get(sa.RECEIVED_AT),
                resolve_due=attrs.get(sa.RESOLVE_DUE),
                overdue=bool(attrs.get(sa.OVERDUE)),
                escalation=attrs.get(sa.ESCALATION),
                awaiting_approval=bool(attrs.get(sa.AWAITING_APPROVAL)),
                marks=fact_marks(list(attrs.get(sa.FACTS) or [])),
                redo_count=attrs.get(sa.REDO_COUNT) or 0,
            )
        )
    return rows


async def fill_views(request: Request, rows: list[QueueRow], timeout: float = QUEUE_TIMEOUT_S) -> None:
    """Each row's title, status and current clock from the ticket's own view (rows read already are
    left alone; a view that does not answer in time leaves its row as the attributes tell it)."""
    client = client_of(request)
    now = datetime.now(UTC)
    gate = asyncio.Semaphore(8)

    async def fill(row: QueueRow) -> None:
        if row.record is not None:
            return
        async with gate:
            try:
                record = await asyncio.wait_for(view(client, row.ticket_no), VIEW_TIMEOUT_S)
            except (ActionFailed, TimeoutError, PayloadDecryptionError):
                return
        row.title = record.ticket.title
        row.status = record.status.value
        row.clock = current_clock(record, now)
        row.pending = record.pending_approvals
        row.record = record

    # Without a worker to answer the queries, or a key to read their answers, the page still comes
    # (from the search attributes).
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.gather(*(fill(row) for row in rows)), timeout)


# ----- one ticket -----


@dataclass
class Ladder:
    """Consecutive automatic 预警 and escalation steps, shown folded."""

    steps: list[Action]

    @property
    def summary(self) -> str:
        levels = list(dict.fromkeys(step.action for step in self.steps))
        return f"预警与督办 {len(self.steps)} 条（{'、'.join(levels)}）"


@dataclass
class RoundView:
    title: str
    entries: list[Action | Ladder]
    current: bool = False


def timeline_rounds(record: TicketRecord) -> list[RoundView]:
    """办理记录 folded by round (受理, then each 派遣 begins a round), each round's runs of 预警 and
    ladder steps (催办 … 领导督办) folded into one line that opens on demand."""
    ladder = {step.level for step in record.plan.deadlines.ladder} if record.plan.deadlines else set()
    automatic = ladder | {"预警", "超期"}
    rounds = [RoundView("受理", [])]
    for action in record.actions:
        if action.action == "派遣":
            rounds.append(RoundView(f"第 {len(rounds)} 轮办理", []))
        entries = rounds[-1].entries
        if action.actor.role is Role.SYSTEM and action.action in automatic:
            if entries and isinstance(entries[-1], Ladder):
                entries[-1].steps.append(action)
            else:
                entries.append(Ladder([action]))
        else:
            entries.append(action)
    rounds[-1].current = True
    return [r for r in rounds if r.entries]


def attachments_of(record: TicketRecord) -> list[Attachment]:
    """The attachments the ticket's answer names (the record keeps the current round's answer)."""
    return attachments_in(list(record.answer.evidence)) if record.answer else []


async def _record(request: Request, ticket_no: str) -> TicketRecord:
    try:
        return await view(client_of(request), ticket_no)
    except ActionFailed as err:
        raise NotFound(str(err)) from None


def _refusal(record: TicketRecord, viewer: Viewer, config: DistrictConfig, what: str = "查看") -> Forbidden:
    """Refused to someone who may not see the ticket: names their own unit, never the one holding it."""
    return Forbidden(
        f"工单 {record.ticket.ticket_no} 不在{unit_of(viewer, config) or viewer.role_label}的办理范围内，"
        f"{viewer.name}（{viewer.role_label}）无权{what}"
    )


@router.get("/tickets/{ticket_no}", response_class=HTMLResponse)
async def ticket_page(request: Request, ticket_no: str) -> Response:
    viewer = signed_in(request)
    config = config_of(request)
    record = await _record(request, ticket_no)
    if not can_view(record, viewer):
        raise _refusal(record, viewer, config)
    now = datetime.now(UTC)
    citizen = record.ticket.citizen
    shown = sees_citizen(record, viewer)
    current = record.assignment.department if record.assignment else None
    return render(
        request,
        "ticket.html",
        record=record,
        t=record.ticket,
        allowed=allowed_actions(record, viewer.actor, now),
        clocks=round_clocks(record, now),
        citizen_name=citizen.name if shown else mask_name(citizen.name),
        citizen_phone=phone_seen_by(record, viewer),
        citizen_address=(citizen.address if shown else mask_address(citizen.address)) if citizen.address else "—",
        departments=config.departments,
        reassign_to=[d for d in config.departments if d.code != current],
        satisfactions=[s.value for s in Satisfaction],
        closures=[c.value for c in ClosureCategory],
        exemption_reasons=[r.value for r in ExemptionReason],
        pause_reasons=[r.value for r in PauseReason],
        return_kind=ApprovalKind.RETURN,
        workflow_url=workflow_link(request, f"ticket-{record.ticket.ticket_no}"),
        rounds=timeline_rounds(record),
        attachments=attachments_of(record),
        max_files=MAX_FILES,
        max_mb=MAX_BYTES // (1024 * 1024),
        accepted=",".join(f".{ext}" for ext in ALLOWED.values()) + "," + ",".join(ALLOWED),
        refresh=None,
        live=True,
    )


def _need(form: dict[str, str], key: str, label: str) -> str:
    value = form.get(key, "").strip()
    if not value:
        raise BadInput(f"请填写{label}")
    return value


def _department(config: DistrictConfig, code: str, label: str) -> Any:
    try:
        return assignment_for(config, code)
    except TicketRejected:
        raise BadInput(f"{label}：没有代码为 {code} 的承办单位") from None


def _choice(kind: Any, value: str, label: str) -> Any:
    """One of an enum's values, or a refusal naming the field and the values it takes."""
    try:
        return kind(value)
    except ValueError:
        raise BadInput(f"{label}应为 {'、'.join(k.value for k in kind)} 之一") from None


def command_for(
    action: str, actor: Actor, form: dict[str, str], config: DistrictConfig, attached: list[Attachment] | None = None
) -> tuple[Any, Any]:
    """The workflow update and its command for a form, built as the CLI builds them (`attached`: the
    答复's files, already in the file store)."""
    attached = attached or []
    resolved = form.get("resolved", "yes") == "yes"
    if action == "sign":
        return TicketWorkflow.sign_for, SignFor(actor=actor)
    if action == "contact":
        return TicketWorkflow.contact_citizen, ContactCitizen(actor=actor, note=form.get("note", ""))
    if action == "answer":
        evidence = [a.evidence for a in attached]
        answer = Answer(text=_need(form, "text", "答复内容"), resolved=resolved, evidence=evidence)
        return TicketWorkflow.answer, GiveAnswer(actor=actor, answer=answer)
    if action == "return":
        return TicketWorkflow.request_return, RequestReturn(actor=actor, reason=_need(form, "reason", "退单理由"))
    if action == "extend":
        amount = _need(form, "amount", "延期时长")
        if not amount.isdigit() or int(amount) <= 0:
            raise BadInput("延期时长应为正整数")
        length = {"working_days": int(amount)} if form.get("unit", "wd") == "wd" else {"hours": int(amount)}
        reason = _need(form, "reason", "延期理由")
        return TicketWorkflow.request_extension, RequestExtension(actor=actor, reason=reason, **length)
    if action == "dispatch":
        to = _department(config, _need(form, "to", "派往单位"), "派往单位")
        return TicketWorkflow.dispatch, ManualDispatch(actor=actor, to=to, note=form.get("note", ""))
    if action == "approve":
        code = form.get("reassign", "").strip()
        to = _department(config, code, "改派单位") if code else None
        approval = _need(form, "approval", "申请编号")
        return TicketWorkflow.approve, Decide(
            actor=actor, approval_id=approval, reassign_to=to, note=form.get("note", "")
        )
    if action == "reject":
        approval = _need(form, "approval", "申请编号")
        note = _need(form, "note", "驳回理由")
        return TicketWorkflow.reject, Decide(actor=actor, approval_id=approval, note=note)
    if action == "callback":
        try:
            satisfaction = Satisfaction(_need(form, "satisfaction", "满意度"))
        except ValueError:
            raise BadInput("满意度应为 满意、基本满意 或 不满意") from None
        result = Callback(resolved=resolved, satisfaction=satisfaction, note=form.get("note") or None)
        return TicketWorkflow.record_callback, RecordCallback(actor=actor, callback=result)
    if action in ("verify-close", "verify-redo"):
        reason = _need(form, "reason", "核查意见")
        if action == "verify-redo":
            return TicketWorkflow.verify, VerifyTicket(actor=actor, decision=VerifyDecision.REDO, reason=reason)
        closure = _choice(ClosureCategory, _need(form, "closure", "结案类别"), "结案类别")
        command = VerifyTicket(actor=actor, decision=VerifyDecision.CLOSE, closure=closure, reason=reason)
        return TicketWorkflow.verify, command
    if action == "exempt":
        category = _choice(ExemptionReason, _need(form, "category", "免考核理由"), "免考核理由")
        proof = _need(form, "evidence", "证明材料")
        return TicketWorkflow.request_exemption, RequestExemption(actor=actor, category=category, evidence=proof)
    if action == "backlog":
        text = _need(form, "until", "计划完成日期")
        try:
            plan = date.fromisoformat(text)
        except ValueError:
            raise BadInput(f"计划完成日期应写作 YYYY-MM-DD，而不是 {text}") from None
        reason = _need(form, "reason", "挂账理由")
        return TicketWorkflow.request_backlog, RequestBacklog(actor=actor, plan_date=plan, reason=reason)
    if action == "pause":
        category = _choice(PauseReason, _need(form, "category", "暂停理由"), "暂停理由")
        return TicketWorkflow.request_pause, RequestPause(actor=actor, category=category, note=form.get("note", ""))
    if action == "resume":
        return TicketWorkflow.resume_clock, ResumeClock(actor=actor, note=form.get("note", ""))
    if action == "determine":
        lead = _department(config, _need(form, "lead", "主办单位"), "主办单位")
        codes = [code for code in form.get("assist", "").split(",") if code and code != lead.department]
        assisting = [_department(config, code, "协办单位") for code in codes]
        note = _need(form, "note", "现场确权说明")
        return TicketWorkflow.determine, DetermineOwner(actor=actor, lead=lead, assisting=assisting, note=note)
    if action == "transfer":
        return TicketWorkflow.transfer_to_city, TransferToCity(actor=actor, reason=_need(form, "reason", "上转理由"))
    if action == "city-reply":
        said = _choice(CityAction, _need(form, "action", "市级答复"), "市级答复")
        return TicketWorkflow.city_reply, CityReply(actor=actor, action=said, reason=_need(form, "reason", "市级理由"))
    if action == "link":
        main = _need(form, "main", "主单号").removeprefix("ticket-")
        return TicketWorkflow.link, LinkTicket(actor=actor, main_ticket=main)
    if action == "unlink":
        return TicketWorkflow.unlink, Unlink(actor=actor, note=form.get("note", ""))
    if action == "assist-sign":
        return TicketWorkflow.assist_sign_for, SignFor(actor=actor)
    if action == "assist-report":
        return TicketWorkflow.assist_report, AssistReport(actor=actor, text=_need(form, "text", "协办情况"))
    raise NotFound(f"没有名为 {action} 的工单操作")


async def _attach(request: Request, viewer: Viewer, ticket_no: str) -> list[Attachment]:
    """The 答复's files checked and kept in the file store (only for someone who may answer it now:
    nobody else can put files on the server through this form)."""
    uploads = [u for u in (await request.form()).getlist("files") if isinstance(u, UploadFile) and u.filename]
    if not uploads:
        return []
    if len(uploads) > MAX_FILES:
        raise BadInput(f"附件最多 {MAX_FILES} 个")
    try:
        record = await view(client_of(request), ticket_no)
    except ActionFailed:
        raise NotFound(f"工单 {ticket_no} 不存在") from None
    actor = viewer.actor
    if actor is None or not passes(lambda: record.check_answer(actor)):
        return []  # the workflow refuses the answer itself, with its reason
    store: FileStore = request.app.state.attachments
    found = []
    for upload in uploads:
        data = await upload.read(MAX_BYTES + 1)
        found.append(await asyncio.to_thread(store.put, upload.filename or "附件", data))
    return found


@router.get("/tickets/{ticket_no}/attachments/{digest}")
async def attachment(request: Request, ticket_no: str, digest: str) -> Response:
    """An attachment of the ticket's answer, to those who may see the ticket."""
    viewer = signed_in(request)
    config = config_of(request)
    record = await _record(request, ticket_no)
    if not can_view(record, viewer):
        raise _refusal(record, viewer, config)
    named = {a.digest: a for a in attachments_of(record)}
    store: FileStore = request.app.state.attachments
    found = await asyncio.to_thread(store.get, digest) if digest in named else None
    if found is None:
        raise NotFound(f"工单 {ticket_no} 没有这个附件")
    data, mime = found
    name = quote(named[digest].name)
    headers = {
        "Content-Disposition": f"inline; filename*=UTF-8''{name}",
        "Cache-Control": "private, max-age=3600",
        "X-Content-Type-Options": "nosniff",
    }
    return Response(data, media_type=mime, headers=headers)


@router.post("/tickets/{ticket_no}/actions/{action}")
async def ticket_action(request: Request, ticket_no: str, action: str) -> Response:
    viewer = signed_in(request)
    form = await form_of(request)
    config = config_of(request)
    page = f"/tickets/{ticket_no}"
    if viewer.actor is None:
        raise Forbidden(f"{viewer.name}（{viewer.role_label}）的账号只能查看，不能办理工单")
    try:
        attached = await _attach(request, viewer, ticket_no) if action == "answer" else []
        update, command = command_for(action, viewer.actor, form, config, attached)
    except (BadInput, AttachmentRefused) as err:
        return go(request, page, str(err), ok=False)
    except ValidationError as err:
        return go(request, page, f"输入有误：{err.errors()[0]['msg']}", ok=False)
    finally:
        await (await request.form()).close()  # uploads are spooled to temporary files
    try:
        result = await act(client_of(request), ticket_no, update, command)
    except ActionFailed as refused:
        # The workflow refused. Someone who may not even see the ticket learns nothing of it (the
        # workflow's reason names the department holding it): the page's own refusal instead.
        try:
            record = await view(client_of(request), ticket_no)
        except ActionFailed:
            raise NotFound(f"工单 {ticket_no} 不存在") from None
        if not can_view(record, viewer):
            raise _refusal(record, viewer, config, "办理") from None
        return go(request, page, str(refused), ok=False)
    suffix = f"（申请编号 {result.approval_id}）" if result.approval_id else ""
    return go(request, page, f"{result.message}{suffix}；当前状态：{result.status.value}")
