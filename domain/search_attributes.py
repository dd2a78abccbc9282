"""Typed search attributes (registered when the embedded server starts; see README).

They are not encrypted, so they never carry personal data: only codes, names of places and
categories, statuses and times.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from temporalio.common import SearchAttributeKey, SearchAttributePair, SearchAttributeUpdate, TypedSearchAttributes

if TYPE_CHECKING:
    from domain.ticket_record import TicketRecord

STATUS = SearchAttributeKey.for_keyword("HotlineStatus")
DEPARTMENT = SearchAttributeKey.for_keyword("HotlineDepartment")
STREET = SearchAttributeKey.for_keyword("HotlineStreet")
CATEGORY = SearchAttributeKey.for_keyword("HotlineCategory")
URGENCY = SearchAttributeKey.for_keyword("HotlineUrgency")
RECEIVED_AT = SearchAttributeKey.for_datetime("HotlineReceivedAt")
CLOSED_AT = SearchAttributeKey.for_datetime("HotlineClosedAt")
RESOLVE_DUE = SearchAttributeKey.for_datetime("HotlineResolveDue")
OVERDUE = SearchAttributeKey.for_bool("HotlineOverdue")
REDO_COUNT = SearchAttributeKey.for_int("HotlineRedoCount")
# A 退单 or 延期 request waits for the shift lead (the approvals queue).
AWAITING_APPROVAL = SearchAttributeKey.for_bool("HotlineAwaitingApproval")
# The highest step of the escalation ladder reached in the current round (催办, 督办 …).
# (SQLite visibility allows three Datetime attributes: received, closed and the resolution due time.)
ESCALATION = SearchAttributeKey.for_keyword("HotlineEscalation")
# 并单: a digest of category, street and normalised address (never the address itself).
MATCH_KEY = SearchAttributeKey.for_keyword("HotlineMatchKey")

ALL = (
    STATUS,
    DEPARTMENT,
    STREET,
    CATEGORY,
    URGENCY,
    RECEIVED_AT,
    CLOSED_AT,
    RESOLVE_DUE,
    OVERDUE,
    REDO_COUNT,
    AWAITING_APPROVAL,
    ESCALATION,
    MATCH_KEY,
)

# Names of the types as `temporal server start-dev --search-attribute Name=Type` spells them.
_CLI_TYPES = {"KEYWORD": "Keyword", "DATETIME": "Datetime", "BOOL": "Bool", "INT": "Int"}


def server_flags() -> list[str]:
    flags: list[str] = []
    for key in ALL:
        type_name = key.indexed_value_type.name.removeprefix("INDEXED_VALUE_TYPE_")
        flags += ["--search-attribute", f"{key.name}={_CLI_TYPES[type_name]}"]
    return flags


def for_ticket(record: TicketRecord) -> TypedSearchAttributes:
    """The search attributes that describe a ticket's record right now."""
    values: list[SearchAttributePair] = [
        SearchAttributePair(STATUS, record.status.value),
        SearchAttributePair(STREET, record.ticket.street),
        SearchAttributePair(CATEGORY, record.ticket.category),
        SearchAttributePair(URGENCY, record.ticket.urgency),
        SearchAttributePair(RECEIVED_AT, record.ticket.received_at),
        SearchAttributePair(OVERDUE, record.overdue),
        SearchAttributePair(REDO_COUNT, record.redo_count),
        SearchAttributePair(AWAITING_APPROVAL, bool(record.pending_approvals)),
    ]
    if record.assignment is not None:
        values.append(SearchAttributePair(DEPARTMENT, record.assignment.department))
    if record.resolve_due is not None:
        values.append(SearchAttributePair(RESOLVE_DUE, record.resolve_due))
    if record.closed_at is not None:
        values.append(SearchAttributePair(CLOSED_AT, record.closed_at))
    if record.plan.deadlines is not None and record.escalation_level is not None:
        values.append(SearchAttributePair(ESCALATION, record.escalation_level))
    if record.plan.match_key is not None:
        values.append(SearchAttributePair(MATCH_KEY, record.plan.match_key))
    return TypedSearchAttributes(values)


def changes(before: TypedSearchAttributes, after: TypedSearchAttributes) -> list[SearchAttributeUpdate]:
    """Only what differs, so each step upserts once and only what moved; what went away is unset."""
    updates: list[SearchAttributeUpdate] = [
        pair.key.value_set(pair.value) for pair in after if before.get(pair.key) != pair.value
    ]
    updates += [pair.key.value_unset() for pair in before if after.get(pair.key) is None]
    return updates


def ticket_query(
    *, category: str | None = None, street: str | None = None, department: str | None = None, overdue: bool = False
) -> str:
    """A visibility query over tickets by the attributes above (values quoted for the query language)."""

    def quote(value: str) -> str:
        return "'" + value.replace("'", "\\'") + "'"

    clauses = ["WorkflowType = 'TicketWorkflow'"]
    for key, value in ((CATEGORY, category), (STREET, street), (DEPARTMENT, department)):
        if value:
            clauses.append(f"{key.name} = {quote(value)}")
    if overdue:
        clauses.append(f"{OVERDUE.name} = true")
    return " AND ".join(clauses)
