"""`hotline access …`: a department's own credentials and configuration, and the access proxy that
limits them (docs/security.md, docs/deploy.md).

    hotline access add-key NAME [--department CODE] --credentials FILE --out KEYFILE
    hotline access department-config CODE --center-address HOST:PORT --out FILE
    hotline access proxy --upstream HOST:PORT --credentials FILE [--port N]
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer
import yaml
from pydantic import ValidationError

from activities.runtime.keys import DEPARTMENT_CODE, KeyRingError, write_secret
from activities.runtime.settings import load_config
from domain.config import CenterAddress, department_site, describe_validation_error
from starter.cli import common
from starter.tools.access_proxy import (
    AccessError,
    add_principal,
    principals_summary,
    read_credentials,
    start_access_proxy,
)
from starter.tools.server import stop_event

app = typer.Typer(help="承办单位的凭据与访问代理：单位只持本单位的凭据和配置", no_args_is_help=True)

CredentialsOption = typer.Option(..., "--credentials", help="访问代理的凭据文件（只存各密钥的 SHA-256，权限 0600）")


@app.command("add-key")
def add_key_command(
    name: str = typer.Argument(..., help="凭据名称，例如 hotline-dept-zjj 或 hotline-center"),
    credentials: Path = CredentialsOption,
    out: Path = typer.Option(..., "--out", help="写出新接口密钥的文件（权限 0600），交给该进程作 TEMPORAL_API_KEY"),
    department: str | None = typer.Option(None, "--department", help="承办单位代码：只能领取本单位队列的任务"),
    task_queue: str | None = typer.Option(None, "--task-queue", help="该单位的任务队列（默认 hotline-dept-<代码>）"),
) -> None:
    """生成一把接口密钥并登记到凭据文件：中心的（不给 --department）可做一切，承办单位的只能做本单位的活。"""
    if department is not None and not DEPARTMENT_CODE.fullmatch(department):
        common.fail(f"--department: '{department}' is not a department code")
    if out.exists():
        common.fail(f"{out}: already exists; not overwritten")
    try:
        api_key = add_principal(credentials, name, department, task_queue)
        write_secret(out, api_key + "\n", exclusive=True)
    except (AccessError, KeyRingError) as err:
        common.fail(str(err))
    scope = f"承办单位 {department}" if department else "中心（全部）"
    common.console.print(f"已登记凭据 {name}（{scope}）于 {credentials}；接口密钥写入 {out}")


@app.command("department-config")
def department_config_command(
    code: str = typer.Argument(..., help="承办单位代码"),
    center_address: str = typer.Option(..., "--center-address", help="中心的地址（访问代理），HOST:PORT"),
    namespace: str = typer.Option("default", "--namespace", help="本区的命名空间"),
    out: Path = typer.Option(..., "--out", help="写出的单位配置文件（YAML）"),
    config: common.ConfigPath = None,
) -> None:
    """从全区配置中只取出一个承办单位自己的部分（代码、队列、对接方式、本单位人员、中心地址）。"""
    district = load_config(config)
    try:
        site = department_site(district, code, CenterAddress(address=center_address, namespace=namespace))
    except KeyError:
        common.fail(f"department: unknown department '{code}'")
    except ValidationError as err:
        common.fail(describe_validation_error("--center-address", err))
    text = yaml.safe_dump(site.model_dump(mode="json", exclude_none=True), allow_unicode=True, sort_keys=False)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    common.console.print(f"已写出承办单位 {site.department.name} 的配置 {out}（{len(site.people)} 名本单位人员）")


@app.command("proxy")
def proxy_command(
    upstream: str = typer.Option(..., "--upstream", help="Temporal 前端地址 HOST:PORT（只让本代理可达）"),
    credentials: Path = CredentialsOption,
    port: int = typer.Option(7243, help="监听端口"),
    host: str = typer.Option("127.0.0.1", help="监听地址"),
    tls_cert: Path | None = typer.Option(None, "--tls-cert", help="本代理的证书链（PEM）；与 --tls-key 一起启用 TLS"),
    tls_key: Path | None = typer.Option(None, "--tls-key", help="本代理的私钥（PEM）"),
) -> None:
    """运行访问代理：检查每个调用的接口密钥，承办单位的凭据只能领取和答复本单位队列的任务。"""
    if (tls_cert is None) != (tls_key is None):
        common.fail("--tls-cert and --tls-key go together")
    try:
        allowed = read_credentials(credentials)
        tls = (tls_cert.read_bytes(), tls_key.read_bytes()) if tls_cert and tls_key else None
    except AccessError as err:
        common.fail(str(err))
    except OSError as err:
        common.fail(f"{err.filename}: cannot read: {err.strerror}")

    async def go() -> None:
        try:
            running = await start_access_proxy(upstream, allowed, host=host, port=port, tls=tls)
        except (OSError, RuntimeError) as err:
            common.fail(f"端口 {port}：{err}")
        stop = stop_event()
        common.console.print(f"访问代理已启动：{running.address} → {upstream}（Ctrl-C 停止）")
        for line in principals_summary(allowed):
            common.console.print(f"  凭据 {line}")
        try:
            await asyncio.wait(
                [asyncio.create_task(running.server.wait_for_termination()), asyncio.create_task(stop.wait())],
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            await running.stop()

    common.run(go())
