"""受理: check a ticket against the configuration, route it by the dispatch catalogue and the
knowledge base, and fix the policy it will live under.

Runs at the edge (CLI, gateway) so that the workflow receives everything it needs in its input
and never reads configuration itself: a later change of configuration never changes a running
ticket's replay.
"""

from __future__ import annotations

import hashlib
import unicodedata
from datetime import datetime, timedelta

from pydantic import Field

from domain.calendar import CalendarData, Duration, Span
from domain.config import DistrictConfig, KnowledgeEntry, ManualSurvey
from domain.deadlines import TicketDeadlines, deadlines_for
from domain.models import Assignment, Frozen, RequestKind, Ticket


class TicketRejected(ValueError):
    """A ticket that cannot be accepted; the message names the field."""


class TicketPolicy(Frozen):
    """Hour-based limits of the first release, kept so that tickets started then replay as they ran.
    New tickets carry `TicketDeadlines` instead."""

    sign_for_hours: float
    resolve_hours: float
    return_window_hours: float
    max_extensions: int
    max_extension_hours: float


class IntakePlan(Frozen):
    route: Assignment | None = None  # None: the shift lead dispatches by hand
    knowledge_id: str | None = None
    direct_answer: str | None = None  # a 咨询 the knowledge base answers
    policy: TicketPolicy | None = None  # first release only
    deadlines: TicketDeadlines | None = None
    consultation: ConsultationPolicy | None = None  # None: tickets started before consultations existed
    match_key: str | None = None  # 并单: same category and normalised address (a digest, not the address)
    merged_into: str | None = None  # the workflow id of the open ticket this one repeats
    assisting: list[Assignment] = Field(default_factory=list)  # 紧急诉求联动处置: dispatched at once, to assist
    # 派遣受阻: how long a delivery may keep failing before the shift lead is told (None: the default)
    delivery_alert_after: Duration | None = None
    # Fixed at intake (older inputs lack it: the ticket ends once sent up): how long a ticket sent up
    # to the city may still come back (市级退回 / 不予受理).
    city_reply_within: Duration | None = None
    # Fixed at intake so that replay is deterministic (older inputs lack it: False, the old behaviour).
    # True: the dispatch step (派遣) is published once, when delivered, blocked or failed.
    publish_on_delivery: bool = False
    # Fixed at intake so that replay is deterministic: a change of survey mode applies to tickets
    # received after it. True: operators make the callback (回访), no local activity asks for it.
    callback_by_operator: bool = False
    # 核查 after the callback (None: tickets received before it, which redo at once).
    verification: VerificationPolicy | None = None
    # 暂停计时: how long a pause may last before the clocks resume by themselves (None: received
    # before pauses existed; they cannot pause).
    pause_limit: Duration | None = None
    # True: the facts a report reads cover each finished round (round tags) and a clock that ran out
    # before its step (签收/响应超时, 超时办结 published when the ladder's first step fires).
    full_facts: bool = False
    # True: each assisting department is published as "协办@<department>" in HotlineFacts, so its
    # queue lists the tickets it assists on (tickets received before this have no such tag).
    assisting_tags: bool = False


class VerificationPolicy(Frozen):
    """核查 after an unresolved or 不满意 callback, as configured when the ticket was received."""

    auto_redo: bool = False  # True: redo at once, as before 核查 existed
    max_redo: int = 2  # past this many redos only 核查结案 (or a consultation meeting)


class ConsultationPolicy(Frozen):
    """When a ticket becomes a 问题工单 and goes to a consultation meeting by itself."""

    problem_threshold: int  # returns (改派) or redos (重办)
    attendance_window: Span
    arbiter: str


class TicketInput(Frozen):
    ticket: Ticket
    plan: IntakePlan


TICKET_PREFIX = "ticket-"


def workflow_id_for(ticket_no: str) -> str:
    return f"{TICKET_PREFIX}{ticket_no}"


def ticket_no_of(workflow_id: str) -> str:
    """The ticket's number from its workflow id (the inverse of `workflow_id_for`)."""
    return workflow_id.removeprefix(TICKET_PREFIX)


# A ticket's receipt may run ahead of this machine's clock by this much (another system's clock).
CLOCK_SKEW = timedelta(days=1)


def check_ticket(config: DistrictConfig, ticket: Ticket, now: datetime | None = None) -> None:
    """Refuse what the configuration does not know, naming the field; given `now` (at the edge, not
    when the simulator replays a scenario's month), also a receipt in the future."""
    if now is not None and ticket.received_at > now + CLOCK_SKEW:
        raise TicketRejected(f"received_at: {ticket.received_at.isoformat()} is in the future")
    categories = {c.name for c in config.categories}
    if ticket.category not in categories:
        raise TicketRejected(f"category: unknown '{ticket.category}'")
    streets = {s.name: s for s in config.streets}
    street = streets.get(ticket.street)
    if street is None:
        raise TicketRejected(f"street: unknown '{ticket.street}'")
    if ticket.community is not None and ticket.community not in street.communities:
        raise TicketRejected(f"community: '{ticket.community}' is not in {ticket.street}")
    if ticket.urgency not in {u.name for u in config.urgencies}:
        raise TicketRejected(f"urgency: unknown '{ticket.urgency}'")


def assignment_for(config: DistrictConfig, department_code: str) -> Assignment:
    try:
        dept = config.department(department_code)
    except KeyError:
        raise TicketRejected(f"department: unknown '{department_code}'") from None
    return Assignment(department=dept.code, department_name=dept.name, task_queue=dept.task_queue)


def route(config: DistrictConfig, category: str, street: str) -> str | None:
    """The department for a category: a line for this street wins over a line for every street."""
    generic = None
    for line in config.catalogue:
        if line.category != category:
            continue
        if line.street == street:
            return line.department
        if line.street is None and generic is None:
            generic = line.department
    return generic


def answer_from_knowledge(config: DistrictConfig, ticket: Ticket) -> KnowledgeEntry | None:
    if ticket.kind is not RequestKind.QUESTION:
        return None
    text = f"{ticket.title}\n{ticket.content}"
    for entry in config.knowledge_base:
        if entry.category not in (None, ticket.category):
            continue
        if all(keyword in text for keyword in entry.keywords):
            return entry
    return None


def normalise_address(text: str) -> str:
    """Full-width to half-width, no spaces or punctuation: '镇北社区 3号楼' and '镇北社区３号楼' agree."""
    folded = unicodedata.normalize("NFKC", text).lower()
    return "".join(ch for ch in folded if ch.isalnum())


def match_key(ticket: Ticket) -> str | None:
    """A digest of category, street and normalised address: repeats of one matter share it. Only the
    digest is kept in search attributes, never the address itself."""
    address = ticket.citizen.address or ""
    if not normalise_address(address):
        return None
    text = f"{ticket.category}|{ticket.street}|{normalise_address(address)}"
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def joint_responders(config: DistrictConfig, ticket: Ticket, lead: str | None) -> list[Assignment]:
    for rule in config.joint_response:
        if rule.category == ticket.category and rule.urgency == ticket.urgency:
            return [assignment_for(config, code) for code in rule.departments if code != lead]
    return []


def plan_intake(
    config: DistrictConfig, ticket: Ticket, calendar: CalendarData, merge_into: str | None = None
) -> TicketInput:
    """Everything the ticket's workflow needs, fixed now: route, knowledge answer, deadline tier and
    the slice of the working-day calendar its clocks will use."""
    check_ticket(config, ticket)
    knowledge = answer_from_knowledge(config, ticket)
    department = None if knowledge else route(config, ticket.category, ticket.street)
    plan = IntakePlan(
        route=assignment_for(config, department) if department else None,
        knowledge_id=knowledge.id if knowledge else None,
        direct_answer=knowledge.answer if knowledge else None,
        deadlines=deadlines_for(config.deadlines, calendar, ticket.urgency, ticket.category, ticket.kind),
        match_key=None if knowledge else match_key(ticket),
        assisting=[] if knowledge else joint_responders(config, ticket, department),
        merged_into=None if knowledge else merge_into,
        consultation=ConsultationPolicy(
            problem_threshold=config.center.problem_threshold,
            attendance_window=config.center.attendance_window,
            arbiter=config.center.arbiter,
        ),
        delivery_alert_after=config.center.delivery_alert_after,
        city_reply_within=config.center.city.reply_within,
        publish_on_delivery=True,
        callback_by_operator=isinstance(config.center.callback, ManualSurvey),
        verification=VerificationPolicy(
            auto_redo=config.center.callback.auto_redo, max_redo=config.center.callback.max_redo
        ),
        pause_limit=config.center.pause_limit,
        full_facts=True,
        assisting_tags=True,
    )
    return TicketInput(ticket=ticket, plan=plan)
