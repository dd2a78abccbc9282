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
    # Issue 17: what the centre decided about a ticket besides its clocks.
    EXEMPTED = "免考核"  # scoped to a department: "免考核@<department>" (approved 免考核)
    BACKLOG = "挂账"  # while the ticket is on the long-term backlog (approved 挂账, not yet closed)
    PAUSED = "暂停计时"  # while its clocks are paused (approved 暂停计时, not yet resumed)
    VERIFIED_CLOSED = "核查结案"  # with its closure category: "核查结案:<category>"
    # Issue 22: a department assisting on the ticket (协办), scoped: "协办@<department>", so its queue
    # finds the tickets it only assists on. Not a fact the reports count.
    ASSISTING = "协办"


# The four facts a round decides; an earlier round's are published as round tags (see `round_tags`).
ROUND_FACTS = (
    (Fact.SIGNED_ON_TIME, Fact.SIGNED_LATE),
    (Fact.CONTACTED_ON_TIME, Fact.CONTACTED_LATE),
    (Fact.ANSWERED_ON_TIME, Fact.ANSWERED_LATE),
    (Fact.RESOLVED, Fact.UNRESOLVED),
)


def scoped_tag(fact: Fact, department: str) -> str:
    """A fact about one department, e.g. "免考核@zjj"."""
    return f"{fact.value}@{department}"


def closure_tag(category: str) -> str:
    """How a 核查结案 closed the ticket, e.g. "核查结案:已解释说明"."""
    return f"{Fact.VERIFIED_CLOSED.value}:{category}"


class RoundFacts(Frozen):
    """What one finished round decided, for the department that held it (each round counts for its
    own department: a ticket redone by one department and then re-determined to another counts the
    first rounds against the first)."""

    round: int  # 1 for the first dispatch's round, 2 after the first redo or reassignment …
    department: str
    signed_on_time: bool | None = None
    contacted_on_time: bool | None = None
    answered_on_time: bool | None = None
    resolved: bool | None = None


def round_tags(done: RoundFacts) -> list[str]:
    """An earlier round's facts as HotlineFacts tags: "#<round>@<department>:<fact>"."""
    values = (done.signed_on_time, done.contacted_on_time, done.answered_on_time, done.resolved)
    prefix = f"#{done.round}@{done.department}:"
    return [
        prefix + (yes if value else no).value
        for value, (yes, no) in zip(values, ROUND_FACTS, strict=True)
        if value is not None
    ]


_ROUND_FIELD = {
    fact.value: (field, fact is yes)
    for field, (yes, no) in zip(
        ("signed_on_time", "contacted_on_time", "answered_on_time", "resolved"), ROUND_FACTS, strict=True
    )
    for fact in (yes, no)
}


def _rounds(found: set[str]) -> tuple[RoundFacts, ...]:
    fields: dict[tuple[int, str], dict[str, bool]] = {}
    for tag in found:
        if not tag.startswith("#") or "@" not in tag or ":" not in tag:
            continue
        head, _, fact = tag[1:].partition(":")
        number, _, department = head.partition("@")
        if not number.isdigit() or fact not in _ROUND_FIELD:
            continue
        field, value = _ROUND_FIELD[fact]
        fields.setdefault((int(number), department), {})[field] = value
    return tuple(
        RoundFacts(round=number, department=department, **values)
        for (number, department), values in sorted(fields.items())
    )


def marks(found: list[str] | tuple[str, ...]) -> list[str]:
    """What lists show beside a ticket's status: 挂账, 暂停计时, 核查结案：<category>, 免考核."""
    shown = [fact.value for fact in (Fact.BACKLOG, Fact.PAUSED) if fact.value in found]
    closure = next((t.partition(":")[2] for t in found if t.startswith(Fact.VERIFIED_CLOSED.value + ":")), None)
    if closure:
        shown.append(f"{Fact.VERIFIED_CLOSED.value}：{closure}")
    if any(t.startswith(Fact.EXEMPTED.value + "@") for t in found):
        shown.append(Fact.EXEMPTED.value)
    return shown


def status_marks(status: str, found: list[str] | tuple[str, ...]) -> str:
    """A status as lists show it: "已联系（挂账）", "办结（核查结案：已解释说明，免考核）"."""
    shown = marks(found)
    return f"{status}（{'，'.join(shown)}）" if shown else status


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
    # Issue 17's facts (absent on tickets received before them):
    exempted: tuple[str, ...] = ()  # departments whose 免考核 was approved for this ticket
    backlog: bool = False  # on the long-term backlog (挂账) now
    paused: bool = False  # its clocks are paused (暂停计时) now
    closure: str | None = None  # the 核查结案 category, when the centre closed it after 核查
    earlier_rounds: tuple[RoundFacts, ...] = ()  # finished rounds before the current one

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
            exempted=tuple(sorted(t.partition("@")[2] for t in present if t.startswith(Fact.EXEMPTED.value + "@"))),
            backlog=Fact.BACKLOG.value in present,
            paused=Fact.PAUSED.value in present,
            closure=next(
                (t.partition(":")[2] for t in present if t.startswith(Fact.VERIFIED_CLOSED.value + ":")), None
            ),
            earlier_rounds=_rounds(present),
            **fields,
        )
