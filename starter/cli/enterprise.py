"""`hotline enterprise …`: the red service team's visits and the two lists (服务清单 / 成效清单)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import typer
from pydantic import ValidationError
from rich.table import Table as RichTable

from activities.runtime.calendar_source import calendar_for
from domain.config import describe_validation_error
from domain.enterprise import (
    CloseItem,
    ConfirmItem,
    EnterpriseResult,
    ItemStatus,
    NoteProgress,
    Outcome,
    OutcomeKind,
    today_in_china,
)
from domain.enterprise_plan import enterprise_for, item_spec, plan_add_item, plan_reopen
from domain.intake import TicketRejected
from domain.models import Satisfaction
from starter.cli import common
from starter.cli.actions import Person, actor_from
from starter.enterprises import (
    ItemsFileError,
    act_enterprise,
    all_enterprises,
    read_items_file,
    record_visit,
    view_enterprise,
)
from starter.render import enterprise_panel, when
from workflows.enterprise import EnterpriseServiceWorkflow

app = typer.Typer(help="红色服务团：企业走访、服务清单与成效清单", no_args_is_help=True)
item_app = typer.Typer(help="服务清单事项：新增、进展、办结、企业确认、重新办理", no_args_is_help=True)
app.add_typer(item_app, name="item")

EnterpriseId = Annotated[str, typer.Argument(help="企业 ID（统一社会信用代码或配置的 ID）")]
ItemNo = Annotated[str, typer.Argument(help="事项编号，如 S3")]
T = TypeVar("T")


def checked(build: Callable[[], T], what: str) -> T:
    """Build a command; a bad field becomes one line and exit code 2, before anything is sent."""
    try:
        return build()
    except ValidationError as err:
        common.fail(describe_validation_error(what, err))
    except TicketRejected as err:
        common.fail(str(err))


def given(value: str | None, option: str) -> str | None:
    """An option's value; given but blank, it is refused (in an items file blank means "not given")."""
    if value is not None and not value.strip():
        common.fail(f"{option}: 不能为空")
    return value


def send(enterprise_id: str, update: Any, command: Any) -> None:
    result: EnterpriseResult = common.with_client(lambda c: act_enterprise(c, enterprise_id, update, command))
    common.console.print(f"{enterprise_id}：{result.message}")


@app.command("visit")
def visit(
    person: Person,
    enterprise_id: str = typer.Option(..., "--enterprise", help="企业 ID（统一社会信用代码或配置的 ID）"),
    name: str | None = typer.Option(None, help="企业名称（未在配置中登记的企业必填）"),
    street: str | None = typer.Option(None, help="企业所在镇街（未登记的企业）"),
    on: str | None = typer.Option(None, "--date", help="走访日期 YYYY-MM-DD（默认今天）"),
    member: list[str] = typer.Option([], "--member", help="走访的服务团成员（人员 ID），可多次给出；默认本人"),
    met: list[str] = typer.Option([], help="会见的企业人员，可多次给出"),
    policy: list[str] = typer.Option([], help="宣传讲解的政策，可多次给出"),
    summary: str = typer.Option("", help="走访情况"),
    items: Path | None = typer.Option(
        None, help="议定事项 YAML 文件（need, category, unit, person, measures, within|due_on）"
    ),
    config: common.ConfigPath = None,
) -> None:
    """记录一次走访，并把议定事项列入服务清单（企业首次走访时建立其工作流）。"""
    settings = common.config_from(config)
    actor = actor_from(config, person)
    visited_on = common.parse_date(on, "--date") if on is not None else today_in_china(datetime.now(UTC))
    enterprise = checked(lambda: enterprise_for(settings, enterprise_id, name=name, street=street), "enterprise")
    specs = []
    if items is not None:
        try:
            specs = read_items_file(items, settings)
        except ItemsFileError as err:
            common.fail(str(err))

    async def go() -> None:
        result = await record_visit(
            await common.client(),
            settings,
            actor=actor,
            enterprise=enterprise,
            visited_on=visited_on,
            members=member,
            met=met,
            policies=policy,
            summary=summary,
            items=specs,
        )
        common.console.print(f"{enterprise.name}（{enterprise.id}）：{result.message}")
        if result.item_nos:
            common.console.print("事项：" + "、".join(result.item_nos))

    common.run(go())


@item_app.command("add")
def item_add(
    enterprise_id: EnterpriseId,
    person: Person,
    visit_no: str = typer.Option(..., "--visit", help="所属走访，如 V1"),
    need: str = typer.Option(..., help="事项"),
    category: str = typer.Option(..., help="类别"),
    unit: str = typer.Option(..., help="责任单位：部门代码，或服务团成员的人员 ID"),
    responsible: str | None = typer.Option(None, "--person", help="责任人（责任单位为服务团成员时默认本人）"),
    measures: str = typer.Option("", help="措施"),
    within: str | None = typer.Option(None, help="完成时限，如 10wd、30d"),
    due: str | None = typer.Option(None, help="完成时限（日期 YYYY-MM-DD）"),
    config: common.ConfigPath = None,
) -> None:
    """在某次走访下新增服务清单事项。"""
    settings = common.config_from(config)
    actor = actor_from(config, person)
    raw = {
        "need": need,
        "category": category,
        "unit": unit,
        "person": given(responsible, "--person"),
        "measures": measures,
        "within": given(within, "--within"),
        "due_on": given(due, "--due"),
    }
    spec = checked(lambda: item_spec(settings, raw), "item")
    calendar = calendar_for(settings.calendar, datetime.now(UTC))
    command = checked(lambda: plan_add_item(settings, calendar, actor=actor, visit_no=visit_no, item=spec), "item")
    send(enterprise_id, EnterpriseServiceWorkflow.add_item, command)


@item_app.command("progress")
def item_progress(
    enterprise_id: EnterpriseId,
    item_no: ItemNo,
    person: Person,
    text: str = typer.Option(..., help="进展情况"),
    config: common.ConfigPath = None,
) -> None:
    """责任单位记录办理进展。"""
    actor = actor_from(config, person)
    command = checked(lambda: NoteProgress(actor=actor, item_no=item_no, text=text), "progress")
    send(enterprise_id, EnterpriseServiceWorkflow.note_progress, command)


@item_app.command("close")
def item_close(
    enterprise_id: EnterpriseId,
    item_no: ItemNo,
    person: Person,
    result: OutcomeKind = typer.Option(..., help="办理结果：已办结 / 部分办结 / 无法办理"),
    outcome: str = typer.Option(..., help="成效：做了什么"),
    reason: str = typer.Option("", help="原因（部分办结、无法办理时必填）"),
    evidence: list[str] = typer.Option([], help="佐证材料，可多次给出（已办结、部分办结时必填）"),
    config: common.ConfigPath = None,
) -> None:
    """责任单位办结事项（须写明成效），列入成效清单，待企业确认。"""
    actor = actor_from(config, person)
    command = checked(
        lambda: CloseItem(
            actor=actor,
            item_no=item_no,
            outcome=Outcome(kind=result, text=outcome, reason=reason, evidence=evidence),
        ),
        "close",
    )
    send(enterprise_id, EnterpriseServiceWorkflow.close_item, command)


@item_app.command("confirm")
def item_confirm(
    enterprise_id: EnterpriseId,
    item_no: ItemNo,
    person: Person,
    satisfaction: Satisfaction = typer.Option(..., help="企业评价：满意 / 基本满意 / 不满意"),
    comment: str = typer.Option("", help="意见"),
    config: common.ConfigPath = None,
) -> None:
    """企业确认办理结果（企业联系人，或服务团成员代为记录）。"""
    actor = actor_from(config, person)
    command = checked(
        lambda: ConfirmItem(actor=actor, item_no=item_no, satisfaction=satisfaction, comment=comment), "confirm"
    )
    send(enterprise_id, EnterpriseServiceWorkflow.confirm_item, command)


@item_app.command("reopen")
def item_reopen(
    enterprise_id: EnterpriseId,
    item_no: ItemNo,
    person: Person,
    reason: str = typer.Option(..., help="重新办理的理由"),
    within: str | None = typer.Option(None, help="新的完成时限，如 5wd（默认沿用原时限长度）"),
    config: common.ConfigPath = None,
) -> None:
    """企业不认可办理结果，要求重新办理（新一轮，重新计时、重新派送）。"""
    settings = common.config_from(config)
    actor = actor_from(config, person)
    calendar = calendar_for(settings.calendar, datetime.now(UTC))
    command = checked(
        lambda: plan_reopen(
            settings, calendar, actor=actor, item_no=item_no, reason=reason, within=given(within, "--within")
        ),
        "reopen",
    )
    send(enterprise_id, EnterpriseServiceWorkflow.reopen_item, command)


@app.command("show")
def show(enterprise_id: EnterpriseId) -> None:
    """显示一家企业：走访、服务清单、成效清单、汇总与全部记录。"""
    common.show(view_enterprise, enterprise_id, lambda record: enterprise_panel(record, datetime.now(UTC)))


@app.command("list")
def list_enterprises(show_all: bool = typer.Option(False, "--all", help="包括事项均已确认的企业")) -> None:
    """有未办结或超期事项的企业（--all：全部企业）。"""

    async def go() -> None:
        records = await all_enterprises(await common.client(), only_open=not show_all)
        now = datetime.now(UTC)
        table = RichTable(title="红色服务团服务企业", title_justify="left")
        for column in ("企业 ID", "企业", "镇街", "走访", "事项", "办理中", "待确认", "超期", "最近时限"):
            table.add_column(column)
        for record in records:
            open_items = [i for i in record.items if i.status is ItemStatus.OPEN]
            waiting = [i for i in record.items if i.status is ItemStatus.AWAITING_CONFIRMATION]
            overdue = [i for i in open_items if i.overdue(now)]
            nearest = min((i.due_at for i in open_items), default=None)
            table.add_row(
                record.enterprise.id,
                record.enterprise.name,
                record.enterprise.street or "—",
                str(len(record.visits)),
                str(len(record.items)),
                str(len(open_items)),
                str(len(waiting)),
                f"[red]{len(overdue)}[/red]" if overdue else "0",
                when(nearest),
            )
        common.console.print(table if records else "没有需要跟进的企业")

    common.run(go())


@app.command("lists")
def lists(
    fmt: str = typer.Option("xlsx", "--format", help="xlsx 或 md"),
    out: Path = typer.Option(..., "--out", help="输出目录"),
    enterprise: list[str] = typer.Option([], help="只导出这些企业（企业 ID，可多次给出；默认全部）"),
) -> None:
    """导出服务清单与成效清单：每家企业一份、每个责任单位一份，以及全部企业的汇总。"""
    if fmt not in ("xlsx", "md"):
        common.fail(f"--format: 只能是 xlsx 或 md，而不是 '{fmt}'")
    chosen: Literal["xlsx", "md"] = "xlsx" if fmt == "xlsx" else "md"

    async def go() -> None:
        client = await common.client()
        if enterprise:
            records = [await view_enterprise(client, e) for e in enterprise]
        else:
            records = await all_enterprises(client)
        from activities.reports.enterprise_export import write_lists  # openpyxl: imported when lists are written

        paths = write_lists(records, out, chosen, datetime.now(UTC))
        common.console.print(f"已导出 {len(records)} 家企业的清单，共 {len(paths)} 个文件，位于 {out}")

    common.run(go())
