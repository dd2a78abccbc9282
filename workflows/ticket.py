"""TicketWorkflow: one citizen request (工单) from intake to closure.

受理 → 派遣 → 签收 → 联系诉求人 → 答复 → 回访 → 办结, with 退单/改派, 延期 and 重办 on the way.
The rules live in `domain.ticket_record`; this module wires them to Temporal: human actions are
updates whose validators refuse before anything is written; deliveries and notices are activities
on the department's own task queue; the record is the query `view`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from domain import search_attributes as sa
    from domain.calendar import natural
    from domain.commands import (
        ActionResult,
        AssistReport,
        CityReply,
        ContactCitizen,
        Decide,
        DetermineOwner,
        GiveAnswer,
        LinkTicket,
        ManualDispatch,
        RecordCallback,
        RequestBacklog,
        RequestExemption,
        RequestExtension,
        RequestPause,
        RequestReturn,
        ResumeClock,
        SignFor,
        TicketOutcome,
        TransferToCity,
        Unlink,
        VerifyTicket,
    )
    from domain.delivery import CallbackRequest, CityMessage, Delivery, DeliveryReceipt, NoticeKind, delivery_key
    from domain.intake import TicketInput, workflow_id_for
    from domain.meeting import MeetingInput, determination_from, workflow_id_for_meeting
    from domain.models import (
        SYSTEM_ACTOR,
        Actor,
        Answer,
        ApprovalKind,
        Assignment,
        Determination,
        TicketSource,
        TicketStatus,
        VerifyDecision,
    )
    from domain.records import ActionRefused, PendingNotice
    from domain.ticket_record import AssistStatus, TicketRecord, next_approval_id

from workflows import interfaces
from workflows.common import (
    DeliveryCalledOff,
    InFlight,
    alert_after,
    failure_text,
    keep_delivering,
    keep_time,
    publish,
    send_notices,
    validates,
)


def recheck(check: Callable[[Actor], None], actor: Actor) -> None:
    """Validate again after an update waited: a refusal now fails the update, not the workflow task."""
    try:
        check(actor)
    except ActionRefused as refused:
        raise ApplicationError(str(refused), type="ActionRefused", non_retryable=True) from None


@workflow.defn
class TicketWorkflow:
    @workflow.init
    def __init__(self, input: TicketInput) -> None:
        self.record = TicketRecord.receive(input.ticket, input.plan, workflow.now())
        self._published = workflow.info().typed_search_attributes
        self._city_told = False  # sent up and told, while the city may still return it
        self._in_flight: InFlight | None = None  # the delivery under way, which a redirect calls off

    @workflow.run
    async def run(self, input: TicketInput) -> TicketOutcome:
        self._publish()
        record = self.record
        notices = asyncio.create_task(
            send_notices(record.outbox, record.ticket.ticket_no, alert_after=self._alert_after, held=self._notice_held)
        )
        clocks = (
            asyncio.create_task(keep_time(lambda: record.clock_version, self._next_clock_event, self._publish))
            if record.plan.deadlines
            else None
        )
        consultation = asyncio.create_task(self._consult_when_problem()) if record.plan.consultation else None
        forwarding = asyncio.create_task(self._forward_answer()) if record.plan.match_key else None
        assisting = asyncio.create_task(self._deliver_assists()) if record.plan.deadlines else None
        # 挂账's monthly reminders and 暂停计时's limit: timers only once such a request is approved.
        backlog = asyncio.create_task(self._remind_backlog()) if record.plan.deadlines else None
        pause = asyncio.create_task(self._resume_at_limit()) if record.plan.pause_limit else None
        if record.merged_into:
            await self._join_main()
        while True:
            await self._work_until_final()
            if not await self._city_may_return():
                break
        for task in (clocks, consultation, assisting, backlog, pause):
            if task:
                task.cancel()
        # A 免考核 request still waiting is decided on the closed ticket (it concerns the assessment).
        await workflow.wait_condition(lambda: record.pending_exemption is None)
        if not self._city_told:
            await self._tell_city()
        # Repeats merged into this ticket get its answer before it ends.
        await workflow.wait_condition(lambda: not record.answers_to_forward)
        if forwarding:
            forwarding.cancel()
        await workflow.wait_condition(lambda: not self.record.outbox and workflow.all_handlers_finished())
        notices.cancel()
        return TicketOutcome(
            ticket_no=self.record.ticket.ticket_no,
            status=self.record.status,
            department=self.record.assignment.department if self.record.assignment else None,
            redo_count=self.record.redo_count,
            return_count=self.record.return_count,
        )

    async def _work_until_final(self) -> None:
        record = self.record
        while not record.status.is_final:
            if record.status is TicketStatus.MERGED:
                await workflow.wait_condition(lambda: record.status is not TicketStatus.MERGED)
                continue
            if record.status is TicketStatus.AWAITING_CALLBACK:
                await self._call_back()  # answered through the main ticket it was merged into
                continue
            await workflow.wait_condition(
                lambda: record.pending_dispatch or record.status is TicketStatus.MERGED or record.status.is_final
            )
            if not record.pending_dispatch:
                continue  # merged by the shift lead, or sent up to the city, before it was dispatched
            if not await self._dispatch():
                continue  # 派遣失败: waits for the shift lead to dispatch by hand
            await self._await_answer()
            if record.status is not TicketStatus.AWAITING_CALLBACK:  # type: ignore[comparison-overlap]  # the await moved it
                continue  # 退单 approved (改派), 确权 to another lead, merged, or sent up to the city
            await self._call_back()

    async def _city_may_return(self) -> bool:
        """With a reply window fixed at intake, the city is told now (a ticket sent up, or the result
        of one it sent down) and may send the ticket back within it: return or refuse it (市级退回 /
        不予受理), or have it done again (市级重派); True: it did, the district works it again.
        Tickets without one (and every older history) end at once, as before."""
        record = self.record
        window = record.plan.city_reply_within
        ended = record.status
        city_closed = record.ticket.source is TicketSource.CITY and ended is TicketStatus.CLOSED
        if window is None or not (ended is TicketStatus.TRANSFERRED or city_closed):
            return False
        await self._tell_city()
        self._city_told = True
        try:
            await workflow.wait_condition(lambda: record.status is not ended, timeout=natural(window))
        except TimeoutError:
            return False
        self._city_told = False
        return True

    # ----- the centre's steps -----

    async def _dispatch(self) -> bool:
        """派遣: deliver to the department's system through its own worker. The step is published
        once, when it ends: delivered, blocked (派遣受阻) or failed."""
        record = self.record
        round = record.start_delivery(workflow.now())
        assert record.assignment is not None and record.sign_for_due and record.resolve_due
        if not record.plan.publish_on_delivery:
            self._publish()  # tickets received before: the step was also published as it started
        delivery = Delivery(
            idempotency_key=delivery_key(record.ticket.ticket_no, round),
            workflow_id=workflow.info().workflow_id,
            round=round,
            assignment=record.assignment,
            ticket=record.ticket,
            sign_for_due=record.sign_for_due,
            resolve_due=record.resolve_due,
            redo=record.redo_count > 0,
        )
        in_flight = self._in_flight = InFlight()
        try:
            # Retried until the system takes it; still failing after the threshold: 派遣受阻, and on.
            receipt = await keep_delivering(
                "deliver_ticket",  # a department's activity, by name (workflows/interfaces.py says why)
                delivery,
                result_type=DeliveryReceipt,
                task_queue=record.assignment.task_queue,
                alert_after=self._alert_after,
                blocked=lambda error: self._delivery_blocked(delivery.assignment, error),
                in_flight=in_flight,
            )
        except (ActivityError, DeliveryCalledOff, asyncio.CancelledError) as err:
            if in_flight.called_off:
                return False  # 派遣受阻 and redirected by the shift lead: dispatched anew, to the new unit
            if not isinstance(err, ActivityError):
                raise
            record.delivery_failed(workflow.now(), failure_text(err))
            workflow.logger.warning("delivery failed", extra={"ticket": record.ticket.ticket_no})
            self._publish()
            return False
        finally:
            self._in_flight = None
        if in_flight.called_off:
            return False  # it got through as the shift lead redirected it: the new unit has it (the old was told)
        record.delivered(workflow.now(), receipt.reference)
        self._publish()
        return True

    async def _await_answer(self) -> None:
        """The department works until it answers or hands the ticket back; the clocks run meanwhile."""
        record = self.record
        if record.plan.deadlines is not None:
            await workflow.wait_condition(lambda: not record.awaiting_answer)
            return
        # First-release tickets: one resolution timer, kept so that their histories replay.
        while record.awaiting_answer:
            due = record.resolve_due
            if record.overdue or due is None:
                # A late-approved extension clears `overdue`, and the clock runs again.
                await workflow.wait_condition(lambda: not record.awaiting_answer or not record.overdue)
                continue
            remaining = due - workflow.now()
            try:
                if remaining <= timedelta(0):
                    raise TimeoutError
                # Wakes early when an approved extension moves the due time.
                await workflow.wait_condition(
                    lambda: not record.awaiting_answer or record.resolve_due != due,  # noqa: B023 (awaited here)
                    timeout=remaining,
                )
            except TimeoutError:
                record.mark_overdue(workflow.now())
                self._publish()

    async def _call_back(self) -> None:
        """回访: ask the centre's survey channel, then wait for the citizen's verdict. When operators
        make the callbacks (fixed at intake), there is nothing to ask: they see the ticket 待回访."""
        record = self.record
        if record.plan.callback_by_operator:
            workflow.logger.info(
                "awaiting callback by an operator",
                extra={"ticket": record.ticket.ticket_no, "workflow_id": workflow.info().workflow_id},
            )
        else:
            await workflow.execute_local_activity(
                interfaces.request_callback,
                CallbackRequest(
                    workflow_id=workflow.info().workflow_id,
                    ticket_no=record.ticket.ticket_no,
                    round=record.dispatch_round,
                ),
                start_to_close_timeout=timedelta(seconds=10),
            )
        await workflow.wait_condition(lambda: record.status is not TicketStatus.AWAITING_CALLBACK)

    # ----- 派遣受阻 (a department's system down for a long stretch) -----

    @property
    def _alert_after(self) -> timedelta:
        """How long a delivery may keep failing before the shift lead is told, fixed at intake."""
        return alert_after(self.record.plan.delivery_alert_after)

    def _delivery_blocked(self, unit: Assignment, error: str) -> None:
        self.record.delivery_blocked(workflow.now(), unit, error)
        self._publish()

    def _assist_blocked(self, department: str, error: str, since: datetime) -> None:
        self.record.assist_blocked(department, workflow.now(), error, since)

    def _notice_held(self, pending: PendingNotice, error: str) -> None:
        if pending.department is not None:
            self.record.notice_held(workflow.now(), pending.department, error)

    def _next_clock_event(self) -> tuple[datetime, Callable[[datetime], None]] | None:
        """签收、响应、办结时限: the next warning or ladder step, and how to record it."""
        event = self.record.next_clock_event()
        return None if event is None else (event.at, lambda at: self.record.fire(event, at))

    async def _consult_when_problem(self) -> None:
        """A 问题工单 (returned or redone too often without an owner) goes to a consultation meeting."""
        record = self.record
        await workflow.wait_condition(lambda: record.is_problem_ticket)
        policy, deadlines = record.plan.consultation, record.plan.deadlines
        assert policy is not None and deadlines is not None
        no = record.ticket.ticket_no
        reason = f"问题工单：退单 {record.return_count} 次、重办 {record.redo_count} 次，仍无明确承办单位"
        meeting = MeetingInput(
            meeting_no=f"AUTO-{no}",
            convened_by=SYSTEM_ACTOR,
            reason=reason,
            tickets=[no],
            departments=record.departments_seen,
            attendance_window=policy.attendance_window,
            arbiter=policy.arbiter,
            calendar=deadlines.calendar,
        )
        meeting_id = workflow_id_for_meeting(meeting.meeting_no)
        # The meeting outlives this run if need be; it decides and signals back (确权).
        await workflow.start_child_workflow(
            "ConsultationMeetingWorkflow",
            meeting,
            id=meeting_id,
            parent_close_policy=ParentClosePolicy.ABANDON,
        )
        # Recorded once the meeting exists, so whoever reads the ticket can open the meeting.
        record.consultation = meeting_id
        record.log_consultation(workflow.now(), reason)
        self._publish()

    # ----- 挂账 and 暂停计时 -----

    async def _remind_backlog(self) -> None:
        """Each month while the department works a 挂账 ticket, a reminder of its plan date."""
        record = self.record
        while True:
            await workflow.wait_condition(lambda: record.next_backlog_reminder is not None)
            at = record.next_backlog_reminder
            assert at is not None
            remaining = at - workflow.now()
            if remaining > timedelta(0):
                try:
                    await workflow.wait_condition(
                        lambda: record.next_backlog_reminder != at,  # noqa: B023 (awaited here)
                        timeout=remaining,
                        timeout_summary="挂账月度提醒",
                    )
                    continue  # answered, closed, reassigned or moved meanwhile
                except TimeoutError:
                    pass
            record.remind_backlog(workflow.now())

    async def _resume_at_limit(self) -> None:
        """A pause the department does not end ends by itself at the configured limit."""
        record = self.record
        while True:
            await workflow.wait_condition(lambda: record.pause_ends_at is not None)
            ends = record.pause_ends_at
            assert ends is not None
            remaining = ends - workflow.now()
            if remaining > timedelta(0):
                try:
                    await workflow.wait_condition(
                        lambda: record.pause_ends_at != ends,  # noqa: B023 (awaited here)
                        timeout=remaining,
                        timeout_summary="暂停计时上限",
                    )
                    continue  # resumed by the department, or answered
                except TimeoutError:
                    pass
            record.resume(None, workflow.now(), "暂停已达上限，自动恢复计时")
            self._publish()

    # ----- 协办 -----

    async def _deliver_assists(self) -> None:
        """Assisting departments (协办) get the ticket on their own queues, then their clocks start."""
        record = self.record
        await workflow.wait_condition(lambda: bool(record.assists_to_deliver))
        # Tickets whose histories predate 协办 deliveries replay without them.
        if not workflow.patched("assist-deliveries"):
            return
        while True:
            await workflow.wait_condition(lambda: bool(record.assists_to_deliver))
            part = record.assists_to_deliver[0]
            assert record.resolve_due is not None and record.sign_for_due is not None
            delivery = Delivery(
                idempotency_key=f"{record.ticket.ticket_no}#a-{part.assignment.department}",
                workflow_id=workflow.info().workflow_id,
                round=record.dispatch_round,
                assignment=part.assignment,
                ticket=record.ticket,
                sign_for_due=record.sign_for_due,
                resolve_due=record.resolve_due,
                role="协办",
                note=f"主办：{record.assignment.department_name if record.assignment else '—'}",
            )
            began = workflow.now()
            code = part.assignment.department
            try:
                receipt = await keep_delivering(
                    "deliver_ticket",  # a department's activity, by name (workflows/interfaces.py says why)
                    delivery,
                    result_type=DeliveryReceipt,
                    task_queue=part.assignment.task_queue,
                    alert_after=self._alert_after,
                    blocked=lambda error: self._assist_blocked(code, error, began),  # noqa: B023 (called while awaited)
                )
                record.assist_delivered(code, workflow.now(), receipt.reference)
            except ActivityError as err:
                record.assist_failed(code, workflow.now(), failure_text(err))
            self._publish()

    @workflow.update
    async def assist_sign_for(self, cmd: SignFor) -> ActionResult:
        part = self.record.assist(cmd.actor.department or "")
        if part.status is AssistStatus.TO_DELIVER:
            await workflow.wait_condition(lambda: part.status is not AssistStatus.TO_DELIVER)
            recheck(self.record.check_assist_sign_for, cmd.actor)  # the delivery may have failed meanwhile
        self.record.assist_sign_for(cmd.actor, workflow.now())
        return self._done("协办已签收")

    @validates(assist_sign_for)
    def _check_assist_sign_for(self, cmd: SignFor) -> None:
        self.record.check_assist_sign_for(cmd.actor)

    @workflow.update
    def assist_report(self, cmd: AssistReport) -> ActionResult:
        self.record.assist_report(cmd.actor, cmd.text, workflow.now())
        return self._done("协办情况已报告主办单位")

    @validates(assist_report)
    def _check_assist_report(self, cmd: AssistReport) -> None:
        self.record.check_assist_report(cmd.actor)

    # ----- 市区转办 -----

    async def _tell_city(self) -> None:
        """A ticket sent up goes to the city centre; a ticket the city sent down reports its result."""
        record = self.record
        if record.status is TicketStatus.TRANSFERRED:
            kind, text = NoticeKind.CITY_TRANSFER, record.actions[-1].detail
        elif record.ticket.source is TicketSource.CITY and record.status is TicketStatus.CLOSED:
            kind, text = NoticeKind.CITY_REPORT, "区级已办结"
        else:
            return
        key = f"{record.ticket.ticket_no}.city"
        if record.plan.city_reply_within is not None:  # sent back, then up or reported again: a new message
            key += f".{record.transfers}" if kind is NoticeKind.CITY_TRANSFER else f".r{record.redo_count}"
        message = CityMessage(
            idempotency_key=key,
            kind=kind,
            ticket=record.ticket,
            text=text,
            answer=record.answer.text if record.answer else None,
            satisfaction=record.callback.satisfaction.value if record.callback else None,
        )
        began, blocked = workflow.now(), False

        def city_blocked(error: str) -> None:
            nonlocal blocked
            blocked = True
            record.city_blocked(workflow.now(), kind.value, error, began)

        await keep_delivering(
            interfaces.notify_city,
            message,
            task_queue=workflow.info().task_queue,
            alert_after=self._alert_after,
            blocked=city_blocked,
        )
        if blocked:
            record.city_resumed(workflow.now(), kind.value, began)

    @workflow.update
    def transfer_to_city(self, cmd: TransferToCity) -> ActionResult:
        self.record.transfer_to_city(cmd.actor, cmd.reason, workflow.now())
        return self._done("已上转市域社会治理中心")

    @validates(transfer_to_city)
    def _check_transfer(self, cmd: TransferToCity) -> None:
        self.record.check_transfer(cmd.actor)

    @workflow.update
    def city_reply(self, cmd: CityReply) -> ActionResult:
        """市级退回 / 不予受理 / 市级重派: the shift lead records the city's word; the district works it again."""
        self.record.city_reply(cmd.actor, cmd.action, cmd.reason, workflow.now())
        return self._done(f"已登记{cmd.action.value}")

    @validates(city_reply)
    def _check_city_reply(self, cmd: CityReply) -> None:
        self.record.check_city_reply(cmd.actor, cmd.action)

    # ----- 并单 -----

    async def _join_main(self) -> None:
        """A repeat: tell the main ticket; if it has ended meanwhile, go on independently."""
        record = self.record
        main = record.merged_into
        assert main is not None
        try:
            await workflow.get_external_workflow_handle(main).signal("link_duplicate", workflow.info().workflow_id)
        except Exception:  # the main ticket ended between the visibility lookup and now
            record.unlink(None, "主单已结束，单独办理", workflow.now())
        self._publish()

    async def _forward_answer(self) -> None:
        """On a main ticket: its answer reaches every repeat merged into it, and each citizen is called."""
        record = self.record
        while True:
            await workflow.wait_condition(lambda: bool(record.answers_to_forward))
            for linked in record.answers_to_forward:
                try:
                    await workflow.get_external_workflow_handle(linked).signal("main_answered", record.answer)
                except Exception:
                    record.drop_link(linked, workflow.now())
                    continue
                record.forwarded.append(linked)

    @workflow.signal
    def link_duplicate(self, workflow_id: str) -> None:
        self.record.link(workflow_id, workflow.now())

    @workflow.signal
    def unlink_duplicate(self, workflow_id: str) -> None:
        self.record.drop_link(workflow_id, workflow.now())

    @workflow.signal
    def main_answered(self, answer: Answer) -> None:
        self.record.main_answered(answer, workflow.now())
        self._publish()

    @workflow.update
    async def link(self, cmd: LinkTicket) -> ActionResult:
        """并单 by the shift lead: this ticket repeats another open one."""
        self.record.merge_into(cmd.actor, workflow_id_for(cmd.main_ticket), workflow.now())
        self._publish()
        await self._join_main()
        return self._done(f"已并入 {cmd.main_ticket}")

    @validates(link)
    def _check_link(self, cmd: LinkTicket) -> None:
        self.record.check_link(cmd.actor, workflow_id_for(cmd.main_ticket), workflow.info().workflow_id)

    @workflow.update
    async def unlink(self, cmd: Unlink) -> ActionResult:
        """解除并单 by the shift lead: handled on its own from now on."""
        main = self.record.unlink(cmd.actor, cmd.note, workflow.now())
        self._publish()
        if main:
            with contextlib.suppress(Exception):  # the main ticket has ended: nothing left to tell it
                await workflow.get_external_workflow_handle(main).signal(
                    "unlink_duplicate", workflow.info().workflow_id
                )
        return self._done("已解除并单，单独办理")

    @validates(unlink)
    def _check_unlink(self, cmd: Unlink) -> None:
        self.record.check_unlink(cmd.actor)

    # ----- 确权 -----

    @workflow.signal
    def determine_owner(self, determination: Determination) -> None:
        """A consultation meeting's or an arbiter's determination (确权) for this ticket."""
        self.record.determine(determination, workflow.now())
        self._publish()

    @workflow.update
    def determine(self, cmd: DetermineOwner) -> ActionResult:
        """现场确权: the centre decides on site, without a meeting."""
        determination = determination_from(cmd, "现场确权", cmd.note or "现场确权督办", workflow.now())
        self.record.determine(determination, workflow.now())
        return self._done(f"已确权：主办 {cmd.lead.department_name}")

    @validates(determine)
    def _check_determine(self, cmd: DetermineOwner) -> None:
        self.record.check_determine(cmd.actor)

    # ----- human actions (updates with validators) -----

    @workflow.update
    def dispatch(self, cmd: ManualDispatch) -> ActionResult:
        self.record.dispatch(cmd.actor, cmd.to, workflow.now())
        if self._in_flight is not None:
            self._in_flight.call_off()  # 派遣受阻: the blocked delivery gives way to the new one
        return self._done(f"已派往 {cmd.to.department_name}")

    @validates(dispatch)
    def _check_dispatch(self, cmd: ManualDispatch) -> None:
        self.record.check_dispatch(cmd.actor, cmd.to)

    @workflow.update
    async def sign_for(self, cmd: SignFor) -> ActionResult:
        record = self.record
        if record.status is TicketStatus.DISPATCHING:
            # A department's system may sign for as soon as it has the ticket, before the delivery's
            # result reaches this workflow; the sign-for waits for it.
            await workflow.wait_condition(lambda: record.status is not TicketStatus.DISPATCHING)
            recheck(record.check_sign_for, cmd.actor)  # the delivery may have failed, or the ticket moved on
        record.sign_for(cmd.actor, workflow.now())
        return self._done("已签收")

    @validates(sign_for)
    def _check_sign_for(self, cmd: SignFor) -> None:
        self.record.check_sign_for(cmd.actor)

    @workflow.update
    def contact_citizen(self, cmd: ContactCitizen) -> ActionResult:
        self.record.contact(cmd.actor, cmd.note, workflow.now())
        return self._done("已联系诉求人")

    @validates(contact_citizen)
    def _check_contact(self, cmd: ContactCitizen) -> None:
        self.record.check_contact(cmd.actor)

    @workflow.update
    def answer(self, cmd: GiveAnswer) -> ActionResult:
        self.record.give_answer(cmd.actor, cmd.answer, workflow.now())
        return self._done("已答复，待回访")

    @validates(answer)
    def _check_answer(self, cmd: GiveAnswer) -> None:
        self.record.check_answer(cmd.actor)

    @workflow.update
    def request_return(self, cmd: RequestReturn) -> ActionResult:
        approval_id = next_approval_id(self.record, ApprovalKind.RETURN)
        self.record.request_return(cmd.actor, cmd.reason, workflow.now(), approval_id)
        return self._done("退单申请已提交，待值班长审批", approval_id)

    @validates(request_return)
    def _check_return(self, cmd: RequestReturn) -> None:
        self.record.check_request_return(cmd.actor, cmd.reason, workflow.now())

    @workflow.update
    def request_extension(self, cmd: RequestExtension) -> ActionResult:
        approval_id = next_approval_id(self.record, ApprovalKind.EXTENSION)
        self.record.request_extension(cmd.actor, cmd.span, cmd.reason, workflow.now(), approval_id)
        return self._done("延期申请已提交，待值班长审批", approval_id)

    @validates(request_extension)
    def _check_extension(self, cmd: RequestExtension) -> None:
        self.record.check_request_extension(cmd.actor, cmd.span, cmd.reason, workflow.now())

    @workflow.update
    def request_exemption(self, cmd: RequestExemption) -> ActionResult:
        """免考核: the department asks that the ticket not count against it (an 异常审批)."""
        approval_id = next_approval_id(self.record, ApprovalKind.EXEMPTION)
        self.record.request_exemption(cmd.actor, cmd.category, cmd.evidence, workflow.now(), approval_id)
        return self._done("免考核申请已提交，待值班长审批", approval_id)

    @validates(request_exemption)
    def _check_exemption(self, cmd: RequestExemption) -> None:
        self.record.check_request_exemption(cmd.actor)

    @workflow.update
    def request_backlog(self, cmd: RequestBacklog) -> ActionResult:
        """挂账: the department asks to work to a plan date beyond any time limit (an 异常审批)."""
        approval_id = next_approval_id(self.record, ApprovalKind.BACKLOG)
        self.record.request_backlog(cmd.actor, cmd.plan_date, cmd.reason, workflow.now(), approval_id)
        return self._done("挂账申请已提交，待值班长审批", approval_id)

    @validates(request_backlog)
    def _check_backlog(self, cmd: RequestBacklog) -> None:
        self.record.check_request_backlog(cmd.actor, cmd.plan_date, workflow.now())

    @workflow.update
    def request_pause(self, cmd: RequestPause) -> ActionResult:
        """暂停计时: the department waits for the citizen (an 异常审批)."""
        approval_id = next_approval_id(self.record, ApprovalKind.PAUSE)
        self.record.request_pause(cmd.actor, cmd.category, cmd.note, workflow.now(), approval_id)
        return self._done("暂停计时申请已提交，待值班长审批", approval_id)

    @validates(request_pause)
    def _check_pause(self, cmd: RequestPause) -> None:
        self.record.check_request_pause(cmd.actor, workflow.now())

    @workflow.update
    def resume_clock(self, cmd: ResumeClock) -> ActionResult:
        self.record.resume(cmd.actor, workflow.now(), cmd.note)
        return self._done("已恢复计时")

    @validates(resume_clock)
    def _check_resume(self, cmd: ResumeClock) -> None:
        self.record.check_resume(cmd.actor)

    @workflow.update
    def approve(self, cmd: Decide) -> ActionResult:
        self.record.approve(cmd.actor, cmd.approval_id, cmd.reassign_to, cmd.note, workflow.now())
        return self._done(f"已批准 {cmd.approval_id}")

    @validates(approve)
    def _check_approve(self, cmd: Decide) -> None:
        self.record.check_decision(cmd.actor, cmd.approval_id, cmd.reassign_to, approve=True)

    @workflow.update
    def reject(self, cmd: Decide) -> ActionResult:
        self.record.reject(cmd.actor, cmd.approval_id, cmd.note, workflow.now())
        return self._done(f"已驳回 {cmd.approval_id}")

    @validates(reject)
    def _check_reject(self, cmd: Decide) -> None:
        self.record.check_decision(cmd.actor, cmd.approval_id, None, approve=False)

    @workflow.update
    def record_callback(self, cmd: RecordCallback) -> ActionResult:
        self.record.record_callback(cmd.actor, cmd.callback, workflow.now())
        if self.record.status is TicketStatus.AWAITING_VERIFICATION:
            message = "回访不满意或未解决，待中心核查"
        else:
            message = "回访不满意或未解决，已发回重办" if cmd.callback.needs_redo else "已办结"
        return self._done(message)

    @validates(record_callback)
    def _check_callback(self, cmd: RecordCallback) -> None:
        self.record.check_callback(cmd.actor)

    @workflow.update
    def verify(self, cmd: VerifyTicket) -> ActionResult:
        """核查: 重办 by the same department (a new round), or 核查结案 with a closure category."""
        self.record.verify(cmd.actor, cmd.decision, cmd.closure, cmd.reason, workflow.now())
        if cmd.decision is VerifyDecision.REDO:
            return self._done("核查：已发回重办")
        return self._done(f"核查结案：{cmd.closure.value if cmd.closure else ''}")

    @validates(verify)
    def _check_verify(self, cmd: VerifyTicket) -> None:
        self.record.check_verify(cmd.actor, cmd.decision)

    @workflow.query
    def view(self) -> TicketRecord:
        return self.record

    # ----- helpers -----

    def _done(self, message: str, approval_id: str | None = None) -> ActionResult:
        self._publish()
        return ActionResult(status=self.record.status, message=message, approval_id=approval_id)

    def _publish(self) -> None:
        """Keep the search attributes current: one upsert per step, only of what changed."""
        self._published = publish(self._published, sa.for_ticket(self.record))
