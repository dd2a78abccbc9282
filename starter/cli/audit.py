"""`hotline audit …`: who did what and when, from the workflows' histories (审计)."""

from __future__ import annotations

import json
from collections.abc import Coroutine
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.table import Table
from temporalio.worker import Replayer

from activities.runtime.settings import converter as converter_from_settings
from domain.calendar import CHINA_TZ
from starter.cli import common
from starter.tools.audit import (
    AuditError,
    Story,
    check,
    export,
    histories_in,
    replay,
    resolve,
    server_histories,
    story_of,
)

app = typer.Typer(help="审计：从工作流历史还原谁在何时做了什么；导出、校验、重放", no_args_is_help=True)

RevealOption = typer.Option(False, "--reveal", help="显示诉求人个人信息（须持有密钥；默认打码）")


def stamp(at: datetime) -> str:
    return at.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M:%S")


def story_table(story: Story, units: dict[str, str] | None = None) -> Table:
    runs = f"，{len(story.runs)} 轮运行" if len(story.runs) > 1 else ""
    table = Table(title=f"{story.workflow_id}（{story.workflow_type}{runs}）", title_justify="left")
    for column in ("时间", "执行人", "动作", "详情", "结果"):
        table.add_column(column, overflow="fold")
    for step in story.steps:
        actor = step.actor.model_copy(update={"unit": (units or {}).get(step.actor.unit or "", step.actor.unit)})
        table.add_row(stamp(step.at), actor.label, step.action, step.detail, step.outcome)
    return table


@app.command("show")
def show(
    name: str = typer.Argument(..., help="工单号、吹哨/会商/专项编号、企业编号或工作流 ID"),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出（供程序读取）"),
    item: str | None = typer.Option(None, "--item", help="只看企业服务清单中的一项（如 S1）"),
    reveal: bool = RevealOption,
    links: bool = typer.Option(True, "--links/--no-links", help="同时显示子流程与关联流程"),
    config: common.ConfigPath = None,
) -> None:
    """时间线：每一步的时间、执行人、动作、详情与结果，包括触发的计时与督办。"""

    async def go() -> None:
        client = await common.client()
        story = await story_of(client, await resolve(client, name), reveal=reveal, item=item, depth=2 if links else 0)
        if as_json:
            parts = [
                {
                    "workflow_id": s.workflow_id,
                    "workflow_type": s.workflow_type,
                    "runs": [r.run_id for r in s.runs],
                    "steps": [step.model_dump(mode="json") for step in s.steps],
                }
                for s in story.all()
            ]
            print(json.dumps(parts, ensure_ascii=False, indent=1))
            return
        district = common.config_from(config)
        units = {d.code: d.name for d in district.departments}
        for part in story.all():
            common.console.print(story_table(part, units))
        if not reveal:
            common.console.print("诉求人个人信息已打码；持有密钥者可加 --reveal 查看。")

    _run(go())


@app.command("export")
def export_command(
    names: list[str] = typer.Argument(..., help="一个或多个工单号、编号或工作流 ID"),
    out: Path = typer.Option(..., "--out", help="输出目录（须为空）"),
    reveal: bool = RevealOption,
) -> None:
    """导出审计包：原始历史（按服务器存储，载荷加密）、可读时间线与 SHA-256 清单。"""

    async def go() -> None:
        client = await common.client()
        manifest, digest = await export(client, names, out, reveal=reveal)
        listed = json.loads(manifest.read_text(encoding="utf-8"))
        common.console.print(
            f"已导出 {len(listed['workflows'])} 个工作流、{len(listed['files'])} 个文件到 {out}"
            f"（个人信息：{'明文' if reveal else '已打码'}）"
        )
        common.console.print(f"清单 {manifest} 的 SHA-256：{digest}（请另行留存，用于 hotline audit check --expect）")

    _run(go())


@app.command("check")
def check_command(
    bundle: Path = typer.Argument(..., help="审计包目录"),
    expect: str | None = typer.Option(None, "--expect", help="导出时留存的清单 SHA-256"),
) -> None:
    """校验审计包：每个文件与清单中的 SHA-256 一致，无缺失、无新增。"""
    try:
        result = check(bundle)
    except AuditError as err:
        common.fail(str(err), code=err.code)
    problems = [f"已改动：{n}" for n in result.changed]
    problems += [f"缺失：{n}" for n in result.missing] + [f"多出：{n}" for n in result.extra]
    if expect and expect.lower() != result.manifest_digest:
        problems.append(f"清单本身已改动：SHA-256 为 {result.manifest_digest}，而非 {expect}")
    if problems:
        for line in problems:
            common.errors.print(line, markup=False)
        common.fail(f"审计包 {bundle} 未通过校验（{len(problems)} 处）", code=1)
    common.console.print(f"审计包 {bundle} 完整无改动（清单 SHA-256：{result.manifest_digest}）")


@app.command("replay")
def replay_command(
    paths: list[Path] = typer.Argument(None, help="导出的审计包、目录或历史文件；不给则从服务器读取"),
    query: str | None = typer.Option(
        None, "--query", help="服务器上的可见性查询，如 \"WorkflowType='TicketWorkflow'\""
    ),
    limit: int = typer.Option(1000, min=1, help="从服务器最多读取的工作流数"),
) -> None:
    """重放：用当前工作流代码重放历史，报告会破坏在办流程的改动（不确定性错误）。"""
    from workflows.registry import WORKFLOWS

    async def go() -> bool:
        if paths:
            histories = histories_in(paths)
            converter = converter_from_settings()
        else:
            client = await common.client()
            histories = await server_histories(client, query, limit)
            converter = client.data_converter
        results = await replay(Replayer(workflows=WORKFLOWS, data_converter=converter), histories)
        failed = [r for r in results if r.error]
        for r in failed:
            common.errors.print(f"无法重放：{r.workflow_id}（{r.source}）：{r.error}", markup=False)
        common.console.print(f"重放 {len(results)} 个历史：{len(results) - len(failed)} 个通过，{len(failed)} 个失败")
        return not failed

    ok = _run(go())
    raise typer.Exit(0 if ok else 1)


T = TypeVar("T")


def _run(work: Coroutine[Any, Any, T]) -> T:
    try:
        result: T = common.run(work)
        return result
    except AuditError as err:
        common.fail(str(err), code=err.code)
