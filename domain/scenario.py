"""Scenarios for the simulator (`hotline simulate`): each JSONL line a ticket with the scripted
behaviour of its department and its citizen. Documented in docs/scenario.md.

A line::

    {"no": "S0001", "at": "2026-11-02T09:15:00+08:00", "category": "市容环卫", "street": "滨河街道",
     "urgency": "一般", "kind": "投诉", "title": "垃圾未清运", "content": "东门垃圾三天未清运",
     "sign": "30m", "contact": "2h", "answer": "2d", "resolved": true, "satisfaction": "满意",
     "return_to": null, "extension_days": null, "callback": "1h",
     "redo": [{"answer": "1d", "resolved": true, "satisfaction": "满意"}]}

Delays are natural time after the step before: `sign` after delivery, `contact` after signing,
`answer` after contact, `callback` after the answer. `return_to` (a department code): the first
department asks to return the ticket right after signing, the shift lead approves and reassigns it
there, and the new department then signs, contacts and answers with the same delays.
`extension_days`: an extension of that many working days is asked right after contact and
approved. An unresolved or 不满意 callback sends the ticket back (重办): each `redo` entry scripts
the next round's answer and callback; without one the round repeats the first answer, resolved.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import AwareDatetime, Field, ValidationError

from domain.calendar import Duration, natural
from domain.config import DistrictConfig, describe_validation_error
from domain.models import Frozen, LongText, RequestKind, Satisfaction, ShortText, TicketNo


class RedoRound(Frozen):
    answer: Duration
    resolved: bool = True
    satisfaction: Satisfaction = Satisfaction.SATISFIED


class ScenarioLine(Frozen):
    no: TicketNo
    at: AwareDatetime
    category: ShortText
    street: ShortText
    urgency: ShortText = "一般"
    kind: RequestKind = RequestKind.COMPLAINT
    title: ShortText
    content: LongText
    sign: Duration
    contact: Duration
    answer: Duration
    resolved: bool = True
    satisfaction: Satisfaction = Satisfaction.SATISFIED
    callback: Duration = Field(default="1h", validate_default=True)  # type: ignore[assignment]
    return_to: str | None = None
    extension_days: int | None = Field(default=None, ge=1, le=60)
    redo: list[RedoRound] = Field(default_factory=list, max_length=5)

    def delay(self, step: str) -> timedelta:
        return natural(getattr(self, step))


class ScenarioError(ValueError):
    """A scenario that cannot run; the message names the line and the field."""


def parse_scenario(text: str, config: DistrictConfig, source: str = "scenario") -> list[ScenarioLine]:
    """Every line checked against the model and the configuration before anything runs."""
    lines: list[ScenarioLine] = []
    seen: dict[str, int] = {}
    categories = {c.name for c in config.categories}
    streets = {s.name for s in config.streets}
    urgencies = {u.name for u in config.urgencies}
    departments = {d.code for d in config.departments}
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        where = f"{source}:{number}"
        try:
            line = ScenarioLine.model_validate_json(raw)
        except ValidationError as err:
            raise ScenarioError(describe_validation_error(where, err)) from None
        checks = (
            ("category", line.category, categories),
            ("street", line.street, streets),
            ("urgency", line.urgency, urgencies),
        )
        for field, value, known in checks:
            if value not in known:
                raise ScenarioError(f"{where}: {field}: unknown '{value}'")
        if line.return_to is not None and line.return_to not in departments:
            raise ScenarioError(f"{where}: return_to: unknown department '{line.return_to}'")
        if line.no in seen:
            raise ScenarioError(f"{where}: no: '{line.no}' already on line {seen[line.no]}")
        seen[line.no] = number
        lines.append(line)
    if not lines:
        raise ScenarioError(f"{source}: no tickets")
    return sorted(lines, key=lambda line: line.at)
