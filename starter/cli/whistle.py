"""`hotline whistle …`: 镇街吹哨、部门答卷 from the command line."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from activities.runtime.workflow_client import Unread
from domain import search_attributes as sa
from domain.commands import EvaluateDepartment, ReportIn, WhistleAnswer, Withdraw
from domain.models import Satisfaction
from domain.whistle import WhistleRecord
from starter.cli import common
from starter.cli.actions import Person, actor_from
from starter.render import when, whistle_panel
from starter.whistles import act_whistle, blow, list_whistles, view_whistle
from workflows.whistle import WhistleWorkflow

app = typer.Typer(help="镇街吹哨、部门答卷：吹哨、报到、答卷、评价、撤回、查看", no_args_is_help=True)

WhistleNo = Annotated[str, typer.Argument(help="吹哨编号")]


@app.command("blow")
def blow_command(
    person: Person,
    kind: str = typer.Option(..., help="吹哨类型：紧急 / 推进 / 难题"),
    department: list[str] = typer.Option(..., "--dept", help="点名的部门代码，可多次给出"),
    title: str = typer.Option(..., help="事项"),
    content: str = typer.Option(..., help="情况说明"),
    ticket: list[str] = typer.Option([], help="关联工单号，可多次给出"),
    whistle_no: str | None = typer.Option(None, "--no", help="吹哨编号（默认自动生成）"),
    config: common.ConfigPath = None,
) -> None:
    """镇街吹哨：点名部门报到并答卷。打印吹哨编号。"""
    settings = common.config_from(config)
    actor = actor_from(config, person)

    whistle = common.with_client(
        lambda client: blow(
            client,
            settings,
            raised_by=actor,
            kind=kind,
            title=title,
            content=content,
            departments=department,
            tickets=ticket,
            whistle_no=whistle_no,
        )
    )
    common.console.print(whistle.whistle_no)


@app.command("report-in")
def report_in(
    whistle_no: WhistleNo,
    person: Person,
    note: str = typer.Option("", help="报到情况"),
    config: common.ConfigPath = None,
) -> None:
    """部门报到（紧急哨须到场报到）。"""
    common.send_update(
        act_whistle, whistle_no, WhistleWorkflow.report_in, ReportIn(actor=actor_from(config, person), note=note)
    )


@app.command("answer")
def answer(
    whistle_no: WhistleNo,
    person: Person,
    text: str = typer.Option(..., help="答卷内容"),
    config: common.ConfigPath = None,
) -> None:
    """部门答卷。"""
    common.send_update(
        act_whistle, whistle_no, WhistleWorkflow.answer, WhistleAnswer(actor=actor_from(config, person), text=text)
    )


@app.command("evaluate")
def evaluate(
    whistle_no: WhistleNo,
    person: Person,
    department: str = typer.Option(..., "--dept", help="被评价的部门代码"),
    satisfaction: Satisfaction = typer.Option(..., help="满意 / 基本满意 / 不满意"),
    comment: str = typer.Option("", help="评价意见"),
    config: common.ConfigPath = None,
) -> None:
    """镇街评价部门（一哨一考核）。"""
    command = EvaluateDepartment(
        actor=actor_from(config, person), department=department, satisfaction=satisfaction, comment=comment
    )
    common.send_update(act_whistle, whistle_no, WhistleWorkflow.evaluate, command)


@app.command("withdraw")
def withdraw(
    whistle_no: WhistleNo,
    person: Person,
    reason: str = typer.Option(..., help="撤回理由"),
    config: common.ConfigPath = None,
) -> None:
    """镇街撤回吹哨。"""
    common.send_update(
        act_whistle, whistle_no, WhistleWorkflow.withdraw, Withdraw(actor=actor_from(config, person), reason=reason)
    )


@app.command("list")
def list_command(
    street: str | None = typer.Option(None, "--street", help="只看这个镇街的吹哨，如 滨河街道"),
    department: str | None = typer.Option(None, "--department", help="只看点名这个单位的吹哨（单位代码，如 cgj）"),
    open_only: bool = typer.Option(False, "--open", help="只看尚未结束的"),
    limit: int = typer.Option(50, min=1, max=1000, help="最多显示多少条"),
    config: common.ConfigPath = None,
) -> None:
    """列出吹哨（最新的在前）：编号、镇街、类型、标题、状态、点名单位及其办理情况。"""
    settings = common.config_from(config)
    if street is not None and street not in {s.name for s in settings.streets}:
        common.fail(f"--street: unknown street '{street}'")
    if department is not None and department not in {d.code for d in settings.departments}:
        common.fail(f"--department: unknown department '{department}'")
    query = "WorkflowType = 'WhistleWorkflow'"
    if street is not None:
        query += f" AND {sa.STREET.name} = '{street}'"
    if open_only:
        query += " AND ExecutionStatus = 'Running'"

    async def go() -> tuple[list[WhistleRecord], list[Unread]]:
        client = await common.client()
        return await list_whistles(client, query, limit)

    found, unread = common.run(go())
    records = [r for r in found if department is None or any(p.assignment.department == department for p in r.parts)]
    table = Table(title="吹哨列表", title_justify="left")
    for i, column in enumerate(("编号", "镇街", "类型", "标题", "状态", "点名单位（状态）", "吹哨时间")):
        table.add_column(column, no_wrap=i == 0)
    for record in records:
        w = record.input
        parts = "、".join(f"{p.assignment.department_name}（{p.status.value}）" for p in record.parts)
        table.add_row(w.whistle_no, w.street, w.kind, w.title, record.status.value, parts, when(record.raised_at))
    common.console.print(table)
    common.console.print(f"共 {len(records)} 条")
    if unread:  # said, not hidden: they are missing from the list
        common.errors.print(
            f"注意：{len(unread)} 个吹哨未能读取（{unread[0].reason}），未列出："
            + "、".join(u.workflow_id for u in unread),
            markup=False,
        )


@app.command("show")
def show(whistle_no: WhistleNo) -> None:
    """显示吹哨：各部门的报到、答卷、时限、督办与评价，以及全部记录。"""
    common.show(view_whistle, whistle_no, whistle_panel)
