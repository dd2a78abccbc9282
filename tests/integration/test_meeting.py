"""疑难工单会商 and 确权 on the time-skipping server: attendance by a deadline, absence escalated,
decision or arbitration, the decision reaching the ticket; automatic consultation for a 问题工单;
现场确权 without a meeting."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from domain.commands import Attend, Decide, DetermineOwner, RecordMinutes, Refer, RequestReturn
from domain.config import DistrictConfig
from domain.deadlines import ClockKind
from domain.intake import assignment_for
from domain.meeting import MeetingStatus
from domain.models import TicketStatus
from starter.meetings import act_meeting, convene, determine_on_site, meeting_outcome, view_meeting
from starter.tickets import ActionFailed, act, submit, view
from tests.support.helpers import eventually, person, sample_ticket
from tests.support.ticket_steps import notices
from workflows.meeting import ConsultationMeetingWorkflow
from workflows.ticket import TicketWorkflow


async def ticket_at_cgj(client: Client, config: DistrictConfig) -> str:
    ticket = sample_ticket()  # 市容环卫 in 滨河街道 → cgj
    await submit(client, config, ticket)
    await eventually(client, ticket.ticket_no, lambda r: r.status is TicketStatus.AWAITING_SIGN_FOR)
    return ticket.ticket_no


async def test_a_meeting_decides_and_the_ticket_moves_to_its_lead(
    env: WorkflowEnvironment, config: DistrictConfig, workers: None, tmp_path: Path
) -> None:
    client = env.client
    no = await ticket_at_cgj(client, config)
    lead = person(config, "zhangli")
    meeting = await convene(
        client, config, convened_by=lead, reason="占道经营权责不清", tickets=[no], departments=["cgj", "zjj"]
    )
    m = meeting.meeting_no
    await act_meeting(client, m, ConsultationMeetingWorkflow.attend, Attend(actor=person(config, "cgj_sun")))
    with pytest.raises(ActionFailed, match="未受邀"):
        await act_meeting(client, m, ConsultationMeetingWorkflow.attend, Attend(actor=person(config, "sthj_zhou")))
    with pytest.raises(ActionFailed, match="仅在「会商中」时可记录会议"):
        await act_meeting(client, m, ConsultationMeetingWorkflow.record_minutes, RecordMinutes(actor=lead, minutes="x"))

    await env.sleep(timedelta(days=4))  # past the 1-working-day attendance window, whatever the weekday
    record = await view_meeting(client, m)
    assert record.status is MeetingStatus.IN_SESSION
    assert [(i.assignment.department, i.absent) for i in record.invitees] == [("cgj", False), ("zjj", True)]
    assert any(n["level"] == "缺席督办" for n in notices(tmp_path, "zjj"))
    assert any(n["level"] == "缺席督办" for n in notices(tmp_path, "center"))
    # Meanwhile the ticket keeps its current assignment.
    assert (await view(client, no)).assignment.department == "cgj"

    decision = DetermineOwner(actor=lead, lead=assignment_for(config, "zjj"), assisting=[assignment_for(config, "cgj")])
    with pytest.raises(ActionFailed, match="请先记录会议纪要"):
        await act_meeting(client, m, ConsultationMeetingWorkflow.decide, decision)
    minutes = RecordMinutes(actor=lead, minutes="经会商，占道经营源于小区改造施工，由住建局主办、城管局协办。")
    await act_meeting(client, m, ConsultationMeetingWorkflow.record_minutes, minutes)
    result = await act_meeting(client, m, ConsultationMeetingWorkflow.decide, decision)
    assert result.status is MeetingStatus.DECIDED

    outcome = await meeting_outcome(client, m)
    assert outcome.determination.lead.department == "zjj"
    ticket = await eventually(
        client, no, lambda r: r.dispatch_round == 2 and r.status is TicketStatus.AWAITING_SIGN_FOR
    )
    assert ticket.assignment.department == "zjj" and ticket.determination.source == "会商确权"
    assert [a.department for a in ticket.determination.assisting] == ["cgj"]
    await eventually(client, no, lambda r: not r.outbox)
    assert {n["kind"] for n in notices(tmp_path, "cgj")} >= {"会商通知", "工单改派", "确权通知"}
    assert "确权送达" in [a.action for a in (await view_meeting(client, m)).actions]


async def test_without_agreement_the_arbiter_rules(
    env: WorkflowEnvironment, config: DistrictConfig, workers: None
) -> None:
    client = env.client
    no = await ticket_at_cgj(client, config)
    lead = person(config, "zhangli")
    m = (
        await convene(client, config, convened_by=lead, reason="权责争议", tickets=[no], departments=["cgj", "sthj"])
    ).meeting_no
    for clerk in ("cgj_sun", "sthj_zhou"):
        await act_meeting(client, m, ConsultationMeetingWorkflow.attend, Attend(actor=person(config, clerk)))
    assert (await view_meeting(client, m)).status is MeetingStatus.IN_SESSION  # everyone confirmed: no waiting
    await act_meeting(
        client, m, ConsultationMeetingWorkflow.refer, Refer(actor=lead, reason="两部门均认为不属本部门职责")
    )
    ruling = DetermineOwner(actor=person(config, "bianban_gao"), lead=assignment_for(config, "sthj"))
    with pytest.raises(ActionFailed, match="仅限机构编制部门"):
        await act_meeting(client, m, ConsultationMeetingWorkflow.rule, ruling.model_copy(update={"actor": lead}))
    assert (await act_meeting(client, m, ConsultationMeetingWorkflow.rule, ruling)).status is MeetingStatus.RULED
    ticket = await eventually(client, no, lambda r: r.assignment.department == "sthj" and r.dispatch_round == 2)
    assert ticket.determination.source == "裁定"


async def test_the_third_return_sends_a_problem_ticket_to_consultation(
    env: WorkflowEnvironment, config: DistrictConfig, workers: None
) -> None:
    client = env.client
    no = await ticket_at_cgj(client, config)
    lead = person(config, "zhangli")
    hops = [("cgj_sun", "bhjd"), ("bhjd_yang", "zjj"), ("zjj_li", "cgj")]
    for round_, (clerk, to) in enumerate(hops, start=1):
        await eventually(
            client,
            no,
            lambda r, n=round_: r.dispatch_round == n and r.status is TicketStatus.AWAITING_SIGN_FOR,  # type: ignore[misc]  # mypy cannot infer a lambda with a default argument
        )
        requested = await act(
            client, no, TicketWorkflow.request_return, RequestReturn(actor=person(config, clerk), reason="非本单位职责")
        )
        decision = Decide(actor=lead, approval_id=requested.approval_id, reassign_to=assignment_for(config, to))
        await act(client, no, TicketWorkflow.approve, decision)
    ticket = await eventually(client, no, lambda r: r.consultation is not None)
    assert ticket.consultation == f"meeting-AUTO-{no}" and "提请会商" in [a.action for a in ticket.actions]
    meeting = await view_meeting(client, f"AUTO-{no}")
    assert meeting.input.convened_by.name == "系统" and meeting.input.tickets == [no]
    assert [i.assignment.department for i in meeting.invitees] == ["cgj", "bhjd", "zjj"]


async def test_on_site_determination_by_the_centre(
    env: WorkflowEnvironment, config: DistrictConfig, workers: None
) -> None:
    client = env.client
    no = await ticket_at_cgj(client, config)
    command = DetermineOwner(actor=person(config, "cgj_sun"), lead=assignment_for(config, "bhjd"), note="现场")
    with pytest.raises(ActionFailed, match="仅限值班长"):
        await determine_on_site(client, no, command)
    await determine_on_site(client, no, command.model_copy(update={"actor": person(config, "zhangli")}))
    ticket = await eventually(client, no, lambda r: r.assignment.department == "bhjd" and r.dispatch_round == 2)
    assert ticket.determination.source == "现场确权" and ticket.determination.reference == "现场"


async def test_a_decision_sets_each_departments_time_limit(
    env: WorkflowEnvironment, config: DistrictConfig, workers: None
) -> None:
    client = env.client
    no = await ticket_at_cgj(client, config)
    lead = person(config, "zhangli")
    m = (
        await convene(client, config, convened_by=lead, reason="权责", tickets=[no], departments=["cgj", "zjj"])
    ).meeting_no
    for clerk in ("cgj_sun", "zjj_li"):
        await act_meeting(client, m, ConsultationMeetingWorkflow.attend, Attend(actor=person(config, clerk)))
    await act_meeting(client, m, ConsultationMeetingWorkflow.record_minutes, RecordMinutes(actor=lead, minutes="议定"))
    decision = DetermineOwner(
        actor=lead,
        lead=assignment_for(config, "zjj"),
        assisting=[assignment_for(config, "cgj")],
        lead_within="2h",
        assist_within="30m",
    )
    await act_meeting(client, m, ConsultationMeetingWorkflow.decide, decision)
    ticket = await eventually(
        client,
        no,
        lambda r: (
            r.dispatch_round == 2 and any(c.owner == "cgj" and c.kind is ClockKind.ASSIST_REPORT for c in r.clocks)
        ),
    )
    resolve = next(c for c in ticket.clocks if c.round == 2 and c.kind is ClockKind.RESOLVE and c.owner is None)
    assert resolve.due_at - resolve.started_at == timedelta(hours=2)
    report = next(c for c in ticket.clocks if c.owner == "cgj" and c.kind is ClockKind.ASSIST_REPORT)
    assert report.due_at - report.started_at == timedelta(minutes=30)
    assert "主办时限 2小时；协办时限 30分钟" in next(
        a.detail for a in (await view_meeting(client, m)).actions if a.action == "会商确权"
    )
