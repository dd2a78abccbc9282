"""Audit (审计): who did what and when, read from a workflow's history.

The history is Temporal's own record; this module turns its events, already decoded to plain JSON,
into a timeline an auditor can read: each step with its time, its actor, the action in the domain's
words, the details and the outcome. Human actions are updates (their input names the actor); the
centre's own steps (deliveries, notices, timers, status changes) name the system. Personal data
(诉求人 name, phone, address) is masked unless the caller holds the key and asks to reveal it.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from domain.intake import workflow_id_for
from domain.meeting import workflow_id_for_meeting
from domain.models import ROLE_LABELS, Role

SYSTEM = "系统"
SYSTEM_WHO_ID = "system"

# Event kinds, as the I/O layer names them (EventType without its prefix, e.g. UPDATE_ACCEPTED).
STARTED = "WORKFLOW_EXECUTION_STARTED"


class HistoryEvent(BaseModel):
    """One history event, decoded: what the timeline needs of it."""

    event_id: int
    at: datetime
    kind: str  # e.g. WORKFLOW_EXECUTION_UPDATE_ACCEPTED
    name: str | None = None  # update, signal, activity, timer or child workflow type
    input: Any = None  # the decoded arguments (a list), if any
    result: Any = None  # the decoded result, if any
    failure: str | None = None
    ref: str | None = None  # update id, scheduled event id, timer id, linked workflow id
    attempt: int | None = None
    identity: str | None = None  # the client or worker that caused it
    attributes: dict[str, Any] = Field(default_factory=dict)  # search attributes upserted


class Who(BaseModel):
    id: str
    name: str
    role: str  # Chinese label
    unit: str | None = None  # department, street or enterprise

    @property
    def label(self) -> str:
        if self.id == SYSTEM_WHO_ID:
            return self.name
        return f"{self.name}（{self.unit + '·' if self.unit else ''}{self.role}）"


SYSTEM_WHO = Who(id=SYSTEM_WHO_ID, name=SYSTEM, role=ROLE_LABELS[Role.SYSTEM])


class Step(BaseModel):
    """One line of the timeline."""

    at: datetime
    event_id: int
    workflow_id: str
    run_id: str | None = None
    actor: Who
    action: str
    detail: str = ""
    outcome: str = ""
    links: list[str] = Field(default_factory=list)  # other workflows this step started or told
    input: Any = None  # the decoded input (masked unless revealed), for machines
    result: Any = None  # an update's decoded result


# ----- labels in the domain's words -----

UPDATES: dict[str, str] = {
    "sign_for": "签收",
    "contact_citizen": "联系诉求人",
    "answer": "答复",
    "request_return": "申请退单",
    "request_extension": "申请延期",
    "approve": "批准",
    "reject": "驳回",
    "record_callback": "回访",
    "verify": "核查",
    "request_exemption": "申请免考核",
    "request_backlog": "申请挂账",
    "request_pause": "申请暂停计时",
    "resume_clock": "恢复计时",
    "dispatch": "人工派遣",
    "transfer_to_city": "上转市级",
    "link": "并单",
    "unlink": "解除并单",
    "determine": "现场确权",
    "assist_sign_for": "协办签收",
    "assist_report": "协办报告",
    # 镇街吹哨
    "report_in": "报到",
    "evaluate": "评价",
    "withdraw": "撤回吹哨",
    # 会商
    "attend": "参会",
    "record_minutes": "记录纪要",
    "decide": "会商确权",
    "refer": "提请裁定",
    "rule": "裁定",
    # 专项行动
    "record_meeting": "记录协调会",
    "close": "结束专项",
    # 红色服务团
    "record_visit": "走访",
    "add_item": "新增服务事项",
    "note_progress": "办理进展",
    "close_item": "事项办结",
    "confirm_item": "企业确认",
    "reopen_item": "事项重启",
}
# The same update name means another step in another process.
UPDATES_BY_TYPE: dict[tuple[str, str], str] = {("WhistleWorkflow", "answer"): "答卷"}

SIGNALS: dict[str, str] = {
    "link_duplicate": "重复件并入",
    "unlink_duplicate": "重复件解除",
    "main_answered": "主单已答复",
    "determine_owner": "收到确权决定",
}

ACTIVITIES: dict[str, str] = {
    "deliver_ticket": "派遣送达",
    "deliver_item": "服务事项送达",
    "notify_department": "通知承办单位",
    "notify_center": "通知中心",
    "notify_city": "报市级中心",
    "request_callback": "发起回访",
    "find_campaign_tickets": "检索专项工单",
    "make_report": "生成报表",
}

ENDINGS: dict[str, str] = {
    "WORKFLOW_EXECUTION_COMPLETED": "流程结束",
    "WORKFLOW_EXECUTION_CONTINUED_AS_NEW": "转入新一轮运行",
    "WORKFLOW_EXECUTION_FAILED": "流程失败",
    "WORKFLOW_EXECUTION_TERMINATED": "流程被终止",
    "WORKFLOW_EXECUTION_CANCELED": "流程被取消",
    "WORKFLOW_EXECUTION_TIMED_OUT": "流程超时",
}

WITH_TICKETS = ("WhistleWorkflow", "ConsultationMeetingWorkflow")

STARTS: dict[str, str] = {
    "TicketWorkflow": "受理工单",
    "WhistleWorkflow": "吹哨",
    "ConsultationMeetingWorkflow": "召集会商",
    "CampaignWorkflow": "启动专项",
    "EnterpriseServiceWorkflow": "建立企业服务档案",
    "ReportWorkflow": "启动报表",
}

# Fields of a command shown as its details, in this order, with their labels.
DETAIL_FIELDS: list[tuple[str, str]] = [
    ("approval_id", "审批单"),
    ("visited_on", "走访日期"),
    ("summary", "摘要"),
    ("item_no", "事项"),
    ("department", "单位"),
    ("to", "派往"),
    ("reassign_to", "改派"),
    ("lead", "主办"),
    ("working_days", "延期工作日"),
    ("span", "延期"),
    ("decision", "核查决定"),
    ("closure", "结案类别"),
    ("category", "类别"),
    ("plan_date", "计划完成日期"),
    ("reason", "理由"),
    ("evidence", "证明材料"),
    ("note", "说明"),
    ("text", "内容"),
    ("answer", "答复"),
    ("callback", "回访结果"),
    ("outcome", "结果"),
    ("satisfaction", "满意度"),
    ("score", "评分"),
    ("main_ticket", "主单"),
]


# ----- personal data -----

PHONE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")
ID_CARD = re.compile(r"(?<![0-9Xx])(\d{6})\d{8}(\d{3}[0-9Xx])(?![0-9Xx])")
PERSONAL_KEYS = {"citizen", "citizens"}


def mask_phone(text: str) -> str:
    """138****1234: enough to tell two numbers apart, not enough to call one."""
    return PHONE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)


def mask_text(text: str) -> str:
    return ID_CARD.sub(lambda m: f"{m.group(1)}********{m.group(2)}", mask_phone(text))


def mask_name(name: str) -> str:
    return name[:1] + "*" * max(1, len(name) - 1) if name else name


def mask_address(address: str) -> str:
    keep = max(2, len(address) // 3)
    return address[:keep] + "****" if len(address) > keep else address


def mask_citizen(citizen: Any) -> Any:
    if not isinstance(citizen, dict):
        return masked(citizen)
    out = {k: masked(v) for k, v in citizen.items()}
    for key, how in (("name", mask_name), ("address", mask_address)):
        if isinstance(citizen.get(key), str):
            out[key] = how(citizen[key])
    phone = citizen.get("phone")
    if isinstance(phone, str):
        # A landline or an odd number: keep only its last four digits.
        out["phone"] = mask_phone(phone) if PHONE.fullmatch(phone) else "*" * max(0, len(phone) - 4) + phone[-4:]
    return out


def masked(value: Any) -> Any:
    """The value with every citizen's name, phone and address masked, and phone and ID-card numbers
    masked wherever they appear in text."""
    if isinstance(value, dict):
        return {
            k: ([mask_citizen(c) for c in v] if isinstance(v, list) else mask_citizen(v))
            if k in PERSONAL_KEYS
            else masked(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [masked(v) for v in value]
    if isinstance(value, str):
        return mask_text(value)
    return value


# ----- the timeline -----


def who(actor: Any) -> Who:
    """The actor a command names, or the system."""
    if not isinstance(actor, dict) or "id" not in actor:
        return SYSTEM_WHO
    try:
        role = ROLE_LABELS[Role(str(actor.get("role")))]
    except ValueError:
        role = str(actor.get("role"))
    unit = actor.get("department") or actor.get("street") or actor.get("enterprise")
    return Who(id=str(actor["id"]), name=str(actor.get("name", actor["id"])), role=role, unit=unit)


def first(args: Any) -> Any:
    return args[0] if isinstance(args, list) and args else args


def describe(value: Any, limit: int = 120) -> str:
    """A short text for a field's value: a unit by its name, a verdict by its words."""
    if isinstance(value, dict):
        if "department_name" in value:
            return str(value["department_name"])
        if "text" in value:
            return describe(value["text"], limit)
        if "satisfaction" in value:
            resolved = "已解决" if value.get("resolved", True) else "未解决"
            return f"{value['satisfaction']}，{resolved}"
        if "kind" in value:
            return str(value["kind"]) + (f"：{describe(value['text'], limit)}" if value.get("text") else "")
        if "amount" in value and "unit" in value:
            return f"{value['amount']}{value['unit']}"
        return "，".join(f"{k}={describe(v, 40)}" for k, v in value.items() if v not in (None, [], {}))
    if isinstance(value, list):
        return "、".join(describe(v, 40) for v in value)
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def command_detail(command: Any) -> str:
    if not isinstance(command, dict):
        return describe(command) if command not in (None, "") else ""
    parts = [
        f"{label}：{describe(command[key])}" for key, label in DETAIL_FIELDS if command.get(key) not in (None, "", [])
    ]
    return "；".join(parts)


OUTCOME_FIELDS = {"status": "状态", "department": "承办单位", "redo_count": "重办次数", "return_count": "退单次数"}


def result_text(result: Any) -> str:
    if isinstance(result, dict) and "message" in result:
        return str(result["message"])
    if isinstance(result, dict) and "status" in result:
        return "；".join(
            f"{label}：{describe(result[k])}" for k, label in OUTCOME_FIELDS.items() if result.get(k) is not None
        )
    return "" if result is None else describe(result)


def notice_detail(notice: Any) -> tuple[str, str]:
    """An activity's subject and details: a notice's kind and level, a delivery's unit and round."""
    if not isinstance(notice, dict):
        return "", ""
    if "kind" in notice and "text" in notice:
        level = f"（{notice['level']}）" if notice.get("level") else ""
        to = notice.get("department")
        audience = "、".join(notice.get("audience") or [])
        target = f"致 {audience or to}" if (audience or to) else ""
        return f"{notice['kind']}{level}", "；".join(p for p in (target, describe(notice["text"])) if p)
    if "assignment" in notice:
        role = notice.get("role") or "主办"
        unit = describe(notice["assignment"])
        return "", f"{role}：{unit}，第 {notice.get('round', 1)} 轮（{notice.get('idempotency_key', '')}）"
    return "", command_detail(notice)


def start_detail(workflow_type: str, args: Any) -> str:
    data = first(args)
    if not isinstance(data, dict):
        return ""
    ticket = data.get("ticket")
    if isinstance(ticket, dict):
        citizen = ticket.get("citizen") or {}
        parts = [
            f"工单 {ticket.get('ticket_no', '')}",
            f"{ticket.get('category', '')}/{ticket.get('street', '')}/{ticket.get('urgency', '')}",
            describe(ticket.get("title", "")),
            f"诉求人 {citizen.get('name', '')} {citizen.get('phone', '')}".strip(),
        ]
        return "；".join(p for p in parts if p)
    keys = ("whistle_no", "meeting_no", "campaign_no", "enterprise_id", "kind", "title", "reason", "street")
    return "；".join(f"{describe(data[k])}" for k in keys if data.get(k))


def _meeting_of(signal: str | None, payload: Any) -> str | None:
    """The meeting a determination came from (older servers do not name a signal's sender)."""
    if signal != "determine_owner" or not isinstance(payload, dict):
        return None
    if payload.get("source") in ("会商确权", "裁定") and payload.get("reference"):
        return workflow_id_for_meeting(str(payload["reference"]))
    return None


def timeline(workflow_id: str, workflow_type: str, events: list[HistoryEvent], run_id: str | None = None) -> list[Step]:
    """The steps of one run, in history order. Updates pair their acceptance with their outcome;
    activities their scheduling with their result; only fired timers appear."""
    steps: list[Step] = []
    by_update: dict[str, Step] = {}
    by_activity: dict[str, Step] = {}
    step: Step | None  # the step an event adds, or the earlier one its result completes (if any)
    status: str | None = None

    def add(at: datetime, event_id: int, actor: Who, action: str, **extra: Any) -> Step:
        step = Step(
            at=at, event_id=event_id, workflow_id=workflow_id, run_id=run_id, actor=actor, action=action, **extra
        )
        steps.append(step)
        return step

    for e in events:
        kind = e.kind
        if kind == STARTED:
            action = STARTS.get(workflow_type, f"启动 {workflow_type}")
            who_started = SYSTEM_WHO
            data = first(e.input)
            if isinstance(data, dict) and isinstance(data.get("convened_by") or data.get("blown_by"), dict):
                who_started = who(data.get("convened_by") or data.get("blown_by"))
            detail = start_detail(workflow_type, e.input)
            status = e.attributes.get("HotlineStatus") if isinstance(e.attributes.get("HotlineStatus"), str) else None
            if status:
                detail = "；".join(p for p in (detail, f"状态：{status}") if p)
            source = f"由 {e.identity} 提交" if e.identity else ""
            # A whistle or a meeting is about tickets: their stories belong to its own.
            about = data.get("tickets") if isinstance(data, dict) and workflow_type in WITH_TICKETS else None
            links = [workflow_id_for(str(t)) for t in about] if isinstance(about, list) else []
            add(e.at, e.event_id, who_started, action, detail=detail, outcome=source, links=links, input=e.input)
        elif kind == "WORKFLOW_EXECUTION_UPDATE_ACCEPTED":
            command = first(e.input)
            name = e.name or ""
            action = UPDATES_BY_TYPE.get((workflow_type, name)) or UPDATES.get(name, name)
            actor = who(command.get("actor")) if isinstance(command, dict) else SYSTEM_WHO
            step = add(e.at, e.event_id, actor, action, detail=command_detail(command), input=e.input)
            if e.ref:
                by_update[e.ref] = step
        elif kind == "WORKFLOW_EXECUTION_UPDATE_COMPLETED":
            step = by_update.get(e.ref or "")
            if step is not None:
                step.outcome = f"失败：{e.failure}" if e.failure else result_text(e.result)
                step.result = e.result
        elif kind == "WORKFLOW_EXECUTION_SIGNALED":
            payload = first(e.input)
            actor = who(payload.get("actor") or payload.get("decided_by")) if isinstance(payload, dict) else SYSTEM_WHO
            sender_id = e.ref or _meeting_of(e.name, payload)
            sender = f"来自 {sender_id}" if sender_id else (e.identity or "")
            detail = command_detail(payload) if isinstance(payload, dict) else describe(payload)
            add(
                e.at,
                e.event_id,
                actor,
                SIGNALS.get(e.name or "", e.name or "信号"),
                detail=detail,
                outcome=sender,
                links=[sender_id] if sender_id else [],
                input=e.input,
            )
        elif kind in ("ACTIVITY_TASK_SCHEDULED", "MARKER_RECORDED"):
            name = e.name or ""
            subject, detail = notice_detail(first(e.input))
            action = ACTIVITIES.get(name, name) + (f"：{subject}" if subject else "")
            step = add(e.at, e.event_id, SYSTEM_WHO, action, detail=detail, input=e.input)
            if kind == "MARKER_RECORDED":
                step.outcome = f"失败：{e.failure}" if e.failure else "完成"
            elif e.ref:
                by_activity[e.ref] = step
        elif kind == "ACTIVITY_TASK_STARTED":
            step = by_activity.get(e.ref or "")
            if step is not None and e.attempt and e.attempt > 1:
                step.outcome = f"第 {e.attempt} 次尝试"
        elif kind in ("ACTIVITY_TASK_COMPLETED", "ACTIVITY_TASK_FAILED", "ACTIVITY_TASK_TIMED_OUT"):
            step = by_activity.get(e.ref or "")
            if step is not None:
                tries = f"（{step.outcome}）" if step.outcome else ""
                if kind == "ACTIVITY_TASK_COMPLETED":
                    receipt = e.result.get("reference") if isinstance(e.result, dict) else None
                    step.outcome = "完成" + (f"，回执 {receipt}" if receipt else "") + tries
                else:
                    step.outcome = f"失败：{e.failure or '超时'}{tries}"
        elif kind == "TIMER_FIRED":
            add(e.at, e.event_id, SYSTEM_WHO, "时限计时到点", detail=e.name or "")
        elif kind == "UPSERT_WORKFLOW_SEARCH_ATTRIBUTES":
            new = e.attributes.get("HotlineStatus")
            if isinstance(new, str) and new != status:
                add(e.at, e.event_id, SYSTEM_WHO, "状态变更", detail=f"{status or '—'} → {new}")
                status = new
        elif kind == "START_CHILD_WORKFLOW_EXECUTION_INITIATED":
            add(
                e.at,
                e.event_id,
                SYSTEM_WHO,
                f"发起子流程 {e.name or ''}".strip(),
                detail=e.ref or "",
                links=[e.ref] if e.ref else [],
            )
        elif kind == "SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED":
            target = e.ref or ""
            label = SIGNALS.get(e.name or "", e.name or "")
            add(
                e.at,
                e.event_id,
                SYSTEM_WHO,
                "通知关联流程",
                detail=f"{target}：{label}",
                links=[target] if target else [],
            )
        elif kind == "WORKFLOW_TASK_FAILED":
            add(e.at, e.event_id, SYSTEM_WHO, "工作流任务失败（将重试）", detail=e.failure or "")
        elif kind in ENDINGS:
            detail = result_text(e.result) if e.result is not None else (e.failure or "")
            add(e.at, e.event_id, SYSTEM_WHO, ENDINGS[kind], detail=detail, input=e.result)
    return steps


def only_item(steps: list[Step], item_no: str) -> list[Step]:
    """An enterprise's steps that concern one service-list item (its updates and deliveries)."""

    def concerns(step: Step) -> bool:
        data = first(step.input)
        if isinstance(data, dict):
            if data.get("item_no") == item_no:
                return True
            items = data.get("items")
            if isinstance(items, list) and any(isinstance(i, dict) and i.get("item_no") == item_no for i in items):
                return True
        if isinstance(step.result, dict) and item_no in (step.result.get("item_nos") or []):
            return True  # the visit that listed it
        return any(mark in step.detail for mark in (f"/{item_no}#", f"事项：{item_no}", f"事项 {item_no}（"))

    return [s for s in steps if concerns(s)]
