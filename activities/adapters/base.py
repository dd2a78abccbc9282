"""The one small interface every department adapter implements."""

from __future__ import annotations

from typing import Any, Protocol

from domain.delivery import Delivery, DeliveryReceipt, ItemDelivery, Notice


class PermanentDeliveryError(Exception):
    """The department's system refused the delivery for good (e.g. HTTP 4xx): do not retry."""


class TransientDeliveryError(Exception):
    """The department's system could not take it now (5xx, timeout, connection): retry later."""


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
