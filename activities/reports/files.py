"""Writing a `Report` (日报 / 周报 / 月报) to files as an office circulates them: Markdown, one
self-contained HTML page (the charts inline), an Excel workbook (a title and period row above each
table, the charts on a sheet of their own, printed A4 landscape), a Word document (the monthly
analysis in the usual layout, with 存在问题 and 下步工作 for the office to fill), PDF (from the Word
document, where LibreOffice is installed), CSV (one file per table, utf-8-sig for Excel) and the bar
charts as PNG.

Files are named from the report's kind and period, e.g. for 月报 2026年11月 under `out_dir`:

    月报-2026年11月-图1.png, 月报-2026年11月-图2.png, …   (the charts)
    月报-2026年11月.md
    月报-2026年11月.html
    月报-2026年11月.xlsx
    月报-2026年11月.docx
    月报-2026年11月.pdf
    月报-2026年11月-csv/1-<table title>.csv, …

The chart files are written whenever Markdown is written (it links to them) or "png" is asked for;
the other documents carry the charts inside. The same report gives the same files, byte for byte
(except .xlsx, .docx and .pdf, whose properties carry the time they were saved). The tables and
charts come from `domain.reports`; this module only lays them out.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import re
import shutil
import subprocess
import tempfile
import warnings
from collections.abc import Iterable, Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from urllib.parse import quote

import matplotlib
import structlog
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties, fontManager
from matplotlib.ticker import MaxNLocator, PercentFormatter
from openpyxl.drawing.image import Image as SheetImage
from openpyxl.styles import Font

from activities.reports.enterprise_export import (
    NONE_YET,
    display_width,
    markdown_document,
    print_setup,
    safe_name,
    workbook_of,
)
from activities.reports.heading import about_lines, display_title, one_line
from domain.enterprise_lists import EMPTY
from domain.reports import ChartSpec, Report
from domain.tables import Table

log = structlog.get_logger(__name__)

FORMATS: tuple[str, ...] = ("png", "md", "html", "xlsx", "docx", "pdf", "csv")
"""Every format `write_report` knows, in the order its paths are returned."""
DEFAULT_FORMATS: tuple[str, ...] = ("md", "html", "xlsx", "docx", "csv")
PDF_CONVERTERS = ("soffice", "libreoffice")  # LibreOffice, run headless: Word document → PDF
PDF_TIMEOUT = 180  # seconds; a first start of LibreOffice (a new profile) takes a while
NO_PDF_CONVERTER = "未生成 PDF：本机未安装 LibreOffice（soffice），可用 Word 文档另存为 PDF"

CHARTS = "图表"
CHART_FONT_PACKAGE = "mplfonts"
CHART_FONT_FILE = "NotoSansCJKsc-Regular.otf"
FALLBACK_FAMILY = "DejaVu Sans"

SHEET_NAME_MAX = 31  # Excel's limit, in UTF-16 code units
CSV_TITLE_MAX = 60  # characters of the table title kept in a CSV file name

_SHEET_UNSAFE = re.compile(r"[\x00-\x1f\x7f\[\]:*?/\\]")
_VALUE = re.compile(r"([+-]?\d+(?:\.\d+)?)\s*(%|个百分点)?")

# ----- the whole report -----


def write_report(report: Report, out_dir: Path, formats: Iterable[str] = DEFAULT_FORMATS) -> list[Path]:
    """Write `report` under `out_dir` in each of `formats` ("md", "html", "xlsx", "csv", "png");
    return the paths written: the charts first, then the documents in the order of `FORMATS`, the
    CSV files in the order of the tables. An unknown format is a ValueError, before anything is written."""
    wanted = {formats} if isinstance(formats, str) else set(formats)
    unknown = sorted(wanted - set(FORMATS))
    if unknown:
        raise ValueError(f"formats: unknown {', '.join(repr(f) for f in unknown)}（可选：{', '.join(FORMATS)}）")
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = report_stem(report)
    written: list[Path] = []

    charts: list[tuple[ChartSpec, str]] = []
    images: list[bytes] = []
    if wanted - {"csv"}:
        for n, chart in enumerate(report.charts, start=1):
            image = chart_png(chart, report.table(chart.table))
            images.append(image)
            charts.append((chart, f"{stem}-图{n}.png"))
            if wanted & {"png", "md"}:
                path = out_dir / f"{stem}-图{n}.png"
                path.write_bytes(image)
                written.append(path)
    figures = [(chart, image) for (chart, _), image in zip(charts, images, strict=True)]
    if "md" in wanted:
        path = out_dir / f"{stem}.md"
        path.write_text(markdown_report(report, charts), encoding="utf-8", newline="\n")
        written.append(path)
    if "html" in wanted:
        path = out_dir / f"{stem}.html"
        path.write_text(html_report(report, figures), encoding="utf-8", newline="\n")
        written.append(path)
    if "xlsx" in wanted:
        path = out_dir / f"{stem}.xlsx"
        write_report_workbook(report, figures, path)
        written.append(path)
    if wanted & {"docx", "pdf"}:
        from activities.reports.document import write_document  # python-docx: loaded only when asked for

        converter = pdf_converter() if "pdf" in wanted else None
        if "docx" in wanted or converter is not None:
            with tempfile.TemporaryDirectory(prefix="hotline-docx-") as aside:
                document = (out_dir if "docx" in wanted else Path(aside)) / f"{stem}.docx"
                write_document(report, figures, document)
                if "docx" in wanted:
                    written.append(document)
                if converter is not None:
                    written.append(convert_to_pdf(converter, document, out_dir))
        if "pdf" in wanted and converter is None:
            log.warning("pdf_converter_missing", looked_for=list(PDF_CONVERTERS))
    if "csv" in wanted:
        written.extend(write_csv_tables(report.tables, out_dir / f"{stem}-csv"))
    return written


def report_stem(report: Report) -> str:
    """The file name (without suffix) of a report: "月报-2026年11月"."""
    return safe_name(f"{report.kind.value}-{report.period}")


def pdf_converter() -> str | None:
    """The LibreOffice program on PATH that converts a Word document to PDF, if any."""
    return next((found for name in PDF_CONVERTERS if (found := shutil.which(name))), None)


def convert_to_pdf(converter: str, document: Path, out_dir: Path) -> Path:
    """`document` as PDF in `out_dir` (LibreOffice headless, with a profile of its own so that a
    LibreOffice the user has open is not disturbed)."""
    with tempfile.TemporaryDirectory(prefix="hotline-soffice-") as profile:
        subprocess.run(
            [
                converter,
                f"-env:UserInstallation={Path(profile).as_uri()}",
                "--headless",
                "--convert-to",
                "pdf",
                "--outdir",
                str(out_dir),
                str(document),
            ],
            check=True,
            capture_output=True,
            timeout=PDF_TIMEOUT,
        )
    return out_dir / f"{document.stem}.pdf"


# ----- Markdown -----


def markdown_report(report: Report, charts: Sequence[tuple[ChartSpec, str]]) -> str:
    """The report as Markdown: the facts about it, every table under its title, then the charts as
    images linked relative to the Markdown file (`charts` pairs each chart with its PNG's file name)."""
    tables = [(one_line(t.title), t) for t in report.tables]
    text = markdown_document(one_line(display_title(report)), tables, about_lines(report))
    if not charts:
        return text
    parts = [text.rstrip("\n"), f"## {CHARTS}"]
    for n, (chart, file_name) in enumerate(charts, start=1):
        alt = re.sub(r"([\\\[\]])", r"\\\1", one_line(chart.title))
        parts.append(f"![图{n} {alt}]({quote(file_name)})")
    return "\n\n".join(parts) + "\n"


# ----- HTML -----

_CSS = """
body { font-family: "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", "Source Han Sans SC", sans-serif;
       margin: 2rem auto; max-width: 72rem; padding: 0 1rem; color: #1f2328; line-height: 1.5; }
h1 { font-size: 1.6rem; border-bottom: 2px solid #c8102e; padding-bottom: .4rem; }
h2 { font-size: 1.2rem; margin-top: 2rem; }
ul.about { list-style: none; padding: 0; color: #57606a; }
table { border-collapse: collapse; margin: .5rem 0 1rem; font-size: .9rem; }
th, td { border: 1px solid #d0d7de; padding: .3rem .6rem; text-align: left; vertical-align: top;
         white-space: pre-line; }
thead th { background: #f6f8fa; position: sticky; top: 0; }
tbody tr:nth-child(even) { background: #fafbfc; }
td.empty { color: #57606a; text-align: center; }
figure { margin: 1rem 0 2rem; }
figure img { max-width: 100%; height: auto; border: 1px solid #d0d7de; }
figcaption { color: #57606a; font-size: .9rem; }
@media print { thead th { position: static; } section { break-inside: avoid; } }
""".strip()


def html_report(report: Report, charts: Sequence[tuple[ChartSpec, bytes]]) -> str:
    """The report as one self-contained HTML page: inline CSS, the charts inline as data: URIs (mailed
    alone, it keeps them)."""
    e = html.escape
    lines = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(one_line(display_title(report)))}</title>",
        f"<style>\n{_CSS}\n</style>",
        "</head>",
        "<body>",
        f"<h1>{e(display_title(report))}</h1>",
        '<ul class="about">',
        *(f"<li>{e(line)}</li>" for line in about_lines(report)),
        "</ul>",
    ]
    for table in report.tables:
        lines.extend(["<section>", f"<h2>{e(table.title)}</h2>", *_html_table(table), "</section>"])
    if charts:
        lines.extend(["<section>", f"<h2>{CHARTS}</h2>"])
        for n, (chart, image) in enumerate(charts, start=1):
            caption = f"图{n} {chart.title}"
            source = "data:image/png;base64," + base64.b64encode(image).decode("ascii")
            lines.extend(
                [
                    "<figure>",
                    f'<img src="{source}" alt="{e(caption)}">',
                    f"<figcaption>{e(caption)}</figcaption>",
                    "</figure>",
                ]
            )
        lines.append("</section>")
    lines.extend(["</body>", "</html>"])
    return "\n".join(lines) + "\n"


def _html_table(table: Table) -> list[str]:
    e = html.escape
    lines = ["<table>", "<thead>", "<tr>" + "".join(f"<th>{e(c)}</th>" for c in table.columns) + "</tr>", "</thead>"]
    lines.append("<tbody>")
    for row in table.rows:
        lines.append("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>")
    if not table.rows:
        lines.append(f'<tr><td class="empty" colspan="{max(1, len(table.columns))}">{NONE_YET}</td></tr>')
    lines.extend(["</tbody>", "</table>"])
    return lines


# ----- Excel -----

CHART_ROWS_PER_INCH = 5  # rows of the default height (15 pt) an inch of chart takes, rounded up


def write_report_workbook(report: Report, charts: Sequence[tuple[ChartSpec, bytes]], path: Path) -> None:
    """One sheet per table under the report's title and period rows, and the charts on a sheet of
    their own (图表), one under another."""
    names = sheet_names([t.title for t in report.tables])
    preamble = [one_line(display_title(report)), "；".join(about_lines(report)[1:])]
    workbook = workbook_of(list(zip(names, report.tables, strict=True)), preamble)
    if charts:
        sheet = workbook.create_sheet(title=sheet_names([*names, CHARTS])[-1])
        sheet["A1"] = one_line(display_title(report))
        sheet["A1"].font = Font(bold=True, size=14)
        row = 3
        for n, (chart, image) in enumerate(charts, start=1):
            sheet.cell(row=row, column=1, value=f"图{n} {one_line(chart.title)}")
            picture = SheetImage(io.BytesIO(image))
            sheet.add_image(picture, f"A{row + 1}")
            row += 2 + -(-picture.height // 20)  # 20 px a row at the default height
        print_setup(sheet)
    workbook.save(path)


def sheet_names(titles: Sequence[str]) -> list[str]:
    """One Excel sheet name per title, in order: without []:*?/\\ or control characters, at most 31
    UTF-16 code units, not starting or ending with an apostrophe, and unique ignoring case. Titles
    that collide once shortened get " (2)", " (3)", … — the same titles always give the same names."""
    used: set[str] = {"history"}  # reserved by Excel
    names: list[str] = []
    for title in titles:
        base = _SHEET_UNSAFE.sub("_", one_line(title)).strip(" '") or "Sheet"
        name = _sheet_fit(base, SHEET_NAME_MAX)
        n = 1
        while name.casefold() in used:
            n += 1
            suffix = f" ({n})"
            name = _sheet_fit(base, SHEET_NAME_MAX - len(suffix)) + suffix
        used.add(name.casefold())
        names.append(name)
    return names


def _sheet_fit(text: str, limit: int) -> str:
    units = 0
    for i, ch in enumerate(text):
        units += 2 if ord(ch) > 0xFFFF else 1
        if units > limit:
            return text[:i].rstrip(" '") or "_"
    return text


# ----- CSV -----


def write_csv_tables(tables: Sequence[Table], folder: Path) -> list[Path]:
    """One CSV file per table in `folder`, named "<n>-<title>.csv" (n from 1, zero-padded to the
    same width), encoded utf-8-sig so that Excel reads the Chinese right. Cells are written as they
    are: Excel may read a cell like "+8" or "-2" as a number."""
    folder.mkdir(parents=True, exist_ok=True)
    width = len(str(len(tables)))
    written: list[Path] = []
    for n, table in enumerate(tables, start=1):
        title = safe_name(one_line(table.title))[:CSV_TITLE_MAX].rstrip(" .") or "_"
        path = folder / f"{n:0{width}d}-{title}.csv"
        with path.open("w", encoding="utf-8-sig", newline="") as f:
            writer = csv.writer(f, lineterminator="\r\n")
            writer.writerow(table.columns)
            writer.writerows(table.rows)
        written.append(path)
    return written


# ----- charts -----


@cache
def chart_font() -> str:
    """The font family for chart text: Noto Sans CJK SC from the mplfonts wheel, registered with
    matplotlib once; DejaVu Sans (no Chinese glyphs) if the file is not there."""
    try:
        font = resources.files(CHART_FONT_PACKAGE) / "fonts" / CHART_FONT_FILE
        path = Path(str(font)) if isinstance(font, Path) else None
    except ModuleNotFoundError:
        path = None
    if path is None or not path.is_file():
        log.warning("chart_font_missing", font=CHART_FONT_FILE, package=CHART_FONT_PACKAGE, fallback=FALLBACK_FAMILY)
        return FALLBACK_FAMILY
    if str(path) not in {entry.fname for entry in fontManager.ttflist}:
        fontManager.addfont(path)
    return FontProperties(fname=path).get_name()


def chart_values(chart: ChartSpec, table: Table) -> list[tuple[str, float | None, str]]:
    """The bars of a chart: (label, value or None for no bar, the cell as written), in table order.
    A value cell is a number, optionally followed by "%" or "个百分点"; "—" or an empty cell is no bar."""
    label_at = table.columns.index(chart.label_column)
    value_at = table.columns.index(chart.value_column)
    bars: list[tuple[str, float | None, str]] = []
    for i, row in enumerate(table.rows):
        cell = row[value_at].strip()
        value: float | None = None
        if cell not in (EMPTY, ""):
            match = _VALUE.fullmatch(cell)
            if match is None:
                raise ValueError(f"chart '{chart.title}': row {i + 1} of '{table.title}' has no number: '{cell}'")
            value = float(match.group(1))
        bars.append((one_line(row[label_at]), value, cell or EMPTY))
    return bars


def draw_chart(chart: ChartSpec, table: Table, path: Path) -> None:
    """Draw `chart` from `table` as a PNG at `path` (see `chart_png`)."""
    path.write_bytes(chart_png(chart, table))


def chart_png(chart: ChartSpec, table: Table) -> bytes:
    """`chart` from `table` as a horizontal bar chart in PNG (Agg, on a figure of its own; no
    pyplot): the bars largest first (no bar last), the rows `chart.omit` names left out, the target
    as a dashed line with the bars short of it in red. The PNG carries no metadata, so the same chart
    gives the same bytes."""
    family = chart_font()
    bars = by_value([bar for bar in chart_values(chart, table) if bar[0] not in chart.omit])
    percent = any(cell.endswith("%") for _, _, cell in bars)
    with warnings.catch_warnings():
        if family == FALLBACK_FAMILY:  # said once in the log; don't repeat it for every glyph
            warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from font", category=UserWarning)
        with matplotlib.rc_context(
            {"font.family": [family, FALLBACK_FAMILY], "axes.unicode_minus": False, "font.size": 10}
        ):
            figure = _bar_figure(chart, bars, percent)
            FigureCanvasAgg(figure)
            buffer = io.BytesIO()
            figure.savefig(
                buffer, format="png", dpi=120, bbox_inches="tight", pad_inches=0.25, metadata={"Software": None}
            )
    return buffer.getvalue()


def by_value(bars: list[tuple[str, float | None, str]]) -> list[tuple[str, float | None, str]]:
    """The bars largest first, those without a value last; equal values keep the table's order."""
    return sorted(bars, key=lambda bar: (bar[1] is None, -(bar[1] or 0.0)))


def _bar_figure(chart: ChartSpec, bars: list[tuple[str, float | None, str]], percent: bool) -> Figure:
    labels = [_shorten(label, 24) for label, _, _ in bars]
    values = [0.0 if value is None else value for _, value, _ in bars]
    figure = Figure(figsize=(8.0, max(2.4, 0.42 * len(bars) + 1.4)))
    axes = figure.add_subplot()
    positions = list(range(len(bars)))
    target = chart.target

    def color(value: float | None) -> str:
        if value is None:
            return "none"
        if target is not None and value < target:
            return "#c8102e"  # short of the target
        return "#2f6fbf" if target is None else "#2e8b57"

    axes.barh(positions, values, color=[color(value) for _, value, _ in bars], height=0.6)
    axes.set_yticks(positions, labels)
    axes.invert_yaxis()  # the largest on top
    low = min([0.0, *values])
    high = max([0.0, *values, *([] if target is None else [target])])
    if percent and low >= 0 and high <= 100:
        high = 100.0
    if high == low == 0:  # nothing to draw (an empty month): a whole axis, 0–1, not 0.00–0.15
        high = 100.0 if percent else 1.0
    span = (high - low) or 1.0
    axes.set_xlim(low - (0.15 * span if low < 0 else 0), high + 0.15 * span)
    if low < 0:
        axes.axvline(0, color="#1f2328", linewidth=0.8)
    if percent:
        axes.xaxis.set_major_formatter(PercentFormatter(xmax=100, decimals=0))
    else:
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))  # counts: whole numbers only
    if target is not None:
        axes.axvline(target, color="#b26b00", linewidth=1.2, linestyle="--")
        axes.text(
            target,
            1.0,
            f"目标 {target:g}{'%' if percent else ''}",
            transform=axes.get_xaxis_transform(),
            ha="center",
            va="bottom",
            fontsize=9,
            color="#b26b00",
        )
    for position, (_, value, cell) in zip(positions, bars, strict=True):
        x = 0.0 if value is None else value
        axes.text(
            x + 0.01 * span if x >= 0 else x - 0.01 * span,
            position,
            cell,
            va="center",
            ha="left" if x >= 0 else "right",
            fontsize=9,
            color="#57606a" if value is None else "#1f2328",
        )
    axes.set_title(one_line(chart.title), fontsize=13, pad=10 if target is None else 22)
    axes.set_xlabel(chart.value_column)
    axes.spines[["top", "right"]].set_visible(False)
    axes.grid(axis="x", color="#e5e5e5", linewidth=0.8)
    axes.set_axisbelow(True)
    if not bars:
        axes.set_yticks([])
        axes.text(0.5, 0.5, NONE_YET, transform=axes.transAxes, ha="center", va="center", color="#57606a")
    return figure


def _shorten(text: str, columns: int) -> str:
    """`text` cut to `columns` display columns (CJK counting two), with "…" if it was cut."""
    if display_width(text) <= columns:
        return text
    kept = ""
    for ch in text:
        if display_width(kept + ch + "…") > columns:
            break
        kept += ch
    return kept + "…"
