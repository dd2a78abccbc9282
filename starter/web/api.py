"""The HTTP API (网关) under /api: the hotline platform's intake, the departments' callbacks, and
reading tickets. docs/api.md describes it for the systems that call it.

Every request is signed with its caller's key (starter/web/gateway_auth.py) and authenticated
before anything else is read. The work is the CLI's: intake is `starter.tickets.submit` with the
same checks and messages, a callback is the same workflow update (`starter.tickets.act`) whose
validators have the last word, reads are the workflow's query and the visibility query of
`hotline ticket list`. Handlers find the Temporal client and the configuration in
`request.app.state.client` and `request.app.state.config`.

Status codes: 401 not authenticated, 403 authenticated but not allowed (another department's
ticket, a person who is not the caller's clerk), 404 no such ticket, 409 the workflow refused the
action (its reason), 422 invalid input naming the field, 503 Temporal unreachable or the centre's
key not configured. Every error body is `ApiErrorBody`.
"""

# No `from __future__ import annotations`: FastAPI reads these signatures at runtime.

from datetime import UTC, date, datetime
from pathlib import Path as Path_  # `Path` is FastAPI's path parameter here
from typing import TYPE_CHECKING, Annotated, Any

import fastapi_offline
from fastapi import APIRouter, Depends, FastAPI, Header, Path, Query, Request, Response, Security
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader
from fastapi.staticfiles import StaticFiles
from pydantic import AwareDatetime, BaseModel, Field, ValidationError, create_model
from starlette.exceptions import HTTPException
from temporalio.client import Client
from temporalio.service import RPCError

from activities.adapters.webhook import DEPARTMENT_HEADER, IDEMPOTENCY_HEADER, SIGNATURE_HEADER
from activities.runtime.codec import PayloadDecryptionError, undecryptable
from activities.runtime.settings import ConfigError, actor_for
from domain import search_attributes as sa
from domain.commands import (
    ActionResult,
    ContactCitizen,
    GiveAnswer,
    RequestBacklog,
    RequestExemption,
    RequestExtension,
    RequestPause,
    RequestReturn,
    ResumeClock,
    SignFor,
)
from domain.config import DistrictConfig, describe_validation_error
from domain.intake import TicketRejected, check_ticket
from domain.limits import PayloadRejected, one_line
from domain.models import (
    Action,
    Actor,
    Answer,
    Assignment,
    Callback,
    ClosureCategory,
    ExceptionApproval,
    Frozen,
    RequestKind,
    Role,
    Ticket,
    TicketSource,
    TicketStatus,
)
from domain.privacy import phone_as_seen, sees_phone
from domain.ticket_record import TicketRecord
from starter.tickets import ActionFailed, act, list_query, submit, view
from starter.web.gateway_auth import (
    CENTER,
    TIMESTAMP_HEADER,
    AuthError,
    Caller,
    check_headers,
    verify_signature,
)
from workflows.ticket import TicketWorkflow

# ----- errors -----


class ApiErrorBody(BaseModel):
    """Every refusal: one line (in Chinese, with the field's name as the CLI prints it)."""

    detail: str = Field(description="一行说明，如 “category: unknown '占道'” 或 “工单 T1 不存在”")
    field: str | None = Field(default=None, description="出错的字段（点分路径，如 citizen.phone），无则为 null")


class ApiError(Exception):
    def __init__(self, status: int, detail: str, field: str | None = None) -> None:
        detail = one_line(detail)  # a value echoed in the message cannot break its line
        super().__init__(detail)
        self.status, self.detail, self.field = status, detail, field

    def response(self) -> JSONResponse:
        body = ApiErrorBody(detail=self.detail, field=self.field)
        return JSONResponse(body.model_dump(), status_code=self.status)


MAX_BODY_BYTES = 256 * 1024  # a ticket's content is at most 4,000 characters

_ERRORS = {
    401: "未通过鉴权：缺少或无效的签名、过期的时间戳、未知的调用方",
    403: "已鉴权但无权操作：非本单位工单、非本单位经办人、调用方类型不符",
    404: "工单不存在",
    409: "工作流拒绝了该操作（状态不符、超出时限等），detail 为其理由",
    413: "请求体过大",
    422: "输入无效，field 指出字段",
    503: "Temporal 服务不可用，或中心未配置接口密钥",
}


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": ApiErrorBody, "description": _ERRORS[code]} for code in codes}


_SOURCES = {"body": "请求体", "query": "查询参数", "path": "路径参数", "header": "请求头"}


def _invalid_request(err: RequestValidationError) -> ApiError:
    """FastAPI's validation error as one CLI-style line: "<where>: <field>: <message>"."""
    first = err.errors()[0]
    loc = [str(part) for part in first.get("loc", ())]
    source = _SOURCES.get(loc[0], "请求") if loc else "请求"
    if first.get("type") == "json_invalid":
        reason = (first.get("ctx") or {}).get("error", "")
        return ApiError(422, f"{source}: 不是有效的 JSON（{reason}）")
    field = ".".join(loc[1:]) or None
    message = str(first.get("msg", "")).removeprefix("Value error, ")
    return ApiError(422, f"{source}: {field}: {message}" if field else f"{source}: {message}", field)


def _invalid_model(err: ValidationError) -> ApiError:
    """A domain model refused the input: the CLI's message (describe_validation_error)."""
    field = ".".join(str(part) for part in err.errors()[0]["loc"]) or None
    return ApiError(422, describe_validation_error("请求体", err), field)


def _rejected(err: TicketRejected) -> ApiError:
    """TicketRejected names its field first ("category: unknown '…'")."""
    message = str(err)
    return ApiError(422, message, message.split(":", 1)[0] if ":" in message else None)


def _unavailable(err: RPCError) -> ApiError:
    return ApiError(503, f"Temporal 服务：{err.message}（请确认中心 worker 正在运行）")


def _unreadable_body(cause: BaseException | None) -> str:
    """Why JSON that parses as text could not be read: its encoding, its depth or a number's length."""
    if isinstance(cause, UnicodeDecodeError):
        return "须为 UTF-8 编码"
    if isinstance(cause, RecursionError):
        return "嵌套层数过多"
    if isinstance(cause, ValueError) and "digits" in str(cause):
        return "数字位数过多"
    return "无法解析"


# ----- authentication: every route of the router, before its body is parsed -----


async def _bounded_body(request: Request) -> bytes:
    """The body, read at most MAX_BODY_BYTES (and one chunk) deep: a larger one, announced or sent
    chunked without a length, is refused 413 without holding more of it."""
    too_large = ApiError(413, f"请求体过大（上限 {MAX_BODY_BYTES // 1024} KB）")
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_BODY_BYTES:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise too_large
        chunks.append(chunk)
    body = b"".join(chunks)
    # Starlette's own cache of the body (Request.body() reads it), so FastAPI parses these bytes.
    request._body = body
    return body


class SignedRoute(APIRoute):
    """Authenticates the request (401) before FastAPI reads its parameters, and turns every refusal,
    FastAPI's validation errors included, into an `ApiErrorBody` — without app-wide handlers, so the
    router can be included in any app."""

    def get_route_handler(self) -> Any:
        handler = super().get_route_handler()

        async def signed(request: Request) -> Response:
            try:
                config = request.app.state.config
                try:
                    # Who, with which key, when: refused before a byte of the body is read.
                    claim = check_headers(config, request.headers)
                    body = await _bounded_body(request)
                    query = request.scope.get("query_string", b"").decode("latin-1")
                    target = request.scope["path"] + (f"?{query}" if query else "")  # as the client sent them
                    request.state.caller = verify_signature(claim, request.headers, request.method, target, body)
                except AuthError as err:
                    raise ApiError(err.status, str(err)) from None
                return await handler(request)
            except ApiError as err:
                return err.response()
            except PayloadDecryptionError as err:  # a key this process lacks (docs/encryption.md)
                return ApiError(503, undecryptable(err)).response()
            except RequestValidationError as err:
                return _invalid_request(err).response()
            except HTTPException as err:
                if err.status_code == 400:  # FastAPI could not read the body: say why
                    return ApiError(422, f"请求体: 不是有效的 JSON（{_unreadable_body(err.__cause__)}）").response()
                return ApiError(err.status_code, str(err.detail)).response()

        return signed


# In OpenAPI, one security scheme stands for the three headers SignedRoute checks.
_signed = APIKeyHeader(
    name=SIGNATURE_HEADER,
    scheme_name="signed",
    description=f"Three headers: {DEPARTMENT_HEADER} (a department's code, or {CENTER} for the centre's key), "
    f"{TIMESTAMP_HEADER} (Unix seconds), {SIGNATURE_HEADER}: sha256=<hex HMAC-SHA256 of "
    '"<timestamp>\\n<METHOD>\\n<path?query>\\n<Idempotency-Key>\\n<hex SHA-256 of the body>"> under the '
    "caller's key (docs/api.md).",
    auto_error=False,
)

router = APIRouter(
    prefix="/api",
    tags=["api"],
    route_class=SignedRoute,
    dependencies=[Security(_signed)],
    responses=_errors(401, 413, 422, 503),
)


async def _caller(request: Request) -> Caller:
    caller: Caller = request.state.caller
    return caller


async def _center(caller: Annotated[Caller, Depends(_caller)]) -> Caller:
    if not caller.is_center:
        raise ApiError(403, f"仅限中心密钥（{DEPARTMENT_HEADER}: {CENTER}）：受理平台受理工单")
    return caller


async def _department(caller: Annotated[Caller, Depends(_caller)]) -> Caller:
    if caller.is_center:
        raise ApiError(403, "承办单位回调须以本单位的密钥签名，中心密钥不能代承办单位操作")
    return caller


AnyCaller = Annotated[Caller, Depends(_caller)]
CenterCaller = Annotated[Caller, Depends(_center)]
DepartmentCaller = Annotated[Caller, Depends(_department)]
TicketNoPath = Annotated[
    str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$", description="工单号", examples=["T123"])
]
IdempotencyKey = Annotated[
    str,
    Header(
        alias=IDEMPOTENCY_HEADER,
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9._:-]+$",
        description="幂等键：同一请求重试时不变，同一承办单位对同一工单的同一操作只执行一次",
    ),
]


def _client(request: Request) -> Client:
    client: Client = request.app.state.client
    return client


def _config(request: Request) -> DistrictConfig:
    config: DistrictConfig = request.app.state.config
    return config


async def _record(request: Request, ticket_no: str) -> TicketRecord:
    try:
        return await view(_client(request), ticket_no)
    except ActionFailed as err:  # the only ActionFailed of `view`: 工单 … 不存在
        raise ApiError(404, str(err)) from None
    except RPCError as err:
        raise _unavailable(err) from None


# ----- intake (受理) -----


class TicketIn(Ticket):
    """受理信息, as `hotline ticket submit` reads it from a file (received_at may be left out: now)."""

    received_at: AwareDatetime | None = None  # type: ignore[assignment]  # optional here: intake takes now


class Submitted(BaseModel):
    ticket_no: str
    workflow_id: str
    duplicate: bool = Field(description="该工单号已受理过：未重复创建工作流（先到的为准）")
    message: str


@router.post(
    "/tickets",
    status_code=201,
    response_model=Submitted,
    operation_id="submit_ticket",
    summary="受理工单 (intake)",
    description="12345 热线平台推送一张工单（中心密钥）。同一工单号只受理一次：重复推送返回 200 与 duplicate=true，"
    "不会产生第二个工作流。校验与 `hotline ticket submit` 相同。",
    responses={200: {"model": Submitted, "description": "重复工单：已受理过，未重复创建"}, **_errors(403)},
)
async def submit_ticket(request: Request, response: Response, body: TicketIn, caller: CenterCaller) -> Submitted:
    data = dict(body)
    data["received_at"] = body.received_at or datetime.now(UTC)
    try:
        ticket = Ticket.model_validate(data)
        check_ticket(_config(request), ticket, datetime.now(UTC))
        result = await submit(_client(request), _config(request), ticket)
    except ValidationError as err:
        raise _invalid_model(err) from None
    except TicketRejected as err:
        raise _rejected(err) from None
    except PayloadRejected as err:
        raise ApiError(413, str(err)) from None
    except RPCError as err:
        raise _unavailable(err) from None
    if result.duplicate:
        response.status_code = 200
        message = f"重复工单：{ticket.ticket_no} 已受理，未重复创建（{result.workflow_id}）"
    else:
        message = f"已受理：{result.workflow_id}"
    return Submitted(
        ticket_no=result.ticket_no, workflow_id=result.workflow_id, duplicate=result.duplicate, message=message
    )


# ----- the departments' callbacks (签收、联系、答复、退单、延期、免考核、挂账、暂停计时) -----

PersonId = Annotated[
    str, Field(min_length=1, max_length=32, description="经办人：配置中 people 的 id，须是调用单位的经办人")
]


def _request_body(command: type[Frozen], name: str) -> type[BaseModel]:
    """A callback's body is the workflow update's command (domain/commands.py) with the actor named
    by person id: the same fields, limits and rules."""
    fields: dict[str, Any] = {key: (f.annotation, f) for key, f in command.model_fields.items() if key != "actor"}
    return create_model(name, __base__=Frozen, __doc__=command.__doc__, actor=(PersonId, ...), **fields)


if TYPE_CHECKING:  # made at import time (create_model): to mypy, models like any other
    SignForBody = BaseModel
    ContactBody = BaseModel
    AnswerBody = BaseModel
    ReturnBody = BaseModel
    ExtensionBody = BaseModel
    ExemptionBody = BaseModel
    BacklogBody = BaseModel
    PauseBody = BaseModel
    ResumeBody = BaseModel
else:
    SignForBody = _request_body(SignFor, "SignForRequest")
    ContactBody = _request_body(ContactCitizen, "ContactRequest")
    AnswerBody = _request_body(GiveAnswer, "AnswerRequest")
    ReturnBody = _request_body(RequestReturn, "ReturnRequest")
    ExtensionBody = _request_body(RequestExtension, "ExtensionRequest")
    ExemptionBody = _request_body(RequestExemption, "ExemptionRequest")
    BacklogBody = _request_body(RequestBacklog, "BacklogRequest")
    PauseBody = _request_body(RequestPause, "PauseRequest")
    ResumeBody = _request_body(ResumeClock, "ResumeRequest")


def _clerk(config: DistrictConfig, caller: Caller, person_id: str) -> Actor:
    """The actor, bound to the configuration's person, who must be a clerk of the calling department."""
    try:
        actor = actor_for(config, person_id)
    except ConfigError as err:
        raise ApiError(422, str(err), "actor") from None
    if actor.role is not Role.CLERK or actor.department != caller.name:
        raise ApiError(403, f"actor: {actor.label} 不是承办单位 {caller.name} 的经办人")
    return actor


async def _act(
    request: Request,
    caller: Caller,
    ticket_no: str,
    key: str,
    body: BaseModel,
    update: Any,
    command_type: type[Frozen],
    action: str,
) -> ActionResult:
    actor = _clerk(_config(request), caller, getattr(body, "actor"))  # noqa: B009 (a created model)
    try:
        command = command_type.model_validate({**dict(body), "actor": actor})
    except ValidationError as err:
        raise _invalid_model(err) from None
    record = await _record(request, ticket_no)
    # The workflow's validator refuses another department's clerk too; this answers 403 before asking it.
    if record.assignment is None or record.assignment.department != caller.name:
        raise ApiError(403, f"工单 {ticket_no} 不由承办单位 {caller.name} 承办，不能{action}")
    # One idempotency key is one request: a retry gets the first outcome, applied once.
    update_id = f"api:{update.__name__}:{caller.name}:{key}"
    try:
        return await act(_client(request), ticket_no, update, command, update_id=update_id)
    except ActionFailed as err:
        raise ApiError(409, str(err)) from None
    except RPCError as err:
        raise _unavailable(err) from None


_CALLBACK_ERRORS = _errors(403, 404, 409)


def _callback(
    path: str,
    body_type: type[BaseModel],
    update: Any,
    command: type[Frozen],
    action: str,
    *,
    summary: str,
    description: str,
) -> None:
    """Declare one department callback: POST /tickets/{ticket_no}/`path` with a `body_type` body runs
    the workflow's `update` as `command` (see _act); its operation id is the update's name."""

    async def endpoint(
        request: Request, ticket_no: TicketNoPath, body: BaseModel, key: IdempotencyKey, caller: DepartmentCaller
    ) -> ActionResult:
        return await _act(request, caller, ticket_no, key, body, update, command, action)

    endpoint.__annotations__["body"] = body_type  # FastAPI reads the body's model from its annotation
    endpoint.__name__ = endpoint.__qualname__ = update.__name__
    router.post(
        f"/tickets/{{ticket_no}}/{path}",
        response_model=ActionResult,
        operation_id=update.__name__,
        summary=summary,
        description=description,
        responses=_CALLBACK_ERRORS,
    )(endpoint)


_callback(
    "sign-for",
    SignForBody,
    TicketWorkflow.sign_for,
    SignFor,
    "签收",
    summary="签收 (sign for)",
    description="承办单位签收工单，等同 `hotline dept sign`。",
)


_callback(
    "contact",
    ContactBody,
    TicketWorkflow.contact_citizen,
    ContactCitizen,
    "联系诉求人",
    summary="联系诉求人 (contact)",
    description="首次响应：已联系诉求人，等同 `hotline dept contact`。",
)


_callback(
    "answer",
    AnswerBody,
    TicketWorkflow.answer,
    GiveAnswer,
    "答复",
    summary="答复 (answer)",
    description="答复（答卷）：answer.text、answer.resolved（是否已解决）、answer.evidence（佐证材料引用），"
    "等同 `hotline dept answer`。",
)


_callback(
    "return",
    ReturnBody,
    TicketWorkflow.request_return,
    RequestReturn,
    "退单",
    summary="申请退单 (return)",
    description="非本单位职责，申请退单，由值班长审批（返回申请编号 R…），等同 `hotline dept return`。",
)


_callback(
    "extension",
    ExtensionBody,
    TicketWorkflow.request_extension,
    RequestExtension,
    "申请延期",
    summary="申请延期 (extension)",
    description="申请延期：working_days（工作日）或 hours（小时）二者给一，由值班长审批（返回申请编号 E…），"
    "等同 `hotline dept extend`。",
)


_callback(
    "exemption",
    ExemptionBody,
    TicketWorkflow.request_exemption,
    RequestExemption,
    "申请免考核",
    summary="申请免考核 (exemption)",
    description="申请免考核：category（不合理诉求 / 不可抗力 / 非本单位职责 / 其他）与 evidence（证明材料），"
    "由值班长审批（返回申请编号 X…），等同 `hotline dept exempt`。",
)


_callback(
    "backlog",
    BacklogBody,
    TicketWorkflow.request_backlog,
    RequestBacklog,
    "申请挂账",
    summary="申请挂账 (backlog)",
    description="申请挂账：plan_date（计划完成日期 YYYY-MM-DD）与 reason，由值班长审批（返回申请编号 B…）；"
    "获批后办理时限改为计划完成日期，每月提醒，办结前保持在办。等同 `hotline dept backlog`。",
)


_callback(
    "pause",
    PauseBody,
    TicketWorkflow.request_pause,
    RequestPause,
    "申请暂停计时",
    summary="申请暂停计时 (pause)",
    description="申请暂停计时：category（补充材料 / 不在家 / 其他）与 note，由值班长审批（返回申请编号 P…），"
    "等同 `hotline dept pause`。",
)


_callback(
    "resume",
    ResumeBody,
    TicketWorkflow.resume_clock,
    ResumeClock,
    "恢复计时",
    summary="恢复计时 (resume)",
    description="恢复计时：时限按暂停的工作时间顺延，等同 `hotline dept resume`。",
)


# ----- reading (查询) -----


class CitizenView(BaseModel):
    name: str
    phone: str | None = Field(
        description="诉求人电话：中心与主办单位见全号，协办单位见遮蔽号（如 138****1234），规则见 docs/security.md"
    )
    address: str | None = None


class AssistView(BaseModel):
    department: str
    department_name: str
    status: str
    report: str | None = None


class TicketView(BaseModel):
    """A ticket as its workflow's query `view` tells it (what `hotline ticket show` prints)."""

    ticket_no: str
    kind: RequestKind
    source: TicketSource
    category: str
    street: str
    community: str | None
    urgency: str
    title: str
    content: str
    citizen: CitizenView
    received_at: datetime
    status: TicketStatus
    department: Assignment | None = Field(description="承办（主办）单位")
    assisting: list[AssistView] = Field(description="协办单位")
    dispatch_round: int
    redo_count: int
    return_count: int
    extensions_granted: int
    sign_for_due: datetime | None
    resolve_due: datetime | None
    return_deadline: datetime | None
    dispatched_at: datetime | None
    signed_at: datetime | None
    contacted_at: datetime | None
    answered_at: datetime | None
    closed_at: datetime | None
    overdue: bool
    escalation_level: str | None = Field(description="本轮最高督办级别：催办、督办、通报、领导督办")
    merged_into: str | None
    dispatch_error: str | None
    answer: Answer | None
    callback: Callback | None
    approvals: list[ExceptionApproval] = Field(
        description="异常审批（退单 R…、延期 E…、免考核 X…、挂账 B…、暂停计时 P…）"
    )
    closure: ClosureCategory | None = Field(description="核查结案的类别（中心核查后结案时）")
    exempted: list[str] = Field(description="已获免考核的承办单位代码")
    backlog_until: date | None = Field(description="挂账：计划完成日期（获批后）")
    paused_since: datetime | None = Field(description="暂停计时：自何时起暂停（恢复后为 null）")
    actions: list[Action] = Field(description="办理记录：谁、何时、做了什么")

    @classmethod
    def of(cls, record: TicketRecord, with_phone: bool) -> "TicketView":
        ticket = record.ticket
        return cls(
            **ticket.model_dump(include={"ticket_no", "kind", "source", "category", "street", "community"}),
            **ticket.model_dump(include={"urgency", "title", "content", "received_at"}),
            citizen=CitizenView(
                name=ticket.citizen.name,
                phone=phone_as_seen(ticket.citizen.phone, with_phone),
                address=ticket.citizen.address,
            ),
            **record.model_dump(
                include={
                    "status",
                    "dispatch_round",
                    "redo_count",
                    "return_count",
                    "extensions_granted",
                    "sign_for_due",
                    "resolve_due",
                    "return_deadline",
                    "dispatched_at",
                    "signed_at",
                    "contacted_at",
                    "answered_at",
                    "closed_at",
                    "overdue",
                    "escalation_level",
                    "merged_into",
                    "dispatch_error",
                    "answer",
                    "callback",
                    "approvals",
                    "closure",
                    "exempted",
                    "backlog_until",
                    "paused_since",
                    "actions",
                }
            ),
            department=record.assignment,
            assisting=[
                AssistView(
                    department=a.assignment.department,
                    department_name=a.assignment.department_name,
                    status=a.status.value,
                    report=a.report,
                )
                for a in record.assists
            ],
        )


@router.get(
    "/tickets/{ticket_no}",
    response_model=TicketView,
    operation_id="get_ticket",
    summary="查看工单 (view)",
    description="中心密钥可看全部工单；承办单位只能看本单位承办的工单，协办单位可看其协办的工单（诉求人电话遮蔽）；"
    "其他单位得 403。",
    responses=_errors(403, 404),
)
async def get_ticket(request: Request, ticket_no: TicketNoPath, caller: AnyCaller) -> TicketView:
    record = await _record(request, ticket_no)
    owner = record.assignment is not None and record.assignment.department == caller.name
    if caller.is_center or owner or any(a.assignment.department == caller.name for a in record.assists):
        full = sees_phone(record, centre=caller.is_center, department=None if caller.is_center else caller.name)
        return TicketView.of(record, with_phone=full)
    raise ApiError(403, f"工单 {ticket_no} 不由承办单位 {caller.name} 承办或协办，无权查看")


class TicketSummary(BaseModel):
    """One line of the list, from the ticket's search attributes (no personal data)."""

    ticket_no: str
    status: str
    department: str | None
    street: str | None
    category: str | None
    urgency: str | None
    received_at: datetime | None
    resolve_due: datetime | None
    closed_at: datetime | None
    overdue: bool
    awaiting_approval: bool
    escalation: str | None
    backlog: bool = Field(description="挂账中")
    paused: bool = Field(description="暂停计时中")
    closure: str | None = Field(description="核查结案的类别")


class TicketList(BaseModel):
    query: str = Field(description="所用的可见性查询（visibility query）")
    count: int
    tickets: list[TicketSummary]


def _known(field: str, value: str | None, known: set[str]) -> None:
    if value is not None and value not in known:
        raise ApiError(422, f"{field}: unknown '{value}'", field)


@router.get(
    "/tickets",
    response_model=TicketList,
    operation_id="list_tickets",
    summary="查询工单 (list)",
    description="按状态、承办单位、镇街、类别、超期、待审批查询（搜索属性，最终一致：刚发生的变化可能稍后才出现）。"
    "承办单位只能查本单位的工单（department 省略即为本单位，写别的单位得 403）；中心密钥可查全部。",
    responses=_errors(403),
)
async def list_tickets(
    request: Request,
    caller: AnyCaller,
    status: Annotated[TicketStatus | None, Query(description="状态，如 待签收、办结")] = None,
    department: Annotated[str | None, Query(max_length=32, description="承办单位代码，如 cgj")] = None,
    street: Annotated[str | None, Query(max_length=200, description="镇街，如 滨河街道")] = None,
    category: Annotated[str | None, Query(max_length=200, description="类别，如 市容环卫")] = None,
    overdue: Annotated[bool, Query(description="只看已超期的")] = False,
    awaiting_approval: Annotated[bool, Query(description="只看待值班长审批的")] = False,
    limit: Annotated[int, Query(ge=1, le=1000, description="最多返回多少条")] = 50,
) -> TicketList:
    config = _config(request)
    if not caller.is_center:
        if department not in (None, caller.name):
            raise ApiError(403, f"department: 承办单位 {caller.name} 只能查询本单位的工单", "department")
        department = caller.name
    # Values are checked against the configuration (the CLI's intake messages), never passed raw.
    _known("department", department, {d.code for d in config.departments})
    _known("street", street, {s.name for s in config.streets})
    _known("category", category, {c.name for c in config.categories})
    query = list_query(
        status,
        department,
        street,
        category,
        awaiting_approval=awaiting_approval,
        overdue=overdue,
    )
    tickets: list[TicketSummary] = []
    try:
        async for found in _client(request).list_workflows(query, limit=limit):
            attrs = found.typed_search_attributes
            facts = sa.facts_of(found.id, attrs)
            tickets.append(
                TicketSummary(
                    ticket_no=found.id.removeprefix("ticket-"),
                    status=attrs.get(sa.STATUS) or "",
                    department=attrs.get(sa.DEPARTMENT),
                    street=attrs.get(sa.STREET),
                    category=attrs.get(sa.CATEGORY),
                    urgency=attrs.get(sa.URGENCY),
                    received_at=attrs.get(sa.RECEIVED_AT),
                    resolve_due=attrs.get(sa.RESOLVE_DUE),
                    closed_at=attrs.get(sa.CLOSED_AT),
                    overdue=bool(attrs.get(sa.OVERDUE)),
                    awaiting_approval=bool(attrs.get(sa.AWAITING_APPROVAL)),
                    escalation=attrs.get(sa.ESCALATION),
                    backlog=facts.backlog,
                    paused=facts.paused,
                    closure=facts.closure,
                )
            )
    except RPCError as err:
        raise _unavailable(err) from None
    return TicketList(query=query, count=len(tickets), tickets=tickets)


DOCS_URL = "/api/docs"
DOCS_ASSETS = "/api/docs-assets"
# Swagger UI's script, style and icon as the fastapi-offline package ships them: /api/docs must
# open on an intranet that cannot reach a CDN.
SWAGGER_ASSETS = Path_(fastapi_offline.__file__).parent / "static"


def serve_docs(app: FastAPI) -> None:
    """/api/docs: Swagger UI over /api/openapi.json, its assets served by the app itself (create the
    app with docs_url=None)."""
    app.mount(DOCS_ASSETS, StaticFiles(directory=SWAGGER_ASSETS), name="docs-assets")

    @app.get(DOCS_URL, include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/api/openapi.json",
            title=f"{app.title} — 接口文档",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon.png",
        )


def api_app(client: Client, config: DistrictConfig) -> FastAPI:
    """The API alone, as `hotline web` serves it next to the pages (tests, schemathesis)."""
    app = FastAPI(
        title="12345 热线接口 (hotline API)",
        description="受理、承办单位回调与查询。签名方法见 docs/api.md。",
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.client = client
    app.state.config = config
    app.include_router(router)
    serve_docs(app)
    return app
