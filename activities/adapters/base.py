"""The one small interface every department adapter implements."""

from __future__ import annotations

from typing import Any, Protocol

from temporalio.exceptions import ApplicationError

from domain.delivery import Delivery, DeliveryReceipt, ItemDelivery, Notice


class DeliveryError(Exception):
    """An adapter could not hand something over: one of the two kinds below."""


class PermanentDeliveryError(DeliveryError):
    """The department's system refused the delivery for good (e.g. HTTP 4xx): do not retry."""


class TransientDeliveryError(DeliveryError):
    """The department's system could not take it now (5xx, timeout, connection): retry later."""


def activity_error(err: DeliveryError) -> ApplicationError:
    """An adapter's error as the activity's: a permanent refusal is not retried (the workflows also
    list its type in workflows/retry.py), a transient one is retried by the activity's policy.
    Raise it `from err`."""
    if isinstance(err, PermanentDeliveryError):
        return ApplicationError(str(err), type="PermanentDeliveryError", non_retryable=True)
    return ApplicationError(str(err), type="TransientDeliveryError")


class DepartmentAdapter(Protocol):
    """Delivers tickets, enterprise service items and notices to one department's system.

    Implementations must be idempotent by `Delivery.idempotency_key` / `Notice.idempotency_key`:
    the same key delivered twice leaves one ticket (or notice) in the department's system.
    """

    kind: str

    async def deliver(self, delivery: Delivery) -> DeliveryReceipt: ...

    async def deliver_item(self, delivery: ItemDelivery) -> DeliveryReceipt: ...

    async def notify(self, notice: Notice) -> None: ...

    async def aclose(self) -> None: ...


class MessageSink(Protocol):
    """Where other messages go (the city centre): file inbox and webhook adapters both are one."""

    async def send(self, kind: str, idempotency_key: str, payload: dict[str, Any]) -> None: ...

    async def aclose(self) -> None: ...
