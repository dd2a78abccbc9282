"""镇街吹哨、部门答卷 on the time-skipping server: departments told at once, each reporting in and
answering on its own clocks, the ladder for the one that does not, the street's evaluations."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from domain.commands import EvaluateDepartment, ReportIn, WhistleAnswer, Withdraw
from domain.config import DistrictConfig
from domain.deadlines import ClockKind
from domain.intake import TicketRejected
from domain.models import Satisfaction
from domain.whistle import PartStatus, WhistleStatus, workflow_id_for_whistle
from starter.tickets import ActionFailed
from starter.whistles import act_whistle, blow, view_whistle, whistle_outcome
from tests.support.centre_work import work_advance
from tests.support.helpers import person
from tests.support.ticket_steps import notices
from workflows.whistle import WhistleWorkflow

pytestmark = pytest.mark.workers(departments=["zjj", "cgj", "sthj"])


async def blow_work_advance(env: WorkflowEnvironment, config: DistrictConfig) -> str:
    """滨河街道 blows a work-advance whistle (报到 in 1 hour, 答卷 in 3 working days) on zjj and cgj."""
    whistle = await work_advance(
        env.client,
        config,
        title="老旧小区雨污管网改造推进受阻",
        content="镇北社区管网改造涉及住建、城管两部门，需现场协调占道与施工许可。",
        tickets=["T-LINKED-1"],
    )
    return whistle.whistle_no


async def test_departments_report_in_answer_and_are_evaluated(
    env: WorkflowEnvironment, config: DistrictConfig, workers: None, tmp_path: Path
) -> None:
    no = await blow_work_advance(env, config)
    zjj, cgj, street = person(config, "zjj_li"), person(config, "cgj_sun"), person(config, "bhjd_street")
    for clerk in (zjj, cgj):
        await act_whistle(env.client, no, WhistleWorkflow.report_in, ReportIn(actor=clerk, note="已到现场"))
        await act_whistle(env.client, no, WhistleWorkflow.answer, WhistleAnswer(actor=clerk, text="已协调完毕"))
    await act_whistle(
        env.client,
        no,
        WhistleWorkflow.evaluate,
        EvaluateDepartment(actor=street, department="zjj", satisfaction=Satisfaction.SATISFIED),
    )
    last = await act_whistle(
        env.client,
        no,
        WhistleWorkflow.evaluate,
        EvaluateDepartment(
            actor=street, department="cgj", satisfaction=Satisfaction.BASICALLY_SATISFIED, comment="略慢"
        ),
    )
    assert last.status is WhistleStatus.CLOSED

    outcome = await whistle_outcome(env.client, no)
    assert outcome.evaluations == {"zjj": Satisfaction.SATISFIED, "cgj": Satisfaction.BASICALLY_SATISFIED}
    record = await view_whistle(env.client, no)
    assert all(p.reported_on_time and p.answered_on_time for p in record.parts)
    assert record.input.tickets == ["T-LINKED-1"]
    actions = [a.action for a in record.actions]
    assert actions[:1] == ["吹哨"] and actions[-1:] == ["完成"]
    # Each department was told through its own adapter when the whistle was blown.
    for code in ("zjj", "cgj"):
        assert [n["kind"] for n in notices(tmp_path, code)] == ["吹哨通知"]
    assert notices(tmp_path, "sthj") == []


async def test_a_department_that_does_not_report_in_climbs_the_ladder_alone(
    env: WorkflowEnvironment, config: DistrictConfig, workers: None, tmp_path: Path
) -> None:
    no = await blow_work_advance(env, config)
    zjj = person(config, "zjj_li")
    await act_whistle(env.client, no, WhistleWorkflow.report_in, ReportIn(actor=zjj, note="已到现场"))
    await env.sleep(timedelta(minutes=90))  # cgj's 1-hour report-in limit has passed

    record = await view_whistle(env.client, no)
    cgj_part, zjj_part = record.part("cgj"), record.part("zjj")
    assert cgj_part.status is PartStatus.AWAITING_REPORT and cgj_part.escalation_level == "催办"
    assert zjj_part.escalation_level is None and zjj_part.reported_on_time
    report_in = next(c for c in cgj_part.clocks if c.kind is ClockKind.REPORT_IN)
    [urge] = [e for e in record.escalations if e.department == "cgj"]
    assert urge.level == "催办" and urge.clock is ClockKind.REPORT_IN
    assert report_in.due_at <= urge.at < report_in.due_at + timedelta(seconds=30)
    assert record.overdue
    levels = [n.get("level") for n in notices(tmp_path, "cgj")]
    assert "催办" in levels and all(n.get("level") != "催办" for n in notices(tmp_path, "zjj"))

    await env.sleep(timedelta(days=20))
    record = await view_whistle(env.client, no)
    steps = [e.level for e in record.escalations if e.department == "cgj" and e.clock is ClockKind.REPORT_IN]
    assert steps == ["催办", "督办", "通报", "领导督办"]


async def test_validators_refuse_out_of_turn_and_outsiders(
    env: WorkflowEnvironment, config: DistrictConfig, workers: None
) -> None:
    no = await blow_work_advance(env, config)
    zjj, street = person(config, "zjj_li"), person(config, "bhjd_street")
    with pytest.raises(ActionFailed, match="请先报到"):
        await act_whistle(env.client, no, WhistleWorkflow.answer, WhistleAnswer(actor=zjj, text="x"))
    with pytest.raises(ActionFailed, match="不是本次吹哨点名的部门"):
        await act_whistle(env.client, no, WhistleWorkflow.report_in, ReportIn(actor=person(config, "sthj_zhou")))
    with pytest.raises(ActionFailed, match="仅在「已答卷」时可评价"):
        await act_whistle(
            env.client,
            no,
            WhistleWorkflow.evaluate,
            EvaluateDepartment(actor=street, department="zjj", satisfaction=Satisfaction.SATISFIED),
        )
    with pytest.raises(ActionFailed, match="仅限滨河街道工作人员"):
        other_street = person(config, "qlsz_street")
        await act_whistle(env.client, no, WhistleWorkflow.withdraw, Withdraw(actor=other_street, reason="x"))
    with pytest.raises(ActionFailed, match="无权操作"):
        await act_whistle(env.client, no, WhistleWorkflow.report_in, ReportIn(actor=street))
    await act_whistle(env.client, no, WhistleWorkflow.report_in, ReportIn(actor=zjj))
    with pytest.raises(ActionFailed, match="仅在「待报到」时可报到"):
        await act_whistle(env.client, no, WhistleWorkflow.report_in, ReportIn(actor=zjj))


async def test_the_street_withdraws_the_whistle(
    env: WorkflowEnvironment, config: DistrictConfig, workers: None, tmp_path: Path
) -> None:
    no = await blow_work_advance(env, config)
    street = person(config, "bhjd_street")
    result = await act_whistle(
        env.client, no, WhistleWorkflow.withdraw, Withdraw(actor=street, reason="已由社区自行解决")
    )
    assert result.status is WhistleStatus.WITHDRAWN
    outcome = await whistle_outcome(env.client, no)
    assert outcome.status is WhistleStatus.WITHDRAWN and outcome.evaluations == {}
    record = await view_whistle(env.client, no)
    assert all(not c.running for p in record.parts for c in p.clocks)
    assert [n["kind"] for n in notices(tmp_path, "cgj")] == ["吹哨通知", "吹哨撤回"]


async def test_a_whistle_is_checked_before_anything_starts(env: WorkflowEnvironment, config: DistrictConfig) -> None:
    street = person(config, "bhjd_street")
    common = {"title": "t", "content": "c", "departments": ["zjj"], "whistle_no": "W-BAD-1"}
    with pytest.raises(TicketRejected, match="kind: unknown '随便'"):
        await blow(env.client, config, raised_by=street, kind="随便", **common)  # type: ignore[arg-type]  # common holds the remaining arguments, each of its type
    with pytest.raises(TicketRejected, match="department: unknown 'nope'"):
        await blow(env.client, config, raised_by=street, kind="推进", **{**common, "departments": ["nope"]})  # type: ignore[arg-type]  # common holds the remaining arguments, each of its type
    with pytest.raises(TicketRejected, match="不是镇街工作人员"):
        await blow(env.client, config, raised_by=person(config, "zjj_li"), kind="推进", **common)  # type: ignore[arg-type]  # common holds the remaining arguments, each of its type
    with pytest.raises(TicketRejected, match="named twice"):
        await blow(env.client, config, raised_by=street, kind="推进", **{**common, "departments": ["zjj", "zjj"]})  # type: ignore[arg-type]  # common holds the remaining arguments, each of its type
    with pytest.raises(RPCError) as missing:  # nothing was started
        await env.client.get_workflow_handle(workflow_id_for_whistle("W-BAD-1")).describe()
    assert missing.value.status is RPCStatusCode.NOT_FOUND
