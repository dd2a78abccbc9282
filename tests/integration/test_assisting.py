"""主办/协办 and 紧急诉求联动处置 on the time-skipping server: an urgent ticket goes to its lead and
its assisting departments at once; each signs for and reports on its own clocks (escalating to the
shift lead within minutes); the lead's answer carries the reports and names those missing."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from domain.commands import AssistReport, ContactCitizen, GiveAnswer, SignFor
from domain.config import DistrictConfig
from domain.deadlines import ClockKind
from domain.models import Answer, TicketStatus
from domain.ticket_record import AssistStatus
from starter.tickets import ActionFailed, act, submit, view
from tests.support.helpers import eventually, person, sample_ticket
from tests.support.ticket_steps import deliveries
from workflows.ticket import TicketWorkflow


async def test_an_urgent_joint_response_reaches_every_department_at_once(
    env: WorkflowEnvironment, config: DistrictConfig, workers: None, tmp_path: Path
) -> None:
    client = env.client
    ticket = sample_ticket("供水供电", urgency="紧急", title="小区突发停水", content="整栋楼停水，有老人需要用水。")
    await submit(client, config, ticket)  # lead 水务公司 (sw); 供电公司 and 城管局 assist (joint_response)
    no = ticket.ticket_no
    record = await eventually(
        client, no, lambda r: r.status is TicketStatus.AWAITING_SIGN_FOR and all(
            a.status is AssistStatus.AWAITING_SIGN_FOR for a in r.assists
        ) and len(r.assists) == 2,
    )  # fmt: skip
    assert record.assignment.department == "sw"
    assert [a.assignment.department for a in record.assists] == ["gdgs", "cgj"]
    assert [d["role"] for d in deliveries(tmp_path, "gdgs")] == ["协办"] and deliveries(tmp_path, "sw")[0][
        "role"
    ] == "主办"

    lead, gdgs, cgj = person(config, "sw_jiang"), person(config, "gdgs_wu"), person(config, "cgj_sun")
    with pytest.raises(ActionFailed, match="不属于承办单位"):
        await act(client, no, TicketWorkflow.sign_for, SignFor(actor=gdgs))
    with pytest.raises(ActionFailed, match="不是本工单的协办单位"):
        await act(client, no, TicketWorkflow.assist_sign_for, SignFor(actor=lead))
    with pytest.raises(ActionFailed, match="请先签收"):
        await act(client, no, TicketWorkflow.assist_report, AssistReport(actor=gdgs, text="x"))
    await act(client, no, TicketWorkflow.sign_for, SignFor(actor=lead))
    await act(client, no, TicketWorkflow.assist_sign_for, SignFor(actor=gdgs))
    await act(client, no, TicketWorkflow.assist_report, AssistReport(actor=gdgs, text="已抢修供电线路"))

    await env.sleep(timedelta(minutes=40))  # cgj has not signed for its part: 30 minutes for 紧急
    record = await view(client, no)
    cgj_steps = [(e.clock, e.level) for e in record.escalations if e.department == "cgj"]
    assert (ClockKind.ASSIST_SIGN_FOR, "催办") in cgj_steps
    clock = next(c for c in record.clocks if c.owner == "cgj" and c.kind is ClockKind.ASSIST_SIGN_FOR)
    escalation = next(e for e in record.escalations if e.department == "cgj")
    assert clock.due_at <= escalation.at < clock.due_at + timedelta(seconds=30)
    assert not any(e.department == "gdgs" for e in record.escalations)

    await act(client, no, TicketWorkflow.contact_citizen, ContactCitizen(actor=lead, note="已联系"))
    answer = Answer(text="已恢复供水", resolved=True)
    await act(client, no, TicketWorkflow.answer, GiveAnswer(actor=lead, answer=answer))
    record = await view(client, no)
    [answered] = [a for a in record.actions if a.action == "答复"]
    assert "海勃湾供电分公司：已抢修供电线路" in answered.detail and "区城市管理综合执法局：未报告" in answered.detail
    assert not any(c.running for c in record.clocks if c.owner)
    with pytest.raises(ActionFailed, match="待回访"):
        await act(client, no, TicketWorkflow.assist_sign_for, SignFor(actor=cgj))


async def test_an_assisting_department_receives_the_phone_masked(
    env: WorkflowEnvironment, config: DistrictConfig, workers: None, tmp_path: Path
) -> None:
    """One rule for the phone (docs/security.md): the lead's delivery has it, an assisting one's is masked."""
    ticket = sample_ticket("供水供电", urgency="紧急", title="小区突发停水", content="整栋楼停水。")
    await submit(env.client, config, ticket)  # lead 水务公司 (sw); 供电公司 and 城管局 assist
    await eventually(
        env.client,
        ticket.ticket_no,
        lambda r: len(r.assists) == 2 and all(a.status is AssistStatus.AWAITING_SIGN_FOR for a in r.assists),
    )
    [lead] = deliveries(tmp_path, "sw")
    assert lead["role"] == "主办" and lead["ticket"]["citizen"]["phone"] == "13812341234"
    for department in ("gdgs", "cgj"):
        [assist] = deliveries(tmp_path, department)
        assert assist["role"] == "协办" and assist["ticket"]["citizen"]["phone"] == "138****1234"
        assert assist["ticket"]["citizen"]["name"] == "王小明"
    # The workflow's own record keeps the number (the centre calls back).
    assert (await view(env.client, ticket.ticket_no)).ticket.citizen.phone == "13812341234"
