"""`hotline campaign …`: 专项行动协调会 and 专项推进会 from the command line."""

from __future__ import annotations

from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Group
from rich.panel import Panel
from rich.table import Table

from domain.calendar import Span, parse_span
from domain.campaign import CampaignKind, CampaignRecord, TicketFilter
from domain.commands import CloseCampaign, RecordMinutes
from domain.config import describe_validation_error
from starter.campaigns import HOURLY, act_campaign, start_campaign, view_campaign
from starter.cli import common
from starter.cli.actions import Person, actor_from
from starter.render import when
from workflows.campaign import CampaignWorkflow

app = typer.Typer(help="专项行动与专项推进：启动、协调会、查看、结束", no_args_is_help=True)

CampaignNo = Annotated[str, typer.Argument(help="专项编号")]


def _span(value: str, option: str) -> Span:
    try:
        return Span.model_validate(parse_span(value))
    except ValidationError as err:
        common.fail(describe_validation_error(option, err))
    except ValueError as err:
        common.fail(f"{option}: {err}")


@app.command("start")
def start(
    person: Person,
    kind: CampaignKind = typer.Option(CampaignKind.SPECIAL_ACTION, help="专项行动 / 专项推进"),
    title: str = typer.Option(..., help="名称"),
    category: str | None = typer.Option(None, help="类别"),
    street: str | None = typer.Option(None, help="镇街"),
    department: str | None = typer.Option(None, "--dept", help="承办单位代码（专项推进必填）"),
    overdue: bool = typer.Option(False, "--overdue", help="只纳入超期工单"),
    within: str = typer.Option(..., help="期限，如 30d、10wd"),
    target: int = typer.Option(100, min=1, max=100, help="目标办结比例（%）"),
    refresh: str = typer.Option(str(HOURLY), help="刷新间隔，如 1h"),
    config: common.ConfigPath = None,
) -> None:
    """启动专项：按条件纳入工单（之后新到的符合条件的工单也纳入）。打印专项编号。"""
    settings = common.config_from(config)
    actor = actor_from(config, person)
    deadline, every = _span(within, "--within"), _span(refresh, "--refresh")

    campaign = common.with_client(
        lambda client: start_campaign(
            client,
            settings,
            started_by=actor,
            kind=kind,
            title=title,
            filter=TicketFilter(category=category, street=street, department=department, overdue_only=overdue),
            within=deadline,
            target_percent=target,
            refresh=every,
        )
    )
    common.console.print(campaign.campaign_no)


@app.command("record")
def record(
    campaign_no: CampaignNo,
    person: Person,
    minutes: str = typer.Option(..., help="协调会纪要"),
    config: common.ConfigPath = None,
) -> None:
    """记录专项协调会。"""
    command = RecordMinutes(actor=actor_from(config, person), minutes=minutes)
    common.console.print(
        common.with_client(lambda c: act_campaign(c, campaign_no, CampaignWorkflow.record_meeting, command))
    )


@app.command("close")
def close(
    campaign_no: CampaignNo,
    person: Person,
    note: str = typer.Option("", help="结束说明"),
    config: common.ConfigPath = None,
) -> None:
    """结束专项并给出小结（专项推进未清的工单报领导督办）。"""
    command = CloseCampaign(actor=actor_from(config, person), note=note)
    summary = common.with_client(lambda c: act_campaign(c, campaign_no, CampaignWorkflow.close, command))
    common.console.print(
        f"{campaign_no}：共 {summary.total} 件，办结 {summary.closed} 件（{summary.percent}%），"
        f"{'达成目标' if summary.target_reached else '未达成目标'}"
    )


@app.command("show")
def show(campaign_no: CampaignNo) -> None:
    """显示专项：范围、目标、进度和纳入的每件工单。"""
    common.show(view_campaign, campaign_no, campaign_panel)


def campaign_panel(record: CampaignRecord) -> Panel:
    c = record.input
    progress = record.summary or record.progress()
    header = (
        f"{c.kind.value}：{c.title}；状态：{record.status.value}；范围：{c.filter.label}；期限：{when(c.deadline)}；"
        f"进度：{progress.closed}/{progress.total}（{progress.percent}%，目标 {c.target_percent}%）"
    )
    members = Table(title="纳入工单", title_justify="left")
    for column in ("工单号", "状态", "纳入时间"):
        members.add_column(column)
    for m in record.members:
        members.add_row(m.workflow_id.removeprefix("ticket-"), m.status, when(m.joined_at))
    actions = Table(title="记录", title_justify="left")
    for column in ("时间", "操作人", "操作", "说明"):
        actions.add_column(column)
    for action in record.actions:
        actions.add_row(when(action.at), action.actor.label, action.action, action.detail)
    return Panel(Group(header, members, actions), title=f"专项 {c.campaign_no}", title_align="left")
