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


def read_text(path: Path, encoding: str = "utf-8") -> str:
    """A file's text, or one line saying why it cannot be read (missing, a folder, not UTF-8)."""
    try:
        return path.read_text(encoding=encoding)
    except OSError as err:
        raise TicketFileError(f"{path}: cannot read: {err.strerror or err}") from None
    except UnicodeDecodeError as err:
        line = path.read_bytes()[: err.start].count(b"\n") + 1
        raise TicketFileError(f"{path}: line {line}: not UTF-8 text (byte {err.start + 1})") from None


def load_json(text: str, where: str, lines: bool = True) -> Any:
    """JSON, or one line naming `where` (and the line, if `lines`): a syntax error, a number too
    long, nesting too deep."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        line = f"line {err.lineno}: " if lines else ""
        raise TicketFileError(f"{where}: {line}not valid JSON ({err.msg})") from None
    except (ValueError, RecursionError) as err:
        reason = "nested too deeply" if isinstance(err, RecursionError) else str(err).split(":")[0]
        raise TicketFileError(f"{where}: not valid JSON ({reason})") from None


def read_ticket(path: Path) -> Ticket:
    return parse_ticket(load_json(read_text(path), str(path)), str(path))


def _csv_record(row: dict[str, str]) -> dict[str, Any]:
    record: dict[str, Any] = {k: v for k, v in row.items() if k in CSV_COLUMNS and not k.startswith("citizen_") and v}
    record["citizen"] = {
        "name": row.get("citizen_name", ""),
        "phone": row.get("citizen_phone", ""),
        **({"address": row["citizen_address"]} if row.get("citizen_address") else {}),
    }
    return record


def read_many(path: Path) -> Iterator[Line]:
    """Each ticket with its line number; a bad line yields its error and reading goes on. A ticket
    number given twice in the file is an error on the later line (the first one is taken)."""
    seen: dict[str, int] = {}
    for line in _read_lines(path, read_text(path, "utf-8-sig")):
        if line.ticket is not None:
            first = seen.setdefault(line.ticket.ticket_no, line.number)
            if first != line.number:
                line = Line(
                    line.number,
                    None,
                    f"line {line.number}: ticket_no: '{line.ticket.ticket_no}' already on line {first}",
                )
        yield line


def _read_lines(path: Path, text: str) -> Iterator[Line]:
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(io.StringIO(text))
        try:
            fieldnames = reader.fieldnames or []
        except csv.Error as err:
            raise TicketFileError(f"{path}: line 1: not valid CSV ({err})") from None
        missing = [c for c in ("ticket_no", "category", "street", "title", "content") if c not in fieldnames]
        if missing:
            raise TicketFileError(f"{path}: line 1: missing columns {', '.join(missing)}")
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as err:  # a field beyond the csv module's limit: the rest cannot be read
                number = reader.reader.line_num
                yield Line(number, None, f"line {number}: not valid CSV ({err})")
                return
            number = reader.line_num
            yield _parse_line(_csv_record(row), f"line {number}", number)
    # Lines end at newlines only: a JSON string may hold U+2028 and the like, which splitlines() splits at.
    for number, raw in enumerate(text.split("\n"), start=1):
        if not raw.strip():
            continue
        try:
            data = load_json(raw, f"line {number}", lines=False)
        except TicketFileError as err:
            yield Line(number, None, str(err))
            continue
        yield _parse_line(data, f"line {number}", number)


def _parse_line(data: Any, source: str, number: int) -> Line:
    try:
        return Line(number, parse_ticket(data, source), None)
    except TicketFileError as err:
        return Line(number, None, str(err))
