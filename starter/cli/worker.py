"""`hotline worker --department CODE … | --center | --all`: exactly what `python worker.py` runs
(worker.run), spelled as a `hotline` command for an installed package."""

from __future__ import annotations

from pathlib import Path

import typer

from starter.cli import common


def worker_command(
    department: list[str] = typer.Option([], "--department", "-d", help="运行这些承办单位的 worker（可多次给出）"),
    center: bool = typer.Option(False, "--center", help="运行中心的工作流和活动"),
    all_: bool = typer.Option(False, "--all", help="在一个进程中运行全部（本地使用）"),
    department_config: Path | None = typer.Option(
        None, "--department-config", help="按本单位自己的配置文件运行（无需全区配置，见 docs/deploy.md）"
    ),
    metrics_port: int | None = typer.Option(
        None, "--metrics-port", min=0, max=65535, help="在此端口提供 /metrics、/healthz、/readyz（默认不开）"
    ),
    metrics_host: str = typer.Option("127.0.0.1", "--metrics-host", help="指标端口的监听地址"),
    log_format: str | None = common.LogFormatOption,
    versioning: bool = typer.Option(
        False, "--versioning", help="中心 worker 按 Worker Deployment 版本运行（见 docs/upgrade.md）"
    ),
    config: common.ConfigPath = None,
) -> None:
    """运行 worker：承办单位的派遣活动（--department）、中心的工作流（--center），或全部（--all）。"""
    from worker import WorkerOptions, run

    if sum([bool(department), center, all_, department_config is not None]) != 1:
        common.fail("--department / --department-config / --center / --all: give exactly one")
    common.log_as(log_format)
    options = WorkerOptions(
        departments=department,
        center=center,
        all=all_,
        config=config,
        metrics_port=metrics_port,
        metrics_host=metrics_host,
        versioning=versioning,
        department_config=department_config,
    )
    raise typer.Exit(run(options))
