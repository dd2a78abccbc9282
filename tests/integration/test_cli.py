"""The `hotline` CLI as a user runs it: a real process against the dev server, with workers running.

Bad input gets one line naming the field or line, exit code 2, no traceback and no workflow."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.service import RPCError

from domain.config import DistrictConfig
from domain.deadlines import Tier, TierMatch
from domain.intake import workflow_id_for
from domain.models import TicketStatus
from tests.support.cli import Cli, Result, cli_for
from tests.support.helpers import eventually, sample_ticket


@pytest.fixture
async def cli(client: Client, config: DistrictConfig, tmp_path: Path) -> AsyncIterator[Cli]:
    async for run in cli_for(client, config, tmp_path):
        yield run


def ticket_json(tmp_path: Path, name: str = "ticket.json", **changes: object) -> tuple[Path, dict]:
    data = sample_ticket().model_dump(mode="json")
    data.update(changes)
    path = tmp_path / name
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path, data


async def exists(client: Client, ticket_no: str) -> bool:
    try:
        await client.get_workflow_handle(workflow_id_for(ticket_no)).describe()
        return True
    except RPCError:
        return False


def one_line_error(result: Result) -> str:
    assert result.code == 2, result
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.err, result.err
    return lines[0]


async def test_submit_prints_the_workflow_id_and_refuses_a_duplicate(cli, client, tmp_path):
    path, data = ticket_json(tmp_path)
    first = await cli("ticket", "submit", "--file", str(path))
    assert first.code == 0 and first.out.strip() == workflow_id_for(data["ticket_no"])
    again = await cli("ticket", "submit", "--file", str(path))
    assert again.code == 0 and "重复工单" in again.out
    await eventually(client, data["ticket_no"], lambda r: r.status is TicketStatus.AWAITING_SIGN_FOR)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"citizen": {"name": "王小明", "phone": "call me"}}, "citizen.phone"),
        ({"title": ""}, "title"),
        ({"category": "外星人入侵"}, "category: unknown '外星人入侵'"),
        ({"street": "不存在街道"}, "street: unknown"),
        ({"received_at": "yesterday"}, "received_at"),
        ({"ticket_no": "bad no/1"}, "ticket_no"),
    ],
)
async def test_a_malformed_ticket_names_the_field_and_starts_nothing(cli, client, tmp_path, changes, expected):
    path, data = ticket_json(tmp_path, **changes)
    line = one_line_error(await cli("ticket", "submit", "--file", str(path)))
    assert expected in line and str(path) in line
    assert not await exists(client, data["ticket_no"])


async def test_invalid_json_names_the_line(cli, tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{\n  "ticket_no": "X1",\n  oops\n}', encoding="utf-8")
    assert "line 3" in one_line_error(await cli("ticket", "submit", "--file", str(path)))


async def test_import_reports_bad_lines_skips_them_and_is_idempotent(cli, client, tmp_path):
    good = [sample_ticket().model_dump(mode="json") for _ in range(3)]
    bad = dict(good[0], ticket_no="BAD-1", category="不存在")
    lines = [json.dumps(good[0], ensure_ascii=False), "{not json", json.dumps(good[1], ensure_ascii=False)]
    lines += [json.dumps(bad, ensure_ascii=False), json.dumps(good[2], ensure_ascii=False)]
    path = tmp_path / "batch.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    first = await cli("ticket", "import", str(path))
    assert first.code == 2  # some lines were bad: the exit code says so
    assert "line 2: not valid JSON" in first.err and "line 4: category: unknown '不存在'" in first.err
    assert "新受理 3，重复 0，错误行 2" in first.out
    second = await cli("ticket", "import", str(path))
    assert "新受理 0，重复 3，错误行 2" in second.out
    for ticket in good:
        assert await exists(client, ticket["ticket_no"])
    assert not await exists(client, "BAD-1")


async def test_import_csv(cli, client, tmp_path):
    ticket = sample_ticket()
    header = "ticket_no,received_at,kind,category,street,community,urgency,title,content,citizen_name,citizen_phone,citizen_address"
    row = f"{ticket.ticket_no},,投诉,市容环卫,滨河街道,镇北社区,一般,垃圾未清运,东门垃圾三天未清运,李四,13900001111,"
    bad = "X-2,,投诉,市容环卫,滨河街道,不存在社区,一般,t,c,李四,13900001111,"
    path = tmp_path / "batch.csv"
    path.write_text("\n".join([header, row, bad]) + "\n", encoding="utf-8")
    result = await cli("ticket", "import", str(path))
    assert "line 3: community: '不存在社区' is not in 滨河街道" in result.err
    assert "新受理 1" in result.out and await exists(client, ticket.ticket_no)


async def test_department_and_centre_actions_through_the_cli(cli, client, tmp_path):
    path, data = ticket_json(tmp_path)
    no = data["ticket_no"]
    await cli("ticket", "submit", "--file", str(path))
    await eventually(client, no, lambda r: r.status is TicketStatus.AWAITING_SIGN_FOR)

    refused = one_line_error(await cli("dept", "sign", no, "--as", "zjj_li"))
    assert "不属于承办单位 区城市管理综合执法局" in refused
    assert "unknown person 'nobody'" in one_line_error(await cli("dept", "sign", no, "--as", "nobody"))

    assert (await cli("dept", "sign", no, "--as", "cgj_sun")).code == 0
    assert (await cli("dept", "contact", no, "--as", "cgj_sun", "--note", "已电话联系")).code == 0
    returned = await cli("dept", "return", no, "--as", "cgj_sun", "--reason", "属物业管理范围")
    assert returned.code == 0 and "R1" in returned.out
    assert "unknown department 'nope'" in one_line_error(
        await cli("center", "approve", no, "R1", "--as", "zhangli", "--reassign", "nope")
    )
    assert (await cli("center", "reject", no, "R1", "--as", "zhangli", "--note", "请继续办理")).code == 0
    answered = await cli("dept", "answer", no, "--as", "cgj_sun", "--text", "已清运完毕", "--evidence", "p1.jpg")
    assert answered.code == 0 and "待回访" in answered.out
    callback = await cli("center", "callback", no, "--as", "liumei", "--resolved", "--satisfaction", "满意")
    assert callback.code == 0 and "办结" in callback.out

    shown = await cli("ticket", "show", no)
    assert shown.code == 0
    for word in ("办结", "签收", "申请退单", "驳回退单", "孙浩", "张丽", "已驳回"):
        assert word in shown.out


async def test_verification_exemption_backlog_and_pause_through_the_cli(cli, client, tmp_path):
    path, data = ticket_json(tmp_path)
    no = data["ticket_no"]
    await cli("ticket", "submit", "--file", str(path))
    await eventually(client, no, lambda r: r.status is TicketStatus.AWAITING_SIGN_FOR)
    clerk, lead = ("--as", "cgj_sun"), ("--as", "zhangli")
    assert (await cli("dept", "sign", no, *clerk)).code == 0
    assert (await cli("dept", "contact", no, *clerk)).code == 0

    exempted = await cli("dept", "exempt", no, *clerk, "--category", "不合理诉求", "--evidence", "要求拆除合法建筑")
    assert exempted.code == 0 and "X1" in exempted.out
    assert (await cli("center", "approve", no, "X1", *lead)).code == 0
    paused = await cli("dept", "pause", no, *clerk, "--category", "补充材料")
    assert paused.code == 0 and "P2" in paused.out
    assert (await cli("center", "approve", no, "P2", *lead)).code == 0
    assert (await cli("dept", "resume", no, *clerk, "--note", "材料已补齐")).code == 0
    assert "--until" in one_line_error(await cli("dept", "backlog", no, *clerk, "--until", "明年", "--reason", "r"))
    backlog = await cli("dept", "backlog", no, *clerk, "--until", "2099-06-30", "--reason", "需列入改造计划")
    assert backlog.code == 0 and "B3" in backlog.out
    assert (await cli("center", "approve", no, "B3", *lead)).code == 0
    listed = await eventually_listed(cli, ("ticket", "list", "--backlog"), no)
    assert "挂账" in listed

    await cli("dept", "answer", no, *clerk, "--text", "已解释")
    unhappy = await cli("center", "callback", no, "--as", "liumei", "--unresolved", "--satisfaction", "不满意")
    assert unhappy.code == 0 and "待核查" in unhappy.out
    both = await cli("center", "verify", no, "已解释", *lead, "--redo", "--close", "已解释说明")
    assert "--close / --redo" in one_line_error(both)
    closed = await cli("center", "verify", no, "已向诉求人解释说明", *lead, "--close", "已解释说明")
    assert closed.code == 0 and "核查结案：已解释说明" in closed.out
    shown = await cli("ticket", "show", no)
    for word in ("核查结案", "已解释说明", "免考核", "批准挂账", "恢复计时", "张丽"):
        assert word in shown.out, word


async def eventually_listed(cli, args: tuple[str, ...], ticket_no: str) -> str:
    """A list's output once it shows the ticket (visibility is eventually consistent)."""
    for _ in range(100):
        result = await cli(*args)
        if ticket_no in result.out:
            return result.out
        await asyncio.sleep(0.1)
    raise AssertionError(f"{ticket_no} never listed by {' '.join(args)}")


async def test_list_filters_by_status_and_department(cli, client, config, tmp_path):
    path, data = ticket_json(tmp_path, ticket_no=f"T2026120400{uuid.uuid4().hex[:16]}")  # a long number
    await cli("ticket", "submit", "--file", str(path))
    await eventually(client, data["ticket_no"], lambda r: r.status is TicketStatus.AWAITING_SIGN_FOR)
    for _ in range(50):  # visibility is eventually consistent
        listed = await cli("ticket", "list", "--status", "待签收", "--department", "cgj", "--limit", "1000")
        if data["ticket_no"] in listed.out:
            break
    assert data["ticket_no"] in listed.out
    cgj = {d.code: d.name for d in config.departments}["cgj"]
    [row] = [line for line in listed.out.splitlines() if data["ticket_no"] in line]
    assert cgj in row and "│ cgj " not in row  # the department by name, not its code

    # on an 80-column terminal the number is still whole, on one line
    cli.env["COLUMNS"] = "80"
    narrow = await cli("ticket", "list", "--status", "待签收", "--department", "cgj", "--limit", "1000")
    cli.env["COLUMNS"] = "200"
    assert narrow.code == 0 and any(data["ticket_no"] in line for line in narrow.out.splitlines()), narrow.out

    as_json = await cli("ticket", "list", "--status", "待签收", "--department", "cgj", "--limit", "1000", "--json")
    [found] = [t for t in json.loads(as_json.out) if t["ticket_no"] == data["ticket_no"]]
    assert (found["department"], found["department_code"], found["status"]) == (cgj, "cgj", "待签收")
    assert datetime.fromisoformat(found["received_at"]).tzinfo is not None and found["overdue"] is False
    as_csv = await cli("ticket", "list", "--status", "待签收", "--department", "cgj", "--limit", "1000", "--csv")
    rows = list(csv.reader(io.StringIO(as_csv.out)))
    assert rows[0][:3] == ["工单号", "状态", "承办单位"]
    assert [data["ticket_no"], "待签收", cgj] in [r[:3] for r in rows[1:]]
    assert "只能选其一" in one_line_error(await cli("ticket", "list", "--json", "--csv"))

    other = await cli("ticket", "list", "--status", "待签收", "--department", "zjj", "--limit", "1000")
    assert data["ticket_no"] not in other.out
    assert "--status: 未知的状态" in one_line_error(await cli("ticket", "list", "--status", "飞走了"))


async def test_unknown_ticket_and_broken_config(cli, tmp_path):
    assert "不存在" in one_line_error(await cli("ticket", "show", "NO-SUCH-TICKET"))
    broken = tmp_path / "broken.yaml"
    broken.write_text("district: x\ncenter: {name: c}\ndepartments: []\n", encoding="utf-8")
    cli.env["HOTLINE_CONFIG"] = str(broken)
    path, _ = ticket_json(tmp_path)
    line = one_line_error(await cli("ticket", "submit", "--file", str(path)))
    assert str(broken) in line and "departments" in line


async def test_calendar_commands_follow_the_official_2026_schedule(cli):
    after_holiday = await cli("calendar", "add-days", "2026-09-30T10:00", "1")
    assert after_holiday.code == 0 and "= 2026-10-08 10:00（星期四）" in after_holiday.out
    makeup = await cli("calendar", "add-days", "2026-10-09T10:00", "1")
    assert "= 2026-10-10 10:00（星期六）" in makeup.out  # 调休: Saturday 10 October is a workday
    beyond = await cli("calendar", "add-days", "2026-12-30T10:00", "3")  # 2027: 元旦 off by the law
    assert beyond.code == 0 and "= 2027-01-05 10:00（星期二）" in beyond.out
    assert "调休未知" in beyond.out and "calendar.workdays" in beyond.out
    new_year = await cli("calendar", "add-days", "2026-12-25", "15")  # was 2027-01-15, counting 元旦
    assert "= 2027-01-18 00:00（星期一）" in new_year.out
    checked = await cli("calendar", "check", "2026-10-01", "--days", "10")
    assert checked.code == 0
    rows = {line.split("│")[1].strip(): line for line in checked.out.splitlines() if line.startswith("│")}
    assert "法定节假日" in rows["2026-10-01"] and "国庆节" in rows["2026-10-01"]
    assert "调休上班" in rows["2026-10-10"] and "法定节假日" in rows["2026-10-04"]
    assert "工作日" in rows["2026-10-08"] and "上班" in rows["2026-10-08"]
    assert "date like" in one_line_error(await cli("calendar", "check", "2026-13-01"))


async def test_list_overdue_and_due_within(client, config, tmp_path):
    """An urgent ticket on a clock of seconds goes overdue; `list --overdue` finds it."""
    fast = Tier(name="紧急", match=TierMatch(urgency=["紧急"]), sign_for="1s", contact="2s", resolve="3s")
    deadlines = config.deadlines.model_copy(update={"tiers": [fast, *config.deadlines.tiers[1:]]})
    fast_config = config.model_copy(update={"deadlines": deadlines})
    async for run in cli_for(client, fast_config, tmp_path):
        urgent, urgent_data = ticket_json(tmp_path, "urgent.json", urgency="紧急")
        soon, soon_data = ticket_json(tmp_path, "soon.json", urgency="加急")  # 24 hours to answer
        later, later_data = ticket_json(tmp_path, "later.json")  # 一般: 7 days
        for path in (urgent, soon, later):
            assert (await run("ticket", "submit", "--file", str(path))).code == 0
        await eventually(client, urgent_data["ticket_no"], lambda r: r.overdue and r.escalation_level is not None)
        for _ in range(50):
            overdue = await run("ticket", "list", "--overdue", "--limit", "1000")
            if urgent_data["ticket_no"] in overdue.out:
                break
        assert urgent_data["ticket_no"] in overdue.out and soon_data["ticket_no"] not in overdue.out
        due = await run("ticket", "list", "--due-within", "25h", "--limit", "1000")
        assert soon_data["ticket_no"] in due.out
        assert later_data["ticket_no"] not in due.out and urgent_data["ticket_no"] not in due.out
        assert "--due-within" in one_line_error(await run("ticket", "list", "--due-within", "5x"))
        shown = await run("ticket", "show", urgent_data["ticket_no"])
        assert "时限（第 1 轮）" in shown.out and "催办" in shown.out and "已超期" in shown.out


async def test_whistle_from_blow_to_evaluation(cli, client):
    blown = await cli(
        "whistle", "blow", "--as", "bhjd_street", "--kind", "推进", "--dept", "zjj", "--dept", "cgj",
        "--title", "管网改造推进受阻", "--content", "需住建、城管现场协调", "--ticket", "T-1",
    )  # fmt: skip
    assert blown.code == 0, blown
    no = blown.out.strip()
    assert "不是本次吹哨点名的部门" in one_line_error(await cli("whistle", "report-in", no, "--as", "sthj_zhou"))
    for clerk in ("zjj_li", "cgj_sun"):
        assert (await cli("whistle", "report-in", no, "--as", clerk, "--note", "已到场")).code == 0
        assert (await cli("whistle", "answer", no, "--as", clerk, "--text", "已协调")).code == 0
    assert (
        await cli("whistle", "evaluate", no, "--as", "bhjd_street", "--dept", "zjj", "--satisfaction", "满意")
    ).code == 0
    last = await cli("whistle", "evaluate", no, "--as", "bhjd_street", "--dept", "cgj", "--satisfaction", "基本满意")
    assert last.code == 0 and "已完成" in last.out
    shown = await cli("whistle", "show", no)
    for word in ("已完成", "区住房和城乡建设局", "已评价", "满意", "基本满意", "吹哨", "报到", "答卷", "T-1"):
        assert word in shown.out
    for _ in range(50):  # visibility is eventually consistent
        listed = await cli("whistle", "list", "--street", "滨河街道", "--department", "cgj", "--limit", "1000")
        if no in listed.out:
            break
    assert listed.code == 0 and no in listed.out, listed
    [row] = [line for line in listed.out.splitlines() if no in line]
    assert "管网改造推进受阻" in row and "已完成" in row and "区住房和城乡建设局（已评价）" in row
    elsewhere = await cli("whistle", "list", "--department", "sthj", "--limit", "1000")
    assert elsewhere.code == 0 and no not in elsewhere.out  # sthj was not named
    assert "--street: unknown street" in one_line_error(await cli("whistle", "list", "--street", "火星街道"))
    assert "kind: unknown '乱吹'" in one_line_error(
        await cli(
            "whistle",
            "blow",
            "--as",
            "bhjd_street",
            "--kind",
            "乱吹",
            "--dept",
            "zjj",
            "--title",
            "t",
            "--content",
            "c",
        )
    )


async def test_meeting_from_convening_to_determination(cli, client, tmp_path):
    path, data = ticket_json(tmp_path)
    no = data["ticket_no"]
    await cli("ticket", "submit", "--file", str(path))
    await eventually(client, no, lambda r: r.status is TicketStatus.AWAITING_SIGN_FOR)
    convened = await cli(
        "meeting", "convene", "--as", "zhangli", "--reason", "占道经营权责不清", "--ticket", no,
        "--dept", "cgj", "--dept", "zjj",
    )  # fmt: skip
    assert convened.code == 0, convened
    m = convened.out.strip()
    assert "不是值班长" in one_line_error(
        await cli("meeting", "convene", "--as", "cgj_sun", "--reason", "x", "--ticket", no, "--dept", "cgj")
    )
    for clerk in ("cgj_sun", "zjj_li"):
        assert (await cli("meeting", "attend", m, "--as", clerk)).code == 0
    assert (await cli("meeting", "record", m, "--as", "zhangli", "--minutes", "由住建局主办、城管局协办")).code == 0
    decided = await cli("meeting", "decide", m, "--as", "zhangli", "--lead", "zjj", "--assist", "cgj")
    assert decided.code == 0 and "已确权" in decided.out
    await eventually(client, no, lambda r: r.assignment.department == "zjj" and r.dispatch_round == 2)
    shown = await cli("meeting", "show", m)
    for word in ("已确权", "会商确权", "区住房和城乡建设局", "已确认", "会议纪要"):
        assert word in shown.out
    assert "unknown department 'nope'" in one_line_error(
        await cli("center", "determine", no, "--as", "zhangli", "--lead", "nope")
    )


async def test_link_and_unlink(cli, client, tmp_path):
    first, first_data = ticket_json(tmp_path, "a.json")
    second, second_data = ticket_json(tmp_path, "b.json")
    for path, data in ((first, first_data), (second, second_data)):
        await cli("ticket", "submit", "--file", str(path))
        await eventually(client, data["ticket_no"], lambda r: r.status is TicketStatus.AWAITING_SIGN_FOR)
    main, repeat = first_data["ticket_no"], second_data["ticket_no"]
    linked = await cli("ticket", "link", repeat, "--to", main, "--as", "zhangli")
    assert linked.code == 0 and "已并入" in linked.out and "已并单" in linked.out
    assert "仅限值班长" in one_line_error(await cli("ticket", "unlink", repeat, "--as", "cgj_sun"))
    unlinked = await cli("ticket", "unlink", repeat, "--as", "zhangli", "--note", "不同事项")
    assert unlinked.code == 0 and "已解除并单" in unlinked.out
    await eventually(client, repeat, lambda r: r.status is TicketStatus.AWAITING_SIGN_FOR and r.dispatch_round == 2)


async def test_campaign_start_show_close(cli, client, tmp_path):
    started = await cli(
        "campaign", "start", "--as", "zhangli", "--title", "噪音专项整治", "--category", "噪音污染",
        "--street", "新华街道", "--within", "30d", "--refresh", "1s",
    )  # fmt: skip
    assert started.code == 0, started
    no = started.out.strip()
    assert (await cli("campaign", "record", no, "--as", "zhangli", "--minutes", "明确夜间巡查分工")).code == 0
    shown = await cli("campaign", "show", no)
    assert shown.code == 0 and "噪音专项整治" in shown.out and "专项协调会" in shown.out
    closed = await cli("campaign", "close", no, "--as", "zhangli", "--note", "阶段收尾")
    assert closed.code == 0 and "共 " in closed.out
    assert "--within" in one_line_error(
        await cli("campaign", "start", "--as", "zhangli", "--title", "t", "--within", "forever")
    )
    assert "one department" in one_line_error(
        await cli("campaign", "start", "--as", "zhangli", "--kind", "专项推进", "--title", "t", "--within", "3d")
    )


async def test_report_commands(cli, tmp_path):
    bad = await cli("report", "monthly", "--month", "2026-13", "--out", str(tmp_path / "r"))
    assert bad.code == 2 and bad.err.strip().splitlines() == ["错误：--month: 月份应写作 YYYY-MM，而不是 '2026-13'"]
    bad_day = await cli("report", "daily", "--date", "tomorrow", "--out", str(tmp_path / "r"))
    assert bad_day.code == 2 and "--date" in bad_day.err
    daily = await cli("report", "daily", "--out", str(tmp_path / "r"))
    assert daily.code == 0 and "日报预警" in daily.out, daily.err
    assert "）（" not in daily.out  # the period once: the title names it
    assert list((tmp_path / "r" / "daily").glob("*.xlsx"))
    scheduled = await cli("report", "schedule")
    assert scheduled.code == 0 and "hotline-report-monthly" in scheduled.out, scheduled.err
