"""Audit from real histories: a ticket with every detour tells its whole story with actors; personal
data is masked unless revealed; an exported bundle detects a changed byte; histories replay."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from domain.audit import mask_phone, masked
from domain.commands import (
    Attend,
    ContactCitizen,
    Decide,
    DetermineOwner,
    GiveAnswer,
    RecordCallback,
    RecordMinutes,
    RequestExtension,
    RequestReturn,
    SignFor,
    VerifyTicket,
)
from domain.config import DistrictConfig
from domain.enterprise import CloseItem, NoteProgress
from domain.intake import assignment_for, workflow_id_for
from domain.meeting import workflow_id_for_meeting
from domain.models import Answer, Callback, Satisfaction, TicketStatus, VerifyDecision
from starter.enterprises import act_enterprise
from starter.meetings import act_meeting, convene
from starter.tickets import act, submit
from starter.tools.audit import check, export, histories_in, replay, resolve, story_of
from tests.support.helpers import eventually, person, sample_ticket
from worker import build_workers
from workflows.enterprise import EnterpriseServiceWorkflow
from workflows.meeting import ConsultationMeetingWorkflow
from workflows.registry import WORKFLOWS
from workflows.ticket import TicketWorkflow

PHONE = "13812341234"  # sample_ticket's citizen
NAME = "王小明"


@pytest.fixture
async def detoured(client: Client, config: DistrictConfig) -> AsyncIterator[str]:
    """A ticket returned and reassigned, extended, called back unsatisfied, redone and closed."""
    ticket = sample_ticket()
    no = ticket.ticket_no
    cgj, bhjd, lead, operator = (person(config, p) for p in ("cgj_sun", "bhjd_yang", "zhangli", "liumei"))
    async with build_workers(client, config, departments=["cgj", "bhjd"], center=True):
        await submit(client, config, ticket)
        await eventually(client, no, lambda r: r.status is TicketStatus.AWAITING_SIGN_FOR)
        await act(client, no, TicketWorkflow.sign_for, SignFor(actor=cgj))
        await act(client, no, TicketWorkflow.request_return, RequestReturn(actor=cgj, reason="属小区物业管理范围"))
        to = assignment_for(config, "bhjd")
        await act(client, no, TicketWorkflow.approve, Decide(actor=lead, approval_id="R1", reassign_to=to))
        await eventually(client, no, lambda r: r.status is TicketStatus.AWAITING_SIGN_FOR and r.dispatch_round == 2)
        await act(client, no, TicketWorkflow.sign_for, SignFor(actor=bhjd))
        await act(client, no, TicketWorkflow.contact_citizen, ContactCitizen(actor=bhjd, note=f"已致电 {PHONE}"))
        ask = RequestExtension(actor=bhjd, working_days=2, reason="需物业公司配合")
        await act(client, no, TicketWorkflow.request_extension, ask)
        await act(client, no, TicketWorkflow.approve, Decide(actor=lead, approval_id="E2"))
        answer = GiveAnswer(actor=bhjd, answer=Answer(text="已协调物业清运", resolved=True))
        await act(client, no, TicketWorkflow.answer, answer)
        unhappy = Callback(resolved=False, satisfaction=Satisfaction.UNSATISFIED)
        await act(client, no, TicketWorkflow.record_callback, RecordCallback(actor=operator, callback=unhappy))
        redo = VerifyTicket(actor=lead, decision=VerifyDecision.REDO, reason="物业仍未清运")
        await act(client, no, TicketWorkflow.verify, redo)
        await eventually(client, no, lambda r: r.status is TicketStatus.AWAITING_SIGN_FOR and r.dispatch_round == 3)
        await act(client, no, TicketWorkflow.sign_for, SignFor(actor=bhjd))
        await act(client, no, TicketWorkflow.contact_citizen, ContactCitizen(actor=bhjd))
        await act(
            client, no, TicketWorkflow.answer, GiveAnswer(actor=bhjd, answer=Answer(text="已清运完毕", resolved=True))
        )
        happy = Callback(resolved=True, satisfaction=Satisfaction.SATISFIED)
        await act(client, no, TicketWorkflow.record_callback, RecordCallback(actor=operator, callback=happy))
        await client.get_workflow_handle(workflow_id_for(no)).result()
    yield no


async def test_the_timeline_tells_the_whole_story_with_actors(client: Client, detoured: str) -> None:
    story = await story_of(client, await resolve(client, detoured))
    steps = story.steps
    human = [(s.action, s.actor.name) for s in steps if s.actor.id != "system"]
    assert human == [
        ("签收", "孙浩"),
        ("申请退单", "孙浩"),
        ("批准", "张丽"),
        ("签收", "杨帆"),
        ("联系诉求人", "杨帆"),
        ("申请延期", "杨帆"),
        ("批准", "张丽"),
        ("答复", "杨帆"),
        ("回访", "刘梅"),
        ("核查", "张丽"),
        ("签收", "杨帆"),
        ("联系诉求人", "杨帆"),
        ("答复", "杨帆"),
        ("回访", "刘梅"),
    ]
    by_action = {s.action: s for s in steps}
    assert steps[0].action == "受理工单" and detoured in steps[0].detail
    assert "理由：属小区物业管理范围" in by_action["申请退单"].detail
    assert by_action["申请退单"].outcome == "退单申请已提交，待值班长审批"
    assert by_action["申请延期"].actor.unit == "bhjd" and "需物业公司配合" in by_action["申请延期"].detail
    assert [s.action for s in steps if s.action.startswith("派遣送达")] == ["派遣送达"] * 3
    delivered = [s for s in steps if s.action == "派遣送达"]
    assert all(s.outcome.startswith("完成") for s in delivered) and "第 3 轮" in delivered[-1].detail
    assert any(s.action.startswith("通知承办单位：工单改派") for s in steps)  # cgj told it went elsewhere
    statuses = [s.detail for s in steps if s.action == "状态变更"]
    assert "状态：" in steps[0].detail and statuses[-1].endswith("→ 办结")
    assert sum(s.endswith("→ 待签收") for s in statuses) == 3 and any(s.endswith("→ 退单审批中") for s in statuses)
    assert steps[-1].action == "流程结束"
    # Times run forward; every step names its workflow.
    assert [s.at for s in steps] == sorted(s.at for s in steps)
    assert {s.workflow_id for s in steps} == {workflow_id_for(detoured)}


async def test_personal_data_is_masked_unless_revealed(client: Client, detoured: str) -> None:
    workflow_id = workflow_id_for(detoured)
    hidden = json.dumps(
        [s.model_dump(mode="json") for s in (await story_of(client, workflow_id)).steps], ensure_ascii=False
    )
    assert PHONE not in hidden and NAME not in hidden
    assert mask_phone(PHONE) in hidden and "王**" in hidden
    shown = await story_of(client, workflow_id, reveal=True)
    text = json.dumps([s.model_dump(mode="json") for s in shown.steps], ensure_ascii=False)
    assert PHONE in text and NAME in text


async def test_an_export_detects_a_changed_byte_and_its_histories_replay(
    client: Client, detoured: str, tmp_path: Path
) -> None:
    bundle = tmp_path / "bundle"
    manifest, digest = await export(client, [detoured], bundle)
    assert check(bundle).ok and check(bundle).manifest_digest == digest
    listed = json.loads(manifest.read_text(encoding="utf-8"))
    assert listed["personal_data"] == "masked"
    [history_file] = [bundle / name for name in listed["files"] if name.endswith(".history.json")]
    timeline = (history_file.parent / "timeline.md").read_text(encoding="utf-8")
    assert "申请退单" in timeline and PHONE not in timeline

    # The raw history replays against the current code, as exported.
    results = await replay(Replayer(workflows=WORKFLOWS, data_converter=client.data_converter), histories_in([bundle]))
    assert [(r.workflow_id, r.error) for r in results] == [(workflow_id_for(detoured), None)]

    # One byte changed, one file added: both found, and the command fails with exit code 1.
    data = bytearray(history_file.read_bytes())
    data[len(data) // 2] ^= 0x01
    history_file.write_bytes(bytes(data))
    (bundle / "note.txt").write_text("added later", encoding="utf-8")
    result = check(bundle)
    assert result.changed == [history_file.relative_to(bundle).as_posix()] and result.extra == ["note.txt"]
    done = subprocess.run(
        [sys.executable, "-m", "starter.cli.app", "audit", "check", str(bundle)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 1 and "已改动" in done.stderr and "多出：note.txt" in done.stderr


async def test_an_audit_without_the_key_is_refused_naming_it(client: Client, detoured: str, tmp_path: Path) -> None:
    """Issue 19, finding 4: with a key ring that lacks the history's key, `audit export` used to exit
    0 with the clerks' actions credited to 系统. Now nothing is written and the command exits 1,
    naming the key; the same with the CLI as a process."""
    from activities.runtime.codec import data_converter
    from activities.runtime.keys import KeyRing, load_key_ring, write_secret
    from starter.tools.audit import UndecodableHistory

    used = load_key_ring()
    assert used is not None
    other = KeyRing.generate("k7")
    lacking = Client(client.service_client, namespace=client.namespace, data_converter=data_converter(other))
    bundle = tmp_path / "bundle"
    with pytest.raises(UndecodableHistory, match=rf"{workflow_id_for(detoured)} .*'{used.current}'"):
        await export(lacking, [detoured], bundle)
    with pytest.raises(UndecodableHistory):
        await story_of(lacking, workflow_id_for(detoured))
    assert not bundle.exists()

    keys = tmp_path / "other-keys.json"
    write_secret(keys, other.to_json(), exclusive=True)
    done = subprocess.run(
        [sys.executable, "-m", "starter.cli.app", "audit", "export", detoured, "--out", str(bundle)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
        env={
            **os.environ,
            "HOTLINE_KEYS_FILE": str(keys),
            "TEMPORAL_ADDRESS": client.service_client.config.target_host,
        },
    )
    assert done.returncode == 1, (done.stdout, done.stderr)
    [line] = done.stderr.splitlines()
    assert line.startswith("错误：审计中止：") and f"'{used.current}'" in line, line
    assert not bundle.exists()


async def test_a_revealed_export_is_for_its_user_alone(client: Client, detoured: str, tmp_path: Path) -> None:
    """Issue 19, finding 4: personal data in the clear is written 0600 (folders 0700), whatever the umask."""
    bundle = tmp_path / "revealed"
    old = os.umask(0o022)
    try:
        await export(client, [detoured], bundle, reveal=True)
    finally:
        os.umask(old)
    assert stat.S_IMODE(bundle.stat().st_mode) == 0o700
    for path in bundle.rglob("*"):
        expected = 0o700 if path.is_dir() else 0o600
        assert stat.S_IMODE(path.stat().st_mode) == expected, (path, oct(path.stat().st_mode))
    assert check(bundle).ok


@pytest.mark.parametrize(
    "manifest",
    ['{"files": []}', '{"files": {"a": 1}}', '{"files": "x"}', "[]", '{"files": {"../../etc/passwd": "00"}}'],
)
def test_a_malformed_manifest_is_one_line(tmp_path: Path, manifest: str) -> None:
    """Issue 19, finding 4: `audit check` on `{"files": []}` died with an AttributeError traceback."""
    (tmp_path / "manifest.json").write_text(manifest, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "starter.cli.app", "audit", "check", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 2, done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith("错误：") and "不是可读的审计包清单" in line, done.stderr


def test_masking_covers_citizens_and_numbers_in_text() -> None:
    value = {
        "ticket": {"citizen": {"name": "欧阳娜娜", "phone": "13912345678", "address": "滨河街道镇北社区3号楼2单元"}},
        "note": "诉求人另留电话 15800001111，身份证 150302199001011234",
    }
    out = masked(value)
    citizen = out["ticket"]["citizen"]
    assert citizen == {"name": "欧***", "phone": "139****5678", "address": "滨河街道****"}
    assert out["note"] == "诉求人另留电话 158****1111，身份证 150302********1234"


async def test_a_meeting_and_its_ticket_each_show_the_other(env: WorkflowEnvironment, config: DistrictConfig) -> None:
    """确权 by a consultation meeting: the ticket's story includes the meeting, with who convened,
    attended, minuted and decided, and the meeting's includes the ticket it re-dispatched."""
    client = env.client
    ticket = sample_ticket()
    lead = person(config, "zhangli")
    codes = [d.code for d in config.departments]
    async with build_workers(client, config, departments=codes, center=True):
        await submit(client, config, ticket)
        await eventually(client, ticket.ticket_no, lambda r: r.status is TicketStatus.AWAITING_SIGN_FOR)
        meeting = await convene(
            client,
            config,
            convened_by=lead,
            reason="占道经营权责不清",
            tickets=[ticket.ticket_no],
            departments=["cgj", "zjj"],
        )
        m = meeting.meeting_no
        await act_meeting(client, m, ConsultationMeetingWorkflow.attend, Attend(actor=person(config, "cgj_sun")))
        await env.sleep(timedelta(days=4))  # past the attendance window
        minutes = RecordMinutes(actor=lead, minutes="由住建局主办")
        await act_meeting(client, m, ConsultationMeetingWorkflow.record_minutes, minutes)
        decision = DetermineOwner(actor=lead, lead=assignment_for(config, "zjj"))
        await act_meeting(client, m, ConsultationMeetingWorkflow.decide, decision)
        await eventually(client, ticket.ticket_no, lambda r: r.dispatch_round == 2)

    story = await story_of(client, await resolve(client, ticket.ticket_no))
    [meeting_story] = story.linked
    assert meeting_story.workflow_id == workflow_id_for_meeting(m)
    received = next(s for s in story.steps if s.action == "收到确权决定")
    assert received.outcome == f"来自 {workflow_id_for_meeting(m)}"
    acts = [(s.action, s.actor.name) for s in meeting_story.steps if s.actor.id != "system"]
    assert acts[0] == ("召集会商", "张丽")
    assert acts[1:] == [("参会", "孙浩"), ("记录纪要", "张丽"), ("会商确权", "张丽")]
    assert "主办：区住房和城乡建设局" in next(s.detail for s in meeting_story.steps if s.action == "会商确权")
    assert any(s.action == "时限计时到点" for s in meeting_story.steps)  # the attendance window closed
    back = await story_of(client, await resolve(client, m))
    assert [s.workflow_id for s in back.linked] == [workflow_id_for(ticket.ticket_no)]


async def test_one_enterprise_item_is_followed_on_its_own(env: WorkflowEnvironment, config: DistrictConfig) -> None:
    """红色服务团: `--item S1` keeps the visit that listed it, its delivery, progress and closing."""
    from tests.support.enterprise import MINING, done, spec, visit

    zjj = person(config, "zjj_li")
    async with build_workers(env.client, config, departments=["zjj", "cgj"], center=True):
        await visit(
            env,
            config,
            spec(config, "新建厂房施工许可办理", "zjj", within="10wd"),
            spec(config, "厂区周边道路占道整治", "cgj", within="10wd"),
        )
        await env.sleep(timedelta(seconds=5))  # the deliveries
        note = NoteProgress(actor=zjj, item_no="S1", text="已受理")
        await act_enterprise(env.client, MINING, EnterpriseServiceWorkflow.note_progress, note)
        close = CloseItem(actor=zjj, item_no="S1", outcome=done())
        await act_enterprise(env.client, MINING, EnterpriseServiceWorkflow.close_item, close)

    workflow_id = await resolve(env.client, MINING)
    everything = await story_of(env.client, workflow_id)
    s1 = await story_of(env.client, workflow_id, item="S1")
    assert [(s.action, s.actor.name) for s in s1.steps if s.actor.id != "system"] == [
        ("走访", "李红军"),
        ("办理进展", "李建国"),
        ("事项办结", "李建国"),
    ]
    assert any(s.action == "服务事项送达" and f"{MINING}/S1#1" in s.detail for s in s1.steps)
    assert not any("S2" in s.detail for s in s1.steps if s.action == "服务事项送达")
    assert len(s1.steps) < len(everything.steps)


async def test_the_audit_commands(client: Client, config: DistrictConfig, detoured: str, tmp_path: Path) -> None:
    """`hotline audit` as a process: show (table and JSON), export then check, replay from the
    server and from files, and one-line errors."""
    from tests.support.cli import cli_for

    async for cli in cli_for(client, config, tmp_path):
        shown = await cli("audit", "show", detoured)
        assert shown.code == 0, shown.err
        assert "申请退单" in shown.out and "张丽（值班长）" in shown.out and "区城市管理综合执法局" in shown.out
        assert PHONE not in shown.out and "已打码" in shown.out
        as_json = await cli("audit", "show", detoured, "--json", "--reveal")
        [part] = json.loads(as_json.out)
        assert part["workflow_id"] == workflow_id_for(detoured) and PHONE in as_json.out
        assert {"at", "actor", "action", "detail", "outcome"} <= set(part["steps"][0])

        bundle = tmp_path / "bundle"
        exported = await cli("audit", "export", detoured, "--out", str(bundle))
        assert exported.code == 0, exported.err
        digest = exported.out.split("SHA-256：")[1].split("（")[0].strip()
        assert (await cli("audit", "check", str(bundle), "--expect", digest)).code == 0
        manifest = bundle / "manifest.json"
        manifest.write_text(manifest.read_text(encoding="utf-8").replace("masked", "revealed"), encoding="utf-8")
        rewritten = await cli("audit", "check", str(bundle), "--expect", digest)
        assert rewritten.code == 1 and "清单本身已改动" in rewritten.err

        query = f"WorkflowId = '{workflow_id_for(detoured)}'"
        from_server = await cli("audit", "replay", "--query", query)
        assert from_server.code == 0 and "重放 1 个历史：1 个通过，0 个失败" in from_server.out, from_server
        recorded = Path(__file__).resolve().parents[1] / "histories"
        from_files = await cli("audit", "replay", str(recorded), str(bundle))
        count = len(list(recorded.rglob("*.json"))) + 1
        assert from_files.code == 0 and f"重放 {count} 个历史：{count} 个通过" in from_files.out, from_files

        unknown = await cli("audit", "show", "NO-SUCH-1")
        assert unknown.code == 2 and unknown.err.count("\n") == 1 and "NO-SUCH-1" in unknown.err
        broken = tmp_path / "broken.json"
        broken.write_text("{}", encoding="utf-8")
        bad = await cli("audit", "replay", str(broken))
        assert bad.code == 2 and "缺少 events" in bad.err
