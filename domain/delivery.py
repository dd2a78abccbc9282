"""What the centre sends to a department's system, and what comes back."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from domain.models import Assignment, Enterprise, Frozen, Ticket


class Delivery(Frozen):
    """派遣: one ticket to one department in one dispatch round.

    The idempotency key (ticket number + round) lets a department's system recognise a
    redelivery after a retry, so a ticket never appears twice there.
    """

    idempotency_key: str
    workflow_id: str
    round: int
    assignment: Assignment
    ticket: Ticket
    sign_for_due: datetime
    resolve_due: datetime
    redo: bool = False
    note: str = ""
    role: str = "主办"  # or 协办: an assisting department, which reports to the lead


def delivery_key(ticket_no: str, round: int) -> str:
    return f"{ticket_no}#{round}"


class ItemDelivery(Frozen):
    """An enterprise service item (服务清单事项) to the department responsible for it, one per round
    (a reopened item is delivered again). The key is enterprise, item and round."""

    idempotency_key: str
    workflow_id: str
    enterprise: Enterprise
    item_no: str
    visit_no: str
    round: int
    assignment: Assignment
    need: str
    category: str
    person: str  # 责任人
    measures: str
    due_at: datetime
    note: str = ""


def item_delivery_key(enterprise_id: str, item_no: str, round: int) -> str:
    return f"{enterprise_id}/{item_no}#{round}"


class DeliveryReceipt(Frozen):
    adapter: str
    reference: str  # the department system's own id, or the file written
    duplicate: bool = False  # the department already had this delivery


class NoticeKind(StrEnum):
    RETURN_REJECTED = "退单驳回"
    EXTENSION_APPROVED = "延期批准"
    EXTENSION_REJECTED = "延期驳回"
    WITHDRAWN = "工单改派"  # the ticket was reassigned away from this department
    REMINDER = "预警提醒"  # a share of the time limit has gone
    ESCALATION = "超期督办"  # a step of the ladder: 催办, 督办, 通报 …
    WHISTLE = "吹哨通知"  # a street named this department in a whistle
    WHISTLE_WITHDRAWN = "吹哨撤回"
    MEETING = "会商通知"  # invited to a consultation meeting, or (centre) a matter for the arbiter
    DETERMINED = "确权通知"  # a ticket's lead and assisting departments were decided
    CITY_TRANSFER = "上转市级"  # to the city centre: a ticket outside the district's powers
    CITY_REPORT = "办理结果反馈"  # to the city centre: the result of a ticket it sent down
    CITY_REPLY = "市级答复"  # to the shift lead: the city returned, refused or re-dispatched a ticket
    ENTERPRISE_ITEM = "企业服务事项"  # to a named official: an item of an enterprise's service list
    ITEM_FAILED = "事项派送失败"  # to the shift lead: a department's system refused an item
    DISPATCH_BLOCKED = "派遣受阻"  # to the shift lead: a delivery keeps failing (retried on)
    DISPATCH_RESUMED = "派遣恢复"  # to the shift lead: the blocked delivery got through
    NOTICE_BLOCKED = "通知受阻"  # to the shift lead: a department's system keeps failing notices
    APPROVAL_DECIDED = "异常审批结果"  # 免考核, 挂账 or 暂停计时 approved or rejected
    BACKLOG_REMINDER = "挂账提醒"  # monthly, while a 挂账 ticket is being worked
    CLOCK_RESUMED = "恢复计时"  # a pause reached its limit: the clocks run again
    VERIFIED_CLOSED = "核查结案"  # the centre closed the ticket after 核查


class Notice(Frozen):
    """A message about a ticket: to its department, or to the centre's people (department "center")."""

    idempotency_key: str
    workflow_id: str
    ticket_no: str
    department: str
    kind: NoticeKind
    text: str
    audience: list[str] = Field(default_factory=list)
    level: str | None = None
    clock: str | None = None
    due_at: datetime | None = None


CENTER = "center"


class CityMessage(Frozen):
    """To the city centre (市域社会治理中心): a ticket sent up, or the result of one it sent down."""

    idempotency_key: str
    kind: NoticeKind
    ticket: Ticket
    text: str
    answer: str | None = None
    satisfaction: str | None = None


class CallbackRequest(Frozen):
    """Asks the centre's survey channel to call the citizen back."""

    workflow_id: str
    ticket_no: str
    round: int
