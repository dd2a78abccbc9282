"""ConsultationMeetingWorkflow (疑难工单会商会议): from the invitation to the determination (确权).

The invited departments confirm attendance by a deadline; those who do not are recorded absent
and escalated. The shift lead records the minutes and the decision; without agreement the matter
goes to the arbiter, whose ruling is final. The decision then reaches every linked ticket, which
is re-dispatched to its lead department; until then the tickets keep their current assignment.
"""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributePair, TypedSearchAttributes

with workflow.unsafe.imports_passed_through():
    from domain import search_attributes as sa
    from domain.commands import Attend, DetermineOwner, RecordMinutes, Refer
    from domain.intake import workflow_id_for
    from domain.meeting import MeetingInput, MeetingOutcome, MeetingRecord, MeetingResult, MeetingStatus

from workflows.common import publish, send_notices, validates


@workflow.defn
class ConsultationMeetingWorkflow:
    @workflow.init
    def __init__(self, input: MeetingInput) -> None:
        self.record = MeetingRecord.convene(input, workflow.now())
        self._published = workflow.info().typed_search_attributes

    @workflow.run
    async def run(self, input: MeetingInput) -> MeetingOutcome:
        record = self.record
        self._publish()
        notices = asyncio.create_task(send_notices(record.outbox, f"M-{input.meeting_no}"))
        try:
            await workflow.wait_condition(
                lambda: record.status is not MeetingStatus.INVITING, timeout=record.attendance_due - workflow.now()
            )
        except TimeoutError:
            record.close_attendance(workflow.now())
            self._publish()
        await workflow.wait_condition(lambda: record.status.is_final)
        determination = record.determination
        assert determination is not None
        for ticket_no in input.tickets:
            try:
                await workflow.get_external_workflow_handle(workflow_id_for(ticket_no)).signal(
                    "determine_owner", determination
                )
                record.log_delivered(workflow.now(), ticket_no)
            except Exception as err:  # the ticket ended or never existed: recorded, not fatal
                record.log_not_delivered(workflow.now(), ticket_no, str(err))
        self._publish()
        await workflow.wait_condition(lambda: not record.outbox and workflow.all_handlers_finished())
        notices.cancel()
        return MeetingOutcome(meeting_no=input.meeting_no, status=record.status, determination=determination)

    @workflow.update
    def attend(self, cmd: Attend) -> MeetingResult:
        self.record.attend(cmd.actor, workflow.now())
        return self._done("已确认出席")

    @validates(attend)
    def _check_attend(self, cmd: Attend) -> None:
        self.record.check_attend(cmd.actor)

    @workflow.update
    def record_minutes(self, cmd: RecordMinutes) -> MeetingResult:
        self.record.record_minutes(cmd.actor, cmd.minutes, workflow.now())
        return self._done("已记录会议纪要")

    @validates(record_minutes)
    def _check_minutes(self, cmd: RecordMinutes) -> None:
        self.record.check_record_minutes(cmd.actor)

    @workflow.update
    def decide(self, cmd: DetermineOwner) -> MeetingResult:
        self.record.decide(cmd, workflow.now())
        return self._done(f"已确权：主办 {cmd.lead.department_name}")

    @validates(decide)
    def _check_decide(self, cmd: DetermineOwner) -> None:
        self.record.check_decide(cmd.actor, cmd.lead, cmd.assisting)

    @workflow.update
    def refer(self, cmd: Refer) -> MeetingResult:
        self.record.refer(cmd.actor, cmd.reason, workflow.now())
        return self._done(f"已提交{self.record.input.arbiter}裁定")

    @validates(refer)
    def _check_refer(self, cmd: Refer) -> None:
        self.record.check_refer(cmd.actor)

    @workflow.update
    def rule(self, cmd: DetermineOwner) -> MeetingResult:
        self.record.rule(cmd, workflow.now())
        return self._done(f"已裁定：主办 {cmd.lead.department_name}")

    @validates(rule)
    def _check_rule(self, cmd: DetermineOwner) -> None:
        self.record.check_rule(cmd.actor, cmd.lead, cmd.assisting)

    @workflow.query
    def view(self) -> MeetingRecord:
        return self.record

    def _done(self, message: str) -> MeetingResult:
        self._publish()
        return MeetingResult(status=self.record.status, message=message)

    def _publish(self) -> None:
        self._published = publish(self._published, for_meeting(self.record))


def for_meeting(record: MeetingRecord) -> TypedSearchAttributes:
    values: list[SearchAttributePair[Any]] = [
        SearchAttributePair(sa.STATUS, record.status.value),
        SearchAttributePair(sa.CATEGORY, "疑难工单会商"),
        SearchAttributePair(sa.RECEIVED_AT, record.convened_at),
        SearchAttributePair(sa.OVERDUE, any(i.absent for i in record.invitees)),
    ]
    if record.determination is not None:
        values.append(SearchAttributePair(sa.DEPARTMENT, record.determination.lead.department))
    return TypedSearchAttributes(values)
