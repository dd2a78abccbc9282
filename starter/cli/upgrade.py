"""`hotline upgrade check`: can this code take over the running workflows? (docs/upgrade.md)"""

from __future__ import annotations

from pathlib import Path

import typer

from starter.cli import common

app = typer.Typer(help="升级前检查：用本机安装的代码重放服务中在办工作流与已录制的历史", no_args_is_help=True)


@app.command("check")
def check_command(
    histories: list[Path] = typer.Option(
        [], "--histories", help="另外重放此目录下录制的历史（*.json，可多次给出；默认：源码中的 tests/histories）"
    ),
    server: bool = typer.Option(True, "--server/--no-server", help="重放服务中全部在办工作流的历史"),
    query: str = typer.Option("ExecutionStatus = 'Running'", "--query", help="选取服务中要重放的工作流（可见性查询）"),
) -> None:
    """重放在办工作流与录制的历史；任何一个无法重放（不确定性错误）即列出并以退出码 1 结束。"""
    from starter.tools.upgrade import RECORDED, check

    for folder in histories:
        if not folder.is_dir():
            common.fail(f"--histories: {folder} 不是目录")
    folders = histories or ([RECORDED] if RECORDED.is_dir() else [])

    async def go() -> bool:
        client = await common.client() if server else None
        result = await check(client, folders, query=query)
        where = ("服务中的在办工作流" if server else "") + (
            f"、录制的历史（{', '.join(map(str, folders))}）" if folders else ""
        )
        common.console.print(f"已重放 {result.replayed} 个历史：{where.lstrip('、')}")
        for kind, count in sorted(result.skipped.items()):
            common.console.print(f"跳过 {count} 个非本系统类型 {kind} 的历史")
        for failure in result.failures:
            common.errors.print(
                f"无法重放：{failure.workflow_id}（{failure.workflow_type}，来自 {failure.source}）：{failure.reason}",
                markup=False,
            )
        if result.ok:
            common.console.print("全部可以重放：可以升级")
        else:
            common.errors.print(f"{len(result.failures)} 个历史无法重放：不要升级（见 docs/upgrade.md）", markup=False)
        return result.ok

    raise typer.Exit(0 if common.run(go()) else 1)
