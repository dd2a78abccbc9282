"""红色服务团 on the time-skipping server: a visit's items delivered and followed to the enterprise's
confirmation, reminders and the ladder, reopening, refusals, and nothing lost across continue-as-new."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from domain.config import DistrictConfig
from domain.enterprise import (
    AddItem,
    CloseItem,
    ConfirmItem,
    DeliveryState,
    EnterpriseResult,
    EnterpriseStatus,
    ItemStatus,
    NoteProgress,
    Outcome,
    OutcomeKind,
    ReopenItem,
    workflow_id_for_enterprise,
)
from domain.enterprise_plan import enterprise_for
from domain.intake import TicketRejected
from domain.models import Satisfaction
from starter.enterprises import act_enterprise, record_visit, view_enterprise
from starter.tickets import ActionFailed
from tests.support.district import make_config
from tests.support.enterprise import MINING, done, spec, visit
from tests.support.helpers import person
from worker import build_workers
from workflows.enterprise import UNSATISFIED_SENDS_BACK, EnterpriseServiceWorkflow

pytestmark = pytest.mark.workers(departments=["zjj", "cgj", "rsj"])


def inbox(tmp_path: Path, department: str, kind: str) -> list[dict]:
    folder = tmp_path / department / kind
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))]


async def act(env: WorkflowEnvironment, update: object, command: object) -> EnterpriseResult:
    return await act_enterprise(env.client, MINING, update, command)


async def test_a_visit_is_followed_from_items_to_the_enterprises_confirmation(
    env: WorkflowEnvironment, config: DistrictConfig, workers: None, tmp_path: Path
) -> None:
    s1, s2, s3 = await visit(
        env,
        config,
        spec(config, "新建厂房施工许可办理", "zjj", within="10wd"),
        spec(config, "厂区周边道路占道整治", "cgj", due_on=date.today() + timedelta(days=30)),
        spec(config, "技改贴息政策申报辅导", "hft_wang", person=None, category="政策咨询"),
    )
    assert (s1, s2, s3) == ("S1", "S2", "S3")
    record = await view_enterprise(env.client, MINING)
    assert record.status is EnterpriseStatus.FOLLOWING
    assert record.items[2].spec.person == "王建业"  # an official is the responsible person by default

    # Department items reach the departments' systems like tickets; the official gets a notice.
    await env.sleep(timedelta(seconds=5))
    zjj_items = inbox(tmp_path, "zjj", "items")
    assert [i["delivery"]["item_no"] for i in zjj_items] == ["S1"]
    assert zjj_items[0]["delivery"]["idempotency_key"] == f"{MINING}/S1#1"
    assert inbox(tmp_path, "cgj", "items")[0]["delivery"]["need"] == "厂区周边道路占道整治"
    center = inbox(tmp_path, "center", "notices")
    assert any(n["notice"]["audience"] == ["official:hft_wang"] and "技改贴息" in n["notice"]["text"] for n in center)
    record = await view_enterprise(env.client, MINING)
    assert [i.delivery for i in record.items] == [DeliveryState.DELIVERED, DeliveryState.DELIVERED, DeliveryState.NONE]

    zjj, cgj, official, contact = (person(config, p) for p in ("zjj_li", "cgj_sun", "hft_wang", "hd_zhang"))
    await act(env, EnterpriseServiceWorkflow.note_progress, NoteProgress(actor=zjj, item_no="S1", text="已受理"))
    await act(env, EnterpriseServiceWorkflow.close_item, CloseItem(actor=zjj, item_no="S1", outcome=done()))
    partly = Outcome(
        kind=OutcomeKind.PARTLY, text="已完成东侧道路整治", reason="西侧涉及铁路用地", evidence=["整治前后照片"]
    )
    await act(env, EnterpriseServiceWorkflow.close_item, CloseItem(actor=cgj, item_no="S2", outcome=partly))
    cannot = Outcome(kind=OutcomeKind.CANNOT, text="已解释政策", reason="企业不符合贴息条件（投资额未达标准）")
    await act(env, EnterpriseServiceWorkflow.close_item, CloseItem(actor=official, item_no="S3", outcome=cannot))

    for item_no, satisfaction in (("S1", Satisfaction.SATISFIED), ("S2", Satisfaction.BASICALLY_SATISFIED)):
        command = ConfirmItem(actor=contact, item_no=item_no, satisfaction=satisfaction)
        await act(env, EnterpriseServiceWorkflow.confirm_item, command)
    record = await view_enterprise(env.client, MINING)
    assert record.visits[0].closed_at is None  # S3's outcome is not yet confirmed by the enterprise
    assert record.items[2].status is ItemStatus.AWAITING_CONFIRMATION
    command = ConfirmItem(actor=contact, item_no="S3", satisfaction=Satisfaction.BASICALLY_SATISFIED, comment="理解")
    await act(env, EnterpriseServiceWorkflow.confirm_item, command)
    record = await view_enterprise(env.client, MINING)
    assert record.visits[0].closed_at is not None
    assert record.status is EnterpriseStatus.SETTLED
    assert [i.outcome.outcome.kind for i in record.items if i.outcome] == list(OutcomeKind)
    assert all(i.outcome and i.outcome.on_time for i in record.items)
    assert [a.action for a in record.actions if a.item_no == "S1"] == ["列入服务清单", "进展", "办结", "企业确认"]
    assert [a.actor.id for a in record.actions if a.item_no == "S1"] == ["hft_li", "zjj_li", "zjj_li", "hd_zhang"]


async def test_actions_outside_the_responsible_unit_or_state_are_refused(
    env: WorkflowEnvironment, config: DistrictConfig, workers: None
) -> None:
    await visit(
        env, config, spec(config, "新建厂房施工许可办理", "zjj"), spec(config, "政策辅导", "hft_wang", person=None)
    )
    before = await view_enterprise(env.client, MINING)
    cgj, zjj, other_official = person(config, "cgj_sun"), person(config, "zjj_li"), person(config, "hft_ma")
    refusals = {
        "另一部门": (EnterpriseServiceWorkflow.note_progress, NoteProgress(actor=cgj, item_no="S1", text="越权")),
        "另一成员": (
            EnterpriseServiceWorkflow.close_item,
            CloseItem(actor=other_official, item_no="S2", outcome=done()),
        ),
        "尚未办结": (
            EnterpriseServiceWorkflow.confirm_item,
            ConfirmItem(actor=person(config, "hd_zhang"), item_no="S1", satisfaction=Satisfaction.SATISFIED),
        ),
        "他企联系人": (
            EnterpriseServiceWorkflow.close_item,
            CloseItem(actor=person(config, "xny_qian"), item_no="S1", outcome=done()),
        ),
        "无此事项": (EnterpriseServiceWorkflow.note_progress, NoteProgress(actor=zjj, item_no="S9", text="?")),
        "镇街": (
            EnterpriseServiceWorkflow.add_item,
            AddItem(actor=person(config, "bhjd_street"), visit_no="V1", item=spec(config, "x", "zjj")),
        ),
    }
    for label, (update, command) in refusals.items():
        with pytest.raises(ActionFailed, match="拒绝") as refused:
            await act(env, update, command)
        assert refused.value.args[0], label
    await act(env, EnterpriseServiceWorkflow.close_item, CloseItem(actor=zjj, item_no="S1", outcome=done()))
    other_contact = ConfirmItem(actor=person(config, "xny_qian"), item_no="S1", satisfaction=Satisfaction.SATISFIED)
    with pytest.raises(ActionFailed, match="企业联系人"):
        await act(env, EnterpriseServiceWorkflow.confirm_item, other_contact)
    with pytest.raises(ActionFailed, match="「待企业确认」"):
        await act(env, EnterpriseServiceWorkflow.close_item, CloseItem(actor=zjj, item_no="S1", outcome=done()))
    after = await view_enterprise(env.client, MINING)
    # Refused actions left nothing: only the one close was recorded.
    assert len(after.actions) == len(before.actions) + 1


def test_an_item_cannot_be_closed_without_an_outcome() -> None:
    with pytest.raises(ValidationError, match="outcome"):
        CloseItem.model_validate({"actor": {"id": "a", "name": "a", "role": "clerk"}, "item_no": "S1"})
    with pytest.raises(ValidationError, match="须说明原因"):
        Outcome(kind=OutcomeKind.PARTLY, text="做了一半", evidence=["x"])
    with pytest.raises(ValidationError, match="须附佐证材料"):
        Outcome(kind=OutcomeKind.DONE, text="办好了")
    with pytest.raises(ValidationError, match="须说明原因"):
        Outcome(kind=OutcomeKind.CANNOT, text="办不了")


async def test_reminders_then_the_ladder_reach_the_unit_and_the_centre(
    env: WorkflowEnvironment, config: DistrictConfig, workers: None, tmp_path: Path
) -> None:
    await visit(env, config, spec(config, "变电站增容审批协调", "zjj", within="4wd"))
    record = await view_enterprise(env.client, MINING)
    due = record.items[0].due_at
    await env.sleep(due - datetime.now(UTC) + timedelta(days=9))  # past 通报 (+5wd), before 领导督办 (+10wd)
    record = await view_enterprise(env.client, MINING)
    item = record.items[0]
    assert item.clock.fired[:2] == ["warn0.5", "warn0.75"]
    assert [e.level for e in record.escalations] == ["催办", "督办", "通报"]
    assert item.escalation_level == "通报"
    kinds = [n["notice"]["kind"] for n in inbox(tmp_path, "zjj", "notices")]
    assert kinds == ["预警提醒", "预警提醒", "超期督办", "超期督办"]  # 通报 goes to the centre only
    levels = [n["notice"]["level"] for n in inbox(tmp_path, "center", "notices") if n["notice"]["level"]]
    assert levels == ["催办", "督办", "通报"]
    # Closing late stops the clock and is recorded as not on time.
    zjj = person(config, "zjj_li")
    await act(env, EnterpriseServiceWorkflow.close_item, CloseItem(actor=zjj, item_no="S1", outcome=done()))
    record = await view_enterprise(env.client, MINING)
    assert record.items[0].outcome is not None and not record.items[0].outcome.on_time
    assert [a.action for a in record.actions].count("预警") == 2


async def test_a_reopened_item_starts_a_new_round_and_is_delivered_again(
    env: WorkflowEnvironment, config: DistrictConfig, workers: None, tmp_path: Path
) -> None:
    await visit(env, config, spec(config, "招工信息发布", "rsj", category="用工招聘", within="5wd"))
    rsj, contact = person(config, "rsj_feng"), person(config, "hd_zhang")
    await act(env, EnterpriseServiceWorkflow.close_item, CloseItem(actor=rsj, item_no="S1", outcome=done("已发布")))
    reopen = ReopenItem(actor=contact, item_no="S1", reason="招聘会未覆盖技术岗位", within="3wd")
    await act(env, EnterpriseServiceWorkflow.reopen_item, reopen)
    record = await view_enterprise(env.client, MINING)
    item = record.items[0]
    assert (item.status, item.round, item.outcome) == (ItemStatus.OPEN, 2, None)
    assert item.reopenings[0].previous.outcome.text == "已发布"
    await env.sleep(timedelta(seconds=5))
    keys = [d["delivery"]["idempotency_key"] for d in inbox(tmp_path, "rsj", "items")]
    assert keys == [f"{MINING}/S1#1", f"{MINING}/S1#2"]
    assert "技术岗位" in inbox(tmp_path, "rsj", "items")[1]["delivery"]["note"]
    await act(env, EnterpriseServiceWorkflow.close_item, CloseItem(actor=rsj, item_no="S1", outcome=done("专场招聘")))
    await act(
        env,
        EnterpriseServiceWorkflow.confirm_item,
        ConfirmItem(actor=contact, item_no="S1", satisfaction=Satisfaction.SATISFIED),
    )
    record = await view_enterprise(env.client, MINING)
    assert record.items[0].status is ItemStatus.CONFIRMED
    assert record.visits[0].closed_at is not None


async def test_a_visit_is_recorded_once_and_a_bad_first_visit_starts_nothing(
    env: WorkflowEnvironment, config: DistrictConfig, workers: None
) -> None:
    day = datetime.now(UTC).date() - timedelta(days=2)
    await visit(env, config, spec(config, "供电线路迁改", "zjj"), on=day)
    with pytest.raises(ActionFailed, match="已记录为 V1"):
        await visit(env, config, spec(config, "供电线路迁改", "zjj"), on=day)
    assert len((await view_enterprise(env.client, MINING)).visits) == 1

    other = enterprise_for(config, "91150302MA0Q7W5R16")
    with pytest.raises(TicketRejected, match="不是红色服务团成员"):
        await record_visit(
            env.client, config, actor=person(config, "hft_li"), enterprise=other, visited_on=day, members=["zjj_li"]
        )
    with pytest.raises(TicketRejected, match="晚于今天"):
        await record_visit(
            env.client,
            config,
            actor=person(config, "hft_li"),
            enterprise=other,
            visited_on=datetime.now(UTC).date() + timedelta(days=3),
            members=["hft_li"],
        )
    with pytest.raises(RPCError):
        await env.client.get_workflow_handle(workflow_id_for_enterprise(other.id)).describe()


async def test_continue_as_new_keeps_every_item_and_its_history(client: Client, tmp_path: Path) -> None:
    """On the real dev server (updates that meet a continue-as-new are retried onto the new run)."""
    config = make_config(tmp_path)
    enterprise = enterprise_for(config, f"qy-{uuid.uuid4().hex[:10]}", name="乌海市测试化工有限公司", street="千里山镇")
    contact, official = person(config, "hft_ma"), person(config, "hft_wang")  # hft_ma confirms on its behalf

    async def act_here(update: object, command: object) -> None:
        await act_enterprise(client, enterprise.id, update, command)

    async with build_workers(client, config, departments=["zjj"], center=True):
        first = await record_visit(
            client,
            config,
            actor=person(config, "hft_li"),
            enterprise=enterprise,
            visited_on=datetime.now(UTC).date() - timedelta(days=10),
            members=["hft_li"],
            items=[spec(config, f"事项{n}", "hft_wang", person=None) for n in range(1, 7)],
            history_limit=40,
        )
        second = await record_visit(
            client,
            config,
            actor=person(config, "hft_li"),
            enterprise=enterprise,
            visited_on=datetime.now(UTC).date() - timedelta(days=1),
            members=["hft_li", "hft_ma"],
            items=[spec(config, f"第二次走访事项{n}", "zjj") for n in range(1, 7)],
        )
        assert first.item_nos + second.item_nos == [f"S{n}" for n in range(1, 13)]
        for n in range(1, 7):
            item_no = f"S{n}"
            await act_here(
                EnterpriseServiceWorkflow.note_progress, NoteProgress(actor=official, item_no=item_no, text="推进中")
            )
            await act_here(
                EnterpriseServiceWorkflow.close_item, CloseItem(actor=official, item_no=item_no, outcome=done())
            )
            confirm = ConfirmItem(actor=contact, item_no=item_no, satisfaction=Satisfaction.SATISFIED)
            await act_here(EnterpriseServiceWorkflow.confirm_item, confirm)
        deadline = asyncio.get_running_loop().time() + 20
        while True:
            record = await view_enterprise(client, enterprise.id)
            delivered = [i for i in record.items if i.delivery is DeliveryState.DELIVERED]
            if (len(delivered) == 6 and not record.outbox) or asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.2)

    assert len(record.runs) >= 3  # it continued as new more than once
    assert [i.item_no for i in record.items] == [f"S{n}" for n in range(1, 13)]
    assert record.visits[0].closed_at is not None and record.visits[1].closed_at is None
    assert all(i.status is ItemStatus.CONFIRMED for i in record.items[:6])
    assert all(i.status is ItemStatus.OPEN for i in record.items[6:])
    assert len(record.actions) == 2 + 12 + 6 * 3 + 1  # visits, items listed, progress/close/confirm, V1 closed
    # Each item names the runs that hold its events; the first run's history still has S1's start.
    assert record.runs_of("S1")[0] == record.runs[0].run_id == record.items[0].opened_in_run
    assert len(record.runs_of("S6")) >= 2
    first_run = client.get_workflow_handle(workflow_id_for_enterprise(enterprise.id), run_id=record.runs[0].run_id)
    history = await first_run.fetch_history()
    assert history.events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
    accepted = [e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED]
    assert accepted[0].workflow_execution_update_accepted_event_attributes.accepted_request.input.name == "record_visit"
    # Every department item was delivered exactly once, and every notice once, across the runs.
    keys = [d["delivery"]["idempotency_key"] for d in inbox(tmp_path, "zjj", "items")]
    assert sorted(keys) == sorted(f"{enterprise.id}/S{n}#1" for n in range(7, 13))
    notices = [n["notice"] for n in inbox(tmp_path, "center", "notices")]
    assert len([n for n in notices if n["kind"] == "企业服务事项"]) == 6
    assert len({n["idempotency_key"] for n in notices}) == len(notices)


async def test_unsatisfied_sends_the_item_back_to_its_department(
    env: WorkflowEnvironment, config: DistrictConfig, workers: None, tmp_path: Path
) -> None:
    """The enterprise's 不满意 is not a confirmation: the item goes back to its department for a new
    round (delivered again), and the visit is not closed by it; the new rule is marked in the history
    (workflow.patched), so enterprises' histories from before it replay as they ran."""
    await visit(env, config, spec(config, "招工信息发布", "rsj", category="用工招聘", within="5wd"))
    rsj, contact = person(config, "rsj_feng"), person(config, "hd_zhang")
    await act(env, EnterpriseServiceWorkflow.close_item, CloseItem(actor=rsj, item_no="S1", outcome=done("已发布")))
    verdict = ConfirmItem(actor=contact, item_no="S1", satisfaction=Satisfaction.UNSATISFIED, comment="未覆盖技术岗位")
    result = await act(env, EnterpriseServiceWorkflow.confirm_item, verdict)
    assert result.message == "S1：企业不满意，已退回区人力资源和社会保障局重新办理（第 2 轮）"

    record = await view_enterprise(env.client, MINING)
    item = record.items[0]
    assert (item.status, item.round, item.outcome, item.confirmation) == (ItemStatus.OPEN, 2, None, None)
    assert item.reopenings[0].verdict is Satisfaction.UNSATISFIED
    assert record.visits[0].closed_at is None and record.status is EnterpriseStatus.FOLLOWING
    await env.sleep(timedelta(seconds=5))
    deliveries = inbox(tmp_path, "rsj", "items")
    assert [d["delivery"]["idempotency_key"] for d in deliveries] == [f"{MINING}/S1#1", f"{MINING}/S1#2"]
    assert "企业不满意：未覆盖技术岗位" in deliveries[1]["delivery"]["note"]
    # Confirming again is refused until the department closes it again (the item is 办理中).
    with pytest.raises(ActionFailed, match="当前为「办理中」"):
        await act(env, EnterpriseServiceWorkflow.confirm_item, verdict)

    history = await env.client.get_workflow_handle(workflow_id_for_enterprise(MINING)).fetch_history()
    markers = [e for e in history.events if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED]
    sends_back = [e for e in markers if UNSATISFIED_SENDS_BACK in str(e.marker_recorded_event_attributes)]
    assert len(sends_back) == 1  # asked for the 不满意 only: other verdicts' histories carry no marker

    await act(env, EnterpriseServiceWorkflow.close_item, CloseItem(actor=rsj, item_no="S1", outcome=done("专场招聘")))
    satisfied = ConfirmItem(actor=contact, item_no="S1", satisfaction=Satisfaction.SATISFIED)
    await act(env, EnterpriseServiceWorkflow.confirm_item, satisfied)
    record = await view_enterprise(env.client, MINING)
    assert record.items[0].status is ItemStatus.CONFIRMED and record.visits[0].closed_at is not None
