"""How the workflows reach department systems: retried with backoff for as long as it takes, except
when the system refuses for good (HTTP 4xx) or the work reached the wrong department.

A delivery that keeps failing is not retried in silence: the first stretch of retries is bounded by
the alert threshold (`ALERT_AFTER`, or the ticket's own `delivery_alert_after`); when it runs out
the workflow tells the shift lead (派遣受阻) and goes on retrying at the longest interval
(`outage_retry`) until the system takes it. On the normal path nothing is added to the history: the
bound travels in the activity's schedule-to-close timeout."""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import RetryPolicy

NON_RETRYABLE = ["PermanentDeliveryError", "WrongDepartment"]

DELIVERY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
    non_retryable_error_types=NON_RETRYABLE,
)
DELIVERY_TIMEOUT = timedelta(seconds=30)

# How long a delivery (or a department notice) may keep failing before the shift lead is told and
# it is retried apart; tickets carry their own value from intake (`center.delivery_alert_after`).
ALERT_AFTER = timedelta(minutes=15)


def outage_retry(alert_after: timedelta) -> RetryPolicy:
    """After the alert: the first stretch's longest interval (or the threshold, if shorter), without end."""
    interval = max(min(DELIVERY_RETRY.maximum_interval or alert_after, alert_after), timedelta(seconds=1))
    return RetryPolicy(
        initial_interval=interval,
        backoff_coefficient=1.0,
        maximum_interval=interval,
        non_retryable_error_types=NON_RETRYABLE,
    )
