"""TicketWorkflow end to end on a real dev server, with department workers on their own queues
and file-inbox adapters standing in for the departments' systems."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.workflow import NondeterminismError

from domain.commands import (
    ContactCitizen,
    Decide,
    GiveAnswer,
    ManualDispatch,
    RecordCallback,
    RequestExtension,
    RequestReturn,
    SignFor,
    VerifyTicket,
)
from domain.config import SimulatedSurvey
from domain.intake import assignment_for, workflow_id_for
from domain.models import Answer, ApprovalState, Callback, RequestKind, Satisfaction, TicketStatus, VerifyDecision
from starter.tickets import ActionFailed, act, outcome, submit
from tests.support.helpers import eventually, person, sample_ticket
from tests.support.ticket_steps import call_back, handle_to_answer, inbox
from worker import build_workers
from workflows.ticket import TicketWorkflow

pytestmark = pytest.mark.workers(replaying=True)

# A standard ticket (intake to closed, no detours) must stay within this many history events: 2 start
# and end, 18 workflow-task (6 tasks: start, delivery result, 4 human steps), 8 update (4 accepted and
# completed), 3 delivery activity, 5 upserts (one per step: 待签收, 已签收, 已联系, 待回访, 办结), 6 timer
# (each of the three clocks 签收/响应/办结 started and cancelled). No callback request: operators call.
EVENT_BUDGET = 42


def awaiting_sign_for(record) -> bool:
    return record.status is TicketStatus.AWAITING_SIGN_FOR


def upserts(events) -> list[dict[str, object]]:
    """Each search-attribute upsert of a history: attribute name → value."""
    return [
        {
            name: json.loads(payload.data)
            for name, payload in e.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields.items()
        }
        for e in events
        if e.event_type == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES
    ]


async def test_standard_ticket_from_intake_to_closure(client, config, workers, tmp_path):
    ticket = sample_ticket()  # 市容环卫 in 滨河街道 → 城管局 (cgj) by the catalogue
    submitted = await submit(client, config, ticket)
    assert not submitted.duplicate

    record = await eventually(client, ticket.ticket_no, awaiting_sign_for)
    assert record.assignment.department == "cgj"
    delivered = inbox(tmp_path, "cgj")
    assert [d["delivery"]["ticket"]["ticket_no"] for d in delivered] == [ticket.ticket_no]
    assert delivered[0]["delivery"]["idempotency_key"] == f"{ticket.ticket_no}#1"

    await handle_to_answer(client, config, ticket.ticket_no, "cgj_sun")
    result = await call_back(client, config, ticket.ticket_no, True, Satisfaction.SATISFIED)
    assert result.status is TicketStatus.CLOSED

    handle = client.get_workflow_handle(submitted.workflow_id)
    result = await outcome(client, ticket.ticket_no)
    assert result.status is TicketStatus.CLOSED and result.redo_count == 0
    record = await handle.query(TicketWorkflow.view)
    assert [a.action for a in record.actions] == ["受理", "派遣", "签收", "联系诉求人", "答复", "回访", "办结"]
    assert record.actions[2].actor.name == "孙浩"
    assert record.signed_on_time and record.answered_on_time

    events = [e async for e in handle.fetch_history_events()]
    print(f"standard ticket: {len(events)} history events")
    assert len(events) <= EVENT_BUDGET
    # Fixed at intake: the dispatch step is published once, and operators make the callback (the
    # bundled district's survey is manual), so no local activity asks for it.
    assert record.plan.publish_on_delivery and record.plan.callback_by_operator
    assert not [e for e in events if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED]
    published = upserts(events)
    assert [u["HotlineStatus"] for u in published] == ["待签收", "已签收", "已联系", "待回访", "办结"]
    assert "HotlineResolveDue" in published[0]  # the dispatch step: its due time with its status, at once


async def test_a_simulated_survey_still_gets_its_callback_request(client, tmp_path):
    """Tickets received while the survey is simulated ask for the callback (the local activity), and the
    simulated citizen's answer closes them."""
    from tests.support.district import make_config

    config = make_config(tmp_path)
    survey = SimulatedSurvey(type="simulated", actor="liumei", delay_s=0)
    config = config.model_copy(update={"center": config.center.model_copy(update={"callback": survey})})
    codes = [d.code for d in config.departments]
    async with build_workers(
        client,
        config,
        departments=codes,
        center=True,
        max_cached_workflows=0,
        workflow_failure_exception_types=[NondeterminismError],
    ):
        ticket = sample_ticket()
        submitted = await submit(client, config, ticket)
        await eventually(client, ticket.ticket_no, awaiting_sign_for)
        await handle_to_answer(client, config, ticket.ticket_no, "cgj_sun")
        result = await outcome(client, ticket.ticket_no)  # no operator: the simulated survey calls back
        handle = client.get_workflow_handle(submitted.workflow_id)
        record = await handle.query(TicketWorkflow.view)

    assert result.status is TicketStatus.CLOSED
    assert not record.plan.callback_by_operator
    assert record.callback is not None and record.actions[-2].actor.name == "刘梅"
    events = [e async for e in handle.fetch_history_events()]
    markers = [e for e in events if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED]
    assert len(markers) == 1  # request_callback, as before


async def test_a_simulated_department_and_survey_close_a_ticket_alone(client, tmp_path):
    """The demo's district: the simulated clerk signs for, contacts and answers through the
    workflow's updates, and the simulated survey's operator calls back; nobody else acts."""
    from tests.support.district import make_config

    clerk = {"type": "simulated", "actor": "cgj_sun", "sign_delay_s": 0, "contact_delay_s": 0, "answer_delay_s": 0}
    config = make_config(tmp_path, adapters={"cgj": clerk})
    survey = SimulatedSurvey(type="simulated", actor="liumei", delay_s=0)
    config = config.model_copy(update={"center": config.center.model_copy(update={"callback": survey})})
    async with build_workers(client, config, departments=["cgj"], center=True):
        ticket = sample_ticket()
        await submit(client, config, ticket)
        result = await outcome(client, ticket.ticket_no)
        record = await client.get_workflow_handle(workflow_id_for(ticket.ticket_no)).query(TicketWorkflow.view)

    assert result.status is TicketStatus.CLOSED
    assert [(a.action, a.actor.id) for a in record.actions if a.actor.id != "system"] == [
        ("签收", "cgj_sun"),
        ("联系诉求人", "cgj_sun"),
        ("答复", "cgj_sun"),
        ("回访", "liumei"),
    ]


async def test_search_attributes_find_tickets_by_status_and_department(client, config, workers):
    ticket = sample_ticket()
    await submit(client, config, ticket)
    await eventually(client, ticket.ticket_no, awaiting_sign_for)
    query = (
        f"WorkflowId = '{workflow_id_for(ticket.ticket_no)}' AND HotlineStatus = '待签收' "
        "AND HotlineDepartment = 'cgj' AND HotlineStreet = '滨河街道' AND HotlineCategory = '市容环卫'"
    )
    for _ in range(100):  # visibility is eventually consistent
        found = [w.id async for w in client.list_workflows(query)]
        if found:
            break
        await __import__("asyncio").sleep(0.1)
    assert found == [workflow_id_for(ticket.ticket_no)]


async def test_return_approved_reassigns_to_another_department(client, config, workers, tmp_path):
    ticket = sample_ticket()
    await submit(client, config, ticket)
    await eventually(client, ticket.ticket_no, awaiting_sign_for)
    clerk, lead = person(config, "cgj_sun"), person(config, "zhangli")
    await act(client, ticket.ticket_no, TicketWorkflow.sign_for, SignFor(actor=clerk))
    requested = await act(
        client, ticket.ticket_no, TicketWorkflow.request_return, RequestReturn(actor=clerk, reason="属小区物业管理范围")
    )
    assert requested.status is TicketStatus.RETURN_PENDING and requested.approval_id == "R1"
    # While the return waits for approval the department cannot answer.
    with pytest.raises(ActionFailed, match="退单审批中"):
        await act(client, ticket.ticket_no, TicketWorkflow.contact_citizen, ContactCitizen(actor=clerk))

    to = assignment_for(config, "bhjd")
    await act(client, ticket.ticket_no, TicketWorkflow.approve, Decide(actor=lead, approval_id="R1", reassign_to=to))
    record = await eventually(
        client,
        ticket.ticket_no,
        lambda r: r.status is TicketStatus.AWAITING_SIGN_FOR and r.assignment.department == "bhjd",
    )
    assert record.dispatch_round == 2 and record.return_count == 1
    assert record.approvals[0].state is ApprovalState.APPROVED and record.approvals[0].decided_by.name == "张丽"
    assert [d["delivery"]["idempotency_key"] for d in inbox(tmp_path, "bhjd")] == [f"{ticket.ticket_no}#2"]
    # The old department may no longer act; it was told the ticket went elsewhere.
    with pytest.raises(ActionFailed, match="不属于承办单位"):
        await act(client, ticket.ticket_no, TicketWorkflow.sign_for, SignFor(actor=clerk))
    await eventually(client, ticket.ticket_no, lambda r: not r.outbox)
    assert [n["notice"]["kind"] for n in inbox(tmp_path, "cgj", "notices")] == ["工单改派"]

    await handle_to_answer(client, config, ticket.ticket_no, "bhjd_yang")
    await call_back(client, config, ticket.ticket_no, True, Satisfaction.BASICALLY_SATISFIED)
    assert (await outcome(client, ticket.ticket_no)).status is TicketStatus.CLOSED


async def test_return_rejected_department_must_handle(client, config, workers, tmp_path):
    ticket = sample_ticket()
    await submit(client, config, ticket)
    await eventually(client, ticket.ticket_no, awaiting_sign_for)
    clerk, lead = person(config, "cgj_sun"), person(config, "wangqiang")
    await act(client, ticket.ticket_no, TicketWorkflow.request_return, RequestReturn(actor=clerk, reason="不属本单位"))
    # Approving a return needs a department to reassign to.
    with pytest.raises(ActionFailed, match="须指定改派单位"):
        await act(client, ticket.ticket_no, TicketWorkflow.approve, Decide(actor=lead, approval_id="R1"))
    result = await act(
        client,
        ticket.ticket_no,
        TicketWorkflow.reject,
        Decide(actor=lead, approval_id="R1", note="属市容环卫范围，请办理"),
    )
    assert result.status is TicketStatus.AWAITING_SIGN_FOR
    with pytest.raises(ActionFailed, match="已驳回"):
        await act(client, ticket.ticket_no, TicketWorkflow.reject, Decide(actor=lead, approval_id="R1", note="again"))
    await eventually(client, ticket.ticket_no, lambda r: not r.outbox)
    notices = inbox(tmp_path, "cgj", "notices")
    assert [(n["notice"]["kind"], n["notice"]["text"]) for n in notices] == [("退单驳回", "属市容环卫范围，请办理")]
    await handle_to_answer(client, config, ticket.ticket_no, "cgj_sun")
    record = await eventually(client, ticket.ticket_no, lambda r: r.status is TicketStatus.AWAITING_CALLBACK)
    assert "驳回退单" in [a.action for a in record.actions] and record.return_count == 0


async def test_extension_approved_moves_the_due_time_and_only_once(client, config, workers):
    ticket = sample_ticket()
    await submit(client, config, ticket)
    await eventually(client, ticket.ticket_no, awaiting_sign_for)
    clerk, lead = person(config, "cgj_sun"), person(config, "zhangli")
    with pytest.raises(ActionFailed, match="仅在「已签收」、「已联系」时可申请延期"):
        await act(
            client,
            ticket.ticket_no,
            TicketWorkflow.request_extension,
            RequestExtension(actor=clerk, hours=48, reason="需勘查"),
        )
    await act(client, ticket.ticket_no, TicketWorkflow.sign_for, SignFor(actor=clerk))
    with pytest.raises(ActionFailed, match="延期最长10个工作日"):
        await act(
            client,
            ticket.ticket_no,
            TicketWorkflow.request_extension,
            RequestExtension(actor=clerk, hours=500, reason="x"),
        )
    before = await eventually(client, ticket.ticket_no, lambda r: r.status is TicketStatus.SIGNED)
    requested = await act(
        client,
        ticket.ticket_no,
        TicketWorkflow.request_extension,
        RequestExtension(actor=clerk, hours=48, reason="需勘查"),
    )
    with pytest.raises(ActionFailed, match="已有延期申请待审批"):
        await act(
            client,
            ticket.ticket_no,
            TicketWorkflow.request_extension,
            RequestExtension(actor=clerk, hours=8, reason="再延"),
        )
    await act(client, ticket.ticket_no, TicketWorkflow.approve, Decide(actor=lead, approval_id=requested.approval_id))
    after = await eventually(client, ticket.ticket_no, lambda r: r.extensions_granted == 1)
    assert after.resolve_due - before.resolve_due == timedelta(hours=48)
    with pytest.raises(ActionFailed, match="延期次数已达上限"):
        await act(
            client,
            ticket.ticket_no,
            TicketWorkflow.request_extension,
            RequestExtension(actor=clerk, hours=8, reason="再延"),
        )
    assert [a.action for a in after.actions][-2:] == ["申请延期", "批准延期"]


async def test_unsatisfied_callback_sends_the_ticket_back_for_redo(client, config, workers, tmp_path):
    ticket = sample_ticket()
    await submit(client, config, ticket)
    await eventually(client, ticket.ticket_no, awaiting_sign_for)
    await handle_to_answer(client, config, ticket.ticket_no, "cgj_sun")
    result = await call_back(client, config, ticket.ticket_no, False, Satisfaction.UNSATISFIED)
    assert result.message == "回访不满意或未解决，待中心核查"
    redo = VerifyTicket(actor=person(config, "zhangli"), decision=VerifyDecision.REDO, reason="诉求人仍反映未清运")
    assert "重办" in (await act(client, ticket.ticket_no, TicketWorkflow.verify, redo)).message
    record = await eventually(
        client, ticket.ticket_no, lambda r: r.status is TicketStatus.AWAITING_SIGN_FOR and r.dispatch_round == 2
    )
    assert record.redo_count == 1 and record.assignment.department == "cgj"
    keys = [d["delivery"]["idempotency_key"] for d in inbox(tmp_path, "cgj")]
    assert keys == [f"{ticket.ticket_no}#1", f"{ticket.ticket_no}#2"]
    assert inbox(tmp_path, "cgj")[1]["delivery"]["redo"] is True
    await handle_to_answer(client, config, ticket.ticket_no, "cgj_sun")
    await call_back(client, config, ticket.ticket_no, True, Satisfaction.SATISFIED)
    result = await outcome(client, ticket.ticket_no)
    assert result.status is TicketStatus.CLOSED and result.redo_count == 1
    # Each dispatch, the redo's too, is published once: when delivered, with its new due time.
    events = [e async for e in client.get_workflow_handle(workflow_id_for(ticket.ticket_no)).fetch_history_events()]
    dues = [u for u in upserts(events) if "HotlineResolveDue" in u]
    assert [u.get("HotlineStatus") for u in dues] == ["待签收", "待签收"]
    assert dues[0]["HotlineResolveDue"] != dues[1]["HotlineResolveDue"]


async def test_no_route_waits_for_manual_dispatch_by_the_shift_lead(client, config, workers, tmp_path):
    ticket = sample_ticket(
        "政策咨询",
        kind=RequestKind.QUESTION,
        title="退休人员能否参加职业技能培训",
        content="想了解退休后能否参加区里的技能培训班。",
    )
    await submit(client, config, ticket)
    record = await eventually(client, ticket.ticket_no, lambda r: r.status is TicketStatus.AWAITING_DISPATCH)
    assert record.assignment is None and inbox(tmp_path, "rsj") == []
    with pytest.raises(ActionFailed, match="仅限值班长"):
        await act(
            client,
            ticket.ticket_no,
            TicketWorkflow.dispatch,
            ManualDispatch(actor=person(config, "liumei"), to=assignment_for(config, "rsj")),
        )
    await act(
        client,
        ticket.ticket_no,
        TicketWorkflow.dispatch,
        ManualDispatch(actor=person(config, "zhangli"), to=assignment_for(config, "rsj")),
    )
    record = await eventually(client, ticket.ticket_no, awaiting_sign_for)
    assert record.assignment.department == "rsj" and len(inbox(tmp_path, "rsj")) == 1
    with pytest.raises(ActionFailed, match="仅在「待派遣」、「派遣失败」时可派遣"):
        await act(
            client,
            ticket.ticket_no,
            TicketWorkflow.dispatch,
            ManualDispatch(actor=person(config, "zhangli"), to=assignment_for(config, "zjj")),
        )


async def test_question_answered_by_the_knowledge_base_closes_at_intake(client, config, workers, tmp_path):
    ticket = sample_ticket(
        "供暖/煤改电",
        "千里山镇",
        kind=RequestKind.QUESTION,
        title="煤改电补贴怎么申请",
        content="请问煤改电的补贴标准和申请方式？",
    )
    submitted = await submit(client, config, ticket)
    result = await outcome(client, submitted.workflow_id)
    assert result.status is TicketStatus.ANSWERED_DIRECTLY and result.department is None
    assert inbox(tmp_path, "gdgs") == []


async def test_validators_refuse_wrong_department_wrong_state_and_wrong_role(client, config, workers):
    ticket = sample_ticket()
    submitted = await submit(client, config, ticket)
    await eventually(client, ticket.ticket_no, awaiting_sign_for)
    other = person(config, "zjj_li")  # 住建局: not the assigned department
    with pytest.raises(ActionFailed, match=r"李建国.*不属于承办单位 区城市管理综合执法局"):
        await act(client, ticket.ticket_no, TicketWorkflow.sign_for, SignFor(actor=other))
    clerk = person(config, "cgj_sun")
    with pytest.raises(ActionFailed, match="仅在「已签收」、「已联系」时可联系诉求人"):
        await act(client, ticket.ticket_no, TicketWorkflow.contact_citizen, ContactCitizen(actor=clerk))
    with pytest.raises(ActionFailed, match="无权操作，仅限承办单位经办人"):
        await act(client, ticket.ticket_no, TicketWorkflow.sign_for, SignFor(actor=person(config, "zhangli")))
    with pytest.raises(ActionFailed, match="仅在「待回访」时可回访"):
        await call_back(client, config, ticket.ticket_no, True, Satisfaction.SATISFIED)
    with pytest.raises(ActionFailed, match="仅限中心回访员、值班长"):
        callback = Callback(resolved=True, satisfaction=Satisfaction.SATISFIED)
        await act(
            client, ticket.ticket_no, TicketWorkflow.record_callback, RecordCallback(actor=clerk, callback=callback)
        )
    await act(client, ticket.ticket_no, TicketWorkflow.sign_for, SignFor(actor=clerk))
    with pytest.raises(ActionFailed, match="请先联系诉求人"):
        await act(
            client,
            ticket.ticket_no,
            TicketWorkflow.answer,
            GiveAnswer(actor=clerk, answer=Answer(text="x", resolved=True)),
        )
    with pytest.raises(ActionFailed, match="没有编号为 R9"):
        await act(
            client, ticket.ticket_no, TicketWorkflow.approve, Decide(actor=person(config, "zhangli"), approval_id="R9")
        )
    # Refused actions never reach the history: only the one accepted sign-for is there.
    events = [e async for e in client.get_workflow_handle(submitted.workflow_id).fetch_history_events()]
    accepted = [e for e in events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED]
    assert len(accepted) == 1


async def test_same_ticket_submitted_twice_yields_one_workflow(client, config, workers):
    ticket = sample_ticket()
    first = await submit(client, config, ticket)
    second = await submit(client, config, ticket.model_copy(update={"title": "重复来电"}))
    assert not first.duplicate and second.duplicate and first.workflow_id == second.workflow_id
    runs = [w async for w in client.list_workflows(f"WorkflowId = '{first.workflow_id}'")]
    assert len({w.run_id for w in runs}) <= 1
    # The duplicate never reached the workflow: the original title stands.
    record = await eventually(client, ticket.ticket_no, awaiting_sign_for)
    assert record.ticket.title == ticket.title
