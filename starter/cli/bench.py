"""`hotline bench [--quick] [--out FILE]`: the benchmark of the engine and the project (docs/bench.md)."""

from __future__ import annotations

from pathlib import Path

import typer

from starter.cli import common


def bench_command(
    quick: bool = typer.Option(False, "--quick", help="较小的规模，2 核约三分钟"),
    out: Path = typer.Option(Path("bench-results.json"), "--out", help="结果 JSON 文件"),
    markdown: bool = typer.Option(False, "--markdown", help="另以 Markdown 打印结果表（供 docs/bench.md）"),
    config: common.ConfigPath = None,
) -> None:
    """性能基准：同一台内置服务上测裸引擎与本项目（吞吐、每件工单的历史事件、延迟、突发、worker 内存、月报、情景推演）。"""
    from starter.tools.bench import bench_main, markdown_table

    settings = common.config_from(config)
    results = common.run(bench_main(settings, quick, out, common.console))
    if markdown:
        print(markdown_table(results))
    raise typer.Exit(1 if results["errors"] else 0)
