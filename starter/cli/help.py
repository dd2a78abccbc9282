"""The CLI's help in Chinese throughout: typer and click write their own words ("Usage:", "Options",
"Show this message and exit.", "[default: …]") and show each option's type as "<str>", "<int>",
"<bool>". Neither ships a Chinese translation, so `chinese_help()` replaces those words where the
libraries keep them (typer's module-level strings, click's formatter class) and wraps the two methods
that produce the help option and the type column. Called once, before the CLI runs.

`usage_in_chinese` does the same for their usage errors (an unknown option, a missing argument, a
value of the wrong type): one Chinese line naming the option, for `cli_common.OneLineErrors`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import typer.core
import typer.rich_utils
from typer import _click as click  # typer runs on its own copy of click: its classes are the ones to change

HELP_OPTION_TEXT = "显示本帮助并退出"
# typer's type labels ("<int>", "<integer range>") in the words of the help; flags show none.
TYPE_WORDS = {
    "str": "文本",
    "int": "整数",
    "integer range": "整数",
    "int range": "整数",
    "float": "数值",
    "float range": "数值",
    "path": "路径",
    "file": "文件",
    "directory": "目录",
    "datetime": "时间",
    "bool": "",
}
RICH_WORDS = {
    "DEPRECATED_STRING": "（已弃用）",
    "DEFAULT_STRING": "[默认：{}]",
    "ENVVAR_STRING": "[环境变量：{}]",
    "REQUIRED_LONG_STRING": "[必填]",
    "ARGUMENTS_PANEL_TITLE": "参数",
    "OPTIONS_PANEL_TITLE": "选项",
    "COMMANDS_PANEL_TITLE": "命令",
    "ERRORS_PANEL_TITLE": "错误",
    "ABORTED_TEXT": "已中止。",
    "RICH_HELP": "用 [blue]'{command_path} {help_option}'[/] 查看帮助。",
}
USAGE = "用法："
OPTIONS_METAVAR = "[选项]"
SUBCOMMAND_METAVAR = "命令 [参数]..."
_LABEL = re.compile(r"<([^<>]+)>")


class ChineseHelpFormatter(click.HelpFormatter):
    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        args = args.replace("[OPTIONS]", OPTIONS_METAVAR).replace("COMMAND [ARGS]...", SUBCOMMAND_METAVAR)
        super().write_usage(prog, args, prefix if prefix is not None else USAGE)


def chinese_type(shown: str | None) -> str | None:
    """'<int>' → '整数', '<bool>' → None; choices ('a|b') and anything else stay as they are."""
    if shown is None:
        return None
    words = _LABEL.sub(lambda m: TYPE_WORDS.get(m.group(1), m.group(1)), shown)
    return words or None


def _typed(original: Callable[[Any, click.Context], str | None]) -> Callable[[Any, click.Context], str | None]:
    def display_type_rich(self: Any, ctx: click.Context) -> str | None:
        if getattr(self, "is_flag", False) and not getattr(self, "secondary_opts", None):
            return None  # a switch takes no value
        return chinese_type(original(self, ctx))

    display_type_rich.__wrapped__ = original  # type: ignore[attr-defined]  # marks the patch as made
    return display_type_rich


def _help_option(original: Callable[[click.Command, click.Context], typer.core.TyperOption | None]) -> Any:
    def get_help_option(self: click.Command, ctx: click.Context) -> typer.core.TyperOption | None:
        option = original(self, ctx)
        if option is not None:
            option.help = HELP_OPTION_TEXT
        return option

    get_help_option.__wrapped__ = original  # type: ignore[attr-defined]  # marks the patch as made
    return get_help_option


def chinese_help() -> None:
    """Put the Chinese words in place (once; calling again changes nothing)."""
    for name, text in RICH_WORDS.items():
        setattr(typer.rich_utils, name, text)
    click.Context.formatter_class = ChineseHelpFormatter
    for cls in (typer.core.TyperOption, typer.core.TyperArgument):
        if not hasattr(cls.display_type_rich, "__wrapped__"):
            cls.display_type_rich = _typed(cls.display_type_rich)  # type: ignore[method-assign, assignment]  # patched in place
    if not hasattr(click.Command.get_help_option, "__wrapped__"):
        click.Command.get_help_option = _help_option(click.Command.get_help_option)  # type: ignore[method-assign]  # patched in place


# ----- usage errors: click's and typer's English sentences, in Chinese (the option named as given) -----

_USAGE: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"No such option: (.+)"), "{0}：没有这个选项"),
    (re.compile(r"Missing argument (.+?)\.(?: (.*))?"), "缺少参数 {0}"),
    (re.compile(r"Missing option (.+?)\.(?: (.*))?"), "缺少选项 {0}"),
    (re.compile(r"Missing parameter:? ?(.*?)\.?"), "缺少参数 {0}"),
    (re.compile(r"Invalid value for (.+?): (.*)"), "{0}：取值无效，{1}"),
    (re.compile(r"Invalid value: (.*)"), "取值无效，{0}"),
    (re.compile(r"Option (.+?) requires an argument\."), "{0}：缺少取值"),
    (re.compile(r"Option (.+?) requires (\d+) arguments\."), "{0}：需要 {1} 个取值"),
    (re.compile(r"Option (.+?) does not take a value\."), "{0}：是开关选项，不接受取值"),
    (re.compile(r"No such command (.+?)\."), "没有命令 {0}"),
    (re.compile(r"Got unexpected extra arguments? ?(?:\(s\))? \((.*)\)"), "多余的参数：{0}"),
    (re.compile(r"Argument (.+?) takes (\d+) values\."), "参数 {0} 需要 {1} 个取值"),
]
# What a value was refused for (typer's checks, pydantic's and click's words).
_DETAIL: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"Input should be greater than or equal to (.+)"), "应不小于 {0}"),
    (re.compile(r"Input should be less than or equal to (.+)"), "应不大于 {0}"),
    (re.compile(r"Input should be greater than (.+)"), "应大于 {0}"),
    (re.compile(r"Input should be less than (.+)"), "应小于 {0}"),
    (re.compile(r"Input should be a valid integer.*"), "应为整数"),
    (re.compile(r"Input should be a valid (?:number|decimal).*"), "应为数值"),
    (re.compile(r"Value (.+) is not a valid (.+?)\."), "{0} 不是有效的{1}"),
    (re.compile(r"(.+) is not a valid (.+?)(?: range)?\."), "{0} 不是有效的{1}"),
    (re.compile(r"(.+) is not one of (.+?)\.?"), "{0} 不是可选值 {1} 之一"),
    (re.compile(r"(.+) is not in the range (.+?)\."), "{0} 不在范围 {1} 内"),
    (re.compile(r"Choose from:? (.+?)\.?"), "可选：{0}"),
]


def _detail(text: str) -> str:
    for pattern, words in _DETAIL:
        if found := pattern.fullmatch(text.strip()):
            parts = [TYPE_WORDS.get(part, part) if part else "" for part in found.groups()]
            return words.format(*parts)
    return text


def usage_in_chinese(message: str, command_path: str | None = None, possibilities: list[str] | None = None) -> str:
    """One of click's or typer's usage errors (`UsageError.format_message()` without the suggestions)
    in Chinese; the options and values it names stay as written. An unknown sentence stays as it is."""
    text = message.strip()
    for pattern, words in _USAGE:
        if found := pattern.fullmatch(text):
            parts = [part or "" for part in found.groups()]
            if "{1}" in words and "取值无效" in words:
                parts[1] = _detail(parts[1])
            text = words.format(*parts)
            break
    if possibilities:
        text += f"（相近的选项：{', '.join(sorted(possibilities))}）"
    if command_path:
        text += f"（用法见 {command_path} --help）"
    return text
