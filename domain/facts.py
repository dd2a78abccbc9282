"""What the reports read about each ticket: the facts its workflow publishes as search attributes.

Temporal stays the one source of truth: a report lists the tickets of its period from visibility
and reads these facts off each row, so it needs no database of its own and any figure can be
recomputed from the server at any time. The facts are set by the workflow at the step that
decides them (签收, 联系, 答复, 回访, 退单, 延期), in the same upsert as the status.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from domain.models import Frozen, Satisfaction


class Fact(StrEnum):
    """Tags of the HotlineFacts keyword list: one per clock stopped, and the callback's verdict."""

    SIGNED_ON_TIME = "签收及时"
    SIGNED_LATE = "签收超时"
    CONTACTED_ON_TIME = "响应及时"
    CONTACTED_LATE = "响应超时"
    ANSWERED_ON_TIME = "按时办结"
    ANSWERED_LATE = "超时办结"
    RESOLVED = "已解决"
    UNRESOLVED = "未解决"


def tags(
    signed_on_time: bool | None, contacted_on_time: bool | None, answered_on_time: bool | None, resolved: bool | None
) -> list[str]:
    """The HotlineFacts value for a ticket's current round (None: that step has not happened)."""
    pairs = (
        (signed_on_time, Fact.SIGNED_ON_TIME, Fact.SIGNED_LATE),
        (contacted_on_time, Fact.CONTACTED_ON_TIME, Fact.CONTACTED_LATE),
        (answered_on_time, Fact.ANSWERED_ON_TIME, Fact.ANSWERED_LATE),
        (resolved, Fact.RESOLVED, Fact.UNRESOLVED),
    )
    return [(yes if value else no).value for value, yes, no in pairs if value is not None]


def _flag(found: set[str], yes: Fact, no: Fact) -> bool | None:
    if yes.value in found:
        return True
    if no.value in found:
        return False
    return None


class TicketFacts(Frozen):
    """One ticket as the reports see it (read from its search attributes)."""

    workflow_id: str
    status: str  # a TicketStatus value
    department: str | None = None  # the department holding it last (None: never dispatched)
    street: str | None = None
    category: str | None = None
    urgency: str | None = None
    received_at: datetime
    closed_at: datetime | None = None
    resolve_due: datetime | None = None
    overdue: bool = False  # a clock of the current round is past its due time
    escalation: str | None = None  # the highest ladder step reached this round
    redo_count: int = 0
    return_count: int = 0
    extension_count: int = 0
    satisfaction: Satisfaction | None = None  # the last callback's
    signed_on_time: bool | None = None
    contacted_on_time: bool | None = None
    answered_on_time: bool | None = None
    resolved: bool | None = None  # the last callback's

    @property
    def ticket_no(self) -> str:
        return self.workflow_id.removeprefix("ticket-")

    @classmethod
    def from_tags(cls, found: list[str], **fields: object) -> TicketFacts:
        present = set(found)
        return cls(
            signed_on_time=_flag(present, Fact.SIGNED_ON_TIME, Fact.SIGNED_LATE),
            contacted_on_time=_flag(present, Fact.CONTACTED_ON_TIME, Fact.CONTACTED_LATE),
            answered_on_time=_flag(present, Fact.ANSWERED_ON_TIME, Fact.ANSWERED_LATE),
            resolved=_flag(present, Fact.RESOLVED, Fact.UNRESOLVED),
            **fields,  # type: ignore[arg-type]
        )
