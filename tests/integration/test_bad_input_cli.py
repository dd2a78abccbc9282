"""The bad-input catalogue through the `hotline` CLI: every subcommand that changes something, given a
bad argument, exits with code 2 and one line on stderr naming the option or field (no traceback, no
usage panel), starts no workflow and leaves the running ticket, whistle, meeting, campaign and
enterprise exactly as they were (their histories do not grow by one event). Ticket files, imports
and scenarios through `ticket submit`, `ticket import` and `simulate`, and the file-writing commands
(reports, sample scenarios, web users, keys) write nothing.

The CLI runs in this process (as `hotline` would, through its root command) so that a few hundred
inputs take seconds; one test runs the real `hotline` process to show the same line and exit code."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import io
import json
import os
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from hypothesis import strategies as st
from temporalio.client import Client

from activities.runtime.keys import create_key_file
from domain.config import DistrictConfig
from domain.limits import one_line
from starter.cli import common as cli_common
from starter.cli.app import app
from starter.ticket_files import CSV_COLUMNS
from tests.support.bad_input_support import (
    BAD_DATES,
    BAD_DURATIONS,
    BLANKS,
    TEXT,
    Kinds,
    Running,
    Tally,
    each_site,
    encodable,
    exists,
    history_length,
    on_loop,
    settled,
    start_running,
    too_long,
    with_control,
    with_invisible,
)
from tests.support.bad_tickets import BAD_LINES, bad_scenario_lines, ticket_file_bytes, valid_ticket
from tests.support.cli import Result
from tests.support.district import make_config
from worker import build_workers

pytestmark = pytest.mark.usefixtures("hypothesis_home")


@dataclass
class Cli:
    client: Client
    config: DistrictConfig
    running: Running
    lengths: dict[str, int]
    folder: Path
    command: Any = field(default_factory=lambda: typer.main.get_command(app))

    def __call__(self, *args: str) -> Result:
        """`hotline ARGS` in this process: the root command (with its one-line errors), stdout and
        stderr captured. An exception escaping it is a traceback: it fails the test as it is."""
        out, err = io.StringIO(), io.StringIO()
        code = 0
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                self.command.main(args=list(args), prog_name="hotline", standalone_mode=True)
            except SystemExit as done:
                code = done.code if isinstance(done.code, int) else 1
        return Result(code, out.getvalue(), err.getvalue())


@pytest.fixture(scope="module")
async def cli(dev_env: Any, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Cli]:
    folder = tmp_path_factory.mktemp("bad-input-cli")
    config = make_config(folder)
    config_file = folder / "district.yaml"
    config_file.write_text(yaml.safe_dump(config.model_dump(mode="json"), allow_unicode=True), encoding="utf-8")
    client = dev_env.client
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOTLINE_CONFIG", str(config_file))
        patch.setenv("TEMPORAL_ADDRESS", client.service_client.config.target_host)
        patch.setenv("COLUMNS", "200")
        # The configuration is read afresh by every command (a YAML parse, 0.2 s here): once is enough.
        patch.setattr(cli_common, "load_config", functools.lru_cache(maxsize=4)(cli_common.load_config))  # type: ignore[attr-defined]  # patched where the CLI looks it up
        async with build_workers(client, config, departments=["cgj", "zjj"], center=True):
            running = await start_running(client, config)
            lengths = await settled(client, list(running.ids.values()))
            yield Cli(client, config, running, lengths, folder)


def one_error_line(result: Result, expect: tuple[str, ...] = ()) -> str:
    """Exit code 2, and exactly one line on stderr: 错误：…, naming one of `expect`."""
    assert result.code == 2, result
    lines = result.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("错误："), result
    assert "Traceback" not in result.err and "Usage:" not in result.err
    assert not expect or any(token in lines[0] for token in expect), (expect, lines[0])
    return lines[0]


# ----- the commands, and what can be wrong in each -----


@dataclass(frozen=True)
class Case:
    args: tuple[str, ...]
    expect: tuple[str, ...]  # the line names one of these
    kind: str
    target: str | None  # the running workflow (by type) that must not change
    absent: str | None  # a workflow id that must not exist afterwards


def text(limit: int, required: bool = True) -> Kinds:
    kinds: Kinds = [
        ("too long", too_long(limit)),
        ("control character", with_control()),
        ("invisible character", with_invisible()),
    ]
    return [*kinds, ("empty or blank", BLANKS)] if required else kinds


def unknown(known: set[str]) -> Kinds:
    return [("unknown code", TEXT.filter(lambda v: v.strip() not in known and not v.startswith("-")))]


def ids() -> Kinds:
    return [("bad number", st.sampled_from(["", "a b", "x" * 200, "T1/../T2", "工单1", "T1\n", ".", "..", ".T1"]))]


INTEGERS_BELOW_ONE = [
    ("out of range", st.sampled_from(["0", "-1", "-99999999999"])),
    ("wrong type", st.sampled_from(["abc", "1.5", "三", ""])),
]


@dataclass
class Command:
    """One subcommand: its words, valid options and positionals, and per option (or positional,
    "#0") the kinds of bad values to give it with the names its error may use."""

    words: tuple[str, ...]
    options: dict[str, str | list[str] | None]
    positional: tuple[str, ...] = ()
    target: str | None = None
    fresh: tuple[str, str] | None = None  # (option, workflow id prefix): a new number, which must not start
    bad: dict[str, tuple[Kinds, tuple[str, ...]]] = field(default_factory=dict)

    def args(self, options: dict[str, Any], positional: tuple[str, ...]) -> tuple[str, ...]:
        args = list(self.words)
        for option, value in options.items():
            for one in value if isinstance(value, list) else [value]:
                args.append(option if one is None else f"{option}={one}")
        return (*args, "--", *positional) if positional else tuple(args)

    def sites(self, name: str) -> dict[str, st.SearchStrategy[Case]]:
        found = {}
        for where, (kinds, expect) in self.bad.items():
            for kind, values in kinds:
                found[f"{name} {where}: {kind}"] = values.map(
                    lambda value, where=where, kind=kind, expect=expect: self.case(where, value, kind, expect)  # type: ignore[misc]  # mypy cannot infer a lambda with a default argument
                )
        return found

    def case(self, where: str, value: Any, kind: str, expect: tuple[str, ...]) -> Case:
        options, positional = dict(self.options), list(self.positional)
        absent = None
        if self.fresh:
            option, prefix = self.fresh
            fresh = f"X{uuid.uuid4().hex[:12]}"
            options[option] = fresh
            absent = f"{prefix}-{fresh}"
        if where.startswith("#"):
            positional[int(where[1:])] = value
        elif isinstance(self.options.get(where), list) and not isinstance(value, list):
            options[where] = [value]
        else:
            options[where] = value
        if where == self.fresh_option:
            absent = None  # the bad number itself: no workflow could have it
        if kind == "unknown code":  # the line may name the value it does not know instead of the field
            shown = [one_line(v)[:40] for v in (value if isinstance(value, list) else [value])]
            expect = (*expect, *(s for s in shown if s))
        return Case(self.args(options, tuple(positional)), expect, kind, self.target, absent)

    @property
    def fresh_option(self) -> str | None:
        return self.fresh[0] if self.fresh else None


def commands(cli: Cli) -> dict[str, Command]:
    config, r = cli.config, cli.running
    people = {p.id for p in config.people}
    codes = {d.code for d in config.departments}
    T, W, M, C, E = r.ticket_no, r.whistle_no, r.meeting_no, r.campaign_no, r.enterprise_id
    clerk = {"--as": "cgj_sun"}
    lead = {"--as": "zhangli"}
    person = ([*unknown(people), ("empty or blank", st.just(""))], ("--as",))
    durations = [("bad duration", BAD_DURATIONS)]
    evidence21 = [("too many items", st.just([f"p{i}.jpg" for i in range(21)]))]
    return {
        # 工单: a department's and the centre's actions on a running ticket
        "dept sign": Command(("dept", "sign"), clerk, (T,), "TicketWorkflow", bad={"--as": person, "#0": (ids(), ("工单号",))}),  # type: ignore[arg-type]  # dict is invariant: a str is one of the values allowed
        "dept contact": Command(("dept", "contact"), {**clerk, "--note": "已联系"}, (T,), "TicketWorkflow", bad={"--note": (text(1000, False), ("note",))}),
        "dept answer": Command(
            ("dept", "answer"), {**clerk, "--text": "已清运", "--evidence": ["p.jpg"]}, (T,), "TicketWorkflow",
            bad={"--text": (text(4000), ("text",)), "--evidence": (text(200) + evidence21, ("evidence",))},
        ),
        "dept return": Command(("dept", "return"), {**clerk, "--reason": "非本单位"}, (T,), "TicketWorkflow", bad={"--reason": (text(1000), ("reason",))}),
        "dept extend": Command(
            ("dept", "extend"), {**clerk, "--days": "3", "--reason": "勘查"}, (T,), "TicketWorkflow",
            bad={"--days": ([*INTEGERS_BELOW_ONE, ("out of range", st.sampled_from(["61", "99999999999999999999"]))], ("--days", "working_days")), "--reason": (text(1000), ("reason",)), "--hours": ([("both given", st.just("5"))], ("--days / --hours",))},
        ),
        "dept exempt": Command(
            ("dept", "exempt"), {**clerk, "--category": "不合理诉求", "--evidence": "说明"}, (T,), "TicketWorkflow",
            bad={"--category": ([("wrong enum value", TEXT.filter(lambda v: v not in ("不合理诉求", "不可抗力", "非本单位职责", "其他")))], ("--category",)), "--evidence": (text(4000), ("evidence",))},
        ),
        "dept backlog": Command(
            ("dept", "backlog"), {**clerk, "--until": "2030-06-30", "--reason": "需列入改造计划"}, (T,), "TicketWorkflow",
            bad={"--until": ([("bad date", BAD_DATES), ("bad date", st.sampled_from(["0001-01-01", "9999-12-31", "2100-01-01"]))], ("--until",)), "--reason": (text(1000), ("reason",))},
        ),
        "dept pause": Command(
            ("dept", "pause"), {**clerk, "--category": "补充材料", "--note": "n"}, (T,), "TicketWorkflow",
            bad={"--category": ([("wrong enum value", TEXT.filter(lambda v: v not in ("补充材料", "不在家", "其他")))], ("--category",)), "--note": (text(1000, False), ("note",))},
        ),
        "dept resume": Command(("dept", "resume"), {**clerk, "--note": "n"}, (T,), "TicketWorkflow", bad={"--note": (text(1000, False), ("note",))}),
        "center verify": Command(
            ("center", "verify"), {**lead, "--close": "已解释说明"}, (T, "已解释"), "TicketWorkflow",
            bad={"#1": (text(1000), ("reason",)), "--close": ([("wrong enum value", TEXT.filter(lambda v: v not in ("已解释说明", "诉求不合理", "超出职权范围", "历史遗留问题", "重复诉求")))], ("--close",))},
        ),
        "dept assist-report": Command(("dept", "assist-report"), {**clerk, "--text": "已完成"}, (T,), "TicketWorkflow", bad={"--text": (text(4000), ("text",))}),
        "center dispatch": Command(("center", "dispatch"), {**lead, "--to": "zjj", "--note": "n"}, (T,), "TicketWorkflow", bad={"--to": (unknown(codes), ("--to",)), "--note": (text(1000, False), ("note",))}),
        "center approve": Command(
            ("center", "approve"), {**lead, "--reassign": "zjj"}, (T, "R1"), "TicketWorkflow",
            bad={"#1": ([*text(16), ("unknown code", st.sampled_from(["R999", "E7", "X1"]))], ("approval_id",)), "--reassign": (unknown(codes), ("--reassign",))},
        ),
        "center reject": Command(("center", "reject"), {**lead, "--note": "请继续办理"}, (T, "R1"), "TicketWorkflow", bad={"--note": (text(1000, False), ("note",))}),
        "center callback": Command(
            ("center", "callback"), {"--as": "liumei", "--resolved": None, "--satisfaction": "满意", "--note": "n"}, (T,), "TicketWorkflow",
            bad={"--satisfaction": ([("wrong enum value", TEXT.filter(lambda v: v not in ("满意", "基本满意", "不满意")))], ("--satisfaction",)), "--note": (text(1000, False), ("note",))},
        ),
        "center determine": Command(
            ("center", "determine"), {**lead, "--lead": "zjj", "--assist": ["cgj"], "--note": "现场"}, (T,), "TicketWorkflow",
            bad={"--lead": (unknown(codes), ("--lead",)), "--assist": (unknown(codes), ("--assist",)), "--note": (text(1000, False), ("note",))},
        ),
        "ticket link": Command(("ticket", "link"), {**lead, "--to": "T1"}, (T,), "TicketWorkflow", bad={"--to": (ids(), ("main_ticket",))}),
        "ticket unlink": Command(("ticket", "unlink"), {**lead, "--note": "n"}, (T,), "TicketWorkflow", bad={"--note": (text(1000, False), ("note",))}),
        "ticket transfer": Command(("ticket", "transfer"), {**lead, "--reason": "超出职权"}, (T,), "TicketWorkflow", bad={"--reason": (text(1000), ("reason",))}),
        # 吹哨
        "whistle blow": Command(
            ("whistle", "blow"), {"--as": "bhjd_street", "--kind": "推进", "--dept": ["zjj"], "--title": "t", "--content": "c", "--ticket": ["T1"], "--no": "x"},
            fresh=("--no", "whistle"),
            bad={
                "--kind": (unknown({"紧急", "推进", "难题"}), ("kind",)),
                "--dept": ([*unknown(codes), ("duplicate", st.just(["zjj", "zjj"]))], ("department",)),
                "--title": (text(200), ("title",)),
                "--content": (text(4000), ("content",)),
                "--ticket": (ids(), ("tickets.0",)),
                "--no": (ids(), ("whistle_no",)),
            },
        ),
        "whistle report-in": Command(("whistle", "report-in"), {"--as": "zjj_li", "--note": "n"}, (W,), "WhistleWorkflow", bad={"--note": (text(1000, False), ("note",)), "#0": (ids(), ("编号",))}),
        "whistle answer": Command(("whistle", "answer"), {"--as": "zjj_li", "--text": "t"}, (W,), "WhistleWorkflow", bad={"--text": (text(4000), ("text",))}),
        "whistle evaluate": Command(
            ("whistle", "evaluate"), {"--as": "bhjd_street", "--dept": "zjj", "--satisfaction": "满意", "--comment": "c"}, (W,), "WhistleWorkflow",
            bad={"--dept": ([*unknown(codes), ("too long", too_long(200))], ("department",)), "--satisfaction": ([("wrong enum value", TEXT.filter(lambda v: v not in ("满意", "基本满意", "不满意")))], ("--satisfaction",)), "--comment": (text(1000, False), ("comment",))},
        ),
        "whistle withdraw": Command(("whistle", "withdraw"), {"--as": "bhjd_street", "--reason": "r"}, (W,), "WhistleWorkflow", bad={"--reason": (text(1000), ("reason",))}),
        # 会商
        "meeting convene": Command(
            ("meeting", "convene"), {**lead, "--reason": "权责", "--ticket": [T], "--dept": ["cgj"], "--no": "x"},
            fresh=("--no", "meeting"),
            bad={"--reason": (text(200), ("reason",)), "--ticket": (ids(), ("tickets.0",)), "--dept": ([*unknown(codes), ("duplicate", st.just(["cgj", "cgj"]))], ("department",)), "--no": (ids(), ("meeting_no",))},
        ),
        "meeting attend": Command(("meeting", "attend"), {"--as": "cgj_sun"}, (M,), "ConsultationMeetingWorkflow", bad={"--as": person, "#0": (ids(), ("编号",))}),
        "meeting record": Command(("meeting", "record"), {**lead, "--minutes": "m"}, (M,), "ConsultationMeetingWorkflow", bad={"--minutes": (text(4000), ("minutes",))}),
        "meeting decide": Command(
            ("meeting", "decide"), {**lead, "--lead": "zjj", "--lead-within": "5wd"}, (M,), "ConsultationMeetingWorkflow",
            bad={"--lead": (unknown(codes), ("--lead",)), "--lead-within": (durations, ("lead_within",))},
        ),
        "meeting refer": Command(("meeting", "refer"), {**lead, "--reason": "r"}, (M,), "ConsultationMeetingWorkflow", bad={"--reason": (text(1000), ("reason",))}),
        "meeting rule": Command(
            ("meeting", "rule"), {"--as": "bianban_gao", "--lead": "zjj", "--assist-within": "2wd"}, (M,), "ConsultationMeetingWorkflow",
            bad={"--assist": (unknown(codes), ("--assist",)), "--assist-within": (durations, ("assist_within",))},
        ),
        # 专项
        "campaign start": Command(
            ("campaign", "start"), {**lead, "--title": "t", "--within": "30d", "--category": "噪音污染"},
            bad={
                "--title": (text(200), ("title",)),
                "--within": (durations, ("--within",)),
                "--refresh": (durations, ("--refresh",)),
                "--target": ([("out of range", st.sampled_from(["0", "101", "-5"])), ("wrong type", st.sampled_from(["abc", "50%"]))], ("--target",)),
                "--category": (unknown({c.name for c in config.categories}), ("category",)),
                "--kind": ([("wrong enum value", TEXT.filter(lambda v: v not in ("专项行动", "专项推进")))], ("--kind",)),
            },
        ),
        "campaign record": Command(("campaign", "record"), {**lead, "--minutes": "m"}, (C,), "CampaignWorkflow", bad={"--minutes": (text(4000), ("minutes",))}),
        "campaign close": Command(("campaign", "close"), {**lead, "--note": "n"}, (C,), "CampaignWorkflow", bad={"--note": (text(1000, False), ("note",)), "#0": (ids(), ("编号",))}),
        # 红色服务团
        "enterprise visit": Command(
            ("enterprise", "visit"), {"--as": "hft_li", "--enterprise": "x", "--name": "某公司", "--street": "滨河街道", "--member": ["hft_li"], "--met": ["张总"], "--policy": ["政策"], "--summary": "s"},
            fresh=("--enterprise", "enterprise"),
            bad={
                "--enterprise": ([("bad number", st.sampled_from(["91150302MA0N8K2L3X", "91150302MA0N8K2LOP", "a b", "x" * 65, "", "企业"]))], ("enterprise",)),
                "--date": ([("bad date", BAD_DATES), ("bad date", st.sampled_from(["0001-01-01", "9999-12-31", "2100-01-01", "2099-12-31", "1999-12-31"]))], ("--date", "visited_on", "走访")),
                "--member": ([*unknown(people), ("wrong role", st.sampled_from(["cgj_sun", "zhangli"]))], ("members.0",)),
                "--met": (text(200), ("met.0",)),
                "--policy": (text(200), ("policies.0",)),
                "--summary": (text(2000, False), ("summary",)),
                "--name": (text(200), ("name",)),
                "--street": (unknown({s.name for s in config.streets}), ("street",)),
            },
        ),
        "enterprise item add": Command(
            ("enterprise", "item", "add"), {"--as": "hft_li", "--visit": "V1", "--need": "n", "--category": "生产经营", "--unit": "cgj", "--person": "王科长", "--within": "5wd"}, (E,), "EnterpriseServiceWorkflow",
            bad={
                "--need": (text(200), ("need",)),
                "--category": (unknown(set(config.red_service.categories)), ("category",)),
                "--unit": (unknown(codes | people), ("unit",)),
                "--within": (durations, ("within",)),
                "--due": ([("bad date", BAD_DATES), ("bad date", st.sampled_from(["0001-01-01", "9999-12-31", "2100-01-01"])), ("both given", st.just("2099-12-31"))], ("due_on", "within", "--due")),
                "--visit": ([*text(200), ("unknown code", st.sampled_from(["V9", "V0"]))], ("visit_no",)),
            },
        ),
        "enterprise item progress": Command(
            ("enterprise", "item", "progress"), {**clerk, "--text": "t"}, (E, "S1"), "EnterpriseServiceWorkflow",
            bad={"--text": (text(2000), ("text",)), "#1": ([*text(200), ("unknown code", st.sampled_from(["S99", "V1"]))], ("item_no",))},
        ),
        "enterprise item close": Command(
            ("enterprise", "item", "close"), {**clerk, "--result": "已办结", "--outcome": "o", "--evidence": ["e.pdf"]}, (E, "S1"), "EnterpriseServiceWorkflow",
            bad={"--result": ([("wrong enum value", TEXT.filter(lambda v: v not in ("已办结", "部分办结", "无法办理")))], ("--result",)), "--outcome": (text(2000), ("text",)), "--evidence": (text(200) + evidence21, ("evidence",)), "--reason": ([("control character", with_control())], ("reason",))},
        ),
        "enterprise item confirm": Command(
            ("enterprise", "item", "confirm"), {"--as": "hft_li", "--satisfaction": "满意"}, (E, "S1"), "EnterpriseServiceWorkflow",
            bad={"--satisfaction": ([("wrong enum value", TEXT.filter(lambda v: v not in ("满意", "基本满意", "不满意")))], ("--satisfaction",)), "--comment": (text(2000, False), ("comment",))},
        ),
        "enterprise item reopen": Command(
            ("enterprise", "item", "reopen"), {"--as": "hft_li", "--reason": "r", "--within": "5wd"}, (E, "S1"), "EnterpriseServiceWorkflow",
            bad={"--reason": (text(2000), ("reason",)), "--within": (durations, ("within",))},
        ),
    }  # fmt: skip


async def test_every_command_that_changes_something_refuses_a_bad_argument_in_one_line(cli: Cli, tally: Tally):
    """Nothing starts, nothing changes: the running workflow a command addresses is checked after
    each input, a number given to a new workflow must not exist, and all of them at the end."""
    run = on_loop(asyncio.get_running_loop())
    sites = {name: strategy for key, command in commands(cli).items() for name, strategy in command.sites(key).items()}
    campaigns = "WorkflowType = 'CampaignWorkflow'"
    before = (await cli.client.count_workflows(campaigns)).count

    def check(case: Case) -> None:
        tally("cli_actions", case.kind)
        result = cli(*case.args)
        assert result.code == 2, (case, result)
        one_error_line(result, case.expect)
        if case.target:
            workflow_id = cli.running.ids[case.target]
            assert run(history_length(cli.client, workflow_id)) == cli.lengths[workflow_id], case
        if case.absent:
            assert not run(exists(cli.client, case.absent)), case

    await asyncio.to_thread(each_site, sites, 160, check)
    assert await settled(cli.client, list(cli.running.ids.values()), quiet=0.5) == cli.lengths
    await asyncio.sleep(1)  # `campaign start` takes no number: visibility counts what was started
    assert (await cli.client.count_workflows(campaigns)).count == before


# ----- files: ticket submit, ticket import, simulate -----


async def test_a_bad_ticket_file_is_one_line_and_starts_nothing(cli: Cli, tally: Tally):
    run = on_loop(asyncio.get_running_loop())
    path = cli.folder / "ticket.json"

    def check(case: tuple[str, bytes, str]) -> None:
        kind, raw, named = case
        tally("submissions", f"cli file: {kind}")
        number = f"F{uuid.uuid4().hex[:10]}"
        path.write_bytes(raw.replace(b'"T1"', f'"{number}"'.encode()))
        line = one_error_line(cli("ticket", "submit", "--file", str(path)), (named,))
        assert str(path) in line
        assert not run(exists(cli.client, f"ticket-{number}"))

    files = ticket_file_bytes()
    files["(unknown code)"] = st.sampled_from(["category", "street", "urgency", "community"]).map(
        lambda field: (
            "unknown code",
            json.dumps(valid_ticket(**{field: "不存在"}), ensure_ascii=False).encode(),
            field,
        )
    )
    files["(in the future)"] = st.sampled_from(["2099-01-01T00:00:00+08:00", "2031-01-01T00:00:00Z"]).map(
        lambda at: ("bad date", json.dumps(valid_ticket(received_at=at)).encode(), "received_at")
    )
    await asyncio.to_thread(each_site, files, 24, check)
    for name in ("missing.json", "."):
        tally("submissions", "cli file: cannot read")
        one_error_line(
            await asyncio.to_thread(cli, "ticket", "submit", "--file", str(cli.folder / name)), ("cannot read",)
        )


@st.composite
def all_bad_jsonl(draw: st.DrawFn) -> tuple[list[str], list[str], list[str]]:
    """A JSONL import of bad lines only (blank lines between): its lines, their kinds and numbers."""
    lines, kinds, numbers = [], [], []
    for index in range(draw(st.integers(1, 4))):
        data, kind = draw(BAD_LINES.filter(lambda case: encodable(case[0])))
        number = f"I{uuid.uuid4().hex[:10]}"
        if isinstance(data, dict) and data.get("ticket_no") == "B":
            data = {**data, "ticket_no": number}
            numbers.append(number)
        lines.append(data if isinstance(data, str) else json.dumps(data, ensure_ascii=False))
        kinds.append(kind)
        if draw(st.booleans()):
            lines.append("")
        del index
    return lines, kinds, numbers


async def test_an_import_reports_every_bad_line_in_one_line_each_and_starts_nothing(cli: Cli, tally: Tally):
    run = on_loop(asyncio.get_running_loop())
    path = cli.folder / "batch.jsonl"

    def check(case: tuple[list[str], list[str], list[str]]) -> None:
        lines, kinds, numbers = case
        for kind in kinds:
            tally("imports", f"cli: {kind}")
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        result = cli("ticket", "import", str(path))
        assert result.code == 2, result
        reported = result.err.splitlines()
        bad = [n for n, line in enumerate(lines, 1) if line.strip()]
        assert len(reported) == len(bad), result.err
        for number, line in zip(bad, reported, strict=True):
            assert line.startswith(f"{path}: line {number}: ") and line.endswith("，已跳过"), line
        assert f"新受理 0，重复 0，错误行 {len(bad)}" in result.out
        for number in numbers:  # type: ignore[assignment]  # `number`: a line number above, a ticket number here
            assert not run(exists(cli.client, f"ticket-{number}"))

    await asyncio.to_thread(each_site, {"jsonl": all_bad_jsonl()}, 12, check)
    tally("imports", "cli: not UTF-8")
    (cli.folder / "latin1.csv").write_bytes("ticket_no,category\ncafé,x\n".encode("latin-1"))
    one_error_line(await asyncio.to_thread(cli, "ticket", "import", str(cli.folder / "latin1.csv")), ("not UTF-8",))
    # A GBK table as Excel saves it (read, not refused), whose every line is bad in its own way: each
    # is named, none swallows the next (issue 19, findings 7 to 9).
    numbers = [f"G{uuid.uuid4().hex[:10]}" for _ in range(5)]
    start = "投诉,市容环卫,滨河街道,镇北社区,一般"
    rows = {
        "unclosed quote": f'{numbers[0]},,{start},"垃圾未清运,东门垃圾三天未清运,李四,13900001111,',
        "huge field": f"{numbers[1]},,{start},垃圾未清运,{'长' * 200_000},李四,13900001111,",
        "not a phone": f"{numbers[2]},,{start},垃圾未清运,东门垃圾三天未清运,李四,-----,",
        "bad date": f"{numbers[3]},2026/2/30 9:00,{start},垃圾未清运,东门垃圾三天未清运,李四,13900001111,",
        "invisible character": f"{numbers[4]},,{start},收\u202e费,东门垃圾三天未清运,李四,13900001111,",
    }
    table = cli.folder / "excel.csv"
    table.write_bytes(("\r\n".join([",".join(CSV_COLUMNS), *rows.values()]) + "\r\n").encode("gb18030"))
    for kind in rows:
        tally("imports", f"cli: gbk table: {kind}")
    result = await asyncio.to_thread(cli, "ticket", "import", str(table))
    assert result.code == 2, result
    reported = result.err.splitlines()
    assert [line.split(": ")[1] for line in reported] == [f"line {n}" for n in range(2, 7)], result.err
    assert "citizen.phone" in reported[2] and "received_at" in reported[3] and "title" in reported[4], result.err
    assert "新受理 0，重复 0，错误行 5" in result.out
    for number in numbers:
        assert not await exists(cli.client, f"ticket-{number}")
    tally("imports", "cli: missing column")
    (cli.folder / "columns.csv").write_text("ticket_no,title\nT1,t\n", encoding="utf-8")
    one_error_line(
        await asyncio.to_thread(cli, "ticket", "import", str(cli.folder / "columns.csv")), ("line 1: missing columns",)
    )


def test_a_bad_scenario_is_one_line_and_runs_nothing(cli: Cli, tally: Tally):
    path, out = cli.folder / "month.jsonl", cli.folder / "simulated"
    good = json.dumps(
        {"no": "S0001", "at": "2026-11-02T09:15:00+08:00", "category": "市容环卫", "street": "滨河街道",
         "title": "垃圾未清运", "content": "东门垃圾三天未清运", "sign": "30m", "contact": "2h", "answer": "2d"},
        ensure_ascii=False,
    )  # fmt: skip

    def check(case: tuple[str, str, str]) -> None:
        text, kind, named = case
        tally("scenarios", f"cli: {kind}")
        path.write_text(f"{good}\n{text}\n", encoding="utf-8")
        line = one_error_line(cli("simulate", str(path), "--out", str(out)), (named,))
        assert f"{path}:2: " in line, line
        assert not out.exists()

    each_site(bad_scenario_lines(cli.config), 30, check)
    for name, raw in {"latin1.jsonl": "café".encode("latin-1"), "empty.jsonl": b"\n\n"}.items():
        tally("scenarios", f"cli: {name.split('.')[0]}")
        (cli.folder / name).write_bytes(raw)
        one_error_line(cli("simulate", str(cli.folder / name), "--out", str(out)), (name,))
    tally("scenarios", "cli: bad policy")
    (cli.folder / "policy.yaml").write_text("deadlines: {tiers: []}\nextra: 1\n", encoding="utf-8")
    one_error_line(
        cli("simulate", str(path), "--out", str(out), "--policy", str(cli.folder / "policy.yaml")), ("policy.yaml",)
    )
    assert not out.exists()


# ----- commands that write files -----


def test_commands_that_write_files_refuse_bad_arguments_and_write_nothing(cli: Cli, tally: Tally):
    out = cli.folder / "written"
    users, keys = cli.folder / "users.yaml", cli.folder / "keys.json"
    create_key_file(keys)
    keys_before = keys.read_bytes()
    cases: list[tuple[tuple[str, ...], tuple[str, ...]]] = [
        *((("report", "daily", f"--date={d}", "--out", str(out)), ("--date",)) for d in ("tomorrow", "2026-13-01", "", "29/11/2026")),
        *((("report", "weekly", f"--date={d}", "--out", str(out)), ("--date",)) for d in ("x", "2026-02-30")),
        *((("report", "monthly", f"--month={m}", "--out", str(out)), ("--month",)) for m in ("2026-13", "2026", "", "11/2026", "2026-1")),
        *((("sample-scenario", f"--month={m}", "--out", str(out)), ("--month",)) for m in ("2026-00", "x", "")),
        *((("sample-scenario", "--month=2026-11", f"--count={c}", "--out", str(out)), ("--count",)) for c in ("0", "-1", "100001", "many")),
        *((("web", "users", "add", name, "--person", "cgj_sun", "--password", "pw-123456", "--users", str(users)), ("username",)) for name in ("a b", "", "用户", "x" * 200, "a\x00")),
        (("web", "users", "add", "clerk1", "--person", "nobody", "--password", "pw-123456", "--users", str(users)), ("--person",)),
        (("web", "users", "add", "clerk1", "--password", "pw-123456", "--users", str(users)), ("--person / --leader",)),
        (("web", "users", "remove", "nobody", "--users", str(users)), ("nobody", "users.yaml")),
        *((("keys", "activate", key, "--file", str(keys)), ("key", "密钥")) for key in ("nope", "", "k\n1")),
        *((("audit", "export", name, "--out", str(out)), ("编号", "不存在")) for name in ("a b", "T1/../x", "工单")),
    ]  # fmt: skip
    for args, expect in cases:
        tally("cli_actions", f"files: {args[0]}")
        one_error_line(cli(*args), expect)
        assert not out.exists() and not users.exists(), args
    assert keys.read_bytes() == keys_before


# ----- the real process -----


async def test_the_hotline_process_prints_the_same_one_line_and_exit_code(cli: Cli, tally: Tally):
    """Two bad inputs through `python -m starter.cli.app` (two processes at once): a command model's
    refusal and one of click's, each one line with exit code 2, nothing changed."""
    env = {**os.environ, "HOTLINE_CONFIG": os.environ["HOTLINE_CONFIG"], "COLUMNS": "80"}
    T = cli.running.ticket_no
    runs = [
        ("dept", "return", T, "--as", "cgj_sun", "--reason", "\x1b[2J   "),
        ("dept", "extend", T, "--as", "cgj_sun", "--days", "many", "--reason", "r"),
    ]

    async def hotline(*args: str) -> Result:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "starter.cli.app", *args, env=env, cwd=Path(__file__).resolve().parents[2],
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await process.communicate()
        return Result(process.returncode or 0, out.decode(), err.decode())

    results = await asyncio.gather(*(hotline(*args) for args in runs))
    for expect, result in zip((("reason", "control character"), ("--days",)), results, strict=True):
        tally("cli_actions", "process")
        one_error_line(result, expect)
    assert await settled(cli.client, list(cli.running.ids.values()), quiet=0.5) == cli.lengths
