"""`hotline report …`: 日报预警, 周报督办 and 月报分析 on demand, and their Temporal Schedules; 累计
(截至目前) on demand."""

from __future__ import annotations

from datetime import UTC, datetime

import typer

from domain.report_request import ReportReceipt, ReportRequest, ReportRun, morning
from starter.cli import common
from starter.report_schedules import ensure_schedules

app = typer.Typer(
    help="报表：日报预警、周报督办、月报分析（按需生成，或由 Temporal Schedule 定时生成）", no_args_is_help=True
)

OutOption = typer.Option(..., "--out", help="输出目录")
DeliverOption = typer.Option(False, "--deliver", help="同时送达配置中的接收方")


def _day(text: str | None, option: str) -> datetime:
    if text is None:
        return datetime.now(UTC)
    return morning(common.parse_date(text, option))


def _run(request: ReportRequest, config: str | None) -> None:
    settings = common.config_from(config)

    async def go() -> None:
        from activities.reports.activity import make_report  # charts and workbooks: imported when a report is made

        receipt: ReportReceipt = await make_report(await common.client(), settings, request)
        if receipt.headline:
            common.console.print(f"{receipt.period}：{receipt.headline}", highlight=False)
        # The title names the period already ("月报分析（2026年12月）"): not a second time.
        common.console.print(f"{receipt.title}：依据 {receipt.tickets} 件工单，生成 {len(receipt.files)} 个文件")
        for path in receipt.files:
            common.console.print(f"  {path}")
        if receipt.delivered_to:
            common.console.print("已送达：" + "、".join(receipt.delivered_to))
        if receipt.unread:  # said, not hidden: their figures are missing from the report
            common.errors.print(
                f"注意：{len(receipt.unread)} 个流程未能读取（其 worker 未运行），报告未计入并在“未能读取的流程”表中列出："
                + "、".join(receipt.unread),
                markup=False,
            )
        for note in receipt.notes:
            common.console.print(f"提示：{note}")

    common.run(go())


def _dated(name: str, kind: ReportRun, doc: str) -> None:
    """日报 and 周报: the same options, a report as of one morning."""

    def command(
        on: str | None = typer.Option(None, "--date", help="报表日期 YYYY-MM-DD（当日 08:00；默认现在）"),
        out: str = OutOption,
        deliver: bool = DeliverOption,
        config: common.ConfigPath = None,
    ) -> None:
        _run(ReportRequest(kind=kind, as_of=_day(on, "--date"), out=out, deliver=deliver), config)

    command.__doc__ = doc
    app.command(name)(command)


_dated("daily", ReportRun.DAILY, "日报预警：24 小时内到期、新增超期、当日升级督办。")
_dated("weekly", ReportRun.WEEKLY, "周报督办：各单位超期工单、超期天数与督办级别。")


@app.command("monthly")
def monthly(
    month: str | None = typer.Option(None, "--month", help="月份 YYYY-MM（默认上月）"),
    out: str = OutOption,
    deliver: bool = DeliverOption,
    config: common.ConfigPath = None,
) -> None:
    """月报分析：三率、环比、类别排行、考核得分、红黑榜、吹哨评价、企业事项。"""
    if month is not None:
        common.parse_month(month, "--month")
    _run(ReportRequest(kind=ReportRun.MONTHLY, month=month, out=out, deliver=deliver), config)


@app.command("cumulative")
def cumulative(
    since: str | None = typer.Option(
        None, "--since", help="起算日期 YYYY-MM-DD（默认配置 reports.cumulative_since，否则当年 1 月 1 日）"
    ),
    out: str | None = typer.Option(None, "--out", help="输出目录（默认配置 reports.folder）"),
    deliver: bool = DeliverOption,
    config: common.ConfigPath = None,
) -> None:
    """累计情况（截至目前）：受理、办结、在办（其中挂账）、响应率、解决率、满意率，及各单位累计。"""
    now = datetime.now(UTC)
    first = None if since is None else common.parse_date(since, "--since")
    if first is not None and morning(first, 0) >= now:
        common.fail(f"--since: 起算日期 {since} 不在今天之前")
    request = ReportRequest(kind=ReportRun.CUMULATIVE, as_of=now, since=first, out=out, deliver=deliver)
    _run(request, config)


@app.command("schedule")
def schedule(config: common.ConfigPath = None) -> None:
    """创建或更新三个报表的 Temporal Schedule（可重复执行）。"""
    settings = common.config_from(config)

    async def go() -> None:
        for ensured in await ensure_schedules(await common.client(), settings):
            common.console.print(f"{ensured.schedule_id}：{'已创建' if ensured.created else '已更新'}")

    common.run(go())
