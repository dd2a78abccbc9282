"""Reading tickets from files: one JSON ticket, or many as JSONL, CSV (comma or tab separated, UTF-8
or the GBK/GB18030 of Excel on Chinese Windows) or an Excel workbook (.xlsx), with line numbers in
errors. Every line of a file is either read as a ticket or named with its number and why not."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from domain.calendar import CHINA_TZ
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
REQUIRED_COLUMNS = ("ticket_no", "category", "street", "title", "content")
TABLE_SUFFIXES = (".csv", ".tsv", ".txt")  # what Excel saves as "CSV" and "Unicode text"
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")
# A record whose quotes are still open after this many characters spread over several lines is an
# unclosed quote, not a long value (the longest field a ticket has is 4,000 characters): it is named
# and reading goes on from its next line, so one stray quote cannot swallow the rest of the file.
MAX_RECORD_CHARS = 256 * 1024
# One field on one line may be far longer than a ticket allows: read it, so that the ticket's own
# bound refuses it naming the column (the csv module's default limit, 128 KiB, stops the whole file).
MAX_FIELD_CHARS = 16 * 1024 * 1024


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
    except LookupError:
        raise TicketFileError(f"{path}: --encoding: unknown encoding '{encoding}'") from None


def read_table_text(path: Path, encoding: str | None = None) -> str:
    """A CSV's text: in `encoding` if given; else UTF-8 (with or without its BOM), UTF-16 with a BOM
    (Excel's "Unicode text"), or GB18030, the superset of the GBK that Excel on Chinese Windows
    writes. A file that is none of them is one line naming the first bad byte's line."""
    if encoding:
        return read_text(path, encoding)
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise TicketFileError(f"{path}: cannot read: {err.strerror or err}") from None
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _decode(path, raw, "utf-16")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        utf8_error = err
    if not _mostly_utf8(raw):
        try:
            return raw.decode("gb18030")
        except UnicodeDecodeError:
            pass
    line = raw[: utf8_error.start].count(b"\n") + 1
    raise TicketFileError(
        f"{path}: line {line}: not UTF-8 text, nor GBK/GB18030 (byte {utf8_error.start + 1}); "
        "name its encoding with --encoding"
    )


def _decode(path: Path, raw: bytes, encoding: str) -> str:
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise TicketFileError(f"{path}: line {line}: not {encoding} text (byte {err.start + 1})") from None


def _mostly_utf8(raw: bytes) -> bool:
    """Whether text that is not valid UTF-8 is still mostly UTF-8 (a damaged UTF-8 file, to be named
    as such) rather than GBK, whose pairs of bytes seldom happen to form UTF-8."""
    text = raw.decode("utf-8", errors="replace")
    broken = text.count("\ufffd")
    return sum(1 for ch in text if ord(ch) > 127) - broken > broken


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


# ----- times as spreadsheets write them -----

# 2026/12/3 9:00, 2026-12-03 09:00:00, 2026.12.3, 2026年12月3日 9时: what a person or Excel types.
_SPREADSHEET_TIME = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:[\sT]+(\d{1,2})\s*[:时点]\s*(\d{1,2})?\s*(?:[:分]\s*(\d{1,2}(?:\.\d+)?)\s*秒?)?)?"
)
# Excel counts days from 1899-12-30; serials of the years 2000 to 2099 (36526 is 2000-01-01).
_EXCEL_EPOCH = datetime(1899, 12, 30)
_EXCEL_SERIALS = (36526, 73051)


def spreadsheet_time(value: Any) -> Any:
    """A receipt time from a spreadsheet as ISO 8601. Spreadsheets keep no time zone: a time without
    one is the district's (China time). Excel serial numbers (46359.375) and datetimes read from a
    workbook become times too; anything else is returned as it is, for the model to refuse."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=CHINA_TZ)).isoformat()
    text = str(value).strip()
    if isinstance(value, int | float) or re.fullmatch(r"\d{5}(?:\.\d+)?", text):
        serial = float(text)
        if _EXCEL_SERIALS[0] <= serial < _EXCEL_SERIALS[1]:
            at = _EXCEL_EPOCH + timedelta(days=serial)
            return at.replace(microsecond=0, tzinfo=CHINA_TZ).isoformat()
        return text
    found = _SPREADSHEET_TIME.fullmatch(text)
    if found is None:
        return text
    year, month, day, hour, minute, second = found.groups()
    try:
        at = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), tzinfo=CHINA_TZ)
    except ValueError:
        return text  # 2026/2/30: the model names the field
    return (at + timedelta(seconds=float(second or 0))).isoformat()


# ----- many tickets -----


def read_many(path: Path, encoding: str | None = None) -> Iterator[Line]:
    """Each ticket with its line number; a bad line yields its error and reading goes on. A ticket
    number given twice in the file is an error on the later line (the first one is taken)."""
    seen: dict[str, int] = {}
    suffix = path.suffix.lower()
    if suffix in WORKBOOK_SUFFIXES:
        lines = _workbook_lines(path)
    elif suffix == ".xls":
        raise TicketFileError(f"{path}: an Excel 97–2003 workbook (.xls): save it as .xlsx or CSV")
    elif suffix in TABLE_SUFFIXES and not _json_first(text := read_table_text(path, encoding)):
        lines = _table_lines(path, text)
    else:
        lines = _json_lines(read_text(path, encoding or "utf-8-sig"))
    for line in lines:
        if line.ticket is not None:
            first = seen.setdefault(line.ticket.ticket_no, line.number)
            if first != line.number:
                line = Line(
                    line.number,
                    None,
                    f"line {line.number}: ticket_no: '{line.ticket.ticket_no}' already on line {first}",
                )
        yield line


def _json_first(text: str) -> bool:
    """A .txt file of JSON lines (its first character a brace) rather than a table."""
    return text.lstrip("\ufeff \t\r\n").startswith("{")


def _json_lines(text: str) -> Iterator[Line]:
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


def _record(row: dict[str, Any]) -> dict[str, Any]:
    """A row of a table (CSV or sheet) as a ticket's JSON data: empty cells left out."""
    record: dict[str, Any] = {
        k: v for k, v in row.items() if k in CSV_COLUMNS and not k.startswith("citizen_") and v not in ("", None)
    }
    if "received_at" in record:
        record["received_at"] = spreadsheet_time(record["received_at"])
    record["citizen"] = {
        "name": row.get("citizen_name") or "",
        "phone": row.get("citizen_phone") or "",
        **({"address": row["citizen_address"]} if row.get("citizen_address") else {}),
    }
    return record


def _check_header(path: Path, columns: list[str]) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise TicketFileError(f"{path}: line 1: missing columns {', '.join(missing)}")


class _RecordTooLong(Exception):
    """A record's quotes stay open over more than MAX_RECORD_CHARS."""


class _Lines:
    """The physical lines of a table, fed one by one to a csv reader, counting where the current
    record began and how long it has grown."""

    def __init__(self, lines: list[str], start: int) -> None:
        self.lines, self.next = lines, start
        self.record_start, self.record_chars = start, 0

    def begin_record(self) -> None:
        self.record_start, self.record_chars = self.next, 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self.next >= len(self.lines):
            raise StopIteration
        if self.record_chars > MAX_RECORD_CHARS and self.next > self.record_start:
            raise _RecordTooLong
        line = self.lines[self.next]
        self.next += 1
        self.record_chars += len(line)
        return line


def _table_lines(path: Path, text: str) -> Iterator[Line]:
    """The records of a CSV or tab-separated table. Quoting is read strictly, record by record: a
    record that cannot be read (an unclosed quote, a quote in the wrong place) is named by the line
    it starts on, and reading goes on from the line after it."""
    lines = list(io.StringIO(text, newline=""))  # keeps each line's own ending, splits at \n, \r\n, \r
    if not lines:
        raise TicketFileError(f"{path}: line 1: missing columns {', '.join(REQUIRED_COLUMNS)}")
    delimiter = "\t" if lines[0].count("\t") > lines[0].count(",") else ","
    previous_limit = csv.field_size_limit(MAX_FIELD_CHARS)
    try:
        try:
            header = next(csv.reader([lines[0]], delimiter=delimiter, strict=True))
        except csv.Error as err:
            raise TicketFileError(f"{path}: line 1: not valid CSV ({err})") from None
        columns = [name.strip().lstrip("\ufeff") for name in header]
        _check_header(path, columns)
        start = 1
        while start < len(lines):
            start = yield from _records(lines, start, columns, delimiter)
    finally:
        csv.field_size_limit(previous_limit)


def _records(lines: list[str], start: int, columns: list[str], delimiter: str) -> Generator[Line, None, int]:
    """Records from line index `start` until the end (returns len(lines)) or until one cannot be
    read (returns the index to go on from: the line after the one it began on)."""
    feed = _Lines(lines, start)
    reader = csv.reader(feed, delimiter=delimiter, strict=True)
    while True:
        feed.begin_record()
        number = feed.record_start + 1
        try:
            values = next(reader)
        except StopIteration:
            return len(lines)
        except _RecordTooLong:
            yield Line(
                number,
                None,
                f"line {number}: unclosed quote (still open on line {feed.next}); read on from line {number + 1}",
            )
            return feed.record_start + 1
        except csv.Error as err:
            reason = "unclosed quote" if "unexpected end of data" in str(err) else f"not valid CSV ({err})"
            yield Line(number, None, f"line {number}: {reason}")
            return feed.record_start + 1
        if not values or not any(value.strip() for value in values):
            continue  # a blank line, or a row of empty cells
        spanned = feed.next - feed.record_start
        if len(values) != len(columns):
            if spanned > 1:  # a quote opened here and closed on a later line: this line is broken
                message = f"line {number}: unclosed quote (read with the lines after it as {len(values)} columns)"
                yield Line(number, None, message)
                return feed.record_start + 1
            if len(values) > len(columns):
                message = f"line {number}: {len(values)} columns, the header has {len(columns)} (a comma in a value needs quotes)"
                yield Line(number, None, message)
                continue
        row = dict(zip(columns, values, strict=False))
        yield _parse_line(_record(row), f"line {number}", number)


def _workbook_lines(path: Path) -> Iterator[Line]:
    """The rows of an .xlsx workbook's first sheet, row 1 the header: numbers as Excel keeps them
    (a phone as 13812341234, not 1.38e10), dates as the district's time."""
    from openpyxl import load_workbook  # only an import of a workbook needs it
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except OSError as err:
        raise TicketFileError(f"{path}: cannot read: {err.strerror or err}") from None
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError) as err:
        raise TicketFileError(f"{path}: not an Excel workbook (.xlsx): {err}") from None
    try:
        sheet = workbook.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, None) or ()
        columns = [_cell_text(value).strip() for value in header]
        _check_header(path, columns)
        for number, values in enumerate(rows, start=2):
            if all(value is None or _cell_text(value).strip() == "" for value in values):
                continue
            # The receipt keeps its cell's type: a datetime, or a serial number in a cell without a date format.
            row = {
                name: value if name == "received_at" else _cell_text(value)
                for name, value in zip(columns, values, strict=False)
            }
            yield _parse_line(_record(row), f"line {number}", number)
    finally:
        workbook.close()


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a ticket number or phone typed as a number
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _parse_line(data: Any, source: str, number: int) -> Line:
    try:
        return Line(number, parse_ticket(data, source), None)
    except TicketFileError as err:
        return Line(number, None, str(err))
