"""What every file of a report says about it, the same in the workbook, the Markdown, the HTML and the
Word document: its title (with 截至 while its period runs) and the lines about its period and making."""

from __future__ import annotations

from domain.enterprise_lists import local_time
from domain.reports import Report, ReportKind


def display_title(report: Report) -> str:
    """The report's title, with "（截至 …）" while its period has not ended."""
    if report.partial_until is None or report.kind is ReportKind.CUMULATIVE:  # 累计 says 截至 in its period
        return report.title
    return f"{report.title}（截至 {local_time(report.partial_until)}）"


def about_lines(report: Report) -> list[str]:
    lines = [f"报告类型：{report.kind.value}", f"统计周期：{report.period}"]
    if report.partial_until is not None:
        lines.append(
            f"数据截至：{local_time(report.partial_until)}"
            + ("" if report.kind is ReportKind.CUMULATIVE else "（本期尚未结束，为阶段性数据）")
        )
    lines.append(f"生成时间：{local_time(report.generated_at)}")
    return lines


def one_line(text: str) -> str:
    return " ".join(text.split())
