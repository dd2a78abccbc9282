"""The small interfaces the activities talk to: every department adapter, the city link and the
callback survey channel; and how an adapter's error becomes the activity's."""

from __future__ import annotations

from typing import Any, Protocol

import structlog
from temporalio.exceptions import ApplicationError

from domain.delivery import CallbackRequest, Delivery, DeliveryReceipt, ItemDelivery, Notice

log = structlog.get_logger()


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


class CallbackSurvey(Protocol):
    """The callback survey channel (回访), asked once per answered round of a ticket."""

    async def request(self, request: CallbackRequest) -> None: ...

    async def aclose(self) -> None: ...


class OperatorCallbacks:
    """Callbacks made by operators, who record them with `hotline center callback` (or on the
    workbench): the request is only logged."""

    async def request(self, request: CallbackRequest) -> None:
        log.info("awaiting callback by an operator", ticket=request.ticket_no, workflow_id=request.workflow_id)

    async def aclose(self) -> None:
        return None
