"""Writing a Report to Markdown, HTML, .xlsx, CSV and PNG charts (activities/reports/files.py)."""

from __future__ import annotations

import base64
import csv
import re
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote, unquote

import pytest
from matplotlib.image import imread
from openpyxl import load_workbook
from structlog.testing import capture_logs

from activities.reports import files as report_files
from activities.reports.enterprise_export import display_width, markdown_table
from activities.reports.files import (
    chart_font,
    chart_values,
    draw_chart,
    report_stem,
    sheet_names,
    write_report,
)
from domain.reports import ChartSpec, Report, ReportKind
from domain.tables import Table

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
STEM = "月报-2026年11月"

# Two titles that are the same for their first 31 characters: their sheet names collide once shortened.
RATES = "各承办单位按期办结率、满意率与办结件数统计（2026年11月，按承办单位）"
RATES_ALL = f"{RATES}：含协办单位"
RATES_LEAD = f"{RATES}：仅主办单位"
TOP = "投诉类别前五 <top5> / 含镇街"
LISTS = "红黑榜"


def _report() -> Report:
    rates_columns = ["承办单位", "按期办结率", "满意率", "办结件数"]
    rates_all = Table(
        title=RATES_ALL,
        columns=rates_columns,
        rows=[
            ["区住房和城乡建设局", "87.5%", "92.0%", "16"],
            ["区城市管理综合行政执法局", "100.0%", "—", "3"],
            ["区市场监督管理局", "—", "—", "0"],
            ["合计", "90.5%", "92.0%", "19"],
        ],
    )
    rates_lead = Table(
        title=RATES_LEAD,
        columns=rates_columns,
        rows=[["区住房和城乡建设局", "85.7%", "90.0%", "14"], ["合计", "85.7%", "90.0%", "14"]],
    )
    top = Table(
        title=TOP,
        columns=["类别", "件数", "较上月", "说明"],
        rows=[
            ["噪声扰民", "12", "+3", "夜间施工 | 广场舞"],
            ["占道经营", "7", "-2", "早市摊贩\n多次反映"],
            ["<script>alert(1)</script>", "1", "0", 'a & b "quoted"'],
        ],
    )
    lists = Table(title=LISTS, columns=["榜单", "承办单位", "理由"], rows=[])
    return Report(
        kind=ReportKind.MONTHLY,
        title="2026年11月 12345热线办理情况月报",
        period="2026年11月",
        generated_at=datetime(2026, 12, 1, 1, 30, tzinfo=UTC),
        tables=[rates_all, rates_lead, top, lists],
        charts=[
            ChartSpec(
                title="各承办单位按期办结率", table=RATES_ALL, label_column="承办单位", value_column="按期办结率"
            ),
            ChartSpec(title="投诉类别前五（件数）", table=TOP, label_column="类别", value_column="件数"),
        ],
    )


def _expected_paths(out: Path) -> list[Path]:
    csv_dir = out / f"{STEM}-csv"
    return [
        out / f"{STEM}-图1.png",
        out / f"{STEM}-图2.png",
        out / f"{STEM}.md",
        out / f"{STEM}.html",
        out / f"{STEM}.xlsx",
        out / f"{STEM}.docx",
        csv_dir / f"1-{RATES_ALL}.csv",
        csv_dir / f"2-{RATES_LEAD}.csv",
        csv_dir / "3-投诉类别前五 _top5_ _ 含镇街.csv",
        csv_dir / f"4-{LISTS}.csv",
    ]


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Report, Path, list[Path]]:
    report = _report()
    out = tmp_path_factory.mktemp("report")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing glyph ("Glyph … missing from font") fails here
        paths = write_report(report, out)
    return report, out, paths


@pytest.fixture
def missing_font(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(report_files, "CHART_FONT_FILE", "NoSuchFont-Regular.otf")
    chart_font.cache_clear()
    yield
    chart_font.cache_clear()


def test_every_file_is_written_in_a_stable_order(written: tuple[Report, Path, list[Path]]) -> None:
    report, out, paths = written
    assert report_stem(report) == STEM
    assert paths == _expected_paths(out)
    assert all(p.is_file() and p.stat().st_size > 0 for p in paths)


def test_sheet_names_are_short_unique_and_safe() -> None:
    titles = [RATES_ALL, RATES_LEAD, TOP, LISTS, "ABC", "abc", "'引号'", "History", "表" * 40, "😀" * 20]
    names = sheet_names(titles)
    assert names == sheet_names(titles)  # deterministic
    assert len({n.casefold() for n in names}) == len(names)
    for name in names:
        assert 0 < len(name.encode("utf-16-le")) // 2 <= 31
        assert not re.search(r"[\[\]:*?/\\]", name)
        assert not name.startswith("'") and not name.endswith("'")
    assert len(RATES) > 31
    assert names[0] == RATES[:31]
    assert names[1] == RATES[:27] + " (2)"
    assert names[2] == "投诉类别前五 <top5> _ 含镇街"
    assert names[3:6] == [LISTS, "ABC", "abc (2)"]
    assert names[6] == "引号"
    assert names[7] == "History (2)"
    assert names[8] == "表" * 31
    assert names[9] == "😀" * 15


def test_workbook_has_one_sheet_per_table(written: tuple[Report, Path, list[Path]]) -> None:
    report, out, _ = written
    workbook = load_workbook(out / f"{STEM}.xlsx")
    assert workbook.sheetnames == [*sheet_names([t.title for t in report.tables]), "图表"]
    for sheet, table in zip(workbook.worksheets[:-1], report.tables, strict=True):
        # a title row and a period row above the table, merged across it
        assert sheet["A1"].value == report.title and sheet["A1"].font.bold and sheet["A1"].font.size == 14
        assert sheet["A2"].value == "统计周期：2026年11月；生成时间：2026-12-01 09:30"
        assert f"A1:{chr(ord('A') + len(table.columns) - 1)}1" in {str(r) for r in sheet.merged_cells.ranges}
        values = [[c if c is not None else "" for c in row] for row in sheet.iter_rows(min_row=3, values_only=True)]
        assert values == [table.columns, *table.rows]
        assert sheet["A3"].font.bold
        assert sheet.freeze_panes == "A4"  # the header stays in view
        assert sheet.print_title_rows == "$3:$3"  # and is printed on every page
        setup = sheet.page_setup
        assert (str(setup.paperSize), setup.orientation) == (sheet.PAPERSIZE_A4, "landscape")
        assert (setup.fitToWidth, setup.fitToHeight, sheet.sheet_properties.pageSetUpPr.fitToPage) == (1, 0, True)
        for col, title in enumerate(table.columns):
            width = sheet.column_dimensions[chr(ord("A") + col)].width
            assert width >= display_width(title) + 2  # a header is never cut off
    charts = workbook["图表"]
    assert len(charts._images) == len(report.charts)  # type: ignore[attr-defined]  # openpyxl's own list of a sheet's images; the charts are in the workbook itself
    captions = [c.value for c in charts["A"] if isinstance(c.value, str) and c.value.startswith("图")]
    assert captions == [f"图{n} {c.title}" for n, c in enumerate(report.charts, start=1)]


def test_each_csv_reads_back_as_its_table(written: tuple[Report, Path, list[Path]]) -> None:
    report, _, paths = written
    csv_paths = [p for p in paths if p.suffix == ".csv"]
    assert len(csv_paths) == len(report.tables)
    for path, table in zip(csv_paths, report.tables, strict=True):
        assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # utf-8-sig: Excel reads the Chinese right
        with path.open(encoding="utf-8-sig", newline="") as f:
            assert list(csv.reader(f)) == [table.columns, *table.rows]


def test_markdown_has_headings_tables_and_chart_links(written: tuple[Report, Path, list[Path]]) -> None:
    report, out, _ = written
    text = (out / f"{STEM}.md").read_text(encoding="utf-8")
    assert text.startswith(f"# {report.title}\n")
    assert "- 统计周期：2026年11月" in text
    assert "- 生成时间：2026-12-01 09:30" in text  # China time
    for table in report.tables:
        assert f"\n## {table.title}\n" in text
        if table.rows:
            assert markdown_table(table) in text
    assert "| 噪声扰民 | 12 | +3 | 夜间施工 \\| 广场舞 |" in text
    assert "| 占道经营 | 7 | -2 | 早市摊贩<br>多次反映 |" in text
    assert f"## {LISTS}\n\n（暂无）" in text
    links = re.findall(r"!\[([^\]]*)\]\(([^)]*)\)", text)
    assert links == [
        ("图1 各承办单位按期办结率", quote(f"{STEM}-图1.png")),
        ("图2 投诉类别前五（件数）", quote(f"{STEM}-图2.png")),
    ]
    assert all((out / unquote(target)).is_file() for _, target in links)
    assert text.index("![图1") > text.index(f"## {LISTS}")  # the charts come after the tables


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[dict[str, str | None]] = []
        self.cells: list[list[str]] = []  # the text of every th/td, per table
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs.append(dict(attrs))
        if tag == "table":
            self.cells.append([])
        elif tag in ("th", "td"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("th", "td") and self._cell is not None:
            self.cells[-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def test_html_is_one_escaped_page(written: tuple[Report, Path, list[Path]]) -> None:
    report, out, _ = written
    text = (out / f"{STEM}.html").read_text(encoding="utf-8")
    page = _Page()
    page.feed(text)
    page.close()
    assert page.tags.count("table") == len(report.tables)
    assert page.tags.count("thead") == page.tags.count("tbody") == len(report.tables)
    assert page.tags.count("img") == len(report.charts)
    assert "script" not in page.tags and "link" not in page.tags and "style" in page.tags
    assert {"lang": "zh-CN"} in page.attrs and {"charset": "utf-8"} in page.attrs
    sources = [a["src"] or "" for tag, a in zip(page.tags, page.attrs, strict=True) if tag == "img"]
    # inline: mailed alone, the page keeps its charts; the same PNGs as the chart files
    prefix = "data:image/png;base64,"
    assert all(src.startswith(prefix) for src in sources)
    assert [base64.b64decode(src.removeprefix(prefix)) for src in sources] == [
        (out / f"{STEM}-图{n}.png").read_bytes() for n in (1, 2)
    ]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and "<script>" not in text
    assert "&lt;top5&gt;" in text and "a &amp; b &quot;quoted&quot;" in text
    for cells, table in zip(page.cells, report.tables, strict=True):
        expected = (
            [*table.columns, *(c for row in table.rows for c in row)] if table.rows else [*table.columns, "（暂无）"]
        )
        assert cells == expected


def test_charts_are_pngs_in_the_chinese_font(written: tuple[Report, Path, list[Path]]) -> None:
    _, _, paths = written
    assert chart_font() == "Noto Sans CJK SC"
    pngs = [p for p in paths if p.suffix == ".png"]
    assert len(pngs) == 2
    for path in pngs:
        assert path.read_bytes().startswith(PNG_SIGNATURE)
        image = imread(path)
        height, width = image.shape[:2]
        assert width > 600 and height > 200
        assert image.std() > 0.05  # not a blank canvas


def test_chart_values() -> None:
    table = Table(
        title="t",
        columns=["名称", "值"],
        rows=[["甲", "87.5%"], ["乙", "12"], ["丙", "—"], ["丁", "-11.1 个百分点"], ["戊", "+2"]],
    )
    chart = ChartSpec(title="c", table="t", label_column="名称", value_column="值")
    assert chart_values(chart, table) == [
        ("甲", 87.5, "87.5%"),
        ("乙", 12.0, "12"),
        ("丙", None, "—"),
        ("丁", -11.1, "-11.1 个百分点"),
        ("戊", 2.0, "+2"),
    ]
    bad = Table(title="t", columns=["名称", "值"], rows=[["甲", "很多"]])
    with pytest.raises(ValueError, match="很多"):
        chart_values(chart, bad)


def test_unknown_format_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(ValueError, match="'odt'"):
        write_report(_report(), out, formats=("md", "odt"))
    assert not out.exists()


def test_only_the_formats_asked_for(tmp_path: Path) -> None:
    report = _report()
    assert write_report(report, tmp_path / "a", formats=("xlsx",)) == [tmp_path / "a" / f"{STEM}.xlsx"]
    assert write_report(report, tmp_path / "b", formats="md") == [
        tmp_path / "b" / f"{STEM}-图1.png",
        tmp_path / "b" / f"{STEM}-图2.png",
        tmp_path / "b" / f"{STEM}.md",
    ]
    assert write_report(report, tmp_path / "c", formats=("png",)) == [
        tmp_path / "c" / f"{STEM}-图1.png",
        tmp_path / "c" / f"{STEM}-图2.png",
    ]
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == [f"{STEM}-图1.png", f"{STEM}-图2.png"]


def test_writing_twice_gives_the_same_files(written: tuple[Report, Path, list[Path]], tmp_path: Path) -> None:
    report, out, first = written
    again = write_report(report, tmp_path)
    assert [p.relative_to(tmp_path) for p in again] == [p.relative_to(out) for p in first]
    for a, b in zip(first, again, strict=True):
        if a.suffix in (".md", ".html", ".csv", ".png"):
            assert a.read_bytes() == b.read_bytes(), a.name
    # and once more into the same folder: the same paths, nothing else added
    assert write_report(report, out) == first
    assert sorted(p for p in out.rglob("*") if p.is_file()) == sorted(first)


def test_without_the_font_charts_fall_back_to_dejavu(missing_font: None, tmp_path: Path) -> None:
    with capture_logs() as logs:
        assert chart_font() == "DejaVu Sans"
        assert chart_font() == "DejaVu Sans"
    assert [e["event"] for e in logs] == ["chart_font_missing"]  # said once
    assert logs[0]["log_level"] == "warning"
    report = _report()
    path = tmp_path / "chart.png"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        draw_chart(report.charts[0], report.table(report.charts[0].table), path)
    assert path.read_bytes().startswith(PNG_SIGNATURE)


def test_cell_numbers_and_their_formats() -> None:
    from domain.tables import DECIMAL, INTEGER, PERCENT, POINTS, SIGNED, cell_number

    assert cell_number("12") == (12, INTEGER)
    assert cell_number("+8") == (8, SIGNED) and cell_number("-2") == (-2, SIGNED)
    assert cell_number("80.00") == (80.0, DECIMAL)
    assert cell_number("99.95%") == (0.9995, PERCENT)
    assert cell_number("100.00%") == (1.0, PERCENT)
    assert cell_number("-14.29 个百分点") == (-14.29, POINTS)
    assert [cell_number(t) for t in ("—", "样本不足", "", "3/4", "2026-11-30")] == [None] * 5
    with pytest.raises(ValueError, match="numeric: no column '件数'"):
        Table(title="t", columns=["a"], rows=[], numeric=["件数"])


def test_the_monthly_workbook_holds_numbers_with_percent_formats(tmp_path: Path) -> None:
    """Rates are numbers (0.8571) shown as "85.71%", counts integers, scores decimals; "—" stays text."""
    from domain.reports import monthly_analysis
    from tests.support.metrics_samples import NOVEMBER, POLICY, sample_facts

    report = monthly_analysis(sample_facts(), NOVEMBER, POLICY, [], None)
    [path] = write_report(report, tmp_path, formats=("xlsx",))
    book = load_workbook(path)

    overview = {row[0].value: row[1] for row in book["总体情况"].iter_rows(min_row=4)}
    received, response, resolution = overview["受理量"], overview["响应率"], overview["解决率"]
    assert (received.value, received.data_type, received.number_format) == (13, "n", "0")
    assert isinstance(response.value, float) and response.data_type == "n"
    assert (response.value, response.number_format) == (0.8571, "0.00%")  # 6/7 as published: 85.71%
    assert (resolution.value, resolution.number_format) == (0.875, "0.00%")
    assert book["总体情况"]["C4"].data_type == "s"  # the 计算 column ("—", "6/7") is text

    departments = book["各单位办理情况"]
    header = [c.value for c in departments[3]]
    [zjj] = [{header[i]: c for i, c in enumerate(row)} for row in departments.iter_rows() if row[0].value == "zjj"]
    assert zjj["单位"].data_type == "s"
    assert (zjj["受理"].value, zjj["按时办结率"].value, zjj["按时办结率"].number_format) == (4, 0.6667, "0.00%")
    none = {header[i]: cell for i, cell in enumerate(departments[departments.max_row])}
    assert (none["响应率"].value, none["响应率"].data_type) == ("—", "s")  # nothing to rate: text

    change = {row[0].value: row for row in book["环比变化"].iter_rows(min_row=4)}
    assert (change["受理量"][3].value, change["受理量"][3].number_format) == (8, "+0;-0;0")
    assert (change["响应率"][3].value, change["响应率"][3].number_format) == (
        -14.29,
        '+0.00" 个百分点";-0.00" 个百分点";0.00" 个百分点"',
    )


# ----- as an office circulates them: Word, PDF, partial periods, charts -----


def _monthly_report(now: datetime | None = None) -> Report:
    from domain.reports import monthly_analysis
    from tests.support.metrics_samples import NOVEMBER, POLICY, sample_facts

    return monthly_analysis(sample_facts(), NOVEMBER, POLICY, [], None, names={"zjj": "区住建局"}, now=now)


def test_the_monthly_word_document_has_the_usual_layout(tmp_path: Path) -> None:
    from docx import Document

    report = _monthly_report()
    [path] = write_report(report, tmp_path, formats=("docx",))
    assert path == tmp_path / f"{STEM}.docx"
    document = Document(str(path))
    texts = [p.text for p in document.paragraphs if p.text.strip()]
    assert texts[0] == report.title
    headings = [t for t in texts if re.match(r"^[一二三四五]、", t)]
    assert headings == ["一、总体情况", "二、各单位办理情况", "三、红黑榜", "四、存在问题", "五、下步工作"]
    overview = {row[0]: row[1] for row in report.table("总体情况").rows}
    [sentence] = [t for t in texts if t.startswith("本月共受理")]
    for label in ("受理量", "办结量", "在办量", "响应率", "解决率", "满意率"):
        assert overview[label] in sentence  # the sentence says the table's own figures
    [change] = [row[3] for row in report.table("环比变化").rows if row[0] == "受理量"]
    word = {"+": "增加", "-": "减少"}[change[0]]
    assert f"较上月{word} {change[1:]} 件" in sentence
    # 存在问题 and 下步工作 are left for the office to fill
    after = texts[texts.index("四、存在问题") + 1 : texts.index("五、下步工作")]
    assert after and all("【待填写】" in t for t in after)
    # the figures as tables, the department table cut to the columns a portrait page holds
    first_rows = [[c.text for c in t.rows[0].cells] for t in document.tables]
    assert report.table("总体情况").columns in first_rows
    assert ["单位", "受理", "办结", "在办", "响应率", "解决率", "满意率"] in first_rows
    assert len(document.inline_shapes) == len(report.charts)  # every chart, inside the document
    captions = [t for t in texts if re.match(r"^图\d ", t)]
    assert [c.split(" ", 1)[0] for c in captions] == [f"图{n}" for n in range(1, len(report.charts) + 1)]  # in order
    assert sorted(c.split(" ", 1)[1] for c in captions) == sorted(c.title for c in report.charts)
    section = document.sections[0]
    assert (round(section.page_width.cm, 1), round(section.page_height.cm, 1)) == (21.0, 29.7)  # A4


def test_other_reports_become_a_document_of_their_tables(written: tuple[Report, Path, list[Path]]) -> None:
    from docx import Document

    report, out, _ = written
    document = Document(str(out / f"{STEM}.docx"))
    nonempty = [t for t in report.tables if t.rows]
    assert [[c.text for c in t.rows[0].cells] for t in document.tables] == [t.columns for t in nonempty]
    assert [[c.text for c in row.cells] for row in document.tables[2].rows][1:] == nonempty[2].rows
    assert len(document.inline_shapes) == len(report.charts)


def test_pdf_without_a_converter_is_skipped_and_said(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(report_files, "PDF_CONVERTERS", ("no-such-office-program",))
    assert report_files.pdf_converter() is None
    with capture_logs() as logs:
        assert write_report(_report(), tmp_path, formats=("pdf", "xlsx")) == [tmp_path / f"{STEM}.xlsx"]
    assert [e["event"] for e in logs] == ["pdf_converter_missing"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{STEM}.xlsx"]  # no Word document left behind


@pytest.mark.skipif(report_files.pdf_converter() is None, reason="LibreOffice (soffice) is not installed here")
def test_pdf_where_libreoffice_is_installed(tmp_path: Path) -> None:
    paths = write_report(_monthly_report(), tmp_path, formats=("pdf",))
    assert paths == [tmp_path / f"{STEM}.pdf"]
    assert paths[0].read_bytes().startswith(b"%PDF")


def test_a_month_not_over_says_so_and_is_never_dated_ahead(tmp_path: Path) -> None:
    from docx import Document

    now = datetime(2026, 11, 13, 9, 0, tzinfo=UTC)  # 17:00 China time, the month half gone
    report = _monthly_report(now)
    paths = write_report(report, tmp_path, formats=("md", "html", "xlsx", "docx"))
    marker = "截至 2026-11-13 17:00"
    md = next(p for p in paths if p.suffix == ".md").read_text(encoding="utf-8")
    assert md.startswith(f"# {report.title}（{marker}）\n")
    assert "- 数据截至：2026-11-13 17:00（本期尚未结束，为阶段性数据）" in md
    assert "- 生成时间：2026-11-13 17:00" in md
    assert marker in (tmp_path / f"{STEM}.html").read_text(encoding="utf-8")
    sheet = load_workbook(tmp_path / f"{STEM}.xlsx")["总体情况"]
    assert marker in sheet["A1"].value and "本期尚未结束" in sheet["A2"].value
    document = Document(str(tmp_path / f"{STEM}.docx"))
    assert marker in document.paragraphs[0].text
    assert any(p.text.startswith("本月截至目前共受理") for p in document.paragraphs)


def _figure_of(chart: ChartSpec, table: Table):
    bars = report_files.by_value([b for b in chart_values(chart, table) if b[0] not in chart.omit])
    percent = any(cell.endswith("%") for _, _, cell in bars)
    return report_files._bar_figure(chart, bars, percent)


def test_charts_are_sorted_by_value_with_the_target_line() -> None:
    table = Table(
        title="t",
        columns=["单位", "满意率"],
        rows=[["甲", "80.00%"], ["乙", "—"], ["丙", "95.00%"], ["合计", "90.00%"]],
    )
    chart = ChartSpec(title="各单位满意率（2026年11月）", table="t", label_column="单位", value_column="满意率")
    chart = chart.model_copy(update={"target": 90.0, "omit": ["合计"]})
    axes = _figure_of(chart, table).axes[0]
    labels = [t.get_text() for t in axes.get_yticklabels()]
    assert labels == ["丙", "甲", "乙"]  # largest on top (the axis is inverted), no value last, 合计 left out
    assert axes.yaxis_inverted()
    [target] = [line for line in axes.get_lines() if line.get_linestyle() == "--"]
    assert list(target.get_xdata()) == [90.0, 90.0]
    assert "目标 90%" in [t.get_text() for t in axes.texts]
    colors = [patch.get_facecolor() for patch in axes.patches]
    assert colors[0] != colors[1]  # 丙 reaches the target, 甲 falls short
    assert axes.get_title() == "各单位满意率（2026年11月）"


def test_an_empty_month_has_a_whole_axis() -> None:
    counts = Table(title="t", columns=["类别", "受理"], rows=[])
    axes = _figure_of(ChartSpec(title="c", table="t", label_column="类别", value_column="受理"), counts).axes[0]
    low, high = axes.get_xlim()
    assert low == 0 and high >= 1  # not 0.00–0.15
    assert all(float(t).is_integer() for t in axes.get_xticks())
    zero = Table(title="t", columns=["类别", "受理"], rows=[["甲", "0"], ["乙", "0"]])
    axes = _figure_of(ChartSpec(title="c", table="t", label_column="类别", value_column="受理"), zero).axes[0]
    assert axes.get_xlim()[1] >= 1 and all(float(t).is_integer() for t in axes.get_xticks())
