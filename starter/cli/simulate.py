"""`hotline simulate`: a scenario's month through the real workflows, at the speed of a time-skipping
server, and its monthly report (or two, side by side, under two policies)."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from domain.calendar import CHINA_TZ
from domain.config import DistrictConfig
from domain.metrics import Period
from domain.reports import Report, monthly_analysis
from domain.scenario import ScenarioError, ScenarioLine, parse_scenario, sample_month, sample_year
from starter.cli import common


def simulate_command(
    scenario: Path = typer.Argument(..., help="情景文件（JSONL，每行一件工单及其脚本，见 docs/scenario.md）"),
    out: Path = typer.Option(..., "--out", help="输出目录"),
    policy: Path | None = typer.Option(None, help="政策文件（YAML：deadlines / catalogue / metrics）"),
    compare: Path | None = typer.Option(None, help="另一政策文件：两种政策下的月报并列对比"),
    month: str | None = typer.Option(None, help="报表月份 YYYY-MM（默认情景首件工单所在月）"),
    config: common.ConfigPath = None,
) -> None:
    """情景推演：以真实工作流在时间跳跃服务器上运行情景，生成月报（可对比两种政策）。"""
    # The simulator brings the workers, charts and workbooks: imported when it runs, not by every command.
    from starter.tools.simulate import comparison, with_policy

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
    periods = _periods(month, lines)

    async def go() -> list[str]:
        reports: list[tuple[str, list[Report]]] = []
        failures: list[str] = []
        for label, district in policies:
            written, failed = await _run(district, lines, periods, out / label, label)
            reports.append((label, written))
            failures += [f"{label}：{f}" for f in failed]
        if len(reports) == 2:
            (a_label, a), (b_label, b) = reports
            from activities.reports.files import write_report  # charts: imported when written

            for one, other in zip(a, b, strict=True):
                paths = write_report(comparison(a_label, one, b_label, other), out, ("md", "xlsx", "csv"))
            common.console.print(f"对比：{paths[0]}" + (f" 等 {len(a)} 期" if len(a) > 1 else ""))
        return failures

    try:
        failures = common.run(go())
    except ScenarioError as err:
        common.fail(str(err))
    if failures:
        # The reports above hold every ticket that was computed; what failed is named, and the run fails.
        common.fail(f"推演未完成：{len(failures)} 项失败，首项：{failures[0]}（其余工单的报表已写出）", code=1)


def sample_command(
    out: Path = typer.Option(..., "--out", help="情景文件（JSONL）"),
    month: str | None = typer.Option(None, help="月份 YYYY-MM（与 --year 二选一）"),
    year: int | None = typer.Option(None, min=2000, max=2099, help="年份：全年情景，冬季供暖诉求多、节假日少"),
    count: int = typer.Option(2000, min=1, max=100_000, help="工单件数"),
    seed: int = typer.Option(2026, help="随机种子（同样的参数得到同样的情景）"),
    long_running: float = typer.Option(
        0.0, "--long-running", min=0.0, max=1.0, help="长期在办的比例：这些工单在联系后 40 天才答复"
    ),
    config: common.ConfigPath = None,
) -> None:
    """生成样本情景（一个月或全年）：多数按时办理，少量超时、退单、延期、重办。"""
    district = common.config_from(config)
    if (month is None) == (year is None):
        common.fail("--month / --year: 请给出其中一个")
    if year is not None:
        from datetime import datetime

        from activities.runtime.calendar_source import calendar_for

        calendar = calendar_for(district.calendar, datetime(year, 1, 1, tzinfo=CHINA_TZ))
        try:
            lines = sample_year(district, year, count, calendar, seed, long_running)
        except ScenarioError as err:
            common.fail(str(err))
    else:
        assert month is not None
        number_year, number = common.parse_month(month, "--month")
        lines = sample_month(district, number_year, number, count, seed, long_running)
    out.write_text("".join(line.model_dump_json() + "\n" for line in lines), encoding="utf-8")
    common.console.print(f"已生成 {len(lines)} 件工单的情景：{out}（hotline simulate {out} --out 目录）")


def _periods(month: str | None, lines: list[ScenarioLine]) -> list[Period]:
    """The month asked for; otherwise each month the scenario receives tickets in and, over more
    than one month, the whole span (累计)."""
    if month is not None:
        return [Period.month(*common.parse_month(month, "--month"))]
    first, last = (lines[0].at.astimezone(CHINA_TZ), lines[-1].at.astimezone(CHINA_TZ))
    months = [Period.month(first.year, first.month)]
    while months[-1].end <= last:
        after = months[-1].end.astimezone(CHINA_TZ)
        months.append(Period.month(after.year, after.month))
    if len(months) == 1:
        return months
    label = f"{months[0].label}至{months[-1].label}累计"
    return [*months, Period(kind="month", start=months[0].start, end=months[-1].end, label=label)]


async def _run(
    config: DistrictConfig, lines: list[ScenarioLine], periods: list[Period], out: Path, label: str
) -> tuple[list[Report], list[str]]:
    """Simulate, then write each period's report from every ticket computed (all of them unless
    something failed, which is then listed beside the reports)."""
    from starter.tools.simulate import simulate

    with SimulationProgress(len(lines), label) as progress:
        run = await simulate(config, lines, out / "files", report=progress.event)
    names = {d.code: d.name for d in config.departments}
    from activities.reports.files import write_report  # charts: imported when written

    reports = []
    for period in periods:
        report = monthly_analysis(run.facts, period, config.reports.metrics, [], None, names=names, now=period.end)
        write_report(report, out, config.reports.formats)
        reports.append(report)
    titles = "、".join(p.label for p in periods) if len(periods) <= 2 else f"{periods[0].label}等 {len(periods)} 期"
    common.console.print(f"{label}：{titles}报表，{len(run.facts)}/{len(lines)} 件工单；文件：{out}")
    if run.replayed:
        # The time-skipping server held some of them (docs/bench.md): played again on fresh servers.
        common.console.print(f"其中 {len(run.replayed)} 件在新的推演服务器上重放")
    if run.refused:
        # What the policy did not allow (e.g. an extension asked after the due time) is a finding.
        refused = out / "未获准的脚本动作.txt"
        refused.write_text("\n".join(run.refused) + "\n", encoding="utf-8")
        common.console.print(f"{len(run.refused)} 项脚本动作未获准（该工单照常办理），见 {refused}")
    if run.failures:
        failed = out / "推演失败.txt"
        failed.write_text("\n".join(run.failures) + "\n", encoding="utf-8")
        common.errors.print(f"{len(run.failures)} 项推演失败，见 {failed}", markup=False)
    return reports, run.failures


class SimulationProgress:
    """A progress bar on a terminal (tickets started and ended, the simulated date, the rate and the
    time left); nothing when the output is not a terminal."""

    def __init__(self, total: int, label: str) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("已受理 {task.fields[started]} · 推演至 {task.fields[date]} · {task.fields[rate]} 件/秒 · 剩余"),
            TimeRemainingColumn(),
            console=common.console,
            disable=not common.console.is_terminal,
        )
        self.task = self.bar.add_task(f"情景推演（{label}）", total=total, started=0, date="—", rate="—")
        self.started = self.closed = 0
        self.began = time.monotonic()
        self.date = ""

    def __enter__(self) -> SimulationProgress:
        self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()

    def event(self, event: object) -> None:
        from starter.tools.simulate import Closed, Reached, Started

        if isinstance(event, Started):
            self.started += 1
        elif isinstance(event, Closed):
            self.closed += 1
        elif isinstance(event, Reached):
            # Batches play side by side, each at its own date: the latest date reached is shown.
            self.date = max(self.date, event.at.astimezone(CHINA_TZ).date().isoformat())
        rate = self.closed / max(time.monotonic() - self.began, 1e-9)
        self.bar.update(
            self.task, completed=self.closed, started=self.started, date=self.date or "—", rate=f"{rate:.1f}"
        )
