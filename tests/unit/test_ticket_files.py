"""Ticket files as district offices make them (issue 19, findings 7 and 8): every line of an import is
either read or named by its number (a 200,000-character field, an unclosed quote); CSV saved by Excel
on Chinese Windows (GBK), tab-separated and UTF-16 "Unicode text", .xlsx workbooks, and the times
Excel writes (2026/12/3 9:00, serial numbers); and a configuration that is not UTF-8 is one line
with exit code 2. No server: the files are read as `hotline ticket import` reads them."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import Workbook

from activities.runtime.settings import ConfigError, bundled_config_path, load_config
from domain.calendar import CHINA_TZ
from starter.ticket_files import CSV_COLUMNS, TicketFileError, read_many, spreadsheet_time

NINE_ON_3_DEC = datetime(2026, 12, 3, 9, 0, tzinfo=CHINA_TZ)


def row(number: str, **changes: str) -> list[str]:
    values = {
        "ticket_no": number,
        "received_at": "",
        "kind": "投诉",
        "category": "市容环卫",
        "street": "滨河街道",
        "community": "镇北社区",
        "urgency": "一般",
        "title": "垃圾未清运",
        "content": "东门垃圾三天未清运，气味很大",
        "citizen_name": "李四",
        "citizen_phone": "0473-1234567转8001",
        "citizen_address": "镇北社区3号楼",
    } | changes
    return [values[c] for c in CSV_COLUMNS]


def table(rows: list[list[str]], delimiter: str = ",") -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")  # as Excel writes it
    writer.writerow(CSV_COLUMNS)
    writer.writerows(rows)
    return out.getvalue()


def outcome(path: Path, encoding: str | None = None) -> tuple[dict[int, str], dict[int, str]]:
    """(line → ticket number read, line → error) for every line the import reports."""
    read: dict[int, str] = {}
    named: dict[int, str] = {}
    for line in read_many(path, encoding):
        if line.ticket is not None:
            read[line.number] = line.ticket.ticket_no
        else:
            named[line.number] = line.error or ""
    return read, named


def test_a_200000_character_field_is_refused_by_its_column_and_the_next_lines_are_read(tmp_path: Path):
    path = tmp_path / "batch.csv"
    rows = [row("A1"), row("A2", content="长" * 200_000), *(row(f"A{i}") for i in range(3, 8))]
    path.write_text(table(rows), encoding="utf-8")
    read, named = outcome(path)
    assert list(named) == [3] and named[3].startswith("line 3: content: "), named
    assert read == {2: "A1", 4: "A3", 5: "A4", 6: "A5", 7: "A6", 8: "A7"}


def test_an_unclosed_quote_is_named_on_its_own_line_and_the_lines_after_it_are_read(tmp_path: Path):
    path = tmp_path / "batch.csv"
    broken = ",".join(row("B1", title='"垃圾未清运')) + "\r\n"  # a quote opened by hand, never closed
    good = table([row(f"B{i}") for i in range(2, 7)])
    header, rest = good.split("\r\n", 1)
    path.write_text(header + "\r\n" + broken + rest, encoding="utf-8")
    read, named = outcome(path)
    assert list(named) == [2] and "unclosed quote" in named[2], named
    assert read == {3: "B2", 4: "B3", 5: "B4", 6: "B5", 7: "B6"}

    # Closed much later, by a value quoted on purpose: still this line, and the quoted row is kept.
    quoted = table([row("C2"), row("C3", title="垃圾，未清运, 三天"), row("C4")])
    header, rest = quoted.split("\r\n", 1)
    path.write_text(header + "\r\n" + broken + rest, encoding="utf-8")
    read, named = outcome(path)
    assert list(named) == [2], named
    assert read == {3: "C2", 4: "C3", 5: "C4"}


def test_values_over_several_lines_keep_the_numbers_of_the_lines_after_them(tmp_path: Path):
    path = tmp_path / "batch.csv"
    rows = [row("D1", content="第一行\n第二行\n第三行"), row("D2", kind="闲聊"), row("D3")]
    path.write_text(table(rows), encoding="utf-8")
    read, named = outcome(path)
    assert read == {2: "D1", 6: "D3"} and list(named) == [5] and named[5].startswith("line 5: kind: ")


def test_a_row_with_more_values_than_the_header_is_named(tmp_path: Path):
    path = tmp_path / "batch.csv"
    path.write_text(table([[*row("E1"), "多余"], row("E2")]), encoding="utf-8")
    read, named = outcome(path)
    assert read == {3: "E2"} and "13 columns, the header has 12" in named[2]


def test_a_gbk_csv_as_excel_saves_it_on_chinese_windows(tmp_path: Path):
    path = tmp_path / "excel.csv"
    path.write_bytes(table([row("G1", received_at="2026/12/3 9:00"), row("G2")]).encode("gbk"))
    read, named = outcome(path)
    assert read == {2: "G1", 3: "G2"} and not named
    tickets = {line.ticket.ticket_no: line.ticket for line in read_many(path) if line.ticket}
    assert tickets["G1"].title == "垃圾未清运" and tickets["G1"].received_at == NINE_ON_3_DEC
    # Named explicitly, as well; and a GB18030-only character (𠮷) reads too.
    path.write_bytes(table([row("G3", citizen_name="吉𠮷")]).encode("gb18030"))
    assert outcome(path, "gb18030") == ({2: "G3"}, {})
    assert outcome(path) == ({2: "G3"}, {})


def test_tab_separated_and_unicode_text(tmp_path: Path):
    path = tmp_path / "tickets.txt"
    text = table([row("H1", received_at="2026-12-03 09:00"), row("H2", title="垃圾, 未清运")], delimiter="\t")
    path.write_bytes(text.encode("utf-16"))  # Excel's "Unicode text": UTF-16 with its BOM, tabs
    assert outcome(path) == ({2: "H1", 3: "H2"}, {})
    tsv = tmp_path / "tickets.tsv"
    tsv.write_text(text, encoding="utf-8")
    assert outcome(tsv) == ({2: "H1", 3: "H2"}, {})


@pytest.mark.parametrize(
    "written",
    ["2026/12/3 9:00", "2026/12/03 09:00:00", "2026-12-03 09:00", "2026.12.3 9:00", "2026年12月3日 9:00", "46359.375"],
)
def test_times_as_excel_and_people_write_them_are_the_districts(written: str):
    assert datetime.fromisoformat(spreadsheet_time(written)) == NINE_ON_3_DEC
    assert datetime.fromisoformat(spreadsheet_time(46359.375)) == NINE_ON_3_DEC
    assert datetime.fromisoformat(spreadsheet_time(datetime(2026, 12, 3, 9))) == NINE_ON_3_DEC


def test_an_xlsx_workbook(tmp_path: Path):
    path = tmp_path / "tickets.xlsx"
    book = Workbook()
    sheet = book.active
    sheet.append(CSV_COLUMNS)
    first = row("X1")
    first[1] = datetime(2026, 12, 3, 9, 0)  # type: ignore[call-overload]  # a date cell
    first[10] = 13947301234  # type: ignore[call-overload]  # a phone typed as a number
    sheet.append(first)
    serial = row("X2")
    serial[1] = 46359.375  # type: ignore[call-overload]  # a date cell without its format: the serial
    sheet.append(serial)
    sheet.append([None] * len(CSV_COLUMNS))  # an empty row
    sheet.append(row("X3", kind="闲聊"))
    number = row("X4")
    number[0] = 20261203001  # type: ignore[call-overload]  # a ticket number typed as a number
    sheet.append(number)
    book.save(path)
    tickets = {line.number: line for line in read_many(path)}
    assert tickets[2].ticket and tickets[2].ticket.received_at == NINE_ON_3_DEC
    assert tickets[2].ticket.citizen.phone == "13947301234"
    assert tickets[3].ticket and tickets[3].ticket.received_at == NINE_ON_3_DEC
    assert tickets[5].ticket is None and (tickets[5].error or "").startswith("line 5: ")
    assert tickets[6].ticket and tickets[6].ticket.ticket_no == "20261203001"
    assert set(tickets) == {2, 3, 5, 6}


def test_a_missing_column_in_a_workbook_is_named(tmp_path: Path):
    path = tmp_path / "tickets.xlsx"
    book = Workbook()
    book.active.append(["ticket_no", "title"])
    book.save(path)
    with pytest.raises(TicketFileError, match=r"line 1: missing columns category, street, content"):
        list(read_many(path))


def hotline(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The real `hotline` process (a traceback would show as it is)."""
    command = [sys.executable, "-c", "from starter.cli.app import main; main()", *args]
    environ = {**os.environ, "TEMPORAL_ADDRESS": "127.0.0.1:9", **(env or {})}
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env=environ, check=False)


def test_a_configuration_saved_as_gbk_or_cut_mid_character_is_one_line_and_exit_2(tmp_path: Path):
    text = bundled_config_path().read_text(encoding="utf-8")
    gbk, cut = tmp_path / "gbk.yaml", tmp_path / "cut.yaml"
    gbk.write_bytes(text.encode("gb18030"))
    raw = text.encode("utf-8")
    cut.write_bytes(raw[: raw.index("区".encode()) + 1])  # the file ends in the middle of 区
    batch = tmp_path / "batch.csv"
    batch.write_text(table([row("K1")]), encoding="utf-8")
    for path, why in ((gbk, "not UTF-8 text"), (cut, "cut in the middle of a character")):
        with pytest.raises(ConfigError, match=why):
            load_config(path)
        done = hotline("ticket", "import", str(batch), "--config", str(path))
        assert done.returncode == 2, done.stderr
        lines = done.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"错误：{path}: line ") and why in lines[0], done.stderr


def test_a_text_file_of_json_lines_is_read_as_json_lines(tmp_path: Path):
    import json

    from tests.support.helpers import sample_ticket

    path = tmp_path / "tickets.txt"
    lines = [json.dumps(sample_ticket(ticket_no=f"J{i}").model_dump(mode="json"), ensure_ascii=False) for i in (1, 2)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert outcome(path) == ({1: "J1", 2: "J2"}, {})
