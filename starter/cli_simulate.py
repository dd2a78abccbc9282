"""`hotline simulate`: a scenario's month through the real workflows, at the speed of a time-skipping
server, and its monthly report (or two, side by side, under two policies)."""

from __future__ import annotations

from pathlib import Path

import typer

from domain.config import DistrictConfig
from domain.metrics import Period
from domain.reports import Report, monthly_analysis
from domain.scenario import ScenarioError, ScenarioLine, parse_scenario
from starter import cli_common as common
from starter.report_files import write_report
from starter.simulate import comparison, simulate, with_policy


def simulate_command(
    scenario: Path = typer.Argument(..., help="情景文件（JSONL，每行一件工单及其脚本，见 docs/scenario.md）"),
    out: Path = typer.Option(..., "--out", help="输出目录"),
    policy: Path | None = typer.Option(None, help="政策文件（YAML：deadlines / catalogue / metrics）"),
    compare: Path | None = typer.Option(None, help="另一政策文件：两种政策下的月报并列对比"),
    month: str | None = typer.Option(None, help="报表月份 YYYY-MM（默认情景首件工单所在月）"),
    config: str | None = common.ConfigOption,
) -> None:
    """情景推演：以真实工作流在时间跳跃服务器上运行情景，生成月报（可对比两种政策）。"""
    base = common.config_from(config)
    try:
        policies = [("现行政策", with_policy(base, policy) if policy else base)]
        if compare is not None:
            policies.append((compare.stem, with_policy(base, compare)))
        text = scenario.read_text(encoding="utf-8")
        lines = parse_scenario(text, policies[0][1], str(scenario))
    except (ScenarioError, OSError) as err:
        common.fail(str(err))
    period = _period(month, lines)

    async def go() -> None:
        reports: list[tuple[str, Report]] = []
        for label, district in policies:
            report = await _run(district, lines, period, out / label)
            reports.append((label, report))
            common.console.print(f"{label}：{report.title}，{len(lines)} 件工单；文件：{out / label}")
        if len(reports) == 2:
            (a_label, a), (b_label, b) = reports
            paths = write_report(comparison(a_label, a, b_label, b), out, ("md", "xlsx", "csv"))
            common.console.print(f"对比：{paths[0]}")

    try:
        common.run(go())
    except ScenarioError as err:
        common.fail(str(err))


def _period(month: str | None, lines: list[ScenarioLine]) -> Period:
    if month is None:
        first = lines[0].at
        return Period.month(first.year, first.month)
    return Period.month(*common.parse_month(month, "--month"))


async def _run(config: DistrictConfig, lines: list[ScenarioLine], period: Period, out: Path) -> Report:
    facts = await simulate(config, lines, out / "departments")
    names = {d.code: d.name for d in config.departments}
    report = monthly_analysis(facts, period, config.reports.metrics, [], None, names=names, now=period.end)
    write_report(report, out, config.reports.formats)
    return report
