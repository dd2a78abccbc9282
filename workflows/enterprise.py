"""EnterpriseServiceWorkflow (红色服务团): one enterprise's service list and results list, across all
its visits, for as long as the enterprise is served.

Visits add items; each item runs its own clock (reminders before the limit, the ticket ladder after
it); a department's items are delivered to its system through its worker; the responsible unit
notes progress and closes the item with an outcome; the enterprise confirms or reopens it. The
workflow never ends by itself: before its history grows large it continues as new, carrying every
open and closed item and the links to the earlier runs' histories.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from domain import search_attributes as sa
    from domain.delivery import DeliveryReceipt, ItemDelivery
    from domain.enterprise import (
        AddItem,
        CloseItem,
        ConfirmItem,
        EnterpriseInput,
        EnterpriseRecord,
        EnterpriseResult,
        ItemStatus,
        NoteProgress,
        RecordVisit,
        ReopenItem,
        today_in_china,
    )
    from domain.models import Satisfaction

from workflows.common import alert_after, keep_delivering, keep_time, publish, send_notices, stopped, validates
from workflows.retry import DELIVERY_RETRY, DELIVERY_TIMEOUT

SERVICE_CATEGORY = "红色服务团"
DRAIN_TIMEOUT = timedelta(minutes=5)  # how long a new run waits for a delivery or notice in flight
# The enterprise's 不满意 sends the item back to its unit (before it, 不满意 confirmed the item).
UNSATISFIED_SENDS_BACK = "enterprise-unsatisfied-sends-back"
# An item's delivery still failing after the alert threshold tells the shift lead (派送受阻) and
# is retried on (before it, it was retried without a word).
ITEM_DELIVERY_ALERTS = "enterprise-item-delivery-alerts"


@workflow.defn
class EnterpriseServiceWorkflow:
    @workflow.init
    def __init__(self, input: EnterpriseInput) -> None:
        now = workflow.now()
        self.record = input.carried or EnterpriseRecord.open(input.enterprise, input.deadlines, now)
        self.record.begin_run(workflow.info().run_id, now)
        self._published = workflow.info().typed_search_attributes
        self._closing = False  # moving to a new run: the senders stop between two messages
        self._alert_after = alert_after(input.delivery_alert_after)

    @workflow.run
    async def run(self, input: EnterpriseInput) -> None:
        record = self.record
        self._publish()
        clocks = asyncio.create_task(keep_time(lambda: record.clock_version, self._next_clock_event, self._publish))
        senders = [
            asyncio.create_task(send_notices(record.outbox, f"E-{input.enterprise.id}", record.notices, self._halted)),
            asyncio.create_task(self._deliver_items()),
        ]
        # Served for as long as the district serves the enterprise; the history is kept short.
        await workflow.wait_condition(lambda: workflow.info().get_current_history_length() >= input.history_limit)
        # Move to a new run only when no activity or timer is outstanding: a result arriving while the
        # run closes would fail that workflow task, and with it any update it carried.
        self._closing = True
        clocks.cancel()
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(lambda: all(s.done() for s in senders), timeout=DRAIN_TIMEOUT)
        for sender in senders:
            sender.cancel()  # a department still unreachable: its delivery is sent again, same key
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(
            EnterpriseInput(
                enterprise=record.enterprise,
                deadlines=record.deadlines,
                history_limit=input.history_limit,
                delivery_alert_after=input.delivery_alert_after,
                carried=record,
            ),
            search_attributes=self._published,
        )

    def _halted(self) -> bool:
        return self._closing

    # ----- the red service team: 走访、新增事项 -----

    @workflow.update
    def record_visit(self, cmd: RecordVisit) -> EnterpriseResult:
        visit_no, item_nos = self.record.record_visit(cmd, workflow.now())
        return self._done(f"已记录走访 {visit_no}，列入服务清单 {len(item_nos)} 项", visit_no, item_nos)

    @validates(record_visit)
    def _check_visit(self, cmd: RecordVisit) -> None:
        self.record.check_record_visit(cmd, today_in_china(workflow.now()))

    @workflow.update
    def add_item(self, cmd: AddItem) -> EnterpriseResult:
        item_no = self.record.add_item(cmd, workflow.now())
        return self._done(f"已列入服务清单：{item_no}", cmd.visit_no, [item_no])

    @validates(add_item)
    def _check_add_item(self, cmd: AddItem) -> None:
        self.record.check_add_item(cmd, today_in_china(workflow.now()))

    # ----- the responsible unit: 进展、办结 -----

    @workflow.update
    def note_progress(self, cmd: NoteProgress) -> EnterpriseResult:
        self.record.note_progress(cmd, workflow.now())
        return self._done(f"{cmd.item_no}：已记录进展", item_nos=[cmd.item_no])

    @validates(note_progress)
    def _check_progress(self, cmd: NoteProgress) -> None:
        self.record.check_progress(cmd)

    @workflow.update
    def close_item(self, cmd: CloseItem) -> EnterpriseResult:
        self.record.close_item(cmd, workflow.now())
        return self._done(
            f"{cmd.item_no}：{cmd.outcome.kind.value}，已列入成效清单，待企业确认", item_nos=[cmd.item_no]
        )

    @validates(close_item)
    def _check_close(self, cmd: CloseItem) -> None:
        self.record.check_close(cmd)

    # ----- the enterprise: 确认、重新办理 -----

    @workflow.update
    def confirm_item(self, cmd: ConfirmItem) -> EnterpriseResult:
        # Asked only for a 不满意, so that the other verdicts' histories carry no marker.
        sends_back = cmd.satisfaction is Satisfaction.UNSATISFIED and workflow.patched(UNSATISFIED_SENDS_BACK)
        if self.record.confirm(cmd, workflow.now(), unsatisfied_sends_back=sends_back):
            item = self.record.item(cmd.item_no)
            message = f"{cmd.item_no}：企业不满意，已退回{item.spec.unit.name}重新办理（第 {item.round} 轮）"
            return self._done(message, item_nos=[cmd.item_no])
        return self._done(f"{cmd.item_no}：企业已确认（{cmd.satisfaction.value}）", item_nos=[cmd.item_no])

    @validates(confirm_item)
    def _check_confirm(self, cmd: ConfirmItem) -> None:
        self.record.check_confirm(cmd)

    @workflow.update
    def reopen_item(self, cmd: ReopenItem) -> EnterpriseResult:
        self.record.reopen(cmd, workflow.now())
        item = self.record.item(cmd.item_no)
        return self._done(f"{cmd.item_no}：已重新办理（第 {item.round} 轮）", item_nos=[cmd.item_no])

    @validates(reopen_item)
    def _check_reopen(self, cmd: ReopenItem) -> None:
        self.record.check_reopen(cmd)

    @workflow.query
    def view(self) -> EnterpriseRecord:
        return self.record

    # ----- loops -----

    async def _deliver_items(self) -> None:
        """Each department item reaches the department's system through its worker, in order."""
        record = self.record
        while True:
            await workflow.wait_condition(lambda: bool(record.deliveries) or self._closing)
            if self._closing:
                return
            delivery = record.deliveries[0]
            try:
                receipt = await self._deliver(delivery)
                record.delivered(delivery, receipt.reference, workflow.now())
            except ActivityError as err:
                if stopped(err):
                    return  # moving to a new run, which sends it again with the same key
                record.delivery_failed(delivery, str(err.cause or err), workflow.now())
            record.deliveries.pop(0)

    async def _deliver(self, delivery: ItemDelivery) -> DeliveryReceipt:
        """Retried until the department's system takes it; still failing after the threshold:
        派送受阻 (the shift lead is told once), and on."""
        if not workflow.patched(ITEM_DELIVERY_ALERTS):
            receipt: DeliveryReceipt = await workflow.execute_activity(
                "deliver_item",  # a department's activity, by name (workflows/interfaces.py says why)
                delivery,
                result_type=DeliveryReceipt,
                task_queue=delivery.assignment.task_queue,
                start_to_close_timeout=DELIVERY_TIMEOUT,
                retry_policy=DELIVERY_RETRY,
            )
            return receipt
        began = workflow.now()
        delivered: DeliveryReceipt = await keep_delivering(
            "deliver_item",  # a department's activity, by name (workflows/interfaces.py says why)
            delivery,
            result_type=DeliveryReceipt,
            task_queue=delivery.assignment.task_queue,
            alert_after=self._alert_after,
            blocked=lambda error: self.record.delivery_blocked(delivery, error, workflow.now(), began),
        )
        return delivered

    def _next_clock_event(self) -> tuple[datetime, Callable[[datetime], None]] | None:
        upcoming = self.record.next_clock_event()
        if upcoming is None:
            return None
        item, event = upcoming
        return event.at, lambda at: self.record.fire(item.item_no, event, at)

    def _done(self, message: str, visit_no: str | None = None, item_nos: list[str] | None = None) -> EnterpriseResult:
        self._publish()
        return EnterpriseResult(message=message, visit_no=visit_no, item_nos=item_nos or [])

    def _publish(self) -> None:
        self._published = publish(self._published, for_enterprise(self.record))


def for_enterprise(record: EnterpriseRecord) -> TypedSearchAttributes:
    """Visible to lists and reports: status, street, when first served, overdue, the nearest limit.
    The enterprise's name stays out (search attributes are not encrypted); the id is the workflow id."""
    open_items = [i for i in record.items if i.status is ItemStatus.OPEN]
    values: list[SearchAttributePair[Any]] = [
        SearchAttributePair(sa.STATUS, record.status.value),
        SearchAttributePair(sa.CATEGORY, SERVICE_CATEGORY),
        SearchAttributePair(sa.RECEIVED_AT, record.opened_at),
        SearchAttributePair(sa.OVERDUE, any(i.escalation_level for i in open_items)),
    ]
    if record.enterprise.street:
        values.append(SearchAttributePair(sa.STREET, record.enterprise.street))
    if open_items:
        values.append(SearchAttributePair(sa.RESOLVE_DUE, min(i.due_at for i in open_items)))
    levels = [i.escalation_level for i in open_items if i.escalation_level]
    if levels:
        ladder = [step.level for step in record.deadlines.ladder]
        values.append(
            SearchAttributePair(sa.ESCALATION, max(levels, key=lambda lv: ladder.index(lv) if lv in ladder else -1))
        )
    return TypedSearchAttributes(values)
