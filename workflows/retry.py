"""How the workflows reach department systems: retried with backoff for as long as it takes, except
when the system refuses for good (HTTP 4xx) or the work reached the wrong department."""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import RetryPolicy

DELIVERY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
    non_retryable_error_types=["PermanentDeliveryError", "WrongDepartment"],
)
DELIVERY_TIMEOUT = timedelta(seconds=30)
