"""`hotline web`: the HTTP API and the workbench pages on one port (uvicorn), and `hotline web users
…`: the accounts that may sign in (a users file with argon2 password hashes)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from pydantic import ValidationError

from activities.runtime.settings import ConfigError, actor_for
from domain.config import describe_validation_error
from starter.cli import common
from starter.web.users import (
    DEFAULT_USERS_FILE,
    USERS_ENV,
    UsersFileError,
    WebUser,
    add_user,
    hash_password,
    load_users,
    read_users,
    write_users,
)

app = typer.Typer(
    help="工作台网页与 HTTP API（hotline web [--host H] [--port P] [--users FILE]）；用户管理：hotline web users …",
    invoke_without_command=True,
)
users_app = typer.Typer(help="工作台用户：添加、列出、删除（口令只存 argon2 散列）", no_args_is_help=True)
app.add_typer(users_app, name="users")

UsersOption = typer.Option(DEFAULT_USERS_FILE, "--users", envvar=USERS_ENV, help="用户文件（YAML）")


def default_ui_url(address: str) -> str | None:
    """The Web UI beside a local Temporal server (the embedded one serves it on the gRPC port + 1000)."""
    host, _, port = address.rpartition(":")
    if host in ("localhost", "127.0.0.1") and port.isdigit():
        return f"http://{host}:{int(port) + 1000}"
    return None


@app.callback()
def web_command(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", help="监听地址"),
    port: int = typer.Option(8000, help="端口"),
    users: Path = UsersOption,
    ui_url: str | None = typer.Option(
        None, "--ui-url", envvar="HOTLINE_TEMPORAL_UI", help="Temporal Web UI 地址（工单页链接到其工作流历史）"
    ),
    secure_cookies: bool = typer.Option(
        False,
        "--secure-cookies",
        envvar="HOTLINE_WEB_SECURE_COOKIES",
        help="会话 Cookie 一律带 Secure 标记（经 HTTPS 反向代理提供服务时使用）",
    ),
    data_dir: Path = typer.Option(
        Path(".hotline"), "--data-dir", envvar="HOTLINE_DATA_DIR", help="数据目录（答复附件存于其下 attachments/）"
    ),
    log_format: str | None = common.LogFormatOption,
    config: common.ConfigPath = None,
) -> None:
    """启动工作台网页与 HTTP API（Ctrl-C 停止）。"""
    if ctx.invoked_subcommand is not None:
        return
    import structlog
    import uvicorn

    from activities.runtime.settings import address
    from starter.web.app import create_app

    common.log_as(log_format)
    settings = common.config_from(config)
    if not users.exists():
        common.fail(f"--users: {users} 不存在（先添加用户：hotline web users add NAME --person ID）")
    try:
        directory = load_users(users, settings)
    except UsersFileError as err:
        common.fail(str(err))

    async def go() -> None:
        client = await common.client()
        app_ = create_app(
            client,
            settings,
            directory,
            temporal_ui_url=ui_url or default_ui_url(address()),
            secure_cookies=secure_cookies,
            data_dir=data_dir,
        )
        server = uvicorn.Server(uvicorn.Config(app_, host=host, port=port, log_level="warning", log_config=None))
        common.console.print(f"工作台：http://{host}:{port}/ （用户文件 {users}，{len(directory.users)} 个用户）")
        structlog.get_logger().info("web started", url=f"http://{host}:{port}", users=len(directory.users))
        await server.serve()

    common.run(go())


def _password(given: str | None, from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif given is not None:
        password = given
    else:
        password = typer.prompt("口令", hide_input=True, confirmation_prompt=True)
    if len(password) < 8:
        common.fail("口令至少 8 个字符")
    return password


@users_app.command("add")
def add_command(
    username: str = typer.Argument(..., help="用户名（字母、数字、._-）"),
    person: str | None = typer.Option(None, "--person", help="配置中的人员 ID（角色与所属单位取自配置）"),
    leader: bool = typer.Option(False, "--leader", help="区领导账号（不对应配置人员，只读：驾驶舱与各清单）"),
    name: str | None = typer.Option(None, "--name", help="区领导的姓名"),
    password: str | None = typer.Option(None, "--password", help="口令（不给则提示输入；脚本可用 --password-stdin）"),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="从标准输入读一行作为口令"),
    users: Path = UsersOption,
    config: common.ConfigPath = None,
) -> None:
    """添加（或重设）一个用户：与配置中的人员绑定，或为区领导只读账号。"""
    if (person is None) == (not leader):
        common.fail("--person / --leader: give exactly one")
    settings = common.config_from(config)
    if person is not None:
        try:
            actor_for(settings, person)
        except ConfigError:
            common.fail(f"--person: unknown person '{person}'")
    try:
        user = WebUser(
            username=username,
            password_hash=hash_password(_password(password, password_stdin)),
            person=person,
            role="leader" if leader else None,
            name=name if leader else None,
        )
        replaced = add_user(users, user)
    except UsersFileError as err:
        common.fail(str(err))
    except ValidationError as err:
        common.fail(describe_validation_error("user", err))
    common.console.print(f"{'已更新' if replaced else '已添加'}用户 {username}（{users}）")


@users_app.command("list")
def list_command(users: Path = UsersOption, config: common.ConfigPath = None) -> None:
    """列出用户及其角色、所属单位。"""
    try:
        directory = load_users(users, common.config_from(config))
    except UsersFileError as err:
        common.fail(str(err))
    for username in directory.users:
        viewer = directory.viewer(username)
        assert viewer is not None
        unit = viewer.department or viewer.street or viewer.enterprise or "中心"
        common.console.print(f"{username}\t{viewer.name}\t{viewer.role_label}\t{unit}")


@users_app.command("remove")
def remove_command(username: str = typer.Argument(...), users: Path = UsersOption) -> None:
    """删除用户（其会话随即失效：运行中的 hotline web 会重新读取用户文件）。"""
    try:
        current = read_users(users)
    except UsersFileError as err:
        common.fail(str(err))
    kept = [u for u in current if u.username != username]
    if len(kept) == len(current):
        common.fail(f"{users}: no user '{username}'")
    write_users(users, kept)
    common.console.print(f"已删除用户 {username}")


@app.command("open311-key")
def open311_key_command(
    client: str = typer.Option(..., "--client", help="Open311 客户端名称（如 城市随手拍）"),
) -> None:
    """为一个 Open311 客户端生成 API 密钥：密钥只显示这一次，配置中只存其 argon2 散列（open311.clients）。"""
    from starter.web.open311 import new_api_key

    name = client.strip()
    if not name or len(name) > 64:
        common.fail("--client: 名称应为 1–64 个字符")
    key, digest = new_api_key()
    common.console.print(f"API 密钥（交给 {name}，只显示这一次）：{key}", highlight=False)
    common.console.print("写入配置 open311.clients：", highlight=False)
    common.console.print(f"  - name: {name}\n    api_key_hash: '{digest}'", highlight=False, markup=False)
