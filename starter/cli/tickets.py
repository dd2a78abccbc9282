"""`hotline ticket …`: submit, import, show, list."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from domain import search_attributes as sa
from domain.commands import CityReply, LinkTicket, TransferToCity, Unlink
from domain.facts import status_marks
from domain.intake import TicketRejected, check_ticket
from domain.limits import one_line
from domain.models import CityAction
from starter.cli import common
from starter.cli.actions import Person, TicketNo, actor_from, field_action, send_action
from starter.render import ticket_panel, when
from starter.ticket_files import TicketFileError, read_many, read_ticket
from starter.tickets import ActionFailed, list_query, status_named, submit, view
from workflows.ticket import TicketWorkflow

app = typer.Typer(help="工单：受理、导入、查看、查询", no_args_is_help=True)


@app.command("submit")
def submit_command(
    file: Path = typer.Option(..., "--file", "-f", help="一个工单的 JSON 文件"), config: common.ConfigPath = None
) -> None:
    """受理一个工单；同一工单号重复提交不会产生第二个工作流。"""
    settings = common.config_from(config)
    try:
        ticket = read_ticket(file)
        check_ticket(settings, ticket, datetime.now(UTC))
    except (TicketFileError, TicketRejected) as err:
        common.fail(f"{file}: {err}" if isinstance(err, TicketRejected) else str(err))

    async def go() -> None:
        client = await common.client()
        result = await submit(client, settings, ticket)
        if result.duplicate:
            common.console.print(f"重复工单：{ticket.ticket_no} 已受理，未重复创建（{result.workflow_id}）")
        else:
            common.console.print(result.workflow_id)

    common.run(go())


@app.command("import")
def import_command(
    file: Path = typer.Argument(..., help="JSONL（每行一个工单）、CSV 或制表符分隔的文本、Excel 工作簿（.xlsx）"),
    encoding: str | None = typer.Option(
        None, "--encoding", help="文件编码，如 gbk；默认自动识别 UTF-8、带 BOM 的 UTF-16 与 GBK/GB18030"
    ),
    config: common.ConfigPath = None,
) -> None:
    """批量导入工单：每一行或导入，或报告行号与原因后跳过；重复运行不会重复受理。"""
    settings = common.config_from(config)

    async def go() -> tuple[int, int, int]:
        lines = list(read_many(file, encoding))
        client = await common.client()
        started = duplicates = bad = 0
        with Progress(
            TextColumn("导入"),
            BarColumn(),
            MofNCompleteColumn(),
            console=common.errors,
            transient=True,
            disable=not common.errors.is_terminal,  # stderr read by a program: one line per bad line, nothing else
        ) as progress:
            task = progress.add_task("import", total=len(lines))
            for line in lines:
                progress.advance(task)
                if line.ticket is None:
                    bad += 1
                    common.errors.print(one_line(f"{file}: {line.error}，已跳过"), markup=False)
                    continue
                try:
                    check_ticket(settings, line.ticket, datetime.now(UTC))
                except TicketRejected as err:
                    bad += 1
                    common.errors.print(one_line(f"{file}: line {line.number}: {err}，已跳过"), markup=False)
                    continue
                result = await submit(client, settings, line.ticket)
                if result.duplicate:
                    duplicates += 1
                else:
                    started += 1
        return started, duplicates, bad

    started, duplicates, bad = common.run(go())
    common.console.print(f"导入完成：新受理 {started}，重复 {duplicates}，错误行 {bad}")
    if bad:
        raise typer.Exit(2)


@app.command("show")
def show_command(ticket: str = typer.Argument(..., help="工单号或工作流 ID")) -> None:
    """显示工单的全部信息：状态、时限、审批和每一步办理记录。"""
    common.show(view, ticket, ticket_panel)


def parse_within(value: str) -> timedelta:
    """'24h', '90m', '3d' → a timedelta; anything else is refused naming the option."""
    units = {"m": 60, "h": 3600, "d": 86400}
    number, unit = value[:-1], value[-1:]
    if unit not in units or not number.isdigit() or int(number) <= 0:
        common.fail(f"--due-within: '{value}' 不是时长，应写作 90m、24h 或 3d")
    return timedelta(seconds=int(number) * units[unit])


@app.command("list")
def list_command(
    status: str | None = typer.Option(None, help="状态，如 待签收、办结"),
    department: str | None = typer.Option(None, help="承办单位代码，如 cgj"),
    street: str | None = typer.Option(None, help="镇街，如 滨河街道"),
    category: str | None = typer.Option(None, help="类别，如 物业服务"),
    awaiting_approval: bool = typer.Option(False, "--awaiting-approval", help="只看待值班长审批的"),
    overdue: bool = typer.Option(False, "--overdue", help="只看已超期的"),
    due_within: str | None = typer.Option(None, "--due-within", help="办理时限在此时间内到期的，如 24h、3d"),
    backlog: bool = typer.Option(False, "--backlog", help="只看挂账的"),
    limit: int = typer.Option(50, min=1, max=10000, help="最多显示多少条"),
    as_json: bool = typer.Option(False, "--json", help="输出 JSON（每条一个对象），供程序读取"),
    as_csv: bool = typer.Option(False, "--csv", help="输出 CSV（首行为列名），可存为文件用 Excel 打开"),
    config: common.ConfigPath = None,
) -> None:
    """按状态、承办单位、镇街、类别、超期与到期时间查询工单（基于搜索属性）。"""
    if as_json and as_csv:
        common.fail("--json, --csv: 只能选其一")
    due_before = datetime.now(UTC) + parse_within(due_within) if due_within else None
    try:
        chosen = status_named(status) if status else None
    except ActionFailed as err:
        common.fail(f"--status: {err}")
    query = list_query(chosen, department, street, category, awaiting_approval, overdue, due_before, backlog)
    names = {d.code: d.name for d in common.config_from(config).departments}

    async def go() -> list[TicketLine]:
        client = await common.client()
        return [ticket_line(wf, names) async for wf in client.list_workflows(query, limit=limit)]

    lines = common.run(go())
    if as_json:
        typer.echo(json.dumps([line.as_json() for line in lines], ensure_ascii=False, indent=2))
    elif as_csv:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(LIST_COLUMNS)
        writer.writerows(line.cells() for line in lines)
        typer.echo(out.getvalue(), nl=False)
    else:
        table = Table(title=f"工单列表（{query}）", title_justify="left")
        widest = max((len(line.ticket_no) for line in lines), default=len(LIST_COLUMNS[0]))
        for i, column in enumerate(LIST_COLUMNS):
            # The number is never cut or wrapped, however narrow the terminal: the other columns wrap.
            table.add_column(column, no_wrap=i == 0, min_width=widest if i == 0 else None)
        for line in lines:
            table.add_row(*line.cells())
        common.console.print(table)
        common.console.print(f"共 {len(lines)} 条")


LIST_COLUMNS = ("工单号", "状态", "承办单位", "镇街", "类别", "紧急程度", "受理时间", "办理时限", "超期", "督办级别")


@dataclass(frozen=True)
class TicketLine:
    """One ticket of `ticket list`, from its search attributes (no personal data)."""

    ticket_no: str
    status: str
    marked: str  # the status with its marks (挂账, 暂停计时, 核查结案：类别, 免考核), as people read it
    department_code: str | None
    department: str | None  # its name
    street: str | None
    category: str | None
    urgency: str | None
    received_at: datetime | None
    resolve_due: datetime | None
    overdue: bool
    escalation: str | None

    def cells(self) -> list[str]:
        return [
            self.ticket_no,
            self.marked,
            self.department or "—",
            self.street or "",
            self.category or "",
            self.urgency or "",
            when(self.received_at),
            when(self.resolve_due),
            "是" if self.overdue else "否",
            self.escalation or "—",
        ]

    def as_json(self) -> dict[str, Any]:
        fields = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in asdict(self).items()}
        return fields


def ticket_line(wf: Any, names: dict[str, str]) -> TicketLine:
    attrs = wf.typed_search_attributes
    code = attrs.get(sa.DEPARTMENT)
    return TicketLine(
        ticket_no=wf.id.removeprefix("ticket-"),
        status=attrs.get(sa.STATUS) or "",
        marked=status_marks(attrs.get(sa.STATUS) or "", attrs.get(sa.FACTS) or []),
        department_code=code,
        department=names.get(code, code) if code else None,
        street=attrs.get(sa.STREET),
        category=attrs.get(sa.CATEGORY),
        urgency=attrs.get(sa.URGENCY),
        received_at=attrs.get(sa.RECEIVED_AT),
        resolve_due=attrs.get(sa.RESOLVE_DUE),
        overdue=bool(attrs.get(sa.OVERDUE)),
        escalation=attrs.get(sa.ESCALATION),
    )


@app.command("link")
def link_command(
    ticket: Annotated[str, typer.Argument(help="重复的工单号")],
    main: Annotated[str, typer.Option("--to", help="主单工单号")],
    person: Person,
    config: common.ConfigPath = None,
) -> None:
    """并单：把重复来电的工单并入主单，随主单办理、由主单答复，各自回访。"""
    send_action(ticket, TicketWorkflow.link, LinkTicket(actor=actor_from(config, person), main_ticket=main))


field_action(
    app,
    "unlink",
    TicketWorkflow.unlink,
    Unlink,
    "note",
    typer.Option("", "--note", help="说明"),
    "解除并单：该工单按派单目录单独派遣办理。",
    ticket_help="已并单的工单号",
)


field_action(
    app,
    "transfer",
    TicketWorkflow.transfer_to_city,
    TransferToCity,
    "reason",
    typer.Option(..., "--reason", help="上转理由（超出区级职权的情况）"),
    "上转市级：超出区级职权的工单转市域社会治理中心办理。",
)


CITY_ACTIONS = {"退回": CityAction.RETURN, "不予受理": CityAction.REFUSE, "重派": CityAction.REDISPATCH}


@app.command("city-reply")
def city_reply_command(
    ticket: TicketNo,
    person: Person,
    action: str = typer.Option(
        "退回", "--action", help="市级的答复：退回、不予受理（上转的工单）或 重派（已办结的市级转办工单）"
    ),
    reason: str = typer.Option(..., help="市级的理由"),
    config: common.ConfigPath = None,
) -> None:
    """登记市级答复：上转的工单被市级退回或不予受理、已办结的市级转办工单被市级重派；工单回到本区办理（须在配置的答复期限内）。"""
    if action not in CITY_ACTIONS:
        common.fail(f"--action: 应为 {'、'.join(CITY_ACTIONS)} 之一，而不是 '{action}'")
    command = CityReply(actor=actor_from(config, person), action=CITY_ACTIONS[action], reason=reason)
    send_action(ticket, TicketWorkflow.city_reply, command)
