"""Typed search attributes (registered when the embedded server starts; see README).

They are not encrypted, so they never carry personal data: only codes, names of places and
categories, statuses and times.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from temporalio.common import (
    SearchAttributeIndexedValueType,
    SearchAttributeKey,
    SearchAttributePair,
    SearchAttributeUpdate,
    TypedSearchAttributes,
)

from domain import facts
from domain.models import Satisfaction

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
# The facts the reports read (domain/facts.py): counts of detours, the callback's verdict, and which
# clocks of the current round stopped in time. (SQLite visibility allows three Int attributes.)
RETURN_COUNT = SearchAttributeKey.for_int("HotlineReturnCount")
EXTENSION_COUNT = SearchAttributeKey.for_int("HotlineExtensionCount")
SATISFACTION = SearchAttributeKey.for_keyword("HotlineSatisfaction")
FACTS = SearchAttributeKey.for_keyword_list("HotlineFacts")

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
    RETURN_COUNT,
    EXTENSION_COUNT,
    SATISFACTION,
    FACTS,
)

# Names of the types as `temporal server start-dev --search-attribute Name=Type` spells them.
_CLI_TYPES = {"KEYWORD": "Keyword", "DATETIME": "Datetime", "BOOL": "Bool", "INT": "Int", "KEYWORD_LIST": "KeywordList"}


def server_flags() -> list[str]:
    flags: list[str] = []
    for key in ALL:
        type_name = key.indexed_value_type.name.removeprefix("INDEXED_VALUE_TYPE_")
        flags += ["--search-attribute", f"{key.name}={_CLI_TYPES[type_name]}"]
    return flags


def for_ticket(record: TicketRecord) -> TypedSearchAttributes:
    """The search attributes that describe a ticket's record right now."""
    values: list[SearchAttributePair[Any]] = [
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
    # The facts appear only once they hold something, each at a step that upserts anyway (a status or
    # due time moves with it): tickets started before they existed replay with the same commands.
    if record.return_count:
        values.append(SearchAttributePair(RETURN_COUNT, record.return_count))
    if record.extensions_granted:
        values.append(SearchAttributePair(EXTENSION_COUNT, record.extensions_granted))
    if record.callback is not None:
        values.append(SearchAttributePair(SATISFACTION, record.callback.satisfaction.value))
    found = facts.tags(*record.current_facts())
    # Issue 17's facts: only tickets that took these steps have them (none before they existed).
    for done in record.rounds:
        found += facts.round_tags(done)
    found += [facts.scoped_tag(facts.Fact.EXEMPTED, department) for department in record.exempted]
    if record.plan.assisting_tags:
        found += [facts.scoped_tag(facts.Fact.ASSISTING, part.assignment.department) for part in record.assists]
    if record.on_backlog:
        found.append(facts.Fact.BACKLOG.value)
    if record.paused_since is not None and not record.status.is_final:
        found.append(facts.Fact.PAUSED.value)
    if record.closure is not None:
        found.append(facts.closure_tag(record.closure.value))
    if found:
        values.append(SearchAttributePair(FACTS, found))
    return TypedSearchAttributes(values)


def changes(before: TypedSearchAttributes, after: TypedSearchAttributes) -> list[SearchAttributeUpdate[Any]]:
    """Only what differs, so each step upserts once and only what moved; what went away is unset."""
    updates: list[SearchAttributeUpdate[Any]] = [
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


class _ByName:
    """Values by search attribute name, read like TypedSearchAttributes (datetimes parsed)."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.values = values

    def get(self, key: SearchAttributeKey[Any]) -> Any:
        value = self.values.get(key.name)
        if isinstance(value, str) and key.indexed_value_type is SearchAttributeIndexedValueType.DATETIME:
            return datetime.fromisoformat(value)
        return value


def facts_of(workflow_id: str, attrs: TypedSearchAttributes | Mapping[str, Any]) -> facts.TicketFacts:
    """A ticket's facts as its search attributes tell them (what a report reads from visibility):
    typed, or as values by name (the reports' fast path decodes only these from the raw listing)."""
    values = attrs if isinstance(attrs, TypedSearchAttributes) else _ByName(attrs)
    satisfaction = values.get(SATISFACTION)
    received = values.get(RECEIVED_AT)
    assert received is not None, f"{workflow_id} has no {RECEIVED_AT.name}"
    return facts.TicketFacts.from_tags(
        list(values.get(FACTS) or []),
        workflow_id=workflow_id,
        status=values.get(STATUS) or "",
        department=values.get(DEPARTMENT),
        street=values.get(STREET),
        category=values.get(CATEGORY),
        urgency=values.get(URGENCY),
        received_at=received,
        closed_at=values.get(CLOSED_AT),
        resolve_due=values.get(RESOLVE_DUE),
        overdue=bool(values.get(OVERDUE)),
        escalation=values.get(ESCALATION),
        redo_count=values.get(REDO_COUNT) or 0,
        return_count=values.get(RETURN_COUNT) or 0,
        extension_count=values.get(EXTENSION_COUNT) or 0,
        satisfaction=Satisfaction(satisfaction) if satisfaction else None,
    )
