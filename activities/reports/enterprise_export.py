"""Writing 红色服务团's lists to files: per enterprise (服务清单, 成效清单 and its 汇总), per
responsible unit (under `by-unit/`), and one overall 汇总 — as Excel workbooks or Markdown.

The tables come from `domain.enterprise_lists`; this module only lays them out.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Literal

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from domain.enterprise import EnterpriseRecord
from domain.enterprise_lists import (
    RESULTS_LIST,
    SERVICE_LIST,
    SUMMARY,
    Summary,
    lists_by_unit,
    local_time,
    results_list,
    service_list,
    summarize,
    summary_details,
    summary_table,
)
from domain.tables import Table, cell_number
from domain.uscc import looks_like_credit_code

Format = Literal["xlsx", "md"]
FORMATS: tuple[Format, ...] = ("xlsx", "md")
UNIT_DIR = "by-unit"
OVERALL = "汇总"
BOTH_LISTS = "服务清单与成效清单"
NONE_YET = "（暂无）"

MIN_WIDTH = 6
MAX_WIDTH = 60

_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')


def write_lists(records: Iterable[EnterpriseRecord], out_dir: Path, fmt: Format, now: datetime) -> list[Path]:
    """Write every enterprise's lists, every responsible unit's lists and the overall summary under
    `out_dir`; return the paths written, in that order."""
    if fmt not in FORMATS:
        raise ValueError(f"fmt: unknown '{fmt}'（可选：{', '.join(FORMATS)}）")
    records = list(records)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    summaries: dict[str, Summary] = {}
    for record in records:
        enterprise = record.enterprise
        summary = summarize(record, now)
        key = enterprise.name if enterprise.name not in summaries else f"{enterprise.name}（{enterprise.id}）"
        summaries[key] = summary
        path = out_dir / f"{safe_name(enterprise.id)}-{safe_name(enterprise.name)}.{fmt}"
        tables = [
            (SERVICE_LIST, service_list(record, now)),
            (RESULTS_LIST, results_list(record)),
            (SUMMARY, summary_details(summary, title=f"{enterprise.name} {SUMMARY}")),
        ]
        label = "统一社会信用代码" if looks_like_credit_code(enterprise.id) else "企业 ID"
        about = [f"{label}：{enterprise.id}"]
        if enterprise.street:
            about.append(f"所属镇街：{enterprise.street}")
        _write(path, fmt, f"{enterprise.name} {BOTH_LISTS}", tables, [*about, _as_of(now)])
        written.append(path)

    by_unit = lists_by_unit(records, now)
    if by_unit:
        (out_dir / UNIT_DIR).mkdir(exist_ok=True)
    for unit, (service, results) in by_unit.items():
        path = out_dir / UNIT_DIR / f"{safe_name(unit)}.{fmt}"
        _write(path, fmt, f"{unit} {BOTH_LISTS}", [(SERVICE_LIST, service), (RESULTS_LIST, results)], [_as_of(now)])
        written.append(path)

    path = out_dir / f"{OVERALL}.{fmt}"
    overall = summary_table(summaries, title=f"{BOTH_LISTS}{OVERALL}")
    _write(path, fmt, f"{BOTH_LISTS}{OVERALL}", [(SUMMARY, overall)], [_as_of(now)])
    written.append(path)
    return written


def safe_name(name: str) -> str:
    """A name usable as a file name on any system: path separators and reserved characters become `_`."""
    cleaned = _UNSAFE.sub("_", name).strip(" .")
    return cleaned or "_"


def _as_of(now: datetime) -> str:
    return f"统计时间：{local_time(now)}"


def _write(path: Path, fmt: Format, heading: str, tables: list[tuple[str, Table]], about: list[str]) -> None:
    if fmt == "xlsx":
        write_workbook(path, tables)
    else:
        path.write_text(markdown_document(heading, tables, about), encoding="utf-8")


# ----- Excel -----


def write_workbook(path: Path, sheets: list[tuple[str, Table]], preamble: Sequence[str] = ()) -> None:
    """`workbook_of` the sheets, saved at `path`."""
    workbook_of(sheets, preamble).save(path)


def workbook_of(sheets: list[tuple[str, Table]], preamble: Sequence[str] = ()) -> Workbook:
    """One sheet per table: the `preamble` lines first (a report's title, then its period: the first
    bold and large, each merged across the table), a bold, frozen header row with a filter, then the
    rows: the cells of the table's numeric columns as numbers with their number format (a rate as
    0.875 shown "87.50%"), every other cell as text. Printed A4 landscape, fit to the page's width,
    the header repeated on every page."""
    workbook = Workbook()
    default = workbook.active
    if default is not None:
        workbook.remove(default)
    header_font = Font(bold=True)
    wrap = Alignment(wrap_text=True, vertical="top")
    header_row = len(preamble) + 1
    for name, table in sheets:
        sheet = workbook.create_sheet(title=name)
        last_column = get_column_letter(max(1, len(table.columns)))
        for r, line in enumerate(preamble, start=1):
            cell = sheet.cell(row=r, column=1, value=ILLEGAL_CHARACTERS_RE.sub("", line))
            cell.data_type = "s"
            cell.font = Font(bold=True, size=14) if r == 1 else Font(color="57606A")
            if len(table.columns) > 1:
                sheet.merge_cells(f"A{r}:{last_column}{r}")
        for col, title in enumerate(table.columns, start=1):
            cell = sheet.cell(row=header_row, column=col, value=title)
            cell.font = header_font
            cell.alignment = Alignment(vertical="center")
        numeric = {table.columns.index(column) + 1 for column in table.numeric}
        for r, row in enumerate(table.rows, start=header_row + 1):
            for col, value in enumerate(row, start=1):
                number = cell_number(value) if col in numeric else None
                if number is not None:
                    cell = sheet.cell(row=r, column=col, value=number[0])
                    cell.number_format = number[1]
                else:
                    cell = sheet.cell(row=r, column=col, value=ILLEGAL_CHARACTERS_RE.sub("", value))
                    cell.data_type = "s"  # text as written, never a formula ("=…")
                cell.alignment = wrap
        sheet.freeze_panes = f"A{header_row + 1}"
        if table.rows:
            sheet.auto_filter.ref = f"A{header_row}:{last_column}{len(table.rows) + header_row}"
        print_setup(sheet)
        sheet.print_title_rows = f"{header_row}:{header_row}"
        for col, title in enumerate(table.columns, start=1):
            cells = [title, *(row[col - 1] for row in table.rows)]
            width = max(display_width(c) for c in cells) + 2
            sheet.column_dimensions[get_column_letter(col)].width = min(max(width, MIN_WIDTH), MAX_WIDTH)
    return workbook


def print_setup(sheet: Worksheet) -> None:
    """A4 landscape, as wide as the page (as many pages down as it takes)."""
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.orientation = sheet.ORIENTATION_LANDSCAPE
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    page_setup = sheet.sheet_properties.pageSetUpPr
    assert page_setup is not None  # openpyxl gives every sheet one; its stubs allow None
    page_setup.fitToPage = True


def display_width(text: str) -> int:
    """Columns the longest line of `text` takes in a fixed-width font: wide (CJK) characters count two."""
    return max(sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line) for line in text.split("\n"))


# ----- Markdown -----


def markdown_document(heading: str, tables: list[tuple[str, Table]], about: list[str]) -> str:
    parts = [f"# {heading}", "\n".join(f"- {line}" for line in about)]
    for name, table in tables:
        parts.append(f"## {name}")
        parts.append(markdown_table(table) if table.rows else NONE_YET)
    return "\n\n".join(parts) + "\n"


def markdown_table(table: Table) -> str:
    """A GFM table; `|` and line breaks inside cells are escaped so every row stays one line."""
    lines = [_markdown_row(table.columns), "| " + " | ".join("---" for _ in table.columns) + " |"]
    lines.extend(_markdown_row(row) for row in table.rows)
    return "\n".join(lines)


def _markdown_row(cells: list[str]) -> str:
    return "| " + " | ".join(_markdown_cell(c) for c in cells) + " |"


def _markdown_cell(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("|", "\\|")
    return text.replace("\n", "<br>")
