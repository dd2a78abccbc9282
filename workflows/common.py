"""Loops every long-running process here shares: keeping its clocks, and sending its notices."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from temporalio import workflow
from temporalio.common import TypedSearchAttributes
from temporalio.exceptions import ActivityError, CancelledError

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


class Sent(Protocol):
    sent: int


async def send_notices(
    outbox: list[PendingNotice],
    subject: str,
    counter: Sent | None = None,
    halted: Callable[[], bool] = lambda: False,
) -> None:
    """Tell departments (on their own queues) and the centre's people (on this workflow's queue) of
    what concerns them, in order, each exactly once: the key is the subject and a sequence number.

    For a workflow that continues as new: `halted` stops the loop between two notices (what is
    left stays queued for the next run), and a `counter` kept in its record carries the sequence;
    it counts a notice only once sent, so one cut short is sent again under the same key."""
    sent = counter.sent if counter else 0
    while True:
        await workflow.wait_condition(lambda: bool(outbox) or halted())
        if halted():
            return
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
            if stopped(err):
                return  # the workflow is moving to a new run: the notice stays queued, its key unused
            workflow.logger.warning("notice failed: %s", err.cause or err)
        outbox.pop(0)
        if counter:
            counter.sent = sent


def stopped(err: ActivityError) -> bool:
    """The activity was cancelled because its loop was stopped (not a failure of the department)."""
    return isinstance(err.cause, CancelledError)


def publish(before: TypedSearchAttributes, after: TypedSearchAttributes) -> TypedSearchAttributes:
    """Upsert only what changed since `before` (one command per step at most); returns the new baseline."""
    updates = sa.changes(before, after)
    if not updates:
        return before
    workflow.upsert_search_attributes(updates)
    return after
