"""Loops every long-running process here shares: keeping its clocks, and sending its notices."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import TypedSearchAttributes
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from domain import search_attributes as sa
    from domain.delivery import CENTER, Notice
    from domain.ticket_record import PendingNotice

from workflows.retry import DELIVERY_RETRY, DELIVERY_TIMEOUT

# What the timekeeper asks: when to wake next, and what to do then (None: no clock is running).
NextEvent = Callable[[], tuple[datetime, Callable[[datetime], None]] | None]


async def keep_time(version: Callable[[], int], next_event: NextEvent, after_fire: Callable[[], None]) -> None:
    """Sleep until the next warning or ladder step, unless a clock starts, stops or moves first."""
    while True:
        seen = version()
        upcoming = next_event()
        if upcoming is None:
            await workflow.wait_condition(lambda: version() != seen)  # noqa: B023
            continue
        at, fire = upcoming
        remaining = at - workflow.now()
        if remaining > timedelta(0):
            try:
                await workflow.wait_condition(lambda: version() != seen, timeout=remaining)  # noqa: B023
                continue
            except TimeoutError:
                pass
        fire(workflow.now())
        after_fire()


async def send_notices(outbox: list[PendingNotice], subject: str) -> None:
    """Tell departments (on their own queues) and the centre's people (on this workflow's queue) of
    what concerns them, in order, each exactly once: the key is the subject and a sequence number."""
    sent = 0
    while True:
        await workflow.wait_condition(lambda: bool(outbox))
        pending = outbox[0]
        sent += 1
        to = pending.department
        notice = Notice(
            idempotency_key=f"{subject}#n{sent}",
            workflow_id=workflow.info().workflow_id,
            ticket_no=subject,
            department=to.department if to else CENTER,
            kind=pending.kind,
            text=pending.text,
            audience=pending.audience,
            level=pending.level,
            clock=pending.clock.value if pending.clock else None,
            due_at=pending.due_at,
        )
        try:
            await workflow.execute_activity(
                "notify_department" if to else "notify_center",
                notice,
                task_queue=to.task_queue if to else workflow.info().task_queue,
                start_to_close_timeout=DELIVERY_TIMEOUT,
                retry_policy=DELIVERY_RETRY,
            )
        except ActivityError as err:
            workflow.logger.warning("notice failed: %s", err.cause or err)
        outbox.pop(0)


def publish(before: TypedSearchAttributes, after: TypedSearchAttributes) -> TypedSearchAttributes:
    """Upsert only what changed since `before` (one command per step at most); returns the new baseline."""
    updates = sa.changes(before, after)
    if not updates:
        return before
    workflow.upsert_search_attributes(updates)
    return after
