"""Loops every long-running process here shares: keeping its clocks, sending its notices, and
delivering to a department's system through an outage."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy, TypedSearchAttributes
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError, FailureError, RetryState
from temporalio.exceptions import TimeoutError as TimedOut

with workflow.unsafe.imports_passed_through():
    from domain import search_attributes as sa
    from domain.calendar import Duration, natural
    from domain.delivery import CENTER, Notice
    from domain.limits import check_payload
    from domain.records import PendingNotice

from workflows import interfaces
from workflows.retry import ALERT_AFTER, DELIVERY_RETRY, DELIVERY_TIMEOUT, outage_retry

Validator = TypeVar("Validator", bound=Callable[[Any, Any], None])


def validates(update: Any) -> Callable[[Validator], Validator]:
    """`@validates(update)` registers a method as the update's validator, behind the check every
    update makes first: the payload is of the type the validator declares for `cmd`, and within the
    size limit (domain/limits.py). So no update can be defined without it; the rules follow."""

    def register(rules: Validator) -> Validator:
        # The annotation as written (a name, under `from __future__ import annotations`), looked up
        # in the module's own names: cheap, and the sandbox runs this for every workflow it starts.
        hint = rules.__annotations__["cmd"]
        model = rules.__globals__[hint] if isinstance(hint, str) else hint

        @functools.wraps(rules)
        def check(self: Any, cmd: Any) -> None:
            check_payload(cmd, model)
            rules(self, cmd)

        check.payload_model = model  # type: ignore[attr-defined]  # read back by tests/test_bad_input.py
        update.validator(check)
        return check  # type: ignore[return-value]  # wraps() keeps the rules' signature; mypy sees the wrapper's

    return register


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
    alert_after: timedelta = ALERT_AFTER,
    held: Callable[[PendingNotice, str], None] | None = None,
) -> None:
    """Tell departments (on their own queues) and the centre's people (on this workflow's queue) of
    what concerns them, in order, each exactly once: the key is the subject and a sequence number,
    fixed when a notice is first sent and kept with it in the outbox.

    A department whose system keeps failing for `alert_after` does not hold up the rest: its
    notices are set apart, still in order and under their keys, and retried at the longest interval
    until its system takes them, while the centre's and other departments' notices go on. `held` is
    told of each such department (the ticket logs it and alerts the shift lead). On the normal path
    this is the one sequence of activities it always was.

    For a workflow that continues as new: `halted` stops the loops between two notices (what is
    left stays queued, with any key it was given, for the next run), and a `counter` kept in its
    record carries the sequence."""
    keys = _Keys(subject, counter)
    retry = outage_retry(alert_after)
    apart: dict[str, asyncio.Task[None]] = {}  # departments whose notices are being retried apart

    def next_up() -> PendingNotice | None:
        return next((n for n in outbox if n.department is None or n.department.department not in apart), None)

    async def retry_apart(department: str) -> None:
        try:
            await workflow.sleep(retry.initial_interval, summary="通知受阻：稍后重试")
            while not halted():
                pending = next((n for n in outbox if n.department and n.department.department == department), None)
                if pending is None:
                    return  # the department's system took them all: its notices go with the rest again
                try:
                    await _notify(pending, keys, retry_policy=retry)
                except ActivityError as err:
                    if stopped(err):
                        return
                    workflow.logger.warning("notice failed: %s", err.cause or err)
                _drop(outbox, pending)
        finally:
            apart.pop(department, None)

    try:
        while True:
            await workflow.wait_condition(lambda: next_up() is not None or halted())
            if halted():
                return
            pending = next_up()
            assert pending is not None
            try:
                await _notify(pending, keys, alert_after=alert_after if pending.department else None)
            except ActivityError as err:
                if stopped(err):
                    return  # the workflow is moving to a new run: the notice stays queued, under its key
                if pending.department is not None and still_failing(err):
                    department = pending.department.department
                    apart[department] = asyncio.create_task(retry_apart(department))
                    if held:
                        held(pending, failure_text(err))
                    continue
                workflow.logger.warning("notice failed: %s", err.cause or err)
            _drop(outbox, pending)
    finally:
        for task in list(apart.values()):
            task.cancel()


class _Keys:
    """Numbers notices in the order they are first sent; a notice keeps its key once given."""

    def __init__(self, subject: str, counter: Sent | None) -> None:
        self.subject = subject
        self.counter = counter
        self.sent = counter.sent if counter else 0

    def key_for(self, pending: PendingNotice) -> str:
        if pending.key is None:
            self.sent += 1
            pending.key = f"{self.subject}#n{self.sent}"
            if self.counter:
                self.counter.sent = self.sent
        return pending.key


async def _notify(
    pending: PendingNotice,
    keys: _Keys,
    alert_after: timedelta | None = None,
    retry_policy: RetryPolicy = DELIVERY_RETRY,
) -> None:
    to = pending.department
    notice = Notice(
        idempotency_key=keys.key_for(pending),
        workflow_id=workflow.info().workflow_id,
        ticket_no=keys.subject,
        department=to.department if to else CENTER,
        kind=pending.kind,
        text=pending.text,
        audience=pending.audience,
        level=pending.level,
        clock=pending.clock.value if pending.clock else None,
        due_at=pending.due_at,
    )
    # A department's notice by name, on its queue (workflows/interfaces.py says why); the centre's by method.
    await workflow.execute_activity(
        "notify_department" if to else interfaces.notify_center,
        notice,
        task_queue=to.task_queue if to else workflow.info().task_queue,
        start_to_close_timeout=DELIVERY_TIMEOUT,
        schedule_to_close_timeout=alert_after,
        retry_policy=retry_policy,
    )


def _drop(outbox: list[PendingNotice], pending: PendingNotice) -> None:
    outbox.pop(next(i for i, n in enumerate(outbox) if n is pending))


def alert_after(span: Duration | None) -> timedelta:
    """The alert threshold a workflow was given at its start (`center.delivery_alert_after`), or the
    default for those started before it existed."""
    return natural(span) if span is not None else ALERT_AFTER


class DeliveryCalledOff(Exception):
    """The workflow called a delivery off (InFlight.call_off) between two attempts."""


class InFlight:
    """A delivery the workflow may call off: the shift lead redirects a ticket whose delivery is
    blocked (派遣受阻) to another department. The attempt running is cancelled and none follows."""

    def __init__(self) -> None:
        self.called_off = False
        self._attempt: workflow.ActivityHandle[Any] | None = None

    def attempting(self, attempt: workflow.ActivityHandle[Any]) -> None:
        self._attempt = attempt

    def call_off(self) -> None:
        self.called_off = True
        if self._attempt is not None and not self._attempt.done():
            self._attempt.cancel()

    def check(self) -> None:
        if self.called_off:
            raise DeliveryCalledOff()


async def keep_delivering(
    activity: Any,  # a department's activity by name, or the centre's by its stub (workflows/interfaces.py)
    arg: Any,
    *,
    task_queue: str,
    result_type: type | None = None,
    alert_after: timedelta = ALERT_AFTER,
    blocked: Callable[[str], None],
    in_flight: InFlight | None = None,
) -> Any:
    """Run a delivery activity with backoff until the department's system takes it. If it is still
    failing `alert_after` after it began, `blocked(error)` is called once (the workflow logs 派遣受阻
    and tells the shift lead) and the retries go on, at the longest interval, without end. A
    permanent refusal (HTTP 4xx) raises ActivityError at once, as before.

    The normal path is the one activity it always was: the first stretch is bounded by its
    schedule-to-close timeout. Only an outage adds a timer or two and a second activity.

    With `in_flight`, the workflow may call the delivery off: the attempt running is cancelled
    (ActivityError) or, between two, DeliveryCalledOff is raised."""
    began = workflow.now()

    def attempts(retry_policy: RetryPolicy, schedule_to_close: timedelta | None = None) -> Awaitable[Any]:
        # start_activity schedules at once, as execute_activity (which awaits it) does: the same commands.
        attempt = workflow.start_activity(
            activity,
            arg,
            task_queue=task_queue,
            result_type=result_type,
            start_to_close_timeout=DELIVERY_TIMEOUT,
            schedule_to_close_timeout=schedule_to_close,
            retry_policy=retry_policy,
        )
        if in_flight is not None:
            in_flight.attempting(attempt)
        return attempt

    try:
        return await attempts(DELIVERY_RETRY, alert_after)
    except ActivityError as err:
        if not still_failing(err):
            raise
        error, attempt_failed = failure_text(err), isinstance(err.cause, ApplicationError)
    failed_at, retry = workflow.now(), outage_retry(alert_after)
    # Temporal ends the first stretch at its last attempt that fits in it; the alert is for the threshold.
    await _sleep_until(began + alert_after, "派遣受阻：告警时点")
    blocked(error)
    if attempt_failed:  # an attempt has just failed: the next one after the longest pause, as before
        await _sleep_until(failed_at + retry.initial_interval, "派遣受阻：稍后重试", in_flight)
    if in_flight is not None:
        in_flight.check()
    return await attempts(retry)


async def _sleep_until(at: datetime, summary: str, in_flight: InFlight | None = None) -> None:
    """Sleep until `at`; a delivery called off meanwhile wakes it (the same one timer either way)."""
    remaining = at - workflow.now()
    if remaining <= timedelta(0):
        return
    if in_flight is None:
        await workflow.sleep(remaining, summary=summary)
        return
    with contextlib.suppress(TimeoutError):
        await workflow.wait_condition(lambda: in_flight.called_off, timeout=remaining, timeout_summary=summary)


def still_failing(err: ActivityError) -> bool:
    """The first stretch ran out while the department's system kept failing (not a refusal for good,
    nor the workflow stopping the activity)."""
    return err.retry_state is RetryState.TIMEOUT and not stopped(err)


def failure_text(err: ActivityError) -> str:
    """What went wrong, for the shift lead: the department system's last answer if there was one."""
    cause = err.cause
    if isinstance(cause, TimedOut):
        cause = cause.cause  # the last attempt's failure, if an attempt was made
        if cause is None:
            return "worker 未取走任务（超时），请检查该单位的 worker 是否在运行"
    if isinstance(cause, FailureError):
        return cause.message
    return str(cause or err)


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
