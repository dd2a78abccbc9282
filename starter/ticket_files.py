"""Reading tickets from files: one JSON ticket, or many as JSONL or CSV, with line numbers in errors."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from domain.config import describe_validation_error
from domain.models import Ticket

CSV_COLUMNS = [
    "ticket_no",
    "received_at",
    "kind",
    "category",
    "street",
    "community",
    "urgency",
    "title",
    "content",
    "citizen_name",
    "citizen_phone",
    "citizen_address",
]


class TicketFileError(ValueError):
    """A ticket file that cannot be read; the message names the file, line and field."""


@dataclass(frozen=True)
class Line:
    number: int
    ticket: Ticket | None
    error: str | None


def parse_ticket(data: Any, source: str) -> Ticket:
    if not isinstance(data, dict):
        raise TicketFileError(f"{source}: expected a JSON object")
    data = dict(data)
    # A ticket received just now need not state its time.
    data.setdefault("received_at", datetime.now(UTC).isoformat())
    try:
        return Ticket.model_validate(data)
    except ValidationError as err:
        raise TicketFileError(describe_validation_error(source, err)) from None


def read_ticket(path: Path) -> Ticket:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise TicketFileError(f"{path}: cannot read: {err.strerror}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise TicketFileError(f"{path}: line {err.lineno}: not valid JSON ({err.msg})") from None
    return parse_ticket(data, str(path))


def _csv_record(row: dict[str, str]) -> dict[str, Any]:
    record: dict[str, Any] = {k: v for k, v in row.items() if k in CSV_COLUMNS and not k.startswith("citizen_") and v}
    record["citizen"] = {
        "name": row.get("citizen_name", ""),
        "phone": row.get("citizen_phone", ""),
        **({"address": row["citizen_address"]} if row.get("citizen_address") else {}),
    }
    return record


def read_many(path: Path) -> Iterator[Line]:
    """Each ticket with its line number; a bad line yields its error and reading goes on."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as err:
        raise TicketFileError(f"{path}: cannot read: {err.strerror}") from None
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(io.StringIO(text))
        missing = [
            c for c in ("ticket_no", "category", "street", "title", "content") if c not in (reader.fieldnames or [])
        ]
        if missing:
            raise TicketFileError(f"{path}: line 1: missing columns {', '.join(missing)}")
        for row in reader:
            number = reader.line_num
            yield _parse_line(_csv_record(row), f"line {number}", number)
        return
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as err:
            yield Line(number, None, f"line {number}: not valid JSON ({err.msg})")
            continue
        yield _parse_line(data, f"line {number}", number)


def _parse_line(data: Any, source: str, number: int) -> Line:
    try:
        return Line(number, parse_ticket(data, source), None)
    except TicketFileError as err:
        return Line(number, None, str(err))
