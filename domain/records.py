"""What every record (工单、吹哨、会商、专项、企业) shares: the refusal a `check_*` raises, the notice
waiting in its outbox, the checks of who may act, and the notices of a deadline ladder's step.

A refusal reaches the client as an `ApplicationError` whose type is the class's name, "ActionRefused"
(Temporal's failure converter names it so, and clients match on it): the name must stay.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, Field

from domain.deadlines import Clock, ClockEvent, ClockKind
from domain.delivery import NoticeKind
from domain.models import ROLE_LABELS, Actor, Assignment, Role


class ActionRefused(Exception):
    """A human action that the record's state or the actor's role does not allow."""


class PendingNotice(BaseModel):
    """A notice waiting to be sent: to a department, or (department None) to the centre's people."""

    department: Assignment | None
    kind: NoticeKind
    text: str
    audience: list[str] = Field(default_factory=list)
    level: str | None = None
    clock: ClockKind | None = None
    due_at: datetime | None = None
    key: str | None = None  # its idempotency key, fixed when it is first sent


def require_role(actor: Actor, action: str, *roles: Role) -> None:
    """Refuse an actor of none of `roles`, naming the roles allowed; then one who does not fit."""
    if actor.role not in roles:
        allowed = "、".join(ROLE_LABELS[r] for r in roles)
        raise ActionRefused(f"拒绝{action}：{actor.label} 无权操作，仅限{allowed}")
    require_fit(actor, action)


def require_fit(actor: Actor, action: str) -> None:
    """Refuse an actor whose role and unit cannot go together (a shift lead "of" a department): no
    person of the configuration is like that, so it is a forgery (docs/security.md)."""
    misfit = actor.misfit
    if misfit:
        raise ActionRefused(f"拒绝{action}：{actor.label} 身份不符（{misfit}）")


def ladder_notices(unit: Assignment, event: ClockEvent, clock: Clock, text: str) -> list[PendingNotice]:
    """A ladder step's notices: to the department if the step names it, and one to the centre's
    people (shift lead, leaders) the step names."""
    notice = {
        "kind": NoticeKind.ESCALATION,
        "text": text,
        "level": event.level,
        "clock": clock.kind,
        "due_at": clock.due_at,
    }
    notices = [PendingNotice(department=unit, **notice)] if "department" in event.notify else []
    audience = [t for t in event.notify if t != "department"]
    if audience:
        notices.append(PendingNotice(department=None, audience=audience, **notice))
    return notices


def how_long(span: timedelta) -> str:
    """'3 小时 45 分钟', '15 分钟', '40 秒': how long an outage has lasted."""
    seconds = max(0, int(span.total_seconds()))
    if seconds < 60:
        return f"{seconds} 秒"
    hours, minutes = divmod(seconds // 60, 60)
    if hours and minutes:
        return f"{hours} 小时 {minutes} 分钟"
    return f"{hours} 小时" if hours else f"{minutes} 分钟"
