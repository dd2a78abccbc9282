"""WhistleWorkflow (镇街吹哨、部门答卷): one whistle, from the street's call to its evaluation of
every department.

Each named department is told at once (on its own queue, through its adapter), reports in (报到)
and answers (答卷) on its own clocks, with the same warnings and escalation ladder as tickets;
the street then evaluates each department (一哨一考核). The whistle ends when every department
has been evaluated, or when the street withdraws it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributePair, TypedSearchAttributes

with workflow.unsafe.imports_passed_through():
    from domain import search_attributes as sa
    from domain.commands import EvaluateDepartment, ReportIn, WhistleAnswer, Withdraw
    from domain.whistle import WhistleInput, WhistleOutcome, WhistleRecord, WhistleResult

from workflows.common import keep_time, publish, send_notices, validates


@workflow.defn
class WhistleWorkflow:
    @workflow.init
    def __init__(self, input: WhistleInput) -> None:
        self.record = WhistleRecord.blow(input, workflow.now())
        self._published = workflow.info().typed_search_attributes

    @workflow.run
    async def run(self, input: WhistleInput) -> WhistleOutcome:
        record = self.record
        self._publish()
        notices = asyncio.create_task(send_notices(record.outbox, f"W-{input.whistle_no}"))
        clocks = asyncio.create_task(keep_time(lambda: record.clock_version, self._next_clock_event, self._publish))
        await workflow.wait_condition(lambda: record.status.is_final)
        clocks.cancel()
        await workflow.wait_condition(lambda: not record.outbox and workflow.all_handlers_finished())
        notices.cancel()
        return WhistleOutcome(
            whistle_no=input.whistle_no,
            status=record.status,
            evaluations={p.assignment.department: p.evaluation.satisfaction for p in record.parts if p.evaluation},
        )

    def _next_clock_event(self) -> tuple[datetime, Callable[[datetime], None]] | None:
        upcoming = self.record.next_clock_event()
        if upcoming is None:
            return None
        part, event = upcoming
        return event.at, lambda at: self.record.fire(part.assignment.department, event, at)

    # ----- the departments -----

    @workflow.update
    def report_in(self, cmd: ReportIn) -> WhistleResult:
        self.record.report_in(cmd.actor, cmd.note, workflow.now())
        return self._done("已报到")

    @validates(report_in)
    def _check_report_in(self, cmd: ReportIn) -> None:
        self.record.check_report_in(cmd.actor)

    @workflow.update
    def answer(self, cmd: WhistleAnswer) -> WhistleResult:
        self.record.give_answer(cmd.actor, cmd.text, workflow.now())
        return self._done("已答卷，待镇街评价")

    @validates(answer)
    def _check_answer(self, cmd: WhistleAnswer) -> None:
        self.record.check_answer(cmd.actor)

    # ----- the street -----

    @workflow.update
    def evaluate(self, cmd: EvaluateDepartment) -> WhistleResult:
        self.record.evaluate(cmd.actor, cmd.department, cmd.satisfaction, cmd.comment, workflow.now())
        return self._done(f"已评价 {cmd.department}：{cmd.satisfaction.value}")

    @validates(evaluate)
    def _check_evaluate(self, cmd: EvaluateDepartment) -> None:
        self.record.check_evaluate(cmd.actor, cmd.department)

    @workflow.update
    def withdraw(self, cmd: Withdraw) -> WhistleResult:
        self.record.withdraw(cmd.actor, cmd.reason, workflow.now())
        return self._done("已撤回")

    @validates(withdraw)
    def _check_withdraw(self, cmd: Withdraw) -> None:
        self.record.check_withdraw(cmd.actor)

    @workflow.query
    def view(self) -> WhistleRecord:
        return self.record

    def _done(self, message: str) -> WhistleResult:
        self._publish()
        return WhistleResult(status=self.record.status, message=message)

    def _publish(self) -> None:
        self._published = publish(self._published, for_whistle(self.record))


def for_whistle(record: WhistleRecord) -> TypedSearchAttributes:
    values: list[SearchAttributePair[Any]] = [
        SearchAttributePair(sa.STATUS, record.status.value),
        SearchAttributePair(sa.STREET, record.input.street),
        SearchAttributePair(sa.CATEGORY, f"吹哨·{record.input.kind}"),
        SearchAttributePair(sa.RECEIVED_AT, record.raised_at),
        SearchAttributePair(sa.OVERDUE, record.overdue),
    ]
    if record.closed_at is not None:
        values.append(SearchAttributePair(sa.CLOSED_AT, record.closed_at))
    levels = [p.escalation_level for p in record.parts if p.escalation_level]
    if levels:
        ladder = [step.level for step in record.input.deadlines.ladder]
        values.append(SearchAttributePair(sa.ESCALATION, max(levels, key=ladder.index)))
    return TypedSearchAttributes(values)
