"""`hotline`: the admin CLI of the district's 12345 hotline coordination."""

from __future__ import annotations

from importlib.metadata import version as package_version
from pathlib import Path

import typer

from activities.runtime.logging import configure_logging
from activities.runtime.process import exit_now
from starter.cli import common
from starter.cli.access import app as access_app
from starter.cli.actions import center_app, dept_app
from starter.cli.audit import app as audit_app
from starter.cli.bench import bench_command
from starter.cli.calendar import app as calendar_app
from starter.cli.campaign import app as campaign_app
from starter.cli.enterprise import app as enterprise_app
from starter.cli.help import chinese_help
from starter.cli.keys import app as keys_app
from starter.cli.meeting import app as meeting_app
from starter.cli.report import app as report_app
from starter.cli.server import codec_server_command, server_command
from starter.cli.simulate import sample_command, simulate_command
from starter.cli.tickets import app as ticket_app
from starter.cli.upgrade import app as upgrade_app
from starter.cli.web import app as web_app
from starter.cli.whistle import app as whistle_app
from starter.cli.worker import worker_command

app = typer.Typer(
    cls=common.OneLineErrors,
    help="12345 热线区域社会治理中心：工单工作流管理",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(ticket_app, name="ticket")
app.add_typer(dept_app, name="dept")
app.add_typer(center_app, name="center")
app.add_typer(calendar_app, name="calendar")
app.add_typer(whistle_app, name="whistle")
app.add_typer(meeting_app, name="meeting")
app.add_typer(campaign_app, name="campaign")
app.add_typer(enterprise_app, name="enterprise")
app.add_typer(report_app, name="report")
app.add_typer(audit_app, name="audit")
app.add_typer(web_app, name="web")
app.command("simulate")(simulate_command)
app.command("sample-scenario")(sample_command)
app.command("bench")(bench_command)
app.add_typer(keys_app, name="keys")
app.add_typer(access_app, name="access")
app.command("server")(server_command)
app.command("codec-server")(codec_server_command)
app.command("worker")(worker_command)
app.add_typer(upgrade_app, name="upgrade")

chinese_help()  # typer's and click's own words in the help, in Chinese


def _version(shown: bool) -> None:
    if shown:
        common.console.print(f"hotline {package_version('hotline')}", highlight=False)
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="显示版本并退出", show_default=False
    ),
) -> None:
    """12345 热线区域社会治理中心：工单工作流管理"""


@app.command()
def demo(
    tickets: int = typer.Option(
        50, "--tickets", "-n", min=13, max=2000, help="提交的样例工单数（至少 13 件：演示情节要用到其中几件）"
    ),
    keep_server: bool = typer.Option(
        False,
        "--keep-server",
        help="汇总后工作台与 worker（含其健康检查与指标端口）继续运行至 Ctrl-C，之后保留内置服务（便于在 Web UI 查看历史）",
    ),
    data_dir: Path = typer.Option(Path(".hotline/demo"), help="内置服务的数据目录"),
    timeout: float = typer.Option(300, help="最长等待秒数"),
    stay: bool = typer.Option(
        False, "--stay", help="演示结束后工作台与模拟 worker 继续运行（Ctrl-C 结束），便于在网页中办理"
    ),
    web_port: int = typer.Option(8000, "--web-port", min=0, max=65535, help="工作台端口（被占用或 0：任选空闲端口）"),
    codec_port: int = typer.Option(
        8089, "--codec-port", min=0, max=65535, help="载荷编解码服务端口（被占用或 0：任选空闲端口）"
    ),
    into_existing: bool = typer.Option(
        False,
        "--into-existing",
        help="在已运行服务的当前命名空间中演示（默认在演示专用命名空间 hotline-demo-<日期> 中运行）",
    ),
    config: common.ConfigPath = None,
) -> None:
    """演示：启动（或连接）服务与模拟承办单位，提交一批样例工单并实时显示进度，最后汇总；结束时终止本次演示仍在运行的流程。"""
    from starter.tools.demo import run_demo

    settings = common.config_from(config)
    ok = common.run(
        run_demo(
            settings,
            tickets,
            keep_server=keep_server,
            data_dir=data_dir,
            timeout=timeout,
            stay=stay,
            web_port=web_port,
            codec_port=codec_port,
            into_existing=into_existing,
        )
    )
    raise typer.Exit(0 if ok else 1)


def main() -> None:
    configure_logging(level="WARNING")
    try:
        app()
    except SystemExit as done:
        exit_now(done.code)
    exit_now(0)


if __name__ == "__main__":
    main()
