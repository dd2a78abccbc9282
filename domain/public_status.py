"""What a citizen may see of their own ticket (工单查询): its progress in plain words, the department
handling it (by name), the dates, and the answer once answered. Nothing else: no name, address or
phone, no internal notes, approvals, escalations or who did what.

The citizen proves the ticket is theirs with the last four digits of the phone they called from;
`phone_matches` compares in constant time. Pure: the web layer looks the ticket up and limits tries.
"""

from __future__ import annotations

import hmac
import re
from datetime import datetime

from pydantic import BaseModel, Field

from domain.models import TicketStatus
from domain.ticket_record import TicketRecord

PHONE_DIGITS = 4
REFUSED = "未查到与该工单号和手机号后四位相符的工单，请核对后重试"
"""One refusal for every failed lookup: no such ticket and wrong digits read the same."""

# Progress in the words a citizen is told on the phone, not the centre's internal steps.
ACCEPTED = "已受理，正在派单"
IN_HAND = "办理中"
ANSWERED = "已答复，待回访"
DONE = "已办结"
MERGED = "已与相同诉求合并办理"
TO_CITY = "已转市级部门办理"
PROGRESS: dict[TicketStatus, str] = {
    TicketStatus.AWAITING_DISPATCH: ACCEPTED,
    TicketStatus.DISPATCHING: ACCEPTED,
    TicketStatus.DISPATCH_FAILED: ACCEPTED,
    TicketStatus.AWAITING_SIGN_FOR: IN_HAND,
    TicketStatus.SIGNED: IN_HAND,
    TicketStatus.CONTACTED: IN_HAND,
    TicketStatus.RETURN_PENDING: IN_HAND,
    TicketStatus.AWAITING_VERIFICATION: IN_HAND,
    TicketStatus.AWAITING_CALLBACK: ANSWERED,
    TicketStatus.CLOSED: DONE,
    TicketStatus.ANSWERED_DIRECTLY: DONE,
    TicketStatus.MERGED: MERGED,
    TicketStatus.TRANSFERRED: TO_CITY,
}
DIRECT = "12345热线"  # answered by the hotline itself, no department involved
_SHOWS_ANSWER = {TicketStatus.AWAITING_CALLBACK, TicketStatus.CLOSED, TicketStatus.ANSWERED_DIRECTLY}


class PublicStatus(BaseModel):
    """A ticket as its citizen sees it."""

    ticket_no: str
    title: str = Field(description="诉求标题")
    status: str = Field(description="办理进度")
    department: str | None = Field(description="承办单位（名称）")
    received_at: datetime = Field(description="受理时间")
    due_at: datetime | None = Field(description="承诺办结时限")
    answered_at: datetime | None = Field(description="答复时间")
    closed_at: datetime | None = Field(description="办结时间")
    answer: str | None = Field(description="答复内容（答复后可见）")


def last_digits(phone: str) -> str:
    digits = re.sub(r"\D", "", phone)
    return digits[-PHONE_DIGITS:]


def phone_matches(phone: str, given: str) -> bool:
    """Whether `given` is the last four digits of `phone` (constant time in the digits)."""
    expected = last_digits(phone)
    return len(expected) == PHONE_DIGITS and hmac.compare_digest(expected.encode(), given.strip().encode())


def _answer(record: TicketRecord) -> str | None:
    if record.answer is not None:
        return record.answer.text
    return record.plan.direct_answer  # answered by the hotline from its knowledge base


def public_status(record: TicketRecord) -> PublicStatus:
    ticket = record.ticket
    answered = record.status in _SHOWS_ANSWER
    if record.assignment is not None:
        department: str | None = record.assignment.department_name
    elif record.status is TicketStatus.ANSWERED_DIRECTLY:
        department = DIRECT
    else:
        department = None
    return PublicStatus(
        ticket_no=ticket.ticket_no,
        title=ticket.title,
        status=PROGRESS.get(record.status, IN_HAND),
        department=department,
        received_at=ticket.received_at,
        due_at=record.resolve_due if record.status not in _SHOWS_ANSWER else None,
        answered_at=(record.answered_at or record.closed_at) if answered else None,
        closed_at=record.closed_at,
        answer=_answer(record) if answered else None,
    )
