"""Hand-computed tickets of November 2026 the metrics and reports tests share."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.calendar import CHINA_TZ
from domain.facts import TicketFacts
from domain.metrics import (
    MetricsPolicy,
    Period,
)
from domain.models import Satisfaction, TicketStatus

S, B, U = Satisfaction.SATISFIED, Satisfaction.BASICALLY_SATISFIED, Satisfaction.UNSATISFIED
CLOSED, DIRECT = TicketStatus.CLOSED, TicketStatus.ANSWERED_DIRECTLY
QLS, BH = "千里山镇", "滨河街道"
NOVEMBER = Period.month(2026, 11)
POLICY = MetricsPolicy()


def ticket(no: str, status: str, received: datetime, **fields: Any) -> TicketFacts:
    fields.setdefault("urgency", "一般")
    return TicketFacts(workflow_id=f"ticket-{no}", status=status, received_at=received, **fields)


def done(
    no: str,
    department: str,
    street: str,
    category: str,
    received: datetime,
    closed: datetime,
    flags: str,
    satisfaction: Satisfaction | None,
    redo: int = 0,
    returns: int = 0,
    extensions: int = 0,
    **fields: Any,
) -> TicketFacts:
    """A ticket closed (办结) after its callback; `flags` is sign/contact/answer/resolved as T, F or ?."""
    signed, contacted, answered, resolved = ({"T": True, "F": False, "?": None}[c] for c in flags)
    return ticket(
        no,
        CLOSED,
        received,
        department=department,
        street=street,
        category=category,
        closed_at=closed,
        signed_on_time=signed,
        contacted_on_time=contacted,
        answered_on_time=answered,
        resolved=resolved,
        satisfaction=satisfaction,
        redo_count=redo,
        return_count=returns,
        extension_count=extensions,
        **fields,
    )


def at(month: int, day: int, hour: int = 10, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, second, tzinfo=CHINA_TZ)


def sample_facts() -> list[TicketFacts]:
    """The 19 tickets of the table in this module's docstring."""
    return [
        done("T01", "zjj", QLS, "噪音污染", at(11, 2), at(11, 5), "TTTT", S),
        done("T02", "zjj", QLS, "城乡建设", at(11, 3), at(11, 10), "TTFT", B, extensions=1),
        done("T03", "zjj", BH, "噪音污染", at(10, 28), at(11, 2), "FTTF", U, redo=1),
        done("T04", "zjj", BH, "物业服务", at(11, 10), at(11, 20), "TTTT", S),
        done("T05", "cgj", QLS, "城乡建设", at(11, 5), at(11, 8), "TFTT", S, returns=1),
        done("T06", "cgj", BH, "噪音污染", at(11, 6), at(11, 12), "TTTT", B),
        done("T07", "cgj", BH, "噪音污染", at(11, 20), at(12, 1, 0), "TTTT", S),
        done("T08", "gdgs", QLS, "供水供电", at(11, 15), at(11, 16), "T?T?", None, urgency="加急"),
        done("T09", "gdgs", QLS, "供水供电", at(11, 1, 0), at(11, 3), "TTFT", B, extensions=1),
        ticket("T10", DIRECT, at(11, 11), street=BH, category="物业服务", closed_at=at(11, 11)),
        ticket(
            "T11",
            TicketStatus.TRANSFERRED,
            at(11, 12),
            department="zjj",
            street=QLS,
            category="环境保护",
            closed_at=at(11, 14),
        ),
        ticket("T12", TicketStatus.MERGED, at(11, 13), street=QLS, category="噪音污染"),
        ticket(
            "T13",
            TicketStatus.SIGNED,
            at(11, 25),
            department="cgj",
            street=QLS,
            category="城乡建设",
            resolve_due=at(12, 2),
        ),
        ticket(
            "T14",
            TicketStatus.AWAITING_SIGN_FOR,
            at(11, 30, 23, 59, 59),
            department="gdgs",
            street=BH,
            category="供水供电",
            urgency="紧急",
        ),
        done("T15", "zjj", QLS, "噪音污染", at(10, 5), at(10, 10), "TTTT", S),
        done("T16", "cgj", BH, "城乡建设", at(10, 8), at(10, 20), "TTFF", U, redo=1),
        ticket("T17", TicketStatus.CONTACTED, at(10, 20), department="zjj", street=QLS, category="噪音污染"),
        done("T18", "cgj", BH, "噪音污染", at(10, 30), at(11, 1, 0), "TTTT", S),
        ticket("T19", TicketStatus.AWAITING_SIGN_FOR, at(12, 1, 0), department="zjj", street=BH),
    ]


EVALUATIONS = {"zjj": [U, B], "cgj": [S], "gdgs": [B, B], "rsj": [S]}
