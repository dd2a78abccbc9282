"""A `Report` as a Word document (.docx, python-docx), the way an office circulates it.

月报分析 in the usual layout: the title, then 一、总体情况 (the figures in a sentence, the overview
and the change against last month), 二、各单位办理情况 (the rates per department, their charts and
the assessment), 三、红黑榜, and 四、存在问题 / 五、下步工作 with placeholders the office fills in
before it sends the document out. Other reports: the title, what they cover, each table under its
heading and the charts.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

from docx import Document
from docx.document import Document as DocumentType
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor
from docx.text.run import Run

from activities.reports.enterprise_export import NONE_YET
from activities.reports.heading import about_lines, display_title, one_line
from domain.enterprise_lists import EMPTY
from domain.reports import (
    ASSESSMENT,
    BLACK_LIST,
    BY_DEPARTMENT,
    CHANGE,
    OVERVIEW,
    RED_LIST,
    ChartSpec,
    Report,
    ReportKind,
)
from domain.tables import Table, cell_number

BODY_FONT = "宋体"
HEADING_FONT = "黑体"
PLACEHOLDER = "【待填写】"
# The columns of 各单位办理情况 that fit a portrait page; the workbook has them all.
DEPARTMENT_COLUMNS = ("单位", "受理", "办结", "在办", "响应率", "解决率", "满意率")
WIDE = 8  # a table with more columns than this is printed on a landscape page
PROBLEMS = "四、存在问题"
NEXT_STEPS = "五、下步工作"
PLACEHOLDER_LINES = 3
MONTHLY_TABLES = frozenset({OVERVIEW, CHANGE, BY_DEPARTMENT, ASSESSMENT, RED_LIST, BLACK_LIST})


def write_document(report: Report, charts: Sequence[tuple[ChartSpec, bytes]], path: Path) -> None:
    """Write `report` as a .docx at `path`; `charts` pairs each chart with its PNG."""

    document = Document()
    _styles(document)
    title = document.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(title.add_run(one_line(display_title(report))), HEADING_FONT, 18, bold=True)
    about = document.add_paragraph("；".join(about_lines(report)[1:]))
    about.alignment = WD_ALIGN_PARAGRAPH.CENTER
    if report.kind is ReportKind.MONTHLY and {t.title for t in report.tables} >= MONTHLY_TABLES:
        _monthly(document, report, charts)
    else:
        if any(len(t.columns) > WIDE for t in report.tables):
            _landscape(document)
        for table in report.tables:
            _heading(document, one_line(table.title))
            _table(document, table)
        for n, (chart, image) in enumerate(charts, start=1):
            _figure(document, n, chart, image)
    document.save(str(path))


def _monthly(document: DocumentType, report: Report, charts: Sequence[tuple[ChartSpec, bytes]]) -> None:
    overview_charts = [(c, i) for c, i in charts if c.table != BY_DEPARTMENT]
    department_charts = [(c, i) for c, i in charts if c.table == BY_DEPARTMENT]
    _heading(document, f"一、{OVERVIEW}")
    document.add_paragraph(overview_sentence(report))
    _table(document, report.table(OVERVIEW))
    _table(document, report.table(CHANGE), caption=CHANGE)
    # Figures numbered in the order the document shows them.
    for n, (chart, image) in enumerate(overview_charts, start=1):
        _figure(document, n, chart, image)

    _heading(document, f"二、{BY_DEPARTMENT}")
    _table(document, _columns(report.table(BY_DEPARTMENT), DEPARTMENT_COLUMNS))
    for n, (chart, image) in enumerate(department_charts, start=len(overview_charts) + 1):
        _figure(document, n, chart, image)
    _table(document, report.table(ASSESSMENT), caption=ASSESSMENT)

    _heading(document, "三、红黑榜")
    for title in (RED_LIST, BLACK_LIST):
        _table(document, report.table(title), caption=title)

    for heading in (PROBLEMS, NEXT_STEPS):
        _heading(document, heading)
        for i in range(1, PLACEHOLDER_LINES + 1):
            paragraph = document.add_paragraph()
            run = paragraph.add_run(f"{i}. {PLACEHOLDER}")
            run.font.color.rgb = RGBColor(0x9A, 0x67, 0x00)
    note = document.add_paragraph("各镇街、各类别办理情况及吹哨评价等明细见同期 Excel 工作簿。")
    note.runs[0].font.size = Pt(9)


def overview_sentence(report: Report) -> str:
    """总体情况 in one sentence, from the report's own overview table."""
    value = {row[0]: row[1] for row in report.table(OVERVIEW).rows}
    change = {row[0]: row[3] for row in report.table(CHANGE).rows}
    when = "本月" if report.partial_until is None else "本月截至目前"
    received = change.get("受理量", EMPTY)
    versus = ""
    if received not in (EMPTY, "0"):
        versus = f"，较上月{'增加' if received.startswith('+') else '减少'} {received.lstrip('+-')} 件"
    return (
        f"{when}共受理群众诉求 {value['受理量']} 件{versus}，办结 {value['办结量']} 件，"
        f"在办 {value['在办量']} 件（其中挂账 {value['其中挂账']} 件）；"
        f"响应率 {value['响应率']}，解决率 {value['解决率']}，满意率 {value['满意率']}。"
    )


def _columns(table: Table, keep: Sequence[str]) -> Table:
    indexes = [table.columns.index(c) for c in keep if c in table.columns]
    columns = [table.columns[i] for i in indexes]
    return Table(
        title=table.title,
        columns=columns,
        rows=[[row[i] for i in indexes] for row in table.rows],
        numeric=[c for c in table.numeric if c in columns],
    )


def _styles(document: DocumentType) -> None:
    normal = document.styles["Normal"]
    normal.font.name = BODY_FONT
    normal.font.size = Pt(11)
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), BODY_FONT)
    section = document.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)  # A4
    for side in ("left_margin", "right_margin"):
        setattr(section, side, Cm(2.2))


def _landscape(document: DocumentType) -> None:
    section = document.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Cm(29.7), Cm(21.0)


def _font(run: Run, name: str, size: float, *, bold: bool = False) -> None:
    run.font.name = name
    run.font.size = Pt(size)
    run.font.bold = bold
    run.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), name)


def _heading(document: DocumentType, text: str) -> None:
    paragraph = document.add_paragraph()
    paragraph.paragraph_format.space_before = Pt(12)
    _font(paragraph.add_run(text), HEADING_FONT, 14, bold=True)


def _table(document: DocumentType, table: Table, caption: str | None = None) -> None:
    if caption:
        _font(document.add_paragraph().add_run(caption), HEADING_FONT, 11, bold=True)
    if not table.rows:
        document.add_paragraph(NONE_YET)
        return
    grid = document.add_table(rows=1, cols=len(table.columns))
    grid.style = "Table Grid"
    grid.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, title in zip(grid.rows[0].cells, table.columns, strict=True):
        cell.text = ""
        _font(cell.paragraphs[0].add_run(title), BODY_FONT, 10, bold=True)
    numeric = {table.columns.index(c) for c in table.numeric}
    for row in table.rows:
        cells = grid.add_row().cells
        for i, (cell, text) in enumerate(zip(cells, row, strict=True)):
            paragraph = cell.paragraphs[0]
            _font(paragraph.add_run(text), BODY_FONT, 10)
            if i in numeric and cell_number(text) is not None:
                paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    document.add_paragraph()


def _figure(document: DocumentType, n: int, chart: ChartSpec, image: bytes) -> None:
    document.add_picture(io.BytesIO(image), width=Cm(15.5))
    document.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
    caption = document.add_paragraph(f"图{n} {chart.title}")
    caption.alignment = WD_ALIGN_PARAGRAPH.CENTER
