"""The same human action sent twice (a client's retry, under one update id) is applied once.

For every update a ticket takes — 签收, 联系诉求人, 答复, 退单 and 延期 requests, the shift lead's
approvals and rejections, 回访, 人工派遣, 协办签收/协办报告, 上转市级, 并单/解除并单, 现场确权 — the
second call with the same update id returns the first call's result, not an error; the ticket is
exactly as the first call left it (its log holds one entry, its counters and clocks are unchanged,
the history holds one accepted update for that id), and no department hears of it twice. Sent
again as a new action (another id) it is refused by the validator with a reason where the state no
longer allows it; where it does (a second 联系诉求人, a second 现场确权) it is a new action.

On Temporal's dev server: the server keeps the outcome of each update id of a workflow, also after
the workflow has closed, so the retry never reaches the validator.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from domain.commands import (
    ActionResult,
    AssistReport,
    ContactCitizen,
    Decide,
    DetermineOwner,
    GiveAnswer,
    LinkTicket,
    ManualDispatch,
    RecordCallback,
    RequestExtension,
    RequestReturn,
    SignFor,
    TransferToCity,
    Unlink,
    VerifyTicket,
)
from domain.config import DistrictConfig
from domain.intake import assignment_for, workflow_id_for
from domain.models import Answer, ApprovalState, Callback, RequestKind, Satisfaction, TicketStatus, VerifyDecision
from domain.ticket_record import AssistStatus, TicketRecord
from starter.tickets import ActionFailed, act, outcome, submit, view
from tests.support.helpers import eventually, person, sample_ticket
from workflows.ticket import TicketWorkflow

pytestmark = pytest.mark.workers(replaying=True)


# ----- helpers ---------------------------------------------------------------------------------------


def settled(record: TicketRecord) -> bool:
    """Nothing in flight: no delivery under way, no notice waiting."""
    return not record.outbox and not record.pending_dispatch and record.status is not TicketStatus.DISPATCHING


async def sent_twice(client: Client, no: str, update: Any, command: Any) -> tuple[ActionResult, TicketRecord]:
    """Send the action, then again under the same update id (a client retrying after a lost answer):
    the same result comes back, and the ticket is exactly as the first call left it."""
    update_id = f"retry-{uuid.uuid4().hex}"
    first = await act(client, no, update, command, update_id=update_id)
    before = await quiet(client, no)
    second = await act(client, no, update, command, update_id=update_id)
    after = await quiet(client, no)
    assert second == first
    assert after == before
    assert await updates_accepted(client, no, update_id) == 1
    return first, after


async def quiet(client: Client, no: str, timeout: float = 20.0) -> TicketRecord:
    """The ticket once nothing is in flight: no workflow task pending (a query answered meanwhile may
    show a state its task has not yet recorded, under another time) and no delivery or notice under way."""
    handle = client.get_workflow_handle(workflow_id_for(no))
    deadline = time.monotonic() + timeout
    while True:
        first = (await handle.describe()).raw_description
        record = await view(client, no)
        then = (await handle.describe()).raw_description
        still = first.workflow_execution_info.history_length == then.workflow_execution_info.history_length
        idle = not first.HasField("pending_workflow_task") and not then.HasField("pending_workflow_task")
        if settled(record) and still and idle:
            return record
        if time.monotonic() > deadline:
            raise AssertionError(f"ticket {no} never settled; last: {record.status}")
        await asyncio.sleep(0.05)


async def updates_accepted(client: Client, no: str, update_id: str) -> int:
    """How many updates with this id the workflow's history accepted."""
    handle = client.get_workflow_handle(workflow_id_for(no))
    ids = [
        e.workflow_execution_update_accepted_event_attributes.accepted_request.meta.update_id
        async for e in handle.fetch_history_events()
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
    ]
    return ids.count(update_id)


def logged(record: TicketRecord, action: str) -> int:
    return [a.action for a in record.actions].count(action)


def received(tmp_path: Path, department: str, kind: str = "tickets") -> list[dict[str, Any]]:
    folder = tmp_path / department / kind
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))]


async def delivered(client: Client, config: DistrictConfig, *, steps: tuple[str, ...] = ()) -> str:
    """A 市容环卫 ticket at cgj, taken through the given steps (sign, contact, answer)."""
    ticket = sample_ticket()
    no = ticket.ticket_no
    await submit(client, config, ticket)
    await eventually(client, no, lambda r: r.status is TicketStatus.AWAITING_SIGN_FOR)
    clerk = person(config, "cgj_sun")
    if "sign" in steps:
        await act(client, no, TicketWorkflow.sign_for, SignFor(actor=clerk))
    if "contact" in steps:
        await act(client, no, TicketWorkflow.contact_citizen, ContactCitizen(actor=clerk, note="已电话联系"))
    if "answer" in steps:
        answer = GiveAnswer(actor=clerk, answer=Answer(text="已清运", resolved=True))
        await act(client, no, TicketWorkflow.answer, answer)
    return no


def callback(config: DistrictConfig, satisfaction: Satisfaction) -> RecordCallback:
    resolved = satisfaction is not Satisfaction.UNSATISFIED
    return RecordCallback(
        actor=person(config, "liumei"), callback=Callback(resolved=resolved, satisfaction=satisfaction)
    )


# ----- the department's steps ---------------------------------------------------------------------


async def test_sign_for_twice_is_signed_once(client, config, workers) -> None:
    no = await delivered(client, config)
    sign = SignFor(actor=person(config, "cgj_sun"))

    result, record = await sent_twice(client, no, TicketWorkflow.sign_for, sign)

    assert result.message == "已签收" and result.status is TicketStatus.SIGNED
    assert logged(record, "签收") == 1 and record.signed_on_time
    with pytest.raises(ActionFailed, match="工单当前状态为「已签收」，仅在「待签收」时可签收"):
        await act(client, no, TicketWorkflow.sign_for, sign)


async def test_contact_twice_is_logged_once_and_a_new_contact_is_a_new_entry(client, config, workers) -> None:
    no = await delivered(client, config, steps=("sign",))
    contact = ContactCitizen(actor=person(config, "cgj_sun"), note="已电话联系")

    result, record = await sent_twice(client, no, TicketWorkflow.contact_citizen, contact)

    assert result.status is TicketStatus.CONTACTED and logged(record, "联系诉求人") == 1
    contacted_at = record.contacted_at
    # Contacting the citizen again is allowed (已联系): a new action, a new entry; the clock stays stopped.
    again = await act(client, no, TicketWorkflow.contact_citizen, contact)
    record = await view(client, no)
    assert again.status is TicketStatus.CONTACTED and logged(record, "联系诉求人") == 2
    assert record.contacted_at == contacted_at


async def test_answer_twice_is_answered_once(client, config, workers) -> None:
    no = await delivered(client, config, steps=("sign", "contact"))
    answer = GiveAnswer(actor=person(config, "cgj_sun"), answer=Answer(text="已清运", resolved=True))

    result, record = await sent_twice(client, no, TicketWorkflow.answer, answer)

    assert result.status is TicketStatus.AWAITING_CALLBACK and logged(record, "答复") == 1
    with pytest.raises(ActionFailed, match="工单当前状态为「待回访」，仅在「已联系」时可答复"):
        await act(client, no, TicketWorkflow.answer, answer)


async def test_a_return_request_twice_opens_one_approval(client, config, workers) -> None:
    no = await delivered(client, config, steps=("sign",))
    request = RequestReturn(actor=person(config, "cgj_sun"), reason="属小区物业管理范围")

    result, record = await sent_twice(client, no, TicketWorkflow.request_return, request)

    assert result.approval_id == "R1" and result.status is TicketStatus.RETURN_PENDING
    assert [a.id for a in record.approvals] == ["R1"] and logged(record, "申请退单") == 1
    with pytest.raises(ActionFailed, match="工单当前状态为「退单审批中」"):
        await act(client, no, TicketWorkflow.request_return, request)


async def test_an_extension_request_twice_opens_one_approval(client, config, workers) -> None:
    no = await delivered(client, config, steps=("sign",))
    request = RequestExtension(actor=person(config, "cgj_sun"), working_days=2, reason="需现场勘查")

    result, record = await sent_twice(client, no, TicketWorkflow.request_extension, request)

    assert result.approval_id == "E1" and [a.id for a in record.approvals] == ["E1"]
    assert logged(record, "申请延期") == 1
    with pytest.raises(ActionFailed, match="已有延期申请待审批"):
        await act(client, no, TicketWorkflow.request_extension, request)


# ----- the shift lead's decisions -----------------------------------------------------------------


async def test_approving_a_return_twice_reassigns_once(client, config, workers, tmp_path) -> None:
    no = await delivered(client, config, steps=("sign",))
    await act(client, no, TicketWorkflow.request_return, RequestReturn(actor=person(config, "cgj_sun"), reason="x"))
    approve = Decide(actor=person(config, "zhangli"), approval_id="R1", reassign_to=assignment_for(config, "bhjd"))

    result, record = await sent_twice(client, no, TicketWorkflow.approve, approve)

    assert result.message == "已批准 R1"
    assert record.return_count == 1 and record.dispatch_round == 2 and record.assignment.department == "bhjd"
    assert logged(record, "批准退单") == 1 and record.approvals[0].state is ApprovalState.APPROVED
    assert len(received(tmp_path, "bhjd")) == 1  # delivered once to the new department
    assert [n["notice"]["kind"] for n in received(tmp_path, "cgj", "notices")] == ["工单改派"]
    with pytest.raises(ActionFailed, match="申请 R1 已批准"):
        await act(client, no, TicketWorkflow.approve, approve)


async def test_approving_an_extension_twice_extends_once(client, config, workers, tmp_path) -> None:
    no = await delivered(client, config, steps=("sign",))
    clerk = person(config, "cgj_sun")
    await act(client, no, TicketWorkflow.request_extension, RequestExtension(actor=clerk, hours=48, reason="勘查"))
    due = (await view(client, no)).resolve_due
    approve = Decide(actor=person(config, "zhangli"), approval_id="E1")

    result, record = await sent_twice(client, no, TicketWorkflow.approve, approve)

    assert result.message == "已批准 E1" and record.extensions_granted == 1
    assert due is not None and record.resolve_due is not None and record.resolve_due > due
    assert logged(record, "批准延期") == 1
    assert [n["notice"]["kind"] for n in received(tmp_path, "cgj", "notices")] == ["延期批准"]
    with pytest.raises(ActionFailed, match="申请 E1 已批准"):
        await act(client, no, TicketWorkflow.approve, approve)


async def test_rejecting_twice_rejects_once(client, config, workers, tmp_path) -> None:
    no = await delivered(client, config, steps=("sign",))
    await act(client, no, TicketWorkflow.request_return, RequestReturn(actor=person(config, "cgj_sun"), reason="x"))
    reject = Decide(actor=person(config, "zhangli"), approval_id="R1", note="请继续办理")

    result, record = await sent_twice(client, no, TicketWorkflow.reject, reject)

    assert result.status is TicketStatus.SIGNED and logged(record, "驳回退单") == 1
    assert [n["notice"]["kind"] for n in received(tmp_path, "cgj", "notices")] == ["退单驳回"]
    with pytest.raises(ActionFailed, match="申请 R1 已驳回"):
        await act(client, no, TicketWorkflow.reject, reject)


async def test_manual_dispatch_twice_dispatches_once(client, config, workers, tmp_path) -> None:
    ticket = sample_ticket("政策咨询", kind=RequestKind.QUESTION, title="技能培训", content="退休后能否参加培训？")
    no = ticket.ticket_no
    await submit(client, config, ticket)  # no catalogue line: 待派遣
    await eventually(client, no, lambda r: r.status is TicketStatus.AWAITING_DISPATCH)
    dispatch = ManualDispatch(actor=person(config, "zhangli"), to=assignment_for(config, "rsj"))

    result, record = await sent_twice(client, no, TicketWorkflow.dispatch, dispatch)

    assert "区人力资源和社会保障局" in result.message
    assert record.dispatch_round == 1 and record.status is TicketStatus.AWAITING_SIGN_FOR
    assert logged(record, "人工派遣") == 1 and len(received(tmp_path, "rsj")) == 1
    with pytest.raises(ActionFailed, match="仅在「待派遣」、「派遣失败」时可派遣"):
        await act(client, no, TicketWorkflow.dispatch, dispatch)


async def test_transfer_to_the_city_twice_sends_it_up_once(client, config, workers, tmp_path) -> None:
    no = await delivered(client, config)
    transfer = TransferToCity(actor=person(config, "zhangli"), reason="涉及跨区河道治理，超出区级职权")

    result, record = await sent_twice(client, no, TicketWorkflow.transfer_to_city, transfer)

    assert result.status is TicketStatus.TRANSFERRED and logged(record, "上转市级") == 1
    assert (await outcome(client, no)).status is TicketStatus.TRANSFERRED
    assert len(list((tmp_path / "city" / "city").glob("*.json"))) == 1
    # The ticket has ended: the same retry still gets the first result; a new request is refused.
    again = await act(client, no, TicketWorkflow.transfer_to_city, transfer, update_id=await first_id(client, no))
    assert again == result
    with pytest.raises(ActionFailed, match="已结束"):
        await act(client, no, TicketWorkflow.transfer_to_city, transfer)


async def first_id(client: Client, no: str) -> str:
    """The id of the ticket's first accepted update."""
    handle = client.get_workflow_handle(workflow_id_for(no))
    async for e in handle.fetch_history_events():
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            return e.workflow_execution_update_accepted_event_attributes.accepted_request.meta.update_id
    raise AssertionError("no update accepted")


async def test_determining_the_owner_twice_reassigns_once(client, config, workers, tmp_path) -> None:
    no = await delivered(client, config)
    determine = DetermineOwner(actor=person(config, "zhangli"), lead=assignment_for(config, "bhjd"), note="现场确权")

    result, record = await sent_twice(client, no, TicketWorkflow.determine, determine)

    assert result.message == "已确权：主办 滨河街道办事处"
    assert record.dispatch_round == 2 and record.assignment.department == "bhjd"
    assert logged(record, "现场确权") == 1 and len(received(tmp_path, "bhjd")) == 1
    assert [n["notice"]["kind"] for n in received(tmp_path, "cgj", "notices")] == ["工单改派"]
    # Determining again (a new action) is allowed: it keeps the owner, and starts no new round.
    await act(client, no, TicketWorkflow.determine, determine)
    record = await eventually(client, no, settled)
    assert logged(record, "现场确权") == 2 and "维持原承办单位" in record.actions[-1].detail
    assert record.dispatch_round == 2 and len(received(tmp_path, "bhjd")) == 1


# ----- 回访 ----------------------------------------------------------------------------------------


async def test_an_unsatisfied_callback_twice_sends_the_ticket_back_once(client, config, workers, tmp_path) -> None:
    no = await delivered(client, config, steps=("sign", "contact", "answer"))

    result, record = await sent_twice(
        client, no, TicketWorkflow.record_callback, callback(config, Satisfaction.UNSATISFIED)
    )

    assert result.message == "回访不满意或未解决，待中心核查"
    assert record.status is TicketStatus.AWAITING_VERIFICATION and logged(record, "回访") == 1
    redo = VerifyTicket(actor=person(config, "zhangli"), decision=VerifyDecision.REDO, reason="仍未解决")
    result, record = await sent_twice(client, no, TicketWorkflow.verify, redo)
    record = await eventually(
        client, no, lambda r: r.dispatch_round == 2 and r.status is TicketStatus.AWAITING_SIGN_FOR
    )
    assert record.redo_count == 1 and logged(record, "重办") == 1
    assert [d["delivery"]["idempotency_key"] for d in received(tmp_path, "cgj")] == [f"{no}#1", f"{no}#2"]
    with pytest.raises(ActionFailed, match="仅在「待回访」时可回访"):
        await act(client, no, TicketWorkflow.record_callback, callback(config, Satisfaction.UNSATISFIED))


async def test_a_closing_callback_sent_again_after_the_ticket_closed_gets_the_first_result(
    client, config, workers
) -> None:
    no = await delivered(client, config, steps=("sign", "contact", "answer"))
    update_id = f"retry-{uuid.uuid4().hex}"
    satisfied = callback(config, Satisfaction.SATISFIED)

    first = await act(client, no, TicketWorkflow.record_callback, satisfied, update_id=update_id)
    assert (await outcome(client, no)).status is TicketStatus.CLOSED  # the workflow has ended
    second = await act(client, no, TicketWorkflow.record_callback, satisfied, update_id=update_id)

    assert first == second and first.status is TicketStatus.CLOSED and first.message == "已办结"
    record = await view(client, no)
    assert logged(record, "回访") == 1 and logged(record, "办结") == 1
    assert await updates_accepted(client, no, update_id) == 1
    with pytest.raises(ActionFailed, match="已结束"):  # a new callback on a closed ticket
        await act(client, no, TicketWorkflow.record_callback, satisfied)


# ----- 协办 and 并单 -------------------------------------------------------------------------------


async def test_an_assisting_departments_sign_for_and_report_twice_apply_once(client, config, workers) -> None:
    ticket = sample_ticket("供水供电", urgency="紧急", title="小区突发停水", content="整栋楼停水。")
    no = ticket.ticket_no
    await submit(client, config, ticket)  # lead sw; gdgs and cgj assist
    await eventually(
        client, no, lambda r: len(r.assists) == 2 and all(a.status is AssistStatus.AWAITING_SIGN_FOR for a in r.assists)
    )
    gdgs = person(config, "gdgs_wu")

    signed, record = await sent_twice(client, no, TicketWorkflow.assist_sign_for, SignFor(actor=gdgs))
    assert signed.message == "协办已签收" and logged(record, "协办签收") == 1
    with pytest.raises(ActionFailed, match="当前为「已签收」"):
        await act(client, no, TicketWorkflow.assist_sign_for, SignFor(actor=gdgs))

    report = AssistReport(actor=gdgs, text="已抢修供电线路")
    reported, record = await sent_twice(client, no, TicketWorkflow.assist_report, report)
    assert reported.message == "协办情况已报告主办单位" and logged(record, "协办报告") == 1
    assert record.assist("gdgs").status is AssistStatus.REPORTED
    with pytest.raises(ActionFailed, match="当前为「已报告」"):
        await act(client, no, TicketWorkflow.assist_report, report)


async def test_merging_and_unmerging_twice_apply_once(client, config, workers, tmp_path) -> None:
    main, other = await delivered(client, config), await delivered(client, config)
    lead = person(config, "zhangli")
    link = LinkTicket(actor=lead, main_ticket=main)

    merged, record = await sent_twice(client, other, TicketWorkflow.link, link)
    assert merged.status is TicketStatus.MERGED and logged(record, "并单") == 1
    await eventually(client, main, lambda r: r.linked == [workflow_id_for(other)])
    assert logged(await view(client, main), "并入重复工单") == 1
    with pytest.raises(ActionFailed, match="工单当前状态为「已并单」"):
        await act(client, other, TicketWorkflow.link, link)

    unlink = Unlink(actor=lead, note="经核实为不同事项")
    unmerged, record = await sent_twice(client, other, TicketWorkflow.unlink, unlink)
    assert logged(record, "解除并单") == 1 and record.dispatch_round == 2
    assert record.status is TicketStatus.AWAITING_SIGN_FOR
    await eventually(client, main, lambda r: r.linked == [])
    with pytest.raises(ActionFailed, match="仅在「已并单」时可解除并单"):
        await act(client, other, TicketWorkflow.unlink, unlink)
    assert unmerged.message == "已解除并单，单独办理"
