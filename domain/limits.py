"""Limits on what reaches a workflow's history, and one-line messages for what is refused.

Every free-text and list field of an input model has its own bound (models.py, commands.py, …);
on top of that a whole submission or update payload, serialized, may not exceed
`MAX_PAYLOAD_BYTES`. Clients check it before they start a workflow or send an update, and every
update validator checks it again (`workflows.common.validates` registers them all behind
`check_payload`), so nothing oversized is ever written to a history.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from pydantic import BaseModel, ValidationError

MAX_PAYLOAD_BYTES = 64 * 1024  # a ticket's input is about 5 KB; its longest content about 12 KB


class PayloadRejected(ValueError):
    """A payload of the wrong type or too large; the message is one line naming what."""


def payload_size(value: BaseModel) -> int:
    """Bytes of the value as the data converter writes it (JSON, before encryption)."""
    return len(value.__pydantic_serializer__.to_json(value))


def check_payload(value: Any, model: type[BaseModel], what: str | None = None) -> None:
    """Refuse a payload that is not a `model` (an update sent with null or another type) or whose
    serialized size exceeds the limit."""
    name = what or model.__name__
    if not isinstance(value, model):
        got = "null" if value is None else type(value).__name__
        raise PayloadRejected(f"{name}: expected {model.__name__}, got {got}")
    data = value.__pydantic_serializer__.to_json(value)
    if len(data) > MAX_PAYLOAD_BYTES:
        raise PayloadRejected(
            f"{name}: {len(data) / 1024:.1f} KiB serialized, more than the limit of {MAX_PAYLOAD_BYTES // 1024} KiB"
        )
    # A payload read back from a history is spared the rules added to the models later (STORED in
    # domain/models.py), so running tickets replay; a new update meets every rule here, before
    # anything is written (validators do not run on replay).
    try:
        model.model_validate_json(data)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise PayloadRejected(f"{name}: {where}: {first['msg'].removeprefix('Value error, ')}") from None


def one_line(text: str, limit: int = 500) -> str:
    """A message as one printable line: control characters (newlines, escapes) shown escaped, and
    at most `limit` characters, so a value echoed in an error can neither break nor flood it."""
    shown = "".join(ch.encode("unicode_escape").decode("ascii") if _hidden(ch) else ch for ch in text)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def _hidden(ch: str) -> bool:
    """Control, format, surrogate, private-use and unassigned characters, and line or paragraph
    separators: what would break a line or hide in it (spaces, full-width ones too, stay)."""
    return unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")
