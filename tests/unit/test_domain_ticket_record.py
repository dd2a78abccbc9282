"""TicketRecord as a pure state machine: no Temporal, explicit times.

T0 is Monday 2024-05-06 17:00 China time; the week after it has no holidays (劳动节 ended on May 5,
and Saturday May 11 was a make-up workday), so working days are easy to count by hand.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import TypeAdapter, ValidationError

from activities.runtime.calendar_source import calendar_for
from activities.runtime.settings import actor_for
from domain.calendar import Duration, Span, Unit
from domain.commands import RequestExtension
from domain.config import DistrictConfig
from domain.deadlines import TICKET_CLOCKS, ClockKind
from domain.delivery import NoticeKind
from domain.intake import IntakePlan, TicketPolicy, assignment_for
from domain.models import (
    Actor,
    Answer,
    ApprovalKind,
    ApprovalState,
    Callback,
    ClosureCategory,
    ExemptionReason,
    PauseReason,
    Satisfaction,
    TicketStatus,
    VerifyDecision,
)
from domain.records import ActionRefused
from domain.ticket_record import TicketRecord
from tests.support.helpers import sample_ticket
from tests.support.records import T0, delivered, plan_for

SIGNED = T0 + timedelta(minutes=30)
WORKING_DAY = timedelta(days=1)  # Monday to Friday of that week: one working day is one calendar day


def who(config: DistrictConfig, person_id: str) -> Actor:
    return actor_for(config, person_id)


def span(text: str) -> Span:
    """A duration as the policy and the CLI write it ("24h", "3wd")."""
    return TypeAdapter(Duration).validate_python(text)


def signed(config: DistrictConfig, urgency: str = "一般") -> TicketRecord:
    record = delivered(config, urgency)
    clerk = who(config, "cgj_sun")
    record.check_sign_for(clerk)
    record.sign_for(clerk, SIGNED)
    return record


def refused(check: object, *args: object) -> str:
    """Call a check_* method, expect a refusal and return its reason."""
    with pytest.raises(ActionRefused) as info:
        check(*args)  # type: ignore[operator]  # a record's check_* method, typed object
    return str(info.value)


# --- intake and dispatch ---------------------------------------------------------------------


def test_receive_with_a_route_waits_for_delivery(config: DistrictConfig) -> None:
    record = delivered(config)

    assert record.status is TicketStatus.AWAITING_SIGN_FOR and not record.pending_dispatch
    assert record.assignment is not None and record.assignment.department == "cgj"
    # The 一般 tier: sign for within 2h, contact within 1 working day, answer within 7 natural days.
    assert record.sign_for_due == T0 + timedelta(hours=2)
    assert record.clock(ClockKind.CONTACT).due_at == T0 + WORKING_DAY
    assert record.resolve_due == T0 + timedelta(days=7)
    assert record.return_deadline == T0 + 2 * WORKING_DAY
    assert [(c.kind, c.round, c.running) for c in record.clocks] == [(kind, 1, True) for kind in TICKET_CLOCKS]
    assert [a.action for a in record.actions] == ["受理", "派遣"]


def test_receive_without_a_route_waits_for_the_shift_lead(config: DistrictConfig) -> None:
    ticket = sample_ticket("政策咨询", title="培训政策", content="想了解培训政策。")
    record = TicketRecord.receive(ticket, plan_for(config, ticket), T0)

    assert record.status is TicketStatus.AWAITING_DISPATCH and record.assignment is None
    assert "仅限值班长" in refused(record.check_dispatch, who(config, "liumei"), assignment_for(config, "rsj"))
    record.check_dispatch(who(config, "zhangli"), assignment_for(config, "rsj"))


def test_dispatch_is_refused_once_dispatched(config: DistrictConfig) -> None:
    record = delivered(config)

    reason = refused(record.check_dispatch, who(config, "zhangli"), assignment_for(config, "zjj"))

    assert "拒绝派遣" in reason and "「待签收」" in reason and "「待派遣」、「派遣失败」" in reason


def test_failed_delivery_may_be_dispatched_by_hand(config: DistrictConfig) -> None:
    record = delivered(config)
    record.start_delivery(T0 + timedelta(minutes=1))
    record.delivery_failed(T0 + timedelta(minutes=2), "HTTP 422 from http://cgj: bad")
    lead = who(config, "zhangli")

    assert record.status is TicketStatus.DISPATCH_FAILED and record.dispatch_error is not None
    record.check_dispatch(lead, assignment_for(config, "zjj"))
    record.dispatch(lead, assignment_for(config, "zjj"), T0 + timedelta(minutes=3))
    assert record.pending_dispatch and record.assignment == assignment_for(config, "zjj")
    assert record.start_delivery(T0 + timedelta(minutes=4)) == 3
    assert record.dispatch_error is None


def test_a_blocked_delivery_may_be_redirected_elsewhere_and_the_old_unit_is_told(config: DistrictConfig) -> None:
    record = delivered(config)
    record.start_delivery(T0 + timedelta(minutes=1))
    lead, cgj, zjj = who(config, "zhangli"), assignment_for(config, "cgj"), assignment_for(config, "zjj")
    assert "「派遣中」" in refused(record.check_dispatch, lead, zjj)  # failing, not yet 派遣受阻

    record.delivery_blocked(T0 + timedelta(minutes=16), cgj, "HTTP 503：系统维护中")
    assert "改派请选择其他单位" in refused(record.check_dispatch, lead, cgj)
    assert "仅限值班长" in refused(record.check_dispatch, who(config, "cgj_sun"), zjj)
    record.check_dispatch(lead, zjj)
    record.outbox.clear()
    record.dispatch(lead, zjj, T0 + timedelta(minutes=20))

    assert record.pending_dispatch and record.assignment == zjj and record.delivery_blocked_at is None
    [told] = record.outbox
    assert (told.department, told.kind) == (cgj, NoticeKind.WITHDRAWN) and "已改派 区住房和城乡建设局" in told.text
    assert record.actions[-1].action == "人工改派" and "区城市管理综合执法局系统派遣受阻" in record.actions[-1].detail
    assert "「派遣中」" in refused(record.check_dispatch, lead, cgj)  # once redirected: not again until blocked


# --- checks refuse with a reason and change nothing ------------------------------------------


def test_wrong_department_is_refused(config: DistrictConfig) -> None:
    record = delivered(config)
    before = record.model_dump()

    reason = refused(record.check_sign_for, who(config, "zjj_li"))

    assert reason == "拒绝签收：李建国(zjj·承办单位经办人) 不属于承办单位 区城市管理综合执法局"
    assert record.model_dump() == before


def test_wrong_role_is_refused(config: DistrictConfig) -> None:
    record = delivered(config)

    reason = refused(record.check_sign_for, who(config, "zhangli"))
    callback_reason = refused(record.check_callback, who(config, "cgj_sun"))

    assert "拒绝签收" in reason and "无权操作" in reason and "仅限承办单位经办人" in reason
    assert "拒绝回访" in callback_reason and "仅限中心回访员、值班长" in callback_reason


def test_wrong_state_is_refused(config: DistrictConfig) -> None:
    record = delivered(config)
    clerk = who(config, "cgj_sun")

    contact = refused(record.check_contact, clerk)
    answer = refused(record.check_answer, clerk)
    extension = refused(record.check_request_extension, clerk, span("24h"), "需勘查", T0)
    callback = refused(record.check_callback, who(config, "liumei"))

    assert contact == "拒绝联系诉求人：工单当前状态为「待签收」，仅在「已签收」、「已联系」时可联系诉求人"
    assert "工单当前状态为「待签收」" in answer and "仅在「已联系」时可答复" in answer
    assert "仅在「已签收」、「已联系」时可申请延期" in extension
    assert "仅在「待回访」时可回访" in callback


def test_answer_before_contact_is_refused(config: DistrictConfig) -> None:
    record = signed(config)

    assert refused(record.check_answer, who(config, "cgj_sun")) == "拒绝答复：请先联系诉求人"


def test_sign_for_twice_is_refused(config: DistrictConfig) -> None:
    record = signed(config)

    assert "工单当前状态为「已签收」" in refused(record.check_sign_for, who(config, "cgj_sun"))
    assert record.signed_on_time is True


# --- 退单 (return) -----------------------------------------------------------------------------


def test_return_within_the_window_is_allowed(config: DistrictConfig) -> None:
    record = signed(config)
    assert record.plan.deadlines is not None and record.plan.deadlines.return_window == span("2wd")

    record.check_request_return(who(config, "cgj_sun"), "不属本单位", T0 + 2 * WORKING_DAY)


def test_return_after_the_window_is_refused(config: DistrictConfig) -> None:
    record = signed(config)
    late = T0 + 2 * WORKING_DAY + timedelta(minutes=1)

    reason = refused(record.check_request_return, who(config, "cgj_sun"), "不属本单位", late)

    assert reason == "拒绝退单：已超过退单时限（派遣后2个工作日内，截至 2024-05-08 17:00），须由本单位办理"


def test_return_window_counts_working_days_not_hours(config: DistrictConfig) -> None:
    """Dispatched on Friday 2024-05-10 17:00 (China time): the weekend does not count, but Saturday
    May 11 is a make-up workday (劳动节调休), so the window ends on Monday, not on Tuesday."""
    friday = datetime(2024, 5, 10, 9, 0, tzinfo=UTC)
    ticket = sample_ticket(ticket_no="HX-RECORD-2")
    record = TicketRecord.receive(ticket, plan_for(config, ticket), friday)
    record.start_delivery(friday)
    record.delivered(friday, "cgj/tickets/HX-RECORD-2_round1.json")
    clerk = who(config, "cgj_sun")

    assert record.return_deadline == datetime(2024, 5, 13, 9, 0, tzinfo=UTC)
    record.check_request_return(clerk, "不属本单位", friday + timedelta(days=3))
    reason = refused(record.check_request_return, clerk, "不属本单位", friday + timedelta(days=3, seconds=1))
    assert "截至 2024-05-13 17:00" in reason


def test_return_rejected_restores_the_status_it_had(config: DistrictConfig) -> None:
    record = signed(config)
    clerk, lead = who(config, "cgj_sun"), who(config, "zhangli")
    approval = record.request_return(clerk, "不属本单位", SIGNED + timedelta(hours=1), "R1")
    assert record.status is TicketStatus.RETURN_PENDING and approval.kind is ApprovalKind.RETURN

    record.check_decision(lead, "R1", None, approve=False)
    record.reject(lead, "R1", "属本单位职责，请办理", SIGNED + timedelta(hours=2))

    assert record.status is TicketStatus.SIGNED
    assert record.approvals[0].state is ApprovalState.REJECTED and record.approvals[0].decided_by == lead
    assert [(n.kind, n.department.department, n.text) for n in record.outbox] == [
        (NoticeKind.RETURN_REJECTED, "cgj", "属本单位职责，请办理")
    ]
    assert record.return_count == 0
    assert "已驳回" in refused(record.check_decision, lead, "R1", None, False)


def test_return_rejected_before_sign_for_goes_back_to_awaiting_sign_for(config: DistrictConfig) -> None:
    record = delivered(config)
    clerk, lead = who(config, "cgj_sun"), who(config, "zhangli")
    record.check_request_return(clerk, "不属本单位", T0 + timedelta(hours=1))
    record.request_return(clerk, "不属本单位", T0 + timedelta(hours=1), "R1")

    record.reject(lead, "R1", "请办理", T0 + timedelta(hours=2))

    assert record.status is TicketStatus.AWAITING_SIGN_FOR


def test_return_rejected_after_contact_goes_back_to_contacted(config: DistrictConfig) -> None:
    record = signed(config)
    clerk, lead = who(config, "cgj_sun"), who(config, "zhangli")
    record.contact(clerk, "已电话联系", SIGNED + timedelta(minutes=10))
    record.request_return(clerk, "不属本单位", SIGNED + timedelta(hours=1), "R1")

    record.reject(lead, "R1", "请办理", SIGNED + timedelta(hours=2))

    assert record.status is TicketStatus.CONTACTED


def test_return_approved_reassigns_and_tells_the_old_department(config: DistrictConfig) -> None:
    record = signed(config)
    clerk, lead = who(config, "cgj_sun"), who(config, "zhangli")
    record.request_return(clerk, "属物业管理范围", SIGNED + timedelta(hours=1), "R1")
    to = assignment_for(config, "bhjd")

    assert "须指定改派单位" in refused(record.check_decision, lead, "R1", None, True)
    assert "不能是原承办单位" in refused(record.check_decision, lead, "R1", assignment_for(config, "cgj"), True)
    assert "仅限值班长" in refused(record.check_decision, clerk, "R1", to, True)
    record.check_decision(lead, "R1", to, approve=True)
    record.approve(lead, "R1", to, "改派滨河街道", SIGNED + timedelta(hours=2))

    assert record.assignment == to and record.pending_dispatch and record.return_count == 1
    assert record.status is TicketStatus.DISPATCHING
    [notice] = record.outbox
    assert notice.kind is NoticeKind.WITHDRAWN
    assert notice.department == assignment_for(config, "cgj")
    assert "滨河街道办事处" in notice.text
    assert record.approvals[0].state is ApprovalState.APPROVED and record.approvals[0].reassigned_to == "bhjd"
    # The old department's clerk may no longer act.
    assert "不属于承办单位 滨河街道办事处" in refused(record.check_sign_for, clerk)


# --- 延期 (extension) --------------------------------------------------------------------------


def test_extension_after_the_resolve_due_is_refused(config: DistrictConfig) -> None:
    record = signed(config, urgency="紧急")
    assert record.resolve_due == T0 + timedelta(hours=2)
    clerk = who(config, "cgj_sun")

    record.check_request_extension(clerk, span("4h"), "需勘查", T0 + timedelta(hours=2))  # at the due time: allowed
    reason = refused(record.check_request_extension, clerk, span("4h"), "需勘查", T0 + timedelta(hours=2, seconds=1))

    assert reason == "拒绝延期申请：须在办理期限届满前申请"


def test_extension_beyond_max_extensions_is_refused(config: DistrictConfig) -> None:
    record = signed(config)
    clerk, lead = who(config, "cgj_sun"), who(config, "zhangli")
    due = record.resolve_due
    assert due is not None and record.plan.deadlines is not None
    assert record.plan.deadlines.extension.max_count == 1
    record.check_request_extension(clerk, span("24h"), "需勘查", SIGNED)
    approval = record.request_extension(clerk, span("24h"), "需勘查", SIGNED, "E1")
    assert approval.kind is ApprovalKind.EXTENSION and approval.extension == "24h"

    assert "已有延期申请待审批" in refused(record.check_request_extension, clerk, span("8h"), "再延", SIGNED)
    assert "延期申请不涉及改派" in refused(record.check_decision, lead, "E1", assignment_for(config, "zjj"), True)
    record.check_decision(lead, "E1", None, approve=True)
    record.approve(lead, "E1", None, "", SIGNED + timedelta(hours=1))

    assert record.resolve_due == due + timedelta(hours=24) and record.extensions_granted == 1
    assert record.clock(ClockKind.RESOLVE).due_at == record.resolve_due
    [notice] = record.outbox
    assert notice.kind is NoticeKind.EXTENSION_APPROVED
    assert notice.text == "延期24小时已批准，办理时限改为 2024-05-14 17:00"
    reason = refused(record.check_request_extension, clerk, span("8h"), "再延", SIGNED + timedelta(hours=2))
    assert reason == "拒绝延期申请：延期次数已达上限（1 次）"


def test_extension_in_working_days_skips_the_weekend(config: DistrictConfig) -> None:
    """Due Monday 2024-05-13 17:00 (China time): five working days later is the next Monday, not Saturday."""
    record = signed(config)
    clerk, lead = who(config, "cgj_sun"), who(config, "zhangli")
    assert record.resolve_due == datetime(2024, 5, 13, 9, 0, tzinfo=UTC)
    record.request_extension(clerk, span("5wd"), "需勘查", SIGNED, "E1")

    record.approve(lead, "E1", None, "同意", SIGNED + timedelta(hours=1))

    assert record.resolve_due == datetime(2024, 5, 20, 9, 0, tzinfo=UTC)  # Mon + 5 working days = next Mon
    assert record.actions[-1].action == "批准延期"
    assert record.actions[-1].detail == "延期5个工作日，办理时限改为 2024-05-20 17:00；同意"


@pytest.mark.parametrize("length", ["10wd", "336h", "14d"])
def test_extension_up_to_ten_working_days_is_allowed(config: DistrictConfig, length: str) -> None:
    """Ten working days after Monday 2024-05-13 17:00 is Monday 2024-05-27 17:00: 14 days, 336 hours."""
    record = signed(config)

    record.check_request_extension(who(config, "cgj_sun"), span(length), "需勘查", SIGNED)


@pytest.mark.parametrize("length", ["0h", "0wd", "11wd", "337h", "15d"])
def test_extension_length_out_of_range_is_refused(config: DistrictConfig, length: str) -> None:
    record = signed(config)

    reason = refused(record.check_request_extension, who(config, "cgj_sun"), span(length), "需勘查", SIGNED)

    assert reason == f"拒绝延期申请：延期最长10个工作日，申请的{span(length).label}超出"


@pytest.mark.parametrize(
    "fields",
    [{"hours": 0}, {"hours": -1}, {"working_days": 0}, {"working_days": 61}, {}, {"hours": 4, "working_days": 1}],
)
def test_extension_command_needs_one_positive_length(config: DistrictConfig, fields: dict[str, int]) -> None:
    with pytest.raises(ValidationError):
        RequestExtension(actor=who(config, "cgj_sun"), reason="需勘查", **fields)


def test_extension_command_gives_its_span(config: DistrictConfig) -> None:
    clerk = who(config, "cgj_sun")

    assert RequestExtension(actor=clerk, reason="需勘查", hours=24).span == span("24h")
    assert RequestExtension(actor=clerk, reason="需勘查", working_days=3).span == span("3wd")


def test_extension_rejected_keeps_the_due_time(config: DistrictConfig) -> None:
    record = signed(config)
    clerk, lead = who(config, "cgj_sun"), who(config, "zhangli")
    due = record.resolve_due
    record.request_extension(clerk, span("24h"), "需勘查", SIGNED, "E1")

    record.reject(lead, "E1", "期限内可办结", SIGNED + timedelta(hours=1))

    assert record.resolve_due == due and record.extensions_granted == 0 and record.status is TicketStatus.SIGNED
    assert [n.kind for n in record.outbox] == [NoticeKind.EXTENSION_REJECTED]
    record.check_request_extension(clerk, span("8h"), "再申请", SIGNED + timedelta(hours=2))  # none pending now


# --- 回访 (callback), 办结 and 重办 -------------------------------------------------------------


def answered(config: DistrictConfig) -> TicketRecord:
    record = signed(config)
    clerk = who(config, "cgj_sun")
    record.check_contact(clerk)
    record.contact(clerk, "已电话联系", SIGNED + timedelta(minutes=10))
    record.check_answer(clerk)
    record.give_answer(clerk, Answer(text="已清运", resolved=True), SIGNED + timedelta(hours=1))
    assert record.status is TicketStatus.AWAITING_CALLBACK and record.answered_on_time
    return record


@pytest.mark.parametrize(
    ("resolved", "satisfaction"),
    [(False, Satisfaction.SATISFIED), (True, Satisfaction.UNSATISFIED), (False, Satisfaction.UNSATISFIED)],
)
def test_callback_needing_redo_sends_the_ticket_back(
    config: DistrictConfig, resolved: bool, satisfaction: Satisfaction
) -> None:
    record = answered(config)
    operator = who(config, "liumei")
    record.check_callback(operator)

    record.record_callback(
        operator, Callback(resolved=resolved, satisfaction=satisfaction), SIGNED + timedelta(hours=2)
    )
    assert record.status is TicketStatus.AWAITING_VERIFICATION and not record.pending_dispatch
    lead = who(config, "zhangli")
    record.check_verify(lead, VerifyDecision.REDO)
    record.verify(lead, VerifyDecision.REDO, None, "诉求人仍反映未清运", SIGNED + timedelta(hours=2, minutes=5))

    assert record.redo_count == 1 and record.pending_dispatch
    assert record.status is TicketStatus.DISPATCHING and record.closed_at is None
    assert record.assignment is not None and record.assignment.department == "cgj"  # back to the same department
    assert [a.action for a in record.actions][-3:] == ["回访", "待核查", "重办"]
    assert record.actions[-1].actor == lead and "诉求人仍反映未清运" in record.actions[-1].detail
    assert record.start_delivery(SIGNED + timedelta(hours=3)) == 2
    assert record.signed_at is None and record.answered_at is None


def test_satisfied_callback_closes_the_ticket(config: DistrictConfig) -> None:
    record = answered(config)
    at = SIGNED + timedelta(hours=2)

    record.record_callback(who(config, "chenjing"), Callback(resolved=True, satisfaction=Satisfaction.SATISFIED), at)

    assert record.status is TicketStatus.CLOSED and record.status.is_final
    assert record.closed_at == at and record.redo_count == 0 and not record.pending_dispatch


def test_mark_overdue_logs_the_due_time(config: DistrictConfig) -> None:
    record = signed(config, urgency="紧急")

    record.mark_overdue(T0 + timedelta(hours=2))

    assert record.overdue
    assert record.actions[-1].action == "超期" and "2024-05-06 19:00" in record.actions[-1].detail


# --- requests that outlive their department ------------------------------------------------------


def test_pending_requests_lapse_when_the_ticket_is_reassigned(config: DistrictConfig) -> None:
    record = signed(config)
    clerk, lead = who(config, "cgj_sun"), who(config, "zhangli")
    record.request_extension(clerk, span("24h"), "需勘查", SIGNED, "E1")
    record.request_return(clerk, "不属本单位", SIGNED, "R2")
    record.approve(lead, "R2", assignment_for(config, "bhjd"), "", SIGNED + timedelta(hours=1))

    assert [a.state for a in record.approvals] == [ApprovalState.LAPSED, ApprovalState.APPROVED]
    assert not record.pending_approvals
    # cgj's old extension can no longer move bhjd's deadline.
    assert "已失效" in refused(record.check_decision, lead, "E1", None, True)


def test_a_decision_on_another_departments_request_is_refused(config: DistrictConfig) -> None:
    record = signed(config)
    record.request_extension(who(config, "cgj_sun"), span("24h"), "需勘查", SIGNED, "E1")
    # Simulate a request left pending by a department that no longer holds the ticket.
    record.assignment = assignment_for(config, "zjj")

    reason = refused(record.check_decision, who(config, "zhangli"), "E1", None, True)

    assert reason == "拒绝审批：申请单位已不是该工单的承办单位"


def test_pending_requests_lapse_on_redo(config: DistrictConfig) -> None:
    record = signed(config)
    clerk = who(config, "cgj_sun")
    record.contact(clerk, "", SIGNED)
    record.request_extension(clerk, span("24h"), "需勘查", SIGNED, "E1")
    record.give_answer(clerk, Answer(text="已处理", resolved=True), SIGNED + timedelta(hours=1))
    callback = Callback(resolved=False, satisfaction=Satisfaction.UNSATISFIED)
    record.record_callback(who(config, "liumei"), callback, SIGNED + timedelta(hours=2))

    assert record.approvals[0].state is ApprovalState.LAPSED and not record.pending_approvals


def test_extension_approved_after_the_deadline_makes_the_ticket_current_again(config: DistrictConfig) -> None:
    record = signed(config, urgency="紧急")  # the 紧急 tier: contact within 1h, answer within 2h
    clerk, lead = who(config, "cgj_sun"), who(config, "zhangli")
    record.contact(clerk, "已电话联系", T0 + timedelta(minutes=45))  # in time: only the answer is late
    record.request_extension(clerk, span("4h"), "需勘查", T0 + timedelta(hours=1), "E1")
    record.mark_overdue(T0 + timedelta(hours=2))
    record.approve(lead, "E1", None, "", T0 + timedelta(hours=3))

    assert record.resolve_due == T0 + timedelta(hours=6) and not record.overdue


def test_extension_does_not_excuse_a_late_contact(config: DistrictConfig) -> None:
    """The answer is current again, but the 响应 clock (1h) ran out without a contact: still overdue."""
    record = signed(config, urgency="紧急")
    clerk, lead = who(config, "cgj_sun"), who(config, "zhangli")
    record.request_extension(clerk, span("4h"), "需勘查", T0 + timedelta(minutes=50), "E1")
    record.approve(lead, "E1", None, "", T0 + timedelta(hours=3))

    assert record.resolve_due == T0 + timedelta(hours=6) and record.overdue


def test_extension_approved_too_late_to_help_leaves_it_overdue(config: DistrictConfig) -> None:
    record = signed(config, urgency="紧急")
    record.request_extension(who(config, "cgj_sun"), span("1h"), "需勘查", T0 + timedelta(hours=1), "E1")
    record.mark_overdue(T0 + timedelta(hours=2))
    record.approve(who(config, "zhangli"), "E1", None, "", T0 + timedelta(hours=4))

    assert record.resolve_due == T0 + timedelta(hours=3) and record.overdue


# --- first-release tickets (hour-based TicketPolicy, kept so that their histories replay) ---------


def first_release(config: DistrictConfig) -> TicketRecord:
    """A ticket planned by the first release: plain hours, no clocks; signed at SIGNED."""
    policy = TicketPolicy(
        sign_for_hours=2, resolve_hours=168, return_window_hours=48, max_extensions=1, max_extension_hours=240
    )
    plan = IntakePlan(route=assignment_for(config, "cgj"), policy=policy)
    record = TicketRecord.receive(sample_ticket(ticket_no="HX-LEGACY-1"), plan, T0)
    record.start_delivery(T0)
    record.delivered(T0, "cgj/tickets/HX-LEGACY-1_round1.json")
    record.sign_for(who(config, "cgj_sun"), SIGNED)
    return record


def test_first_release_ticket_keeps_its_hour_based_due_times(config: DistrictConfig) -> None:
    record = first_release(config)

    assert record.sign_for_due == T0 + timedelta(hours=2) and record.resolve_due == T0 + timedelta(hours=168)
    assert record.clocks == [] and record.return_deadline is None and record.next_clock_event() is None
    assert record.signed_on_time is True


def test_first_release_return_window_is_in_hours(config: DistrictConfig) -> None:
    record = first_release(config)
    clerk = who(config, "cgj_sun")

    record.check_request_return(clerk, "不属本单位", T0 + timedelta(hours=48))
    reason = refused(record.check_request_return, clerk, "不属本单位", T0 + timedelta(hours=48, minutes=1))

    assert reason == "拒绝退单：已超过退单时限（派遣后 48 小时内），须由本单位办理"


@pytest.mark.parametrize("length", ["0h", "241h", "1wd"])
def test_first_release_extension_must_be_whole_hours_in_range(config: DistrictConfig, length: str) -> None:
    record = first_release(config)

    reason = refused(record.check_request_extension, who(config, "cgj_sun"), span(length), "需勘查", SIGNED)

    assert reason == "拒绝延期申请：延期时长须在 1 至 240 小时之间"


def test_first_release_extension_approved_late_clears_overdue(config: DistrictConfig) -> None:
    record = first_release(config)
    clerk, lead = who(config, "cgj_sun"), who(config, "zhangli")
    due = T0 + timedelta(hours=168)
    record.check_request_extension(clerk, span("240h"), "需勘查", SIGNED)
    record.request_extension(clerk, span("24h"), "需勘查", SIGNED, "E1")
    record.mark_overdue(due)

    record.approve(lead, "E1", None, "", due + timedelta(hours=1))

    assert record.resolve_due == due + timedelta(hours=24) and not record.overdue
    reason = refused(record.check_request_extension, clerk, span("1h"), "再延", due + timedelta(hours=2))
    assert reason == "拒绝延期申请：延期次数已达上限（1 次）"


def test_an_extension_asked_before_the_answer_lapses_with_it(config: DistrictConfig) -> None:
    """Approving it afterwards would move a stopped clock; the request lapses at the answer instead."""
    record = signed(config)
    clerk, lead = who(config, "cgj_sun"), who(config, "zhangli")
    record.contact(clerk, "", SIGNED)
    record.request_extension(clerk, Span(amount=2, unit=Unit.WORKING_DAYS), "需勘查", SIGNED, "E1")
    record.give_answer(clerk, Answer(text="已处理", resolved=True), SIGNED + timedelta(hours=1))

    assert record.approvals[0].state is ApprovalState.LAPSED
    assert "已失效" in refused(record.check_decision, lead, "E1", None, True)


# --- 核查, 免考核, 挂账, 暂停计时 (issue 17) ---------------------------------------------------------


def facts_of_record(record: TicketRecord) -> list[str]:
    """The HotlineFacts tags the workflow would publish now."""
    from domain import search_attributes as sa

    return list(sa.for_ticket(record).get(sa.FACTS) or [])


def unhappy(config: DistrictConfig) -> TicketRecord:
    record = answered(config)
    callback = Callback(resolved=False, satisfaction=Satisfaction.UNSATISFIED, note="仍有垃圾")
    record.record_callback(who(config, "liumei"), callback, SIGNED + timedelta(hours=2))
    assert record.status is TicketStatus.AWAITING_VERIFICATION
    return record


def test_verification_closes_with_the_verdict_kept_and_a_closure_category(config: DistrictConfig) -> None:
    record = unhappy(config)
    lead, at = who(config, "zhangli"), SIGNED + timedelta(hours=3)
    assert "仅限值班长" in refused(record.check_verify, who(config, "liumei"), VerifyDecision.CLOSE)

    record.check_verify(lead, VerifyDecision.CLOSE)
    record.verify(lead, VerifyDecision.CLOSE, ClosureCategory.EXPLAINED, "已向诉求人解释清运周期", at)

    assert record.status is TicketStatus.CLOSED and record.closed_at == at and record.redo_count == 0
    assert record.callback is not None and not record.callback.resolved  # the citizen's verdict stays
    assert record.actions[-1].action == "核查结案" and record.actions[-1].actor == lead
    assert "已解释说明" in record.actions[-1].detail and "未解决 · 不满意" in record.actions[-1].detail
    assert record.outbox[-1].kind is NoticeKind.VERIFIED_CLOSED
    found = facts_of_record(record)
    assert "核查结案:已解释说明" in found and "未解决" in found and "按时办结" in found
    assert "拒绝核查" in refused(record.check_verify, lead, VerifyDecision.REDO)


def test_past_max_redo_only_closure_is_offered(config: DistrictConfig) -> None:
    policy = config.center.callback.model_copy(update={"max_redo": 1})
    config = config.model_copy(update={"center": config.center.model_copy(update={"callback": policy})})
    record = unhappy(config)
    lead, clerk = who(config, "zhangli"), who(config, "cgj_sun")
    assert record.redo_allowed
    record.verify(lead, VerifyDecision.REDO, None, "再办一次", SIGNED + timedelta(hours=3))
    at = record.start_delivery(SIGNED + timedelta(hours=4)) and SIGNED + timedelta(hours=4)
    record.delivered(at, "ref")  # type: ignore[arg-type]  # `start_delivery(...) and at`: never 0 (the round)
    record.sign_for(clerk, at)  # type: ignore[arg-type]  # `start_delivery(...) and at`: never 0 (the round)
    record.contact(clerk, "", at)  # type: ignore[arg-type]  # `start_delivery(...) and at`: never 0 (the round)
    record.give_answer(clerk, Answer(text="已再次清运", resolved=True), at + timedelta(hours=1))  # type: ignore[operator]  # `start_delivery(...) and at`: never 0 (the round)
    record.record_callback(
        who(config, "liumei"),
        Callback(resolved=True, satisfaction=Satisfaction.UNSATISFIED),
        at + timedelta(hours=2),  # type: ignore[operator]  # `start_delivery(...) and at`: never 0 (the round)
    )

    assert record.status is TicketStatus.AWAITING_VERIFICATION and not record.redo_allowed
    reason = refused(record.check_verify, lead, VerifyDecision.REDO)
    assert reason == "拒绝重办：已重办 1 次，达到上限（1 次），仅可核查结案或提请会商"
    record.check_verify(lead, VerifyDecision.CLOSE)
    # The first round's facts stay with its department; the second is the current one.
    found = facts_of_record(record)
    assert "#1@cgj:未解决" in found and "#1@cgj:签收及时" in found and "不满意" not in found
    assert "已解决" in found  # this round's callback


def test_auto_redo_keeps_todays_behaviour(config: DistrictConfig) -> None:
    policy = config.center.callback.model_copy(update={"auto_redo": True})
    config = config.model_copy(update={"center": config.center.model_copy(update={"callback": policy})})
    record = answered(config)
    assert record.plan.verification is not None and record.plan.verification.auto_redo

    callback = Callback(resolved=False, satisfaction=Satisfaction.SATISFIED)
    record.record_callback(who(config, "liumei"), callback, SIGNED + timedelta(hours=2))

    assert record.status is TicketStatus.DISPATCHING and record.redo_count == 1
    assert [a.action for a in record.actions][-2:] == ["回访", "重办"]


def test_plans_from_before_verification_redo_at_once(config: DistrictConfig) -> None:
    """A ticket received before 核查 (no verification in its plan) replays as it ran: redone at once."""
    record = answered(config)
    record.plan = record.plan.model_copy(update={"verification": None, "full_facts": False})
    record.record_callback(
        who(config, "liumei"),
        Callback(resolved=False, satisfaction=Satisfaction.UNSATISFIED),
        SIGNED + timedelta(hours=2),
    )

    assert record.status is TicketStatus.DISPATCHING and not record.rounds
    assert "未解决" in facts_of_record(record)  # the old facts: the last callback's, no round tags


def test_exemption_is_an_exception_approval_numbered_x(config: DistrictConfig) -> None:
    record = signed(config)
    clerk, lead = who(config, "cgj_sun"), who(config, "zhangli")
    assert "仅限承办单位经办人" in refused(record.check_request_exemption, lead)
    record.check_request_exemption(clerk)
    approval = record.request_exemption(clerk, ExemptionReason.UNREASONABLE, "诉求人要求拆除合法建筑", SIGNED, "X1")
    assert approval.kind is ApprovalKind.EXEMPTION and approval.evidence == "诉求人要求拆除合法建筑"
    assert "已有免考核申请待审批" in refused(record.check_request_exemption, clerk)
    # The answer does not lapse it: it concerns the assessment, not the handling.
    record.contact(clerk, "", SIGNED)
    record.give_answer(clerk, Answer(text="已解释", resolved=False), SIGNED + timedelta(hours=1))
    assert record.pending_exemption is not None
    assert "不涉及改派" in refused(record.check_decision, lead, "X1", assignment_for(config, "zjj"), True)

    record.check_decision(lead, "X1", None, True)
    record.approve(lead, "X1", None, "证据充分", SIGNED + timedelta(hours=2))

    assert record.exempted == ["cgj"] and record.pending_exemption is None
    assert record.actions[-1].action == "批准免考核" and record.actions[-1].actor == lead
    assert "免考核@cgj" in facts_of_record(record)
    assert "本单位已获免考核" in refused(record.check_request_exemption, clerk)


def test_rejected_exemption_leaves_the_facts_alone(config: DistrictConfig) -> None:
    record = signed(config)
    clerk, lead = who(config, "cgj_sun"), who(config, "zhangli")
    record.request_exemption(clerk, ExemptionReason.FORCE_MAJEURE, "暴雪", SIGNED, "X1")
    record.reject(lead, "X1", "证据不足", SIGNED + timedelta(hours=1))

    assert not record.exempted and record.actions[-1].action == "驳回免考核"
    assert record.outbox[-1].kind is NoticeKind.APPROVAL_DECIDED and "已驳回" in record.outbox[-1].text
    assert not any(t.startswith("免考核") for t in facts_of_record(record))


def test_backlog_replaces_the_resolution_clock_with_the_plan_date(config: DistrictConfig) -> None:
    record = signed(config)
    clerk, lead = who(config, "cgj_sun"), who(config, "zhangli")
    soon = (T0 + timedelta(days=3)).date()
    assert "未晚于办理时限" in refused(record.check_request_backlog, clerk, soon, SIGNED)
    plan = date(2024, 9, 30)
    record.check_request_backlog(clerk, plan, SIGNED)
    record.request_backlog(clerk, plan, "需列入明年道路改造计划", SIGNED, "B1")
    record.approve(lead, "B1", None, "", SIGNED + timedelta(hours=1))

    # Due at the end of the plan date, China time (00:00 of the next day).
    assert record.resolve_due == datetime(2024, 9, 30, 16, 0, tzinfo=UTC)
    assert record.clock(ClockKind.RESOLVE).due_at == record.resolve_due and record.on_backlog
    assert record.status is TicketStatus.SIGNED and "挂账" in facts_of_record(record)
    # Monthly reminders, from the approval, before the plan date.
    first = record.next_backlog_reminder
    assert first == datetime(2024, 6, 6, 10, 30, tzinfo=UTC)
    record.remind_backlog(first)
    assert record.next_backlog_reminder == datetime(2024, 7, 6, 10, 30, tzinfo=UTC)
    assert record.outbox[-1].kind is NoticeKind.BACKLOG_REMINDER and "2024-09-30" in record.outbox[-1].text
    # The answer ends the reminders; the 挂账 stays visible until the ticket closes.
    record.contact(clerk, "", first)
    record.give_answer(clerk, Answer(text="道路已改造", resolved=True), first + timedelta(days=1))
    assert record.next_backlog_reminder is None and record.on_backlog
    record.record_callback(
        who(config, "liumei"), Callback(resolved=True, satisfaction=Satisfaction.SATISFIED), first + timedelta(days=2)
    )
    assert not record.on_backlog and "挂账" not in facts_of_record(record)


def test_pause_moves_the_due_times_by_the_paused_working_time(config: DistrictConfig) -> None:
    record = signed(config)  # Monday 17:00 China time; answer due 7 days later
    clerk, lead = who(config, "cgj_sun"), who(config, "zhangli")
    due = record.resolve_due
    assert due is not None
    record.check_request_pause(clerk, SIGNED)
    record.request_pause(clerk, PauseReason.MATERIALS, "待诉求人提供产权证明", SIGNED, "P1")
    paused_at = datetime(2024, 5, 9, 16, 0, tzinfo=UTC)  # Friday 00:00 China time
    record.approve(lead, "P1", None, "", paused_at)
    assert record.next_clock_event() is None and "暂停计时" in facts_of_record(record)
    # Ten working days by default: Friday 00:00 + 10wd (Sat 11 May is a make-up workday).
    assert record.pause_ends_at == datetime(2024, 5, 22, 16, 0, tzinfo=UTC)
    assert "时限已在暂停中" in refused(record.check_request_pause, clerk, paused_at)

    resumed = datetime(2024, 5, 12, 16, 0, tzinfo=UTC)  # Monday 00:00: Friday and Saturday (make-up) worked
    record.check_resume(clerk)
    record.resume(clerk, resumed, "材料已补齐")

    assert record.resolve_due == due + timedelta(days=2)  # both paused days were working days
    assert record.paused_since is None and record.next_clock_event() is not None
    assert record.actions[-1].action == "恢复计时" and record.actions[-1].actor == clerk
    assert "暂停计时" not in facts_of_record(record)
    assert "时限未暂停" in refused(record.check_resume, clerk)


def test_late_facts_appear_when_the_ladder_first_fires(config: DistrictConfig) -> None:
    record = delivered(config)
    event = record.next_clock_event()
    while event is not None and not (event.clock is ClockKind.SIGN_FOR and event.level is not None):
        record.fire(event, event.at)
        event = record.next_clock_event()
    assert "签收超时" not in facts_of_record(record)
    assert event is not None
    record.fire(event, event.at)  # 催办: the overdue step

    assert record.overdue and "签收超时" in facts_of_record(record)
    record.sign_for(who(config, "cgj_sun"), event.at + timedelta(minutes=5))
    assert facts_of_record(record).count("签收超时") == 1


def test_reassignment_keeps_the_first_rounds_facts_with_its_department(config: DistrictConfig) -> None:
    record = signed(config)
    clerk, lead = who(config, "cgj_sun"), who(config, "zhangli")
    record.request_return(clerk, "非本单位职责", SIGNED, "R1")
    record.approve(lead, "R1", assignment_for(config, "bhjd"), "", SIGNED + timedelta(minutes=5))

    assert [r.department for r in record.rounds] == ["cgj"]
    found = facts_of_record(record)
    assert "#1@cgj:签收及时" in found and "签收及时" not in found  # the round moved off the current facts


def test_working_time_skips_days_off(config: DistrictConfig) -> None:
    from domain.calendar import WorkCalendar

    calendar = WorkCalendar(calendar_for(config.calendar, T0))
    friday = datetime(2024, 5, 10, 4, 0, tzinfo=UTC)  # Friday 12:00 China time
    sunday_night = datetime(2024, 5, 12, 16, 0, tzinfo=UTC)  # Monday 00:00 (Sat 11 May a make-up workday)
    assert calendar.working_time(friday, sunday_night) == timedelta(hours=36)
    monday_noon = datetime(2024, 5, 13, 4, 0, tzinfo=UTC)
    sunday = datetime(2024, 5, 19, 4, 0, tzinfo=UTC)
    assert calendar.working_time(sunday - timedelta(hours=12), sunday) == timedelta(0)  # Sunday off
    # Friday 12:00 + 24 working hours: Friday's 12, then Monday 12:00 (Sat 18, Sun 19 May are off).
    later, _ = calendar.add_working_time(datetime(2024, 5, 17, 4, 0, tzinfo=UTC), timedelta(hours=24))
    assert later == monday_noon + timedelta(days=7)


def test_lists_mark_backlog_pause_closure_and_exemption_beside_the_status() -> None:
    from domain.facts import marks, status_marks

    assert status_marks("已联系", ["签收及时", "挂账"]) == "已联系（挂账）"
    assert (
        status_marks("办结", ["未解决", "核查结案:已解释说明", "免考核@cgj"]) == "办结（核查结案：已解释说明，免考核）"
    )
    assert marks(["签收及时", "#1@cgj:未解决"]) == [] and status_marks("待签收", []) == "待签收"
