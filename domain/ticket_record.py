"""A ticket's state and the rules of its lifecycle, as a pure state machine.

受理 → 派遣 → 签收 → 联系诉求人 → 答复 → 回访 → 办结, with the detours 退单/改派, 延期 and 重办.

Every human action has a `check_*` (raises `ActionRefused` with a reason; changes nothing) and an
apply method that records it. The workflow calls the check from its update validator, so a refused
action never reaches the history, and the apply method from the update handler.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, Field

from domain.delivery import NoticeKind
from domain.intake import IntakePlan
from domain.models import (
    ROLE_LABELS,
    SYSTEM_ACTOR,
    Action,
    Actor,
    Answer,
    ApprovalKind,
    ApprovalState,
    Assignment,
    Callback,
    ExceptionApproval,
    Role,
    Ticket,
    TicketStatus,
)

HANDLING = (TicketStatus.AWAITING_SIGN_FOR, TicketStatus.SIGNED, TicketStatus.CONTACTED)


class ActionRefused(Exception):
    """A human action that the ticket's state or the actor's role does not allow."""


class PendingNotice(BaseModel):
    department: Assignment
    kind: NoticeKind
    text: str


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
    signed_on_time: bool | None = None
    answered_on_time: bool | None = None
    overdue: bool = False
    dispatch_error: str | None = None
    answer: Answer | None = None
    callback: Callback | None = None
    approvals: list[ExceptionApproval] = Field(default_factory=list)
    actions: list[Action] = Field(default_factory=list)
    outbox: list[PendingNotice] = Field(default_factory=list)

    # ----- intake and dispatch (受理、派遣) -----

    @classmethod
    def receive(cls, ticket: Ticket, plan: IntakePlan, at: datetime) -> TicketRecord:
        record = cls(ticket=ticket, plan=plan)
        record._log(at, None, "受理", f"{ticket.category} · {ticket.street} · {ticket.urgency}")
        if plan.direct_answer is not None:
            record.status = TicketStatus.ANSWERED_DIRECTLY
            record.closed_at = at
            record._log(at, None, "直接答复", f"知识库 {plan.knowledge_id}: {plan.direct_answer}")
        elif plan.route is not None:
            record._assign(plan.route)
        else:
            record._log(at, None, "待人工派遣", "派单目录无匹配，等待值班长派遣")
        return record

    def check_dispatch(self, actor: Actor, to: Assignment) -> None:
        _require_role(actor, "派遣", Role.SHIFT_LEAD)
        self._require_status("派遣", TicketStatus.AWAITING_DISPATCH, TicketStatus.DISPATCH_FAILED)

    def dispatch(self, actor: Actor, to: Assignment, at: datetime) -> None:
        self._assign(to)
        self._log(at, actor, "人工派遣", f"派往 {to.department_name}")

    def start_delivery(self, at: datetime) -> int:
        """A new dispatch round: the sign-for and resolution clocks start now."""
        policy = self.plan.policy
        self.pending_dispatch = False
        self.dispatch_round += 1
        self.status = TicketStatus.DISPATCHING
        self.dispatched_at = at
        self.dispatch_error = None
        self.signed_at = self.contacted_at = self.answered_at = None
        self.signed_on_time = self.answered_on_time = None
        self.overdue = False
        self.sign_for_due = at + timedelta(hours=policy.sign_for_hours)
        self.resolve_due = at + timedelta(hours=policy.resolve_hours)
        return self.dispatch_round

    def delivered(self, at: datetime, reference: str) -> None:
        assert self.assignment is not None
        self.status = TicketStatus.AWAITING_SIGN_FOR
        detail = f"第 {self.dispatch_round} 轮送达 {self.assignment.department_name}（{reference}）"
        self._log(at, None, "派遣", detail)

    def delivery_failed(self, at: datetime, error: str) -> None:
        self.status = TicketStatus.DISPATCH_FAILED
        self.dispatch_error = error
        self._log(at, None, "派遣失败", f"{error}；等待值班长处理")

    # ----- the department's work (签收、联系、答复) -----

    def check_sign_for(self, actor: Actor) -> None:
        self._require_assigned_clerk(actor, "签收")
        self._require_status("签收", TicketStatus.AWAITING_SIGN_FOR)

    def sign_for(self, actor: Actor, at: datetime) -> None:
        self.status = TicketStatus.SIGNED
        self.signed_at = at
        self.signed_on_time = self.sign_for_due is None or at <= self.sign_for_due
        self._log(at, actor, "签收", "" if self.signed_on_time else "超时签收")

    def check_contact(self, actor: Actor) -> None:
        self._require_assigned_clerk(actor, "联系诉求人")
        self._require_status("联系诉求人", TicketStatus.SIGNED, TicketStatus.CONTACTED)

    def contact(self, actor: Actor, note: str, at: datetime) -> None:
        self.status = TicketStatus.CONTACTED
        self.contacted_at = self.contacted_at or at
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
        self.answered_on_time = self.resolve_due is None or at <= self.resolve_due
        outcome = "已解决" if answer.resolved else "未解决"
        self._log(at, actor, "答复", f"{outcome}：{answer.text}")

    # ----- exceptions (退单、延期) and the shift lead's decisions -----

    def check_request_return(self, actor: Actor, reason: str, now: datetime) -> None:
        self._require_assigned_clerk(actor, "退单")
        self._require_status("退单", *HANDLING)
        window = timedelta(hours=self.plan.policy.return_window_hours)
        if self.dispatched_at is not None and now - self.dispatched_at > window:
            raise ActionRefused(
                f"拒绝退单：已超过退单时限（派遣后 {self.plan.policy.return_window_hours:g} 小时内），须由本单位办理"
            )

    def request_return(self, actor: Actor, reason: str, at: datetime, approval_id: str) -> ExceptionApproval:
        approval = self._open_approval(approval_id, ApprovalKind.RETURN, actor, reason, at)
        self.status = TicketStatus.RETURN_PENDING
        self._log(at, actor, "申请退单", reason)
        return approval

    def check_request_extension(self, actor: Actor, hours: int, reason: str, now: datetime) -> None:
        self._require_assigned_clerk(actor, "申请延期")
        self._require_status("申请延期", TicketStatus.SIGNED, TicketStatus.CONTACTED)
        policy = self.plan.policy
        if self._pending(ApprovalKind.EXTENSION) is not None:
            raise ActionRefused("拒绝延期申请：已有延期申请待审批")
        if self.extensions_granted >= policy.max_extensions:
            raise ActionRefused(f"拒绝延期申请：延期次数已达上限（{policy.max_extensions} 次）")
        if hours <= 0 or hours > policy.max_extension_hours:
            raise ActionRefused(f"拒绝延期申请：延期时长须在 1 至 {policy.max_extension_hours:g} 小时之间")
        if self.resolve_due is not None and now > self.resolve_due:
            raise ActionRefused("拒绝延期申请：须在办理期限届满前申请")

    def request_extension(
        self, actor: Actor, hours: int, reason: str, at: datetime, approval_id: str
    ) -> ExceptionApproval:
        approval = self._open_approval(approval_id, ApprovalKind.EXTENSION, actor, reason, at, hours)
        self._log(at, actor, "申请延期", f"{hours} 小时：{reason}")
        return approval

    def check_decision(self, actor: Actor, approval_id: str, reassign_to: Assignment | None, approve: bool) -> None:
        verb = "审批" if approve else "驳回"
        _require_role(actor, verb, Role.SHIFT_LEAD)
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
            raise ActionRefused("拒绝审批：延期申请不涉及改派")

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
        else:
            hours = approval.extension_hours or 0
            self.extensions_granted += 1
            if self.resolve_due is not None:
                self.resolve_due += timedelta(hours=hours)
                # Requested in time but decided late: the new due time governs again.
                self.overdue = self.overdue and self.resolve_due <= at
            self._log(at, actor, "批准延期", f"延期 {hours} 小时；{note}".rstrip("；"))
            self.outbox.append(
                PendingNotice(department=previous, kind=NoticeKind.EXTENSION_APPROVED, text=f"延期 {hours} 小时已批准")
            )

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
        else:
            self._log(at, actor, "驳回延期", note)
            kind = NoticeKind.EXTENSION_REJECTED
        self.outbox.append(PendingNotice(department=self.assignment, kind=kind, text=note))

    # ----- callback and closure (回访、办结、重办) -----

    def check_callback(self, actor: Actor) -> None:
        _require_role(actor, "回访", Role.OPERATOR, Role.SHIFT_LEAD)
        self._require_status("回访", TicketStatus.AWAITING_CALLBACK)

    def record_callback(self, actor: Actor, callback: Callback, at: datetime) -> None:
        self.callback = callback
        summary = f"{'已解决' if callback.resolved else '未解决'} · {callback.satisfaction.value}"
        if callback.note:
            summary += f"：{callback.note}"
        self._log(at, actor, "回访", summary)
        if callback.needs_redo:
            self._lapse_pending()
            self.redo_count += 1
            self.pending_dispatch = True
            self.status = TicketStatus.DISPATCHING
            self._log(
                at,
                None,
                "重办",
                f"第 {self.redo_count} 次重办，发回 {self.assignment.department_name if self.assignment else ''}",
            )
        else:
            self.status = TicketStatus.CLOSED
            self.closed_at = at
            self._log(at, None, "办结", "")

    # ----- clocks -----

    def mark_overdue(self, at: datetime) -> None:
        self.overdue = True
        self._log(at, None, "超期", f"办理期限 {self.resolve_due:%Y-%m-%d %H:%M} 已过")

    @property
    def awaiting_answer(self) -> bool:
        return self.status in (*HANDLING, TicketStatus.RETURN_PENDING) and not self.pending_dispatch

    @property
    def pending_approvals(self) -> list[ExceptionApproval]:
        return [a for a in self.approvals if a.state is ApprovalState.PENDING]

    # ----- helpers -----

    def _assign(self, to: Assignment) -> None:
        self._lapse_pending()
        self.assignment = to
        self.pending_dispatch = True
        self.status = TicketStatus.DISPATCHING

    def _open_approval(
        self, approval_id: str, kind: ApprovalKind, actor: Actor, reason: str, at: datetime, hours: int | None = None
    ) -> ExceptionApproval:
        assert self.assignment is not None
        approval = ExceptionApproval(
            id=approval_id,
            kind=kind,
            department=self.assignment.department,
            requested_by=actor,
            requested_at=at,
            reason=reason,
            extension_hours=hours,
        )
        self.approvals.append(approval)
        return approval

    def _lapse_pending(self) -> None:
        """Requests of a department that no longer holds the ticket (or starts over) lapse."""
        self.approvals = [
            a.model_copy(update={"state": ApprovalState.LAPSED}) if a.state is ApprovalState.PENDING else a
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
        _require_role(actor, action, Role.CLERK)
        if self.assignment is None or actor.department != self.assignment.department:
            owner = self.assignment.department_name if self.assignment else "（未派遣）"
            raise ActionRefused(f"拒绝{action}：{actor.label} 不属于承办单位 {owner}")

    def _log(self, at: datetime, actor: Actor | None, action: str, detail: str) -> None:
        department = self.assignment.department if self.assignment else None
        self.actions.append(
            Action(at=at, actor=actor or SYSTEM_ACTOR, action=action, detail=detail, department=department)
        )


def _require_role(actor: Actor, action: str, *roles: Role) -> None:
    if actor.role not in roles:
        allowed = "、".join(ROLE_LABELS[r] for r in roles)
        raise ActionRefused(f"拒绝{action}：{actor.label} 无权操作，仅限{allowed}")
