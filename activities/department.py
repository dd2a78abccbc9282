"""Activities a department's worker runs on its own task queue: deliver tickets and notices to
the department's system through its adapter."""

from __future__ import annotations

from collections.abc import Awaitable

import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.adapters.base import (
    DeliveryError,
    DepartmentAdapter,
    PermanentDeliveryError,
    TransientDeliveryError,
    activity_error,
)
from domain.delivery import Delivery, DeliveryReceipt, ItemDelivery, Notice
from domain.privacy import delivery_as_sent

log = structlog.get_logger()


class DepartmentActivities:
    """Bound to one department: it refuses work addressed to any other."""

    def __init__(self, department: str, adapter: DepartmentAdapter) -> None:
        self.department = department
        self.adapter = adapter

    @activity.defn(name="deliver_ticket")
    async def deliver_ticket(self, delivery: Delivery) -> DeliveryReceipt:
        self._own(delivery.assignment.department)
        sent = delivery_as_sent(delivery)  # an assisting department gets the phone masked (domain/privacy.py)
        return await self._deliver(self.adapter.deliver(sent), delivery.workflow_id, delivery.idempotency_key)

    @activity.defn(name="deliver_item")
    async def deliver_item(self, delivery: ItemDelivery) -> DeliveryReceipt:
        """An enterprise service item (红色服务团) this department is responsible for."""
        self._own(delivery.assignment.department)
        return await self._deliver(self.adapter.deliver_item(delivery), delivery.workflow_id, delivery.idempotency_key)

    async def _deliver(self, sending: Awaitable[DeliveryReceipt], workflow_id: str, key: str) -> DeliveryReceipt:
        bound = log.bind(workflow_id=workflow_id, department=self.department, key=key, attempt=activity.info().attempt)
        try:
            receipt = await sending
        except PermanentDeliveryError as err:
            bound.warning("delivery refused", error=str(err))
            raise activity_error(err) from err
        except TransientDeliveryError as err:
            bound.info("delivery will be retried", error=str(err))
            raise activity_error(err) from err
        bound.info("delivered", adapter=receipt.adapter, reference=receipt.reference, duplicate=receipt.duplicate)
        return receipt

    @activity.defn(name="notify_department")
    async def notify_department(self, notice: Notice) -> None:
        self._own(notice.department)
        try:
            await self.adapter.notify(notice)
        except DeliveryError as err:
            raise activity_error(err) from err
        log.info("notified", ticket=notice.ticket_no, department=self.department, kind=notice.kind.value)

    def _own(self, department: str) -> None:
        # Task queues already keep departments apart; this guards against a misconfigured queue.
        if department != self.department:
            raise ApplicationError(
                f"worker of {self.department} received work for {department}",
                type="WrongDepartment",
                non_retryable=True,
            )
