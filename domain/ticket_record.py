"""A ticket's state and the rules of its lifecycle, as a pure state machine.

受理 → 派遣 → 签收 → 联系诉求人 → 答复 → 回访 → 办结, with the detours 退单/改派, 延期 and 重办.

Every human action has a `check_*` (raises `ActionRefused` with a reason; changes nothing) and an
apply method that records it. The workflow calls the check from its update validator, so a refused
action never reaches the history, and the apply method from the update handler.
"""

from __future__ import annotations

import calendar as months
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from pydantic import BaseModel, Field

from domain.calendar import CHINA_TZ, Span, Unit, WorkCalendar, add, china_time, parse_span
from domain.deadlines import TICKET_CLOCKS, Clock, ClockEvent, ClockKind, Escalation, next_event, start_clock
from domain.delivery import NoticeKind
from domain.facts import RoundFacts
from domain.intake import IntakePlan
from domain.models import (
    APPROVAL_PREFIX,
    SYSTEM_ACTOR,
    Action,
    Actor,
    Answer,
    ApprovalKind,
    ApprovalState,
    Assignment,
    Callback,
    CityAction,
    ClosureCategory,
    Determination,
    ExceptionApproval,
    ExemptionReason,
    PauseReason,
    Role,
    Ticket,
    TicketSource,
    TicketStatus,
    VerifyDecision,
)
from domain.records import ActionRefused, PendingNotice, how_long, ladder_notices, require_role

HANDLING = (TicketStatus.AWAITING_SIGN_FOR, TicketStatus.SIGNED, TicketStatus.CONTACTED)
# While the department still holds the ticket's outcome: it may ask for 免考核 until the ticket closes.
EXEMPTION_OPEN = (*HANDLING, TicketStatus.AWAITING_CALLBACK, TicketStatus.AWAITING_VERIFICATION)
CITY = "市域社会治理中心"


class AssistStatus(StrEnum):
    TO_DELIVER = "待派遣"
    AWAITING_SIGN_FOR = "待签收"
    SIGNED = "已签收"
    REPORTED = "已报告"
    FAILED = "派遣失败"


class Assist(BaseModel):
    """An assisting department (协办单位): signs for its part and reports to the lead."""

    assignment: Assignment
    status: AssistStatus = AssistStatus.TO_DELIVER
    report: str | None = None
    reported_at: datetime | None = None
    blocked_since: datetime | None = None  # 协办派遣受阻: its delivery has kept failing since (the shift lead was told)


class TicketRecord(BaseModel):
    """Everything a ticket knows about itself; the query `view` returns it."""

    ticket: Ticket
    plan: IntakePlan
    status: TicketStatus = TicketStatus.AWAITING_DISPATCH
    assignment: Assignment | None = None
    dispatch_round: int = 0
    pending_dispatch: bool = False
    redo_count: int = 0
    return_count: int = 0
    extensions_granted: int = 0
    dispatched_at: datetime | None = None
    signed_at: datetime | None = None
    contacted_at: datetime | None = None
    answered_at: datetime | None = None
    closed_at: datetime | None = None
    sign_for_due: datetime | None = None
    resolve_due: datetime | None = None
    return_deadline: datetime | None = None
    signed_on_time: bool | None = None  # 签收及时
    contacted_on_time: bool | None = None  # 响应及时
    answered_on_time: bool | None = None  # 按时办结
    overdue: bool = False
    clocks: list[Clock] = Field(default_factory=list)
    clock_version: int = 0  # moves whenever a clock starts, stops or moves: the timekeeper wakes
    escalations: list[Escalation] = Field(default_factory=list)
    escalation_level: str | None = None
    departments_seen: list[Assignment] = Field(default_factory=list)  # every department that held it
    determination: Determination | None = None  # 确权: the lead (主办) and assisting (协办) departments
    consultation: str | None = None  # the workflow id of the meeting this 问题工单 went to
    assists: list[Assist] = Field(default_factory=list)  # 协办 departments and their reports
    merged_into: str | None = None  # 并单: the main ticket's workflow id while this one is merged
    linked: list[str] = Field(default_factory=list)  # on a main ticket: the workflow ids merged into it
    forwarded: list[str] = Field(default_factory=list)  # linked tickets that have received the answer
    dispatch_error: str | None = None
    delivery_blocked_at: datetime | None = None  # 派遣受阻: the shift lead was told; the delivery is still retried
    answer: Answer | None = None
    callback: Callback | None = None
    approvals: list[ExceptionApproval] = Field(default_factory=list)
    actions: list[Action] = Field(default_factory=list)
    outbox: list[PendingNotice] = Field(default_factory=list)
    # Issue 17: 核查、免考核、挂账、暂停计时, and each finished round's facts.
    rounds: list[RoundFacts] = Field(default_factory=list)  # finished rounds (plan.full_facts only)
    callback_round: int | None = None  # the round the last callback was about
    closure: ClosureCategory | None = None  # 核查结案's category
    exempted: list[str] = Field(default_factory=list)  # departments whose 免考核 was approved
    backlog_until: date | None = None  # 挂账: the plan date (the resolution clock runs to its end)
    backlog_since: datetime | None = None
    backlog_reminders: int = 0  # monthly reminders sent so far
    paused_since: datetime | None = None  # 暂停计时: the clocks stand still since

    # ----- intake and dispatch (受理、派遣) -----

    @classmethod
    def receive(cls, ticket: Ticket, plan: IntakePlan, at: datetime) -> TicketRecord:
        record = cls(ticket=ticket, plan=plan)
        detail = f"{ticket.category} · {ticket.street} · {ticket.urgency}"
        if ticket.city_due_at is not None:
            detail += f" · 市级办理时限 {_local(ticket.city_due_at)}"
        record._log(at, None, "受理", detail)
        if plan.direct_answer is not None:
            record.status = TicketStatus.ANSWERED_DIRECTLY
            record.closed_at = at
            record._log(at, None, "直接答复", f"知识库 {plan.knowledge_id}: {plan.direct_answer}")
        elif plan.merged_into is not None:
            record.status = TicketStatus.MERGED
            record.merged_into = plan.merged_into
            record._log(at, None, "并单", f"与 {plan.merged_into.removeprefix('ticket-')} 为同一事项，随主单办理")
        else:
            record._start_independently(at)
            record.add_assists(plan.assisting, at)  # 紧急诉求联动处置: the assisting departments at once
        return record

    def _start_independently(self, at: datetime) -> None:
        if self.plan.route is not None:
            self._assign(self.plan.route)
        else:
            self.status = TicketStatus.AWAITING_DISPATCH
            self._log(at, None, "待人工派遣", "派单目录无匹配，等待值班长派遣")

    # ----- 协办 (assisting departments) -----

    def assist(self, department: str) -> Assist:
        return next(a for a in self.assists if a.assignment.department == department)

    def add_assists(self, assignments: list[Assignment], at: datetime) -> None:
        """Departments that assist the lead (from a determination or an urgent joint response)."""
        lead = self.assignment.department if self.assignment else None
        known = {a.assignment.department for a in self.assists}
        for assignment in assignments:
            if assignment.department not in known and assignment.department != lead:
                self.assists.append(Assist(assignment=assignment))
                self._log(at, None, "指定协办", assignment.department_name)

    @property
    def assists_to_deliver(self) -> list[Assist]:
        if self.status.is_final or self.status is TicketStatus.AWAITING_CALLBACK:
            return []
        return [a for a in self.assists if a.status is AssistStatus.TO_DELIVER]

    def assist_delivered(self, department: str, at: datetime, reference: str) -> None:
        part = self.assist(department)
        part.status = AssistStatus.AWAITING_SIGN_FOR
        deadlines = self.plan.deadlines
        assert deadlines is not None
        for kind in (ClockKind.ASSIST_SIGN_FOR, ClockKind.ASSIST_REPORT):
            decided = self._decided_limit("assist_within") if kind is ClockKind.ASSIST_REPORT else None
            self.clocks.append(start_clock(kind, self.dispatch_round, at, deadlines, owner=department, limit=decided))
        self.clock_version += 1
        detail = f"送达 {part.assignment.department_name}（{reference}）"
        if part.blocked_since is not None:
            detail += self._resumed(part.assignment, part.blocked_since, at, "协办派遣")
            part.blocked_since = None
        self._log(at, None, "协办派遣", detail)

    def _decided_limit(self, field: str) -> Span | None:
        """A time limit the determination (确权) set for the lead or the assistants, if any."""
        value = getattr(self.determination, field, None) if self.determination else None
        if field == "lead_within" and self.determination and self.assignment != self.determination.lead:
            return None  # the ticket has since moved on from the decided lead
        return Span.model_validate(parse_span(value)) if value else None

    def assist_blocked(self, department: str, at: datetime, error: str, since: datetime) -> None:
        """协办派遣受阻: the assisting department's system keeps failing; the delivery is still retried."""
        part = self.assist(department)
        part.blocked_since = since
        self._blocked(part.assignment, at, error, since, "协办派遣受阻")

    def assist_failed(self, department: str, at: datetime, error: str) -> None:
        part = self.assist(department)
        part.status = AssistStatus.FAILED
        part.blocked_since = None
        self._log(at, None, "协办派遣失败", f"{part.assignment.department_name}：{error}")

    def check_assist_sign_for(self, actor: Actor) -> None:
        part = self._own_assist(actor, "协办签收")
        if part.status is AssistStatus.TO_DELIVER:
            return  # being delivered: the department's system may have it before the centre records it
        if part.status is not AssistStatus.AWAITING_SIGN_FOR:
            raise ActionRefused(f"拒绝协办签收：{part.assignment.department_name}当前为「{part.status.value}」")

    def assist_sign_for(self, actor: Actor, at: datetime) -> None:
        part = self.assist(actor.department or "")
        part.status = AssistStatus.SIGNED
        self._stop_assist_clock(part, ClockKind.ASSIST_SIGN_FOR, at)
        self._log(at, actor, "协办签收", "")

    def check_assist_report(self, actor: Actor) -> None:
        part = self._own_assist(actor, "协办报告")
        if part.status is not AssistStatus.SIGNED:
            raise ActionRefused(
                f"拒绝协办报告：{part.assignment.department_name}当前为「{part.status.value}」，请先签收"
            )

    def assist_report(self, actor: Actor, text: str, at: datetime) -> None:
        part = self.assist(actor.department or "")
        part.status = AssistStatus.REPORTED
        part.report, part.reported_at = text, at
        self._stop_assist_clock(part, ClockKind.ASSIST_REPORT, at)
        self._log(at, actor, "协办报告", text)

    def _own_assist(self, actor: Actor, action: str) -> Assist:
        require_role(actor, action, Role.CLERK)
        if self.status.is_final or self.status is TicketStatus.AWAITING_CALLBACK:
            raise ActionRefused(f"拒绝{action}：工单当前状态为「{self.status.value}」")
        part = next((a for a in self.assists if a.assignment.department == actor.department), None)
        if part is None:
            raise ActionRefused(f"拒绝{action}：{actor.label} 所在单位不是本工单的协办单位")
        return part

    def _stop_assist_clock(self, part: Assist, kind: ClockKind, at: datetime) -> None:
        for clock in self.running_clocks:
            if clock.owner == part.assignment.department and clock.kind is kind:
                clock.stopped_at = at
                self.clock_version += 1

    def _assist_summary(self, at: datetime) -> str:
        """The lead's answer carries the assisting reports, and names the departments that sent none."""
        if not self.assists:
            return ""
        for clock in self.running_clocks:
            if clock.owner is not None:
                clock.stopped_at = at  # the answer closes the assisting work too
                self.clock_version += 1
        parts = [
            f"{a.assignment.department_name}：{a.report}" if a.report else f"{a.assignment.department_name}：未报告"
            for a in self.assists
        ]
        return "；协办情况——" + "；".join(parts)

    # ----- 市区转办 (transfers with the city centre) -----

    def check_transfer(self, actor: Actor) -> None:
        require_role(actor, "上转市级", Role.SHIFT_LEAD)
        self._require_status(
            "上转市级",
            TicketStatus.AWAITING_DISPATCH,
            TicketStatus.DISPATCH_FAILED,
            *HANDLING,
            TicketStatus.RETURN_PENDING,
        )

    def city_blocked(self, at: datetime, label: str, error: str, since: datetime) -> None:
        """上转市级 / 办理结果反馈 受阻: the city centre's system keeps failing; the message is retried on."""
        lasted = how_long(at - since)
        self._log(at, None, f"{label}受阻", f"{CITY}系统已连续 {lasted}无法接收：{error}；已告知值班长，继续重试")
        text = f"工单 {self.ticket.ticket_no} {label}受阻：{CITY}系统已连续 {lasted}无法接收（{error}），系统继续重试"
        self.outbox.append(
            PendingNotice(department=None, kind=NoticeKind.DISPATCH_BLOCKED, text=text, audience=["shift_lead"])
        )

    def city_resumed(self, at: datetime, label: str, since: datetime) -> None:
        note = f"受阻 {how_long(at - since)}后已送达{CITY}"
        self._log(at, None, f"{label}恢复", note)
        text = f"工单 {self.ticket.ticket_no} {label}已恢复：{note}"
        self.outbox.append(
            PendingNotice(department=None, kind=NoticeKind.DISPATCH_RESUMED, text=text, audience=["shift_lead"])
        )

    def transfer_to_city(self, actor: Actor, reason: str, at: datetime) -> None:
        self._take_away(f"工单已上转市级：{reason}", at)
        self.status = TicketStatus.TRANSFERRED
        self.closed_at = at
        self._log(at, actor, "上转市级", reason)

    def check_city_reply(self, actor: Actor, action: CityAction) -> None:
        what = f"登记{action.value}"
        require_role(actor, what, Role.SHIFT_LEAD)
        if self.plan.city_reply_within is None:
            raise ActionRefused(f"拒绝{what}：本工单受理时未约定市级答复期限，市级的答复不在本区登记")
        if action is CityAction.REDISPATCH:
            if self.ticket.source is not TicketSource.CITY:
                raise ActionRefused(f"拒绝{what}：仅{TicketSource.CITY.value}的工单可由市级重派")
            self._require_status(what, TicketStatus.CLOSED)
        else:
            self._require_status(what, TicketStatus.TRANSFERRED)

    def city_reply(self, actor: Actor, action: CityAction, reason: str, at: datetime) -> None:
        """The ticket is the district's again: returned or refused, it waits for the shift lead to
        dispatch it; re-dispatched, it goes back to its department for another round (a 重办)."""
        self.closed_at = None
        if action is CityAction.REDISPATCH:
            self.closure = None
            self.redo_count += 1
            self.pending_dispatch = True
            self.status = TicketStatus.DISPATCHING
            unit = self.assignment.department_name if self.assignment else ""
            self._log(at, actor, action.value, f"第 {self.redo_count} 次重办，发回 {unit}；{reason}")
            text = f"市级工单 {self.ticket.ticket_no} 经{action.value}，已发回 {unit} 重新办理：{reason}"
        else:
            self.status = TicketStatus.AWAITING_DISPATCH
            self._log(at, actor, action.value, reason)
            text = f"工单 {self.ticket.ticket_no} 上转后{action.value}：{reason}；请重新派遣"
        self.outbox.append(
            PendingNotice(department=None, kind=NoticeKind.CITY_REPLY, text=text, audience=["shift_lead"])
        )

    @property
    def transfers(self) -> int:
        """How many times it was sent up to the city."""
        return sum(a.action == "上转市级" for a in self.actions)

    # ----- 并单 (merged repeats) -----

    def link(self, workflow_id: str, at: datetime) -> None:
        """On the main ticket: a repeat was merged into it."""
        if workflow_id not in self.linked:
            self.linked.append(workflow_id)
            self._log(at, None, "并入重复工单", workflow_id.removeprefix("ticket-"))

    def drop_link(self, workflow_id: str, at: datetime) -> None:
        if workflow_id in self.linked:
            self.linked.remove(workflow_id)
            self._log(at, None, "移出重复工单", workflow_id.removeprefix("ticket-"))

    @property
    def answers_to_forward(self) -> list[str]:
        if self.answer is None or self.status is TicketStatus.DISPATCHING:
            return []
        return [w for w in self.linked if w not in self.forwarded]

    def check_link(self, actor: Actor, main_workflow_id: str, own_workflow_id: str) -> None:
        require_role(actor, "并单", Role.SHIFT_LEAD)
        if main_workflow_id == own_workflow_id:
            raise ActionRefused("拒绝并单：不能并入自身")
        self._require_status(
            "并单", TicketStatus.AWAITING_DISPATCH, TicketStatus.DISPATCH_FAILED, TicketStatus.AWAITING_SIGN_FOR
        )

    def merge_into(self, actor: Actor, main_workflow_id: str, at: datetime) -> None:
        self._take_away(f"与 {main_workflow_id.removeprefix('ticket-')} 并单，随主单办理", at)
        self.status = TicketStatus.MERGED
        self.merged_into = main_workflow_id
        self._log(at, actor, "并单", f"并入 {main_workflow_id.removeprefix('ticket-')}")

    def check_unlink(self, actor: Actor) -> None:
        require_role(actor, "解除并单", Role.SHIFT_LEAD)
        self._require_status("解除并单", TicketStatus.MERGED)

    def unlink(self, actor: Actor | None, note: str, at: datetime) -> str | None:
        """The ticket goes its own way (by its route, or to the shift lead); returns the old main."""
        main, self.merged_into = self.merged_into, None
        self._log(at, actor, "解除并单", note or f"与 {main and main.removeprefix('ticket-')} 分开办理")
        self._start_independently(at)
        return main

    def main_answered(self, answer: Answer, at: datetime) -> None:
        """On a merged ticket: the main ticket's answer is this citizen's answer too; call them back."""
        if self.status is not TicketStatus.MERGED:
            return
        self.answer = answer
        self.answered_at = at
        self.status = TicketStatus.AWAITING_CALLBACK
        self._log(at, None, "主单答复", f"{'已解决' if answer.resolved else '未解决'}：{answer.text}")

    def check_may_dispatch(self, actor: Actor) -> None:
        """Whether `actor` may dispatch the ticket by hand now, to some unit."""
        require_role(actor, "派遣", Role.SHIFT_LEAD)
        if not self.redirectable:
            self._require_status("派遣", TicketStatus.AWAITING_DISPATCH, TicketStatus.DISPATCH_FAILED)

    def check_dispatch(self, actor: Actor, to: Assignment) -> None:
        self.check_may_dispatch(actor)
        if self.redirectable and self.assignment is not None and to.department == self.assignment.department:
            raise ActionRefused(
                f"拒绝派遣：工单正在派往 {to.department_name}（派遣受阻，系统继续重试），改派请选择其他单位"
            )

    @property
    def redirectable(self) -> bool:
        """派遣受阻: the delivery keeps failing; the shift lead may send the ticket elsewhere meanwhile."""
        return self.status is TicketStatus.DISPATCHING and self.delivery_blocked_at is not None

    def dispatch(self, actor: Actor, to: Assignment, at: datetime) -> None:
        previous = self.assignment
        if self.redirectable and previous is not None:
            # The blocked department is told (its notices wait for its system) and its delivery is called off.
            self.delivery_blocked_at = None
            text = f"工单 {self.ticket.ticket_no} 已改派 {to.department_name}（贵单位系统派遣受阻），请勿办理"
            self.outbox.append(PendingNotice(department=previous, kind=NoticeKind.WITHDRAWN, text=text))
            self._assign(to)
            self._log(at, actor, "人工改派", f"{previous.department_name}系统派遣受阻，改派 {to.department_name}")
            return
        self._assign(to)
        self._log(at, actor, "人工派遣", f"派往 {to.department_name}")

    def start_delivery(self, at: datetime) -> int:
        """A new dispatch round: its sign-for, response and resolution clocks start now."""
        self.pending_dispatch = False
        self.dispatch_round += 1
        self.status = TicketStatus.DISPATCHING
        self.dispatched_at = at
        self.dispatch_error = None
        self.delivery_blocked_at = None
        self.signed_at = self.contacted_at = self.answered_at = None
        self.signed_on_time = self.contacted_on_time = self.answered_on_time = None
        self.overdue = False
        self.escalation_level = None
        deadlines = self.plan.deadlines
        if deadlines is None:  # first-release tickets: plain hours
            policy = self.plan.policy
            assert policy is not None
            self.sign_for_due = at + timedelta(hours=policy.sign_for_hours)
            self.resolve_due = at + timedelta(hours=policy.resolve_hours)
            return self.dispatch_round
        for clock in self.running_clocks:
            clock.stopped_at = at  # the previous round's clocks end with it
        decided = self._decided_limit("lead_within")
        self.clocks += [
            start_clock(kind, self.dispatch_round, at, deadlines, limit=decided if kind is ClockKind.RESOLVE else None)
            for kind in TICKET_CLOCKS
        ]
        if self.ticket.city_due_at is not None:  # 市级转办 with the city's own deadline: it governs
            self.clock(ClockKind.RESOLVE).due_at = self.ticket.city_due_at
        if self.backlog_until is not None:  # 挂账 with the same department: the plan date still governs
            resolve = self.clock(ClockKind.RESOLVE)
            resolve.due_at = max(resolve.due_at, _end_of(self.backlog_until))
        self.sign_for_due = self.clock(ClockKind.SIGN_FOR).due_at
        self.resolve_due = self.clock(ClockKind.RESOLVE).due_at
        self.return_deadline, _ = add(WorkCalendar(deadlines.calendar), at, deadlines.return_window)
        self.clock_version += 1
        return self.dispatch_round

    def delivered(self, at: datetime, reference: str) -> None:
        assert self.assignment is not None
        self.status = TicketStatus.AWAITING_SIGN_FOR
        detail = f"第 {self.dispatch_round} 轮送达 {self.assignment.department_name}（{reference}）"
        if self.delivery_blocked_at is not None:
            detail += self._resumed(self.assignment, self.dispatched_at or at, at, "派遣")
            self.delivery_blocked_at = None
            self.dispatch_error = None
        self._log(at, None, "派遣", detail)

    def delivery_blocked(self, at: datetime, unit: Assignment, error: str) -> None:
        """派遣受阻: the department's system has kept failing since dispatch for the alert threshold.
        The shift lead is told once; the delivery goes on being retried, and the clocks keep running."""
        self.delivery_blocked_at = at
        self.dispatch_error = error
        self._blocked(unit, at, error, self.dispatched_at or at, "派遣受阻")

    def delivery_failed(self, at: datetime, error: str) -> None:
        self.status = TicketStatus.DISPATCH_FAILED
        self.dispatch_error = error
        self.delivery_blocked_at = None
        self._log(at, None, "派遣失败", f"{error}；等待值班长处理")

    def notice_held(self, at: datetime, department: Assignment, error: str) -> None:
        """通知受阻: a department's system keeps refusing notices; they wait, in order, for it. The shift
        lead is told unless this ticket's delivery to that department has already raised 派遣受阻."""
        name = department.department_name
        self._log(at, None, "通知受阻", f"{name}系统持续无法接收通知：{error}；通知按序暂存，恢复后补发")
        if self._is_blocked(department.department):
            return
        text = f"工单 {self.ticket.ticket_no} 通知受阻：{name}系统持续无法接收通知（{error}），系统继续重试"
        self.outbox.append(
            PendingNotice(department=None, kind=NoticeKind.NOTICE_BLOCKED, text=text, audience=["shift_lead"])
        )

    def _is_blocked(self, department: str) -> bool:
        if self.delivery_blocked_at is not None and self.assignment and self.assignment.department == department:
            return True
        return any(a.blocked_since is not None and a.assignment.department == department for a in self.assists)

    def _blocked(self, unit: Assignment, at: datetime, error: str, since: datetime, label: str) -> None:
        name, lasted = unit.department_name, how_long(at - since)
        self._log(
            at, None, label, f"{name}系统已连续 {lasted}无法接收工单：{error}；已告知值班长，继续重试，时限照常计算"
        )
        text = (
            f"工单 {self.ticket.ticket_no} {label}：{name}系统已连续 {lasted}无法接收（{error}），系统继续重试；"
            f"签收时限 {_local(self.sign_for_due)}、办结时限 {_local(self.resolve_due)} 照常计算"
        )
        self.outbox.append(
            PendingNotice(department=None, kind=NoticeKind.DISPATCH_BLOCKED, text=text, audience=["shift_lead"])
        )

    def _resumed(self, unit: Assignment, since: datetime, at: datetime, label: str) -> str:
        """The delivery got through after 派遣受阻: the shift lead hears that too. Returns the log's note."""
        note = f"受阻 {how_long(at - since)}后恢复送达"
        text = f"工单 {self.ticket.ticket_no} {label}已恢复：{unit.department_name}系统{note}"
        self.outbox.append(
            PendingNotice(department=None, kind=NoticeKind.DISPATCH_RESUMED, text=text, audience=["shift_lead"])
        )
        return f"；{note}"

    # ----- the department's work (签收、联系、答复) -----

    def check_sign_for(self, actor: Actor) -> None:
        self._require_assigned_clerk(actor, "签收")
        if self.status is TicketStatus.DISPATCHING:
            return  # the department's system has the ticket before the centre has recorded it: wait
        self._require_status("签收", TicketStatus.AWAITING_SIGN_FOR)

    def sign_for(self, actor: Actor, at: datetime) -> None:
        self.status = TicketStatus.SIGNED
        self.signed_at = at
        self.signed_on_time = self._stop(ClockKind.SIGN_FOR, at, self.sign_for_due)
        self._log(at, actor, "签收", "" if self.signed_on_time else "超时签收")

    def check_contact(self, actor: Actor) -> None:
        self._require_assigned_clerk(actor, "联系诉求人")
        self._require_status("联系诉求人", TicketStatus.SIGNED, TicketStatus.CONTACTED)

    def contact(self, actor: Actor, note: str, at: datetime) -> None:
        self.status = TicketStatus.CONTACTED
        if self.contacted_at is None:
            self.contacted_at = at
            self.contacted_on_time = self._stop(ClockKind.CONTACT, at, None)
        self._log(at, actor, "联系诉求人", note)

    def check_answer(self, actor: Actor) -> None:
        self._require_assigned_clerk(actor, "答复")
        if self.status is TicketStatus.SIGNED:
            raise ActionRefused("拒绝答复：请先联系诉求人")
        self._require_status("答复", TicketStatus.CONTACTED)

    def give_answer(self, actor: Actor, answer: Answer, at: datetime) -> None:
        self.status = TicketStatus.AWAITING_CALLBACK
        self.answer = answer
        self.answered_at = at
        if self.paused_since is not None:
            self.resume(None, at, "已答复")
        self.answered_on_time = self._stop(ClockKind.RESOLVE, at, self.resolve_due)
        # An extension, pause or 挂账 asked for before the answer is moot now; a 免考核 request is not.
        self._lapse_pending(keep=ApprovalKind.EXEMPTION)
        outcome = "已解决" if answer.resolved else "未解决"
        self._log(at, actor, "答复", f"{outcome}：{answer.text}{self._assist_summary(at)}")

    # ----- exceptions (退单、延期) and the shift lead's decisions -----

    def check_request_return(self, actor: Actor, reason: str, now: datetime) -> None:
        self._require_assigned_clerk(actor, "退单")
        self._require_status("退单", *HANDLING)
        if self.plan.deadlines is not None:
            if self.return_deadline is not None and now > self.return_deadline:
                window = self.plan.deadlines.return_window.label
                raise ActionRefused(
                    f"拒绝退单：已超过退单时限（派遣后{window}内，截至 {_local(self.return_deadline)}），须由本单位办理"
                )
            return
        policy = self.plan.policy
        assert policy is not None
        if self.dispatched_at is not None and now - self.dispatched_at > timedelta(hours=policy.return_window_hours):
            raise ActionRefused(
                f"拒绝退单：已超过退单时限（派遣后 {policy.return_window_hours:g} 小时内），须由本单位办理"
            )

    def request_return(self, actor: Actor, reason: str, at: datetime, approval_id: str) -> ExceptionApproval:
        approval = self._open_approval(approval_id, ApprovalKind.RETURN, actor, reason, at)
        self.status = TicketStatus.RETURN_PENDING
        self._log(at, actor, "申请退单", reason)
        return approval

    def check_request_extension(self, actor: Actor, span: Span, reason: str, now: datetime) -> None:
        self._require_assigned_clerk(actor, "申请延期")
        self._require_status("申请延期", TicketStatus.SIGNED, TicketStatus.CONTACTED)
        if self._pending(ApprovalKind.EXTENSION) is not None:
            raise ActionRefused("拒绝延期申请：已有延期申请待审批")
        deadlines, policy = self.plan.deadlines, self.plan.policy
        if deadlines is not None:
            max_count = deadlines.extension.max_count
        else:
            assert policy is not None  # a plan without deadlines is a first release's, which has the policy
            max_count = policy.max_extensions
        if self.extensions_granted >= max_count:
            raise ActionRefused(f"拒绝延期申请：延期次数已达上限（{max_count} 次）")
        if deadlines is None:
            assert policy is not None
            hours = span.amount if span.unit is Unit.HOURS else -1
            if hours <= 0 or hours > policy.max_extension_hours:
                raise ActionRefused(f"拒绝延期申请：延期时长须在 1 至 {policy.max_extension_hours:g} 小时之间")
        elif self.resolve_due is not None:
            calendar = WorkCalendar(deadlines.calendar)
            wanted, _ = add(calendar, self.resolve_due, span)
            allowed, _ = add(calendar, self.resolve_due, deadlines.extension.max)
            if span.amount <= 0 or wanted > allowed:
                raise ActionRefused(f"拒绝延期申请：延期最长{deadlines.extension.max.label}，申请的{span.label}超出")
        if self.resolve_due is not None and now > self.resolve_due:
            raise ActionRefused("拒绝延期申请：须在办理期限届满前申请")

    def request_extension(
        self, actor: Actor, span: Span, reason: str, at: datetime, approval_id: str
    ) -> ExceptionApproval:
        approval = self._open_approval(approval_id, ApprovalKind.EXTENSION, actor, reason, at, span)
        self._log(at, actor, "申请延期", f"{span.label}：{reason}")
        return approval

    def check_decision(self, actor: Actor, approval_id: str, reassign_to: Assignment | None, approve: bool) -> None:
        verb = "审批" if approve else "驳回"
        require_role(actor, verb, Role.SHIFT_LEAD)
        approval = self._approval(approval_id)
        if approval is None:
            raise ActionRefused(f"拒绝{verb}：没有编号为 {approval_id} 的异常申请")
        if approval.state is not ApprovalState.PENDING:
            raise ActionRefused(f"拒绝{verb}：申请 {approval_id} 已{approval.state.value.removeprefix('已')}")
        if self.assignment is None or approval.department != self.assignment.department:
            raise ActionRefused(f"拒绝{verb}：申请单位已不是该工单的承办单位")
        if not approve:
            return
        if approval.kind is ApprovalKind.RETURN:
            if reassign_to is None:
                raise ActionRefused("拒绝审批：批准退单须指定改派单位")
            if self.assignment is not None and reassign_to.department == self.assignment.department:
                raise ActionRefused("拒绝审批：改派单位不能是原承办单位")
        elif reassign_to is not None:
            raise ActionRefused(f"拒绝审批：{approval.kind.value}申请不涉及改派")
        elif approval.kind is ApprovalKind.PAUSE and self.status not in (TicketStatus.SIGNED, TicketStatus.CONTACTED):
            raise ActionRefused(f"拒绝审批：工单当前状态为「{self.status.value}」，不能暂停计时")

    def approve(self, actor: Actor, approval_id: str, reassign_to: Assignment | None, note: str, at: datetime) -> None:
        approval = self._approval(approval_id)
        assert approval is not None and self.assignment is not None
        previous = self.assignment
        decided = approval.model_copy(
            update={
                "state": ApprovalState.APPROVED,
                "decided_by": actor,
                "decided_at": at,
                "decision_note": note or None,
                "reassigned_to": reassign_to.department if reassign_to else None,
            }
        )
        self._replace_approval(decided)
        if approval.kind is ApprovalKind.RETURN:
            assert reassign_to is not None
            self.return_count += 1
            self._log(at, actor, "批准退单", f"改派 {reassign_to.department_name}；{note}".rstrip("；"))
            self.outbox.append(
                PendingNotice(
                    department=previous, kind=NoticeKind.WITHDRAWN, text=f"已改派 {reassign_to.department_name}"
                )
            )
            self._assign(reassign_to)
        elif approval.kind is ApprovalKind.EXEMPTION:
            self._exempt(actor, approval, note, at)
        elif approval.kind is ApprovalKind.BACKLOG:
            self._put_on_backlog(actor, approval, note, at)
        elif approval.kind is ApprovalKind.PAUSE:
            self._pause(actor, approval, note, at)
        else:
            span = _span_of(approval)
            self.extensions_granted += 1
            self._extend(span, at)
            due = _local(self.resolve_due)
            self._log(at, actor, "批准延期", f"延期{span.label}，办理时限改为 {due}；{note}".rstrip("；"))
            text = f"延期{span.label}已批准，办理时限改为 {due}"
            self.outbox.append(PendingNotice(department=previous, kind=NoticeKind.EXTENSION_APPROVED, text=text))

    def reject(self, actor: Actor, approval_id: str, note: str, at: datetime) -> None:
        approval = self._approval(approval_id)
        assert approval is not None and self.assignment is not None
        self._replace_approval(
            approval.model_copy(
                update={"state": ApprovalState.REJECTED, "decided_by": actor, "decided_at": at, "decision_note": note}
            )
        )
        if approval.kind is ApprovalKind.RETURN:
            self.status = self._status_before_return()
            self._log(at, actor, "驳回退单", note)
            kind = NoticeKind.RETURN_REJECTED
        elif approval.kind is ApprovalKind.EXTENSION:
            self._log(at, actor, "驳回延期", note)
            kind = NoticeKind.EXTENSION_REJECTED
        else:
            self._log(at, actor, f"驳回{approval.kind.value}", f"{approval.id}；{note}".rstrip("；"))
            kind = NoticeKind.APPROVAL_DECIDED
            note = f"{approval.kind.value}申请 {approval.id} 已驳回；{note}".rstrip("；")
        self.outbox.append(PendingNotice(department=self.assignment, kind=kind, text=note))

    # ----- callback and closure (回访、办结、重办) -----

    def check_callback(self, actor: Actor) -> None:
        require_role(actor, "回访", Role.OPERATOR, Role.SHIFT_LEAD)
        self._require_status("回访", TicketStatus.AWAITING_CALLBACK)

    def record_callback(self, actor: Actor, callback: Callback, at: datetime) -> None:
        self.callback = callback
        summary = f"{'已解决' if callback.resolved else '未解决'} · {callback.satisfaction.value}"
        if callback.note:
            summary += f"：{callback.note}"
        self._log(at, actor, "回访", summary)
        self.callback_round = self.dispatch_round
        verification = self.plan.verification
        if callback.needs_redo and verification is not None and not verification.auto_redo:
            # 核查: the centre decides whether the department redoes it or the ticket closes as it is.
            self.status = TicketStatus.AWAITING_VERIFICATION
            self._log(at, None, "待核查", "回访未解决或不满意，待中心核查：重办或核查结案")
            return
        self._redo_or_close(callback, at, None, "")

    def _redo_or_close(self, callback: Callback, at: datetime, actor: Actor | None, reason: str) -> None:
        """重办 after an unresolved or unsatisfied callback (at once, or decided by 核查); else 办结."""
        if callback.needs_redo and self.assignment is None:
            # A merged ticket whose citizen is not satisfied with the main answer goes its own way.
            self.merged_into = None
            self._log(at, None, "解除并单", "诉求人对主单答复不满意，单独办理")
            self._start_independently(at)
        elif callback.needs_redo:
            self._lapse_pending(keep=ApprovalKind.EXEMPTION)
            self._finish_round()
            self.redo_count += 1
            self.pending_dispatch = True
            self.status = TicketStatus.DISPATCHING
            detail = f"第 {self.redo_count} 次重办，发回 {self.assignment.department_name if self.assignment else ''}"
            self._log(at, actor, "重办", f"{detail}；{reason}".rstrip("；"))
        else:
            self.status = TicketStatus.CLOSED
            self.closed_at = at
            self._log(at, None, "办结", "")

    # ----- 核查 (verification after the callback) -----

    def check_verify(self, actor: Actor, decision: VerifyDecision) -> None:
        require_role(actor, "核查", Role.SHIFT_LEAD)
        self._require_status("核查", TicketStatus.AWAITING_VERIFICATION)
        policy = self.plan.verification
        if decision is VerifyDecision.REDO and policy is not None and self.redo_count >= policy.max_redo:
            raise ActionRefused(
                f"拒绝重办：已重办 {self.redo_count} 次，达到上限（{policy.max_redo} 次），仅可核查结案或提请会商"
            )

    def verify(
        self, actor: Actor, decision: VerifyDecision, closure: ClosureCategory | None, reason: str, at: datetime
    ) -> None:
        assert self.callback is not None
        if decision is VerifyDecision.REDO:
            self._redo_or_close(self.callback, at, actor, f"核查：{reason}")
            return
        assert closure is not None
        self.status = TicketStatus.CLOSED
        self.closed_at = at
        self.closure = closure
        verdict = f"{'已解决' if self.callback.resolved else '未解决'} · {self.callback.satisfaction.value}"
        self._log(at, actor, "核查结案", f"{closure.value}（回访：{verdict}）；{reason}")
        if self.assignment is not None:
            text = f"工单经中心核查结案：{closure.value}；{reason}"
            self.outbox.append(PendingNotice(department=self.assignment, kind=NoticeKind.VERIFIED_CLOSED, text=text))

    @property
    def redo_allowed(self) -> bool:
        """Whether 核查 may still send the ticket back (below the cap on redos)."""
        policy = self.plan.verification
        return policy is None or self.redo_count < policy.max_redo

    # ----- 免考核 (exemption) -----

    def check_request_exemption(self, actor: Actor) -> None:
        self._require_assigned_clerk(actor, "申请免考核")
        self._require_status("申请免考核", *EXEMPTION_OPEN)
        if self._pending(ApprovalKind.EXEMPTION) is not None:
            raise ActionRefused("拒绝免考核申请：已有免考核申请待审批")
        if actor.department in self.exempted:
            raise ActionRefused("拒绝免考核申请：本单位已获免考核")

    def request_exemption(
        self, actor: Actor, category: ExemptionReason, evidence: str, at: datetime, approval_id: str
    ) -> ExceptionApproval:
        approval = self._open_approval(approval_id, ApprovalKind.EXEMPTION, actor, category.value, at)
        approval = approval.model_copy(update={"category": category.value, "evidence": evidence})
        self._replace_approval(approval)
        self._log(at, actor, "申请免考核", f"{approval_id}：{category.value}；证明：{evidence}")
        return approval

    def _exempt(self, actor: Actor, approval: ExceptionApproval, note: str, at: datetime) -> None:
        if approval.department not in self.exempted:
            self.exempted.append(approval.department)
        name = self.assignment.department_name if self.assignment else approval.department
        self._log(
            at, actor, "批准免考核", f"{approval.id}：{name}（{approval.category}）不计入考核；{note}".rstrip("；")
        )
        text = f"免考核申请 {approval.id} 已批准：本工单不计入贵单位考核（仍计入全区总量）"
        self.outbox.append(PendingNotice(department=self.assignment, kind=NoticeKind.APPROVAL_DECIDED, text=text))

    # ----- 挂账 (long-term backlog) -----

    def check_request_backlog(self, actor: Actor, plan_date: date, now: datetime) -> None:
        self._require_assigned_clerk(actor, "申请挂账")
        self._require_status("申请挂账", TicketStatus.SIGNED, TicketStatus.CONTACTED)
        if self.plan.deadlines is None:
            raise ActionRefused("拒绝挂账申请：本工单受理时尚无挂账规则")
        if self._pending(ApprovalKind.BACKLOG) is not None:
            raise ActionRefused("拒绝挂账申请：已有挂账申请待审批")
        if self.backlog_until is not None:
            raise ActionRefused(f"拒绝挂账申请：工单已挂账至 {self.backlog_until.isoformat()}")
        if self.resolve_due is not None and _end_of(plan_date) <= self.resolve_due:
            raise ActionRefused(
                f"拒绝挂账申请：计划完成日期 {plan_date.isoformat()} 未晚于办理时限 {_local(self.resolve_due)}，请按时办理或申请延期"
            )

    def request_backlog(
        self, actor: Actor, plan_date: date, reason: str, at: datetime, approval_id: str
    ) -> ExceptionApproval:
        approval = self._open_approval(approval_id, ApprovalKind.BACKLOG, actor, reason, at)
        approval = approval.model_copy(update={"plan_date": plan_date})
        self._replace_approval(approval)
        self._log(at, actor, "申请挂账", f"{approval_id}：计划 {plan_date.isoformat()} 前完成；{reason}")
        return approval

    def _put_on_backlog(self, actor: Actor, approval: ExceptionApproval, note: str, at: datetime) -> None:
        """The resolution clock now runs to the end of the plan date; warnings and the ladder start over."""
        assert approval.plan_date is not None
        self.backlog_until, self.backlog_since, self.backlog_reminders = approval.plan_date, at, 0
        clock = self.clock(ClockKind.RESOLVE)
        clock.due_at = _end_of(approval.plan_date)
        clock.armed_from, clock.fired, clock.level = at, [], None
        self.resolve_due = clock.due_at
        self.overdue = any(c.breached(at) for c in self.clocks if c.round == self.dispatch_round and c.owner is None)
        self.clock_version += 1
        plan = approval.plan_date.isoformat()
        self._log(
            at,
            actor,
            "批准挂账",
            f"{approval.id}：挂账至 {plan}，办理时限改为 {_local(self.resolve_due)}；{note}".rstrip("；"),
        )
        text = f"挂账申请 {approval.id} 已批准：计划 {plan} 前完成，每月提醒一次，办结前保持在办"
        self.outbox.append(PendingNotice(department=self.assignment, kind=NoticeKind.APPROVAL_DECIDED, text=text))

    @property
    def on_backlog(self) -> bool:
        """挂账 now: approved and the ticket not yet closed."""
        return self.backlog_until is not None and not self.status.is_final

    @property
    def next_backlog_reminder(self) -> datetime | None:
        """The next monthly reminder while the department works a 挂账 ticket (before its plan date)."""
        if not self.on_backlog or self.status not in HANDLING or self.backlog_since is None:
            return None
        at = add_months(self.backlog_since, self.backlog_reminders + 1)
        return at if self.resolve_due is None or at < self.resolve_due else None

    def remind_backlog(self, at: datetime) -> None:
        self.backlog_reminders += 1
        assert self.backlog_until is not None
        text = (
            f"挂账工单 {self.ticket.ticket_no} 第 {self.backlog_reminders} 次月度提醒："
            f"计划 {self.backlog_until.isoformat()} 前完成，请按计划推进并及时答复"
        )
        self._log(at, None, "挂账提醒", text)
        self.outbox.append(PendingNotice(department=self.assignment, kind=NoticeKind.BACKLOG_REMINDER, text=text))

    # ----- 暂停计时 (clocks that pause) -----

    def check_request_pause(self, actor: Actor, now: datetime) -> None:
        self._require_assigned_clerk(actor, "申请暂停计时")
        self._require_status("申请暂停计时", TicketStatus.SIGNED, TicketStatus.CONTACTED)
        if self.plan.pause_limit is None or self.plan.deadlines is None:
            raise ActionRefused("拒绝暂停计时申请：本工单受理时尚无暂停计时规则")
        if self.paused_since is not None:
            raise ActionRefused("拒绝暂停计时申请：时限已在暂停中")
        if self._pending(ApprovalKind.PAUSE) is not None:
            raise ActionRefused("拒绝暂停计时申请：已有暂停计时申请待审批")
        if self.resolve_due is not None and now > self.resolve_due:
            raise ActionRefused("拒绝暂停计时申请：须在办理期限届满前申请")

    def request_pause(
        self, actor: Actor, category: PauseReason, note: str, at: datetime, approval_id: str
    ) -> ExceptionApproval:
        reason = f"{category.value}：{note}" if note else category.value
        approval = self._open_approval(approval_id, ApprovalKind.PAUSE, actor, reason, at)
        approval = approval.model_copy(update={"category": category.value})
        self._replace_approval(approval)
        self._log(at, actor, "申请暂停计时", f"{approval_id}：{reason}")
        return approval

    def _pause(self, actor: Actor, approval: ExceptionApproval, note: str, at: datetime) -> None:
        self.paused_since = at
        self.clock_version += 1  # the timekeeper stands still while paused
        until = _local(self.pause_ends_at)
        self._log(
            at, actor, "批准暂停计时", f"{approval.id}：{approval.reason}；最迟 {until} 自动恢复；{note}".rstrip("；")
        )
        text = f"暂停计时申请 {approval.id} 已批准：时限暂停，诉求人情况具备后请恢复计时（最迟 {until} 自动恢复）"
        self.outbox.append(PendingNotice(department=self.assignment, kind=NoticeKind.APPROVAL_DECIDED, text=text))

    @property
    def pause_ends_at(self) -> datetime | None:
        """When a pause the department has not ended ends by itself (the configured limit)."""
        if self.paused_since is None or self.plan.pause_limit is None or self.plan.deadlines is None:
            return None
        return add(WorkCalendar(self.plan.deadlines.calendar), self.paused_since, self.plan.pause_limit)[0]

    def check_resume(self, actor: Actor) -> None:
        self._require_assigned_clerk(actor, "恢复计时")
        if self.paused_since is None:
            raise ActionRefused("拒绝恢复计时：时限未暂停")

    def resume(self, actor: Actor | None, at: datetime, note: str) -> None:
        """The clocks run again; every running due time moves by the paused working time."""
        assert self.paused_since is not None and self.plan.deadlines is not None
        calendar = WorkCalendar(self.plan.deadlines.calendar)
        paused = calendar.working_time(self.paused_since, at)
        for clock in self.running_clocks:
            clock.due_at, estimated = calendar.add_working_time(clock.due_at, paused)
            clock.estimated |= estimated
            clock.armed_from = at
        if self.sign_for_due is not None and self.clock(ClockKind.SIGN_FOR).running:
            self.sign_for_due = self.clock(ClockKind.SIGN_FOR).due_at
        if self.clock(ClockKind.RESOLVE).running:
            self.resolve_due = self.clock(ClockKind.RESOLVE).due_at
        self.paused_since = None
        self.clock_version += 1
        lasted = how_long(paused)
        detail = f"暂停工作时间 {lasted}，办理时限顺延至 {_local(self.resolve_due)}"
        self._log(at, actor, "恢复计时", f"{detail}；{note}".rstrip("；"))
        if actor is None or actor.role is Role.SYSTEM:
            text = f"工单 {self.ticket.ticket_no} 已恢复计时：{detail}"
            self.outbox.append(PendingNotice(department=self.assignment, kind=NoticeKind.CLOCK_RESUMED, text=text))

    # ----- what the reports read (facts of the current and of finished rounds) -----

    def current_facts(self) -> tuple[bool | None, bool | None, bool | None, bool | None]:
        """签收/响应/办结 in time, and resolved, for the current round (None: not decided yet). With
        plan.full_facts a clock that ran out before its step counts late from its ladder's first step,
        a finished round's facts move to `rounds`, and only this round's callback counts."""
        resolved = self.callback.resolved if self.callback is not None else None
        if not self.plan.full_facts:
            return self.signed_on_time, self.contacted_on_time, self.answered_on_time, resolved
        if self.rounds and self.rounds[-1].round == self.dispatch_round:
            return None, None, None, None  # the round has ended; the next has not started
        if self.callback_round != self.dispatch_round:
            resolved = None
        return (
            self._fact(self.signed_on_time, ClockKind.SIGN_FOR),
            self._fact(self.contacted_on_time, ClockKind.CONTACT),
            self._fact(self.answered_on_time, ClockKind.RESOLVE),
            resolved,
        )

    def _fact(self, stopped: bool | None, kind: ClockKind) -> bool | None:
        if stopped is not None or self.plan.deadlines is None:
            return stopped
        clock = next(
            (c for c in reversed(self.clocks) if c.kind is kind and c.round == self.dispatch_round and c.owner is None),
            None,
        )
        return False if clock is not None and clock.level is not None else None

    def _finish_round(self) -> None:
        """A round ends (重办, 改派, 确权): its facts stay with the department that held it."""
        if not self.plan.full_facts or self.dispatch_round == 0 or self.assignment is None:
            return
        if self.rounds and self.rounds[-1].round == self.dispatch_round:
            return
        signed, contacted, answered, resolved = self.current_facts()
        self.rounds.append(
            RoundFacts(
                round=self.dispatch_round,
                department=self.assignment.department,
                signed_on_time=signed,
                contacted_on_time=contacted,
                answered_on_time=answered,
                resolved=resolved,
            )
        )

    # ----- 确权 (who owns it) and 问题工单 -----

    def check_determine(self, actor: Actor) -> None:
        """现场确权 by the centre; a meeting's or arbiter's determination arrives as a signal."""
        require_role(actor, "确权", Role.SHIFT_LEAD)
        if self.status.is_final:
            raise ActionRefused(f"拒绝确权：工单已{self.status.value}")

    def determine(self, determination: Determination, at: datetime) -> None:
        d = determination
        helpers = "、".join(a.department_name for a in d.assisting) or "无"
        detail = f"主办 {d.lead.department_name}；协办 {helpers}（{d.reference}）"
        if self.status.is_final or self.status is TicketStatus.AWAITING_CALLBACK:
            self._log(at, d.decided_by, d.source, f"{detail}；工单已答复，不再改派")
            self.determination = d
            return
        self.determination = d
        previous = self.assignment
        if self.status is TicketStatus.AWAITING_VERIFICATION:
            # 核查 convened a meeting: the decided lead takes a new round (fresh clocks), whoever it is.
            if previous is not None and previous.department != d.lead.department:
                text = f"经{d.source}，工单改由 {d.lead.department_name} 主办"
                self.outbox.append(PendingNotice(department=previous, kind=NoticeKind.WITHDRAWN, text=text))
            self._log(at, d.decided_by, d.source, f"{detail}；核查后重新办理")
            self._assign(d.lead)
        elif previous is not None and previous.department == d.lead.department:
            self._log(at, d.decided_by, d.source, f"{detail}；维持原承办单位")
        else:
            if previous is not None:
                text = f"经{d.source}，工单改由 {d.lead.department_name} 主办"
                self.outbox.append(PendingNotice(department=previous, kind=NoticeKind.WITHDRAWN, text=text))
            self._log(at, d.decided_by, d.source, f"{detail}；改派主办单位")
            self._assign(d.lead)
        for helper in d.assisting:
            text = f"经{d.source}，贵单位为工单 {self.ticket.ticket_no} 的协办单位，主办：{d.lead.department_name}"
            self.outbox.append(PendingNotice(department=helper, kind=NoticeKind.DETERMINED, text=text))
        if self.plan.deadlines is not None:
            self.add_assists(d.assisting, at)

    def log_consultation(self, at: datetime, reason: str) -> None:
        self._log(at, None, "提请会商", f"{reason}；会商 {self.consultation}")

    @property
    def is_problem_ticket(self) -> bool:
        """问题工单: returned or redone the configured number of times, and not yet owned by decision."""
        policy = self.plan.consultation
        if policy is None or self.determination is not None or self.status.is_final:
            return False
        return self.return_count >= policy.problem_threshold or self.redo_count >= policy.problem_threshold

    # ----- clocks (签收、响应、办结时限) -----

    @property
    def running_clocks(self) -> list[Clock]:
        return [c for c in self.clocks if c.running]

    def clock(self, kind: ClockKind) -> Clock:
        """The current round's clock of that kind."""
        return next(c for c in reversed(self.clocks) if c.kind is kind and c.round == self.dispatch_round)

    def next_clock_event(self) -> ClockEvent | None:
        if self.plan.deadlines is None or self.paused_since is not None:
            return None
        return next_event(self.running_clocks, self.plan.deadlines)

    @property
    def next_due(self) -> datetime | None:
        return min((c.due_at for c in self.running_clocks), default=None)

    def fire(self, event: ClockEvent, at: datetime) -> None:
        """A warning or an escalation step is due: record it and queue its notices."""
        clock = next(c for c in self.running_clocks if c.kind is event.clock and c.owner == event.owner)
        clock.fired.append(event.key)
        about = {"clock": clock.kind, "due_at": clock.due_at}
        # The lead's clocks concern the lead; an assisting department's clocks concern that department.
        unit = self.assignment if clock.owner is None else self.assist(clock.owner).assignment
        if event.level is None:
            text = f"{clock.kind.value}时限 {_local(clock.due_at)} 已用去 {event.fraction:.0%}，请抓紧办理"
            self._log(at, None, "预警", text)
            self.outbox.append(PendingNotice(department=unit, kind=NoticeKind.REMINDER, text=text, **about))
            return
        assert unit is not None
        clock.level = event.level
        ladder = [step.level for step in self.plan.deadlines.ladder] if self.plan.deadlines else []
        if self.escalation_level not in ladder or ladder.index(event.level) >= ladder.index(self.escalation_level):
            self.escalation_level = event.level  # the highest step reached on any clock
        self.overdue = True
        self.escalations.append(
            Escalation(at=at, round=clock.round, level=event.level, department=unit.department, **about)
        )
        text = f"{unit.department_name}{clock.kind.value}超期（时限 {_local(clock.due_at)}）：{event.level}"
        self._log(at, None, event.level, text)
        self.outbox += ladder_notices(unit, event, clock, text)

    def _stop(self, kind: ClockKind, at: datetime, legacy_due: datetime | None) -> bool | None:
        """Stop the current round's clock; whether it stopped in time."""
        if self.plan.deadlines is None:
            return None if kind is ClockKind.CONTACT else (legacy_due is None or at <= legacy_due)
        clock = self.clock(kind)
        if clock.running:
            clock.stopped_at = at
            self.clock_version += 1
        return clock.on_time

    def _extend(self, span: Span, at: datetime) -> None:
        if self.resolve_due is None:
            return
        if self.plan.deadlines is None:  # first-release tickets: hours only
            self.resolve_due += timedelta(hours=span.amount)
            # Requested in time but decided late: the new due time governs again.
            self.overdue = self.overdue and self.resolve_due <= at
            return
        clock = self.clock(ClockKind.RESOLVE)
        clock.due_at, estimated = add(WorkCalendar(self.plan.deadlines.calendar), clock.due_at, span)
        clock.estimated |= estimated
        # Warnings and the ladder start over from the new due time; what lies in the past stays quiet.
        clock.armed_from, clock.fired = at, []
        self.resolve_due = clock.due_at
        self.overdue = any(c.breached(at) for c in self.clocks if c.round == self.dispatch_round)
        self.clock_version += 1

    def mark_overdue(self, at: datetime) -> None:
        self.overdue = True
        self._log(at, None, "超期", f"办理期限 {_local(self.resolve_due)} 已过")

    @property
    def awaiting_answer(self) -> bool:
        return self.status in (*HANDLING, TicketStatus.RETURN_PENDING) and not self.pending_dispatch

    @property
    def pending_approvals(self) -> list[ExceptionApproval]:
        return [a for a in self.approvals if a.state is ApprovalState.PENDING]

    @property
    def pending_exemption(self) -> ExceptionApproval | None:
        return self._pending(ApprovalKind.EXEMPTION)

    # ----- helpers -----

    def _assign(self, to: Assignment) -> None:
        self._lapse_pending()
        self._finish_round()
        if self.assignment is not None and to.department != self.assignment.department:
            self.backlog_until = self.backlog_since = None  # 挂账 was the department's plan, not the next one's
        if all(seen.department != to.department for seen in self.departments_seen):
            self.departments_seen.append(to)
        self.assignment = to
        self.pending_dispatch = True
        self.status = TicketStatus.DISPATCHING

    def _open_approval(
        self, approval_id: str, kind: ApprovalKind, actor: Actor, reason: str, at: datetime, span: Span | None = None
    ) -> ExceptionApproval:
        assert self.assignment is not None
        approval = ExceptionApproval(
            id=approval_id,
            kind=kind,
            department=self.assignment.department,
            requested_by=actor,
            requested_at=at,
            reason=reason,
            extension=str(span) if span else None,
        )
        self.approvals.append(approval)
        return approval

    def _take_away(self, text: str, at: datetime) -> None:
        """The ticket leaves its department's hands: the department is told if it had it, pending
        requests lapse, and the clocks stop."""
        if self.assignment is not None and self.status in (*HANDLING, TicketStatus.RETURN_PENDING):
            self.outbox.append(PendingNotice(department=self.assignment, kind=NoticeKind.WITHDRAWN, text=text))
        self._lapse_pending()
        for clock in self.running_clocks:
            clock.stopped_at = at
        self.clock_version += 1
        self.pending_dispatch = False
        self.paused_since = None

    def _lapse_pending(self, keep: ApprovalKind | None = None) -> None:
        """Requests of a department that no longer holds the ticket (or starts over) lapse; `keep` a
        kind that still stands (a 免考核 request outlives the answer and a redo)."""
        self.approvals = [
            a.model_copy(update={"state": ApprovalState.LAPSED})
            if a.state is ApprovalState.PENDING and a.kind is not keep
            else a
            for a in self.approvals
        ]

    def _approval(self, approval_id: str) -> ExceptionApproval | None:
        return next((a for a in self.approvals if a.id == approval_id), None)

    def _replace_approval(self, approval: ExceptionApproval) -> None:
        self.approvals = [approval if a.id == approval.id else a for a in self.approvals]

    def _pending(self, kind: ApprovalKind) -> ExceptionApproval | None:
        return next((a for a in self.pending_approvals if a.kind is kind), None)

    def _status_before_return(self) -> TicketStatus:
        if self.contacted_at is not None:
            return TicketStatus.CONTACTED
        if self.signed_at is not None:
            return TicketStatus.SIGNED
        return TicketStatus.AWAITING_SIGN_FOR

    def _require_status(self, action: str, *allowed: TicketStatus) -> None:
        if self.status not in allowed:
            wanted = "、".join(f"「{s.value}」" for s in allowed)
            raise ActionRefused(f"拒绝{action}：工单当前状态为「{self.status.value}」，仅在{wanted}时可{action}")

    def _require_assigned_clerk(self, actor: Actor, action: str) -> None:
        require_role(actor, action, Role.CLERK)
        if self.assignment is None or actor.department != self.assignment.department:
            owner = self.assignment.department_name if self.assignment else "（未派遣）"
            raise ActionRefused(f"拒绝{action}：{actor.label} 不属于承办单位 {owner}")

    def _log(self, at: datetime, actor: Actor | None, action: str, detail: str) -> None:
        department = self.assignment.department if self.assignment else None
        self.actions.append(
            Action(at=at, actor=actor or SYSTEM_ACTOR, action=action, detail=detail, department=department)
        )


def _span_of(approval: ExceptionApproval) -> Span:
    if approval.extension:
        return Span.model_validate(parse_span(approval.extension))
    return Span(amount=approval.extension_hours or 0, unit=Unit.HOURS)  # first-release requests


def _end_of(day: date) -> datetime:
    """The end of a day in the district (00:00 of the next), as a due time."""
    return datetime.combine(day + timedelta(days=1), time(0), CHINA_TZ)


def add_months(at: datetime, count: int) -> datetime:
    """The same day and time `count` months later (the month's last day when it is shorter)."""
    local = at.astimezone(CHINA_TZ)
    year, month = divmod(local.month - 1 + count, 12)
    year += local.year
    day = min(local.day, months.monthrange(year, month + 1)[1])
    return local.replace(year=year, month=month + 1, day=day).astimezone(at.tzinfo)


def next_approval_id(record: TicketRecord, kind: ApprovalKind) -> str:
    """R1, E2, X3 …: the kind's letter and the approval's place in the ticket's sequence."""
    return f"{APPROVAL_PREFIX[kind]}{len(record.approvals) + 1}"


def _local(at: datetime | None) -> str:
    return china_time(at) if at else "—"
