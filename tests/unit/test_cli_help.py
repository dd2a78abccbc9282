"""The CLI's help is Chinese throughout (typer's and click's own words too) and `--version` says
the installed version; no Temporal server is needed for either."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENGLISH = ("Show this message", "Usage:", "Options", "Commands", "Arguments", "[default:", "[required]", "env var")
# A type column like "<str>", "<bool>", "<int>" (typer's), and any run of English words outside options and values.
METAVAR = re.compile(r"<(str|int|bool|float|path|int range|integer range)>")


def hotline(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "120", "NO_COLOR": "1", "TERM": "dumb"}
    return subprocess.run(
        [sys.executable, "-m", "starter.cli.app", *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=60
    )


@pytest.mark.parametrize(
    "command",
    [(), ("ticket",), ("ticket", "list"), ("ticket", "show"), ("report", "monthly"), ("whistle", "list"), ("web",)],
)
def test_help_is_chinese(command: tuple[str, ...]) -> None:
    shown = hotline(*command, "--help")
    assert shown.returncode == 0, shown.stderr
    text = shown.stdout
    for word in ENGLISH:
        assert word not in text, (word, text)
    assert not METAVAR.search(text), text
    assert "用法：" in text and "选项" in text and "显示本帮助并退出" in text


def test_flags_show_no_type_and_values_show_theirs_in_chinese() -> None:
    text = hotline("ticket", "list", "--help").stdout
    [overdue] = [line for line in text.splitlines() if "--overdue" in line]
    assert "文本" not in overdue and "bool" not in overdue
    [limit] = [line for line in text.splitlines() if "--limit" in line]
    assert "整数" in limit and "[默认：50]" in limit


def test_version() -> None:
    shown = hotline("--version")
    assert shown.returncode == 0 and shown.stdout.strip() == f"hotline {version('hotline')}"


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("ticket", "list", "--bogus"), "--bogus：没有这个选项"),
        (("--bogus",), "--bogus：没有这个选项"),
        (("ticket", "show"), "缺少参数 'ticket'"),
        (("report", "monthly", "--month"), "'--month'：缺少取值"),
        (("demo", "-n", "5"), "'--tickets' / '-n'：取值无效，应不小于 13"),
        (("ticket", "list", "--limit", "x"), "'--limit'：取值无效，应为整数"),
        (("ticket", "show", "a", "b"), "多余的参数：b"),
        (("nosuch",), "没有命令 'nosuch'"),
    ],
)
def test_usage_errors_are_one_chinese_line_naming_the_option(args: tuple[str, ...], named: str) -> None:
    shown = hotline(*args)
    assert shown.returncode == 2, shown
    [line] = shown.stderr.splitlines()  # one line, no usage panel
    assert line.startswith("错误：") and named in line, line
    for english in ("No such", "Missing", "Invalid value", "requires", "Got unexpected", "Possible", "Usage"):
        assert english not in line, line


def test_a_city_reply_names_the_actions_it_takes() -> None:
    shown = hotline("ticket", "city-reply", "T1", "--as", "zhangli", "--action", "撤回", "--reason", "x")
    assert shown.returncode == 2
    assert shown.stderr.strip() == "错误：--action: 应为 退回、不予受理、重派 之一，而不是 '撤回'"
