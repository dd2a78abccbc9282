"""What every CLI command shares: the configuration option, the console, and turning errors into
one clear line with the right exit code (2 for bad input, 1 for an unreachable server)."""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import Awaitable, Callable, Coroutine
from datetime import date
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from temporalio.client import Client
from temporalio.service import RPCError

from activities.runtime.keys import KeyRingError
from activities.runtime.logging import LOG_FORMAT_ENV, LogFormat, configure_logging
from activities.runtime.settings import ConfigError, address, connect, load_config
from activities.runtime.startup import SetupError
from domain.config import DistrictConfig, describe_validation_error
from domain.intake import TicketRejected
from domain.limits import PayloadRejected, one_line
from domain.models import YEARS
from starter.cli.help import usage_in_chinese
from starter.render import console as console  # the CLI's console, for every command
from starter.ticket_files import TicketFileError
from starter.tickets import ActionFailed

try:  # typer ≥ 0.25 carries its own copy of click
    from typer._click.exceptions import UsageError
except ImportError:  # pragma: no cover (older typer, on click itself)
    from click.exceptions import UsageError  # type: ignore[assignment]  # click's own class of the same name

T = TypeVar("T")

errors = Console(stderr=True, highlight=False, soft_wrap=True)

ConfigPath = Annotated[
    str | None, typer.Option("--config", envvar="HOTLINE_CONFIG", help="配置文件（默认内置海勃湾区样例）")
]
# The long-running services' (worker, web, codec server) one log pipeline: activities/runtime/logging.py.
LogFormatOption = typer.Option(
    None, "--log-format", envvar=LOG_FORMAT_ENV, help="日志格式：json 或 console（默认：终端为 console，否则 json）"
)


def fail(message: str, code: int = 2) -> NoReturn:
    errors.print(f"错误：{one_line(message)}", markup=False, soft_wrap=True)
    raise typer.Exit(code)


def log_as(log_format: str | None) -> None:
    """A service's logs in the format asked (`--log-format`), at HOTLINE_LOG_LEVEL (INFO by default)."""
    formats: dict[str | None, LogFormat | None] = {None: None, "json": "json", "console": "console"}
    if log_format not in formats:
        fail(f"--log-format: json 或 console，而不是 '{log_format}'")
    configure_logging(log_format=formats[log_format])


def _usage(err: UsageError) -> str:
    """click's words in Chinese, naming the option and the command whose help shows its usage."""
    possibilities = getattr(err, "possibilities", None)
    message = err.message if possibilities else err.format_message()  # the suggestions said in Chinese
    path = err.ctx.command_path if err.ctx is not None else None
    return usage_in_chinese(message, path, list(possibilities or []))


class OneLineErrors(typer.core.TyperGroup):
    """The root command: what click refuses (a missing option, a value of the wrong type or out of
    range, an unknown command) and a command model that refuses its options come out as one line
    naming the option or field, with exit code 2, instead of a usage panel or a traceback."""

    def make_context(self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any) -> Any:
        try:  # the root's own options (`hotline --bogus`)
            return super().make_context(info_name, args, parent=parent, **extra)
        except UsageError as err:
            if type(err).__name__ == "NoArgsIsHelpError":
                raise
            fail(_usage(err))

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except UsageError as err:
            if type(err).__name__ == "NoArgsIsHelpError":  # a group given no command: its help
                raise
            fail(_usage(err))
        except ValidationError as err:
            fail(describe_validation_error("输入", err))
        except (TicketRejected, PayloadRejected) as err:
            fail(str(err))


def run(work: Coroutine[Any, Any, Any]) -> Any:
    """Run a command's coroutine; known failures become one line on stderr."""
    try:
        return asyncio.run(work)
    except (
        ConfigError,
        KeyRingError,
        TicketRejected,
        TicketFileError,
        ActionFailed,
        SetupError,
        PayloadRejected,
    ) as err:
        fail(str(err))
    except ValidationError as err:
        fail(describe_validation_error("输入", err))
    except ConnectionError as err:
        fail(str(err), code=1)
    except RPCError as err:
        # The server answered, but could not do it (e.g. no worker polls the workflow's queue).
        fail(f"Temporal 服务：{err.message}（请确认中心 worker 正在运行）", code=1)


def parse_date(text: str, option: str) -> date:
    """A date option (YYYY-MM-DD, 2000 to 2099), or one line naming the option and exit code 2."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        fail(f"{option}: 日期应写作 YYYY-MM-DD，而不是 '{text}'")
    if day.year not in YEARS:
        fail(f"{option}: 日期 {text} 不在 {YEARS.start}–{YEARS.stop - 1} 年之间")
    return day


def parse_month(text: str, option: str) -> tuple[int, int]:
    """A month option (YYYY-MM) as (year, month), or one line naming the option and exit code 2."""
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", text):
        fail(f"{option}: 月份应写作 YYYY-MM，而不是 '{text}'")
    year, month = text.split("-")
    if int(year) not in YEARS:
        fail(f"{option}: 月份 {text} 不在 {YEARS.start}–{YEARS.stop - 1} 年之间")
    return int(year), int(month)


def config_from(path: str | None) -> DistrictConfig:
    try:
        return load_config(path)
    except ConfigError as err:
        fail(str(err))


async def client() -> Client:
    try:
        return await connect()
    except RuntimeError as err:
        hint = "请先运行 hotline server，或设置 TEMPORAL_ADDRESS"
        raise ConnectionError(f"无法连接 Temporal 服务 {address()}（{hint}）") from err


def is_tty() -> bool:
    return sys.stdout.isatty()


def with_client(work: Callable[[Client], Awaitable[T]]) -> T:
    """Run `work` on a connected client; known failures become one line on stderr (as run does)."""

    async def go() -> T:
        return await work(await client())

    result: T = run(go())
    return result


def show(view: Callable[[Client, str], Awaitable[Any]], number: str, panel: Callable[[Any], Any]) -> None:
    """A `show` command: read one record through `view` and print it as `panel` draws it."""
    console.print(panel(with_client(lambda c: view(c, number))))


def send_update(act: Callable[..., Awaitable[Any]], number: str, update: Any, command: Any) -> None:
    """Run one human action through `act` (a ticket's, whistle's or meeting's) and print its result."""

    async def go() -> None:
        result = await act(await client(), number, update, command)
        suffix = f"（申请编号 {result.approval_id}）" if getattr(result, "approval_id", None) else ""
        console.print(f"{number}：{result.message}{suffix}；当前状态：{result.status.value}")

    run(go())
