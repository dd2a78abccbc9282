"""`hotline simulate`: a scenario's month through the real workflows, at the speed of a time-skipping
server, and its monthly report (or two, side by side, under two policies)."""

from __future__ import annotations

from pathlib import Path

import typer

from domain.config import DistrictConfig
from domain.metrics import Period
from domain.reports import Report, monthly_analysis
from domain.scenario import ScenarioError, ScenarioLine, parse_scenario, sample_month
from starter import cli_common as common


def simulate_command(
    scenario: Path = typer.Argument(..., help="情景文件（JSONL，每行一件工单及其脚本，见 docs/scenario.md）"),
    out: Path = typer.Option(..., "--out", help="输出目录"),
    policy: Path | None = typer.Option(None, help="政策文件（YAML：deadlines / catalogue / metrics）"),
    compare: Path | None = typer.Option(None, help="另一政策文件：两种政策下的月报并列对比"),
    month: str | None = typer.Option(None, help="报表月份 YYYY-MM（默认情景首件工单所在月）"),
    config: str | None = common.ConfigOption,
) -> None:
    """情景推演：以真实工作流在时间跳跃服务器上运行情景，生成月报（可对比两种政策）。"""
    # The simulator brings the workers, charts and workbooks: imported when it runs, not by every command.
    from starter.simulate import comparison, with_policy

    base = common.config_from(config)
    try:
        policies = [("现行政策", with_policy(base, policy) if policy else base)]
        if compare is not None:
            policies.append((compare.stem, with_policy(base, compare)))
        text = scenario.read_text(encoding="utf-8")
        lines = parse_scenario(text, policies[0][1], str(scenario))
    except ScenarioError as err:
        common.fail(str(err))
    except OSError as err:
        common.fail(f"{scenario}: cannot read: {err.strerror or err}")
    except UnicodeDecodeError as err:
        common.fail(f"{scenario}: not UTF-8 text (byte {err.start + 1})")
    period = _period(month, lines)

    async def go() -> None:
        reports: list[tuple[str, Report]] = []
        for label, district in policies:
            report = await _run(district, lines, period, out / label)
            reports.append((label, report))
            common.console.print(f"{label}：{report.title}，{len(lines)} 件工单；文件：{out / label}")
        if len(reports) == 2:
            (a_label, a), (b_label, b) = reports
            from starter.report_files import write_report  # charts: imported when written

            paths = write_report(comparison(a_label, a, b_label, b), out, ("md", "xlsx", "csv"))
            common.console.print(f"对比：{paths[0]}")

    try:
        common.run(go())
    except ScenarioError as err:
        common.fail(str(err))


def sample_command(
    out: Path = typer.Option(..., "--out", help="情景文件（JSONL）"),
    month: str = typer.Option(..., help="月份 YYYY-MM"),
    count: int = typer.Option(2000, min=1, max=100_000, help="工单件数"),
    seed: int = typer.Option(2026, help="随机种子（同样的参数得到同样的情景）"),
    config: str | None = common.ConfigOption,
) -> None:
    """生成一个月的样本情景：多数按时办理，少量超时、退单、延期、重办。"""
    district = common.config_from(config)
    year, number = common.parse_month(month, "--month")
    lines = sample_month(district, year, number, count, seed)
    out.write_text("".join(line.model_dump_json() + "\n" for line in lines), encoding="utf-8")
    common.console.print(f"已生成 {len(lines)} 件工单的情景：{out}（hotline simulate {out} --out 目录）")


def _period(month: str | None, lines: list[ScenarioLine]) -> Period:
    if month is None:
        first = lines[0].at
        return Period.month(first.year, first.month)
    return Period.month(*common.parse_month(month, "--month"))


async def _run(config: DistrictConfig, lines: list[ScenarioLine], period: Period, out: Path) -> Report:
    from starter.simulate import simulate

    run = await simulate(config, lines, out / "files")
    names = {d.code: d.name for d in config.departments}
    report = monthly_analysis(run.facts, period, config.reports.metrics, [], None, names=names, now=period.end)
    from starter.report_files import write_report  # charts: imported when written

    write_report(report, out, config.reports.formats)
    if run.refused:
        # What the policy did not allow (e.g. an extension asked after the due time) is a finding.
        refused = out / "未获准的脚本动作.txt"
        refused.write_text("\n".join(run.refused) + "\n", encoding="utf-8")
        common.console.print(f"{len(run.refused)} 项脚本动作未获准（该工单照常办理），见 {refused}")
    return report
