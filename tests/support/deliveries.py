"""Deliveries of a ticket and of an enterprise item, as the adapters send them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.delivery import Delivery, ItemDelivery, delivery_key, item_delivery_key
from domain.models import Assignment, Citizen, Enterprise, RequestKind, Ticket


def make_delivery(ticket_no: str = "HX20240501001", round: int = 1) -> Delivery:
    received = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)
    ticket = Ticket(
        ticket_no=ticket_no,
        received_at=received,
        kind=RequestKind.COMPLAINT,
        category="噪音扰民",
        street="城关街道",
        community="东门社区",
        urgency="一般",
        title="夜间施工噪音",
        content="东门路工地每晚十一点后仍在施工，噪音很大，影响休息。",
        citizen=Citizen(name="张三", phone="138-0000-0000", address="东门路12号"),
    )
    return Delivery(
        idempotency_key=delivery_key(ticket_no, round),
        workflow_id=f"ticket-{ticket_no}",
        round=round,
        assignment=Assignment(department="env", department_name="生态环境局", task_queue="hotline-dept-env"),
        ticket=ticket,
        sign_for_due=received + timedelta(hours=2),
        resolve_due=received + timedelta(days=5),
    )


def make_item_delivery(round: int = 1) -> ItemDelivery:
    return ItemDelivery(
        idempotency_key=item_delivery_key("91150302MA0N8K2L3P", "S2", round),
        workflow_id="enterprise-91150302MA0N8K2L3P",
        enterprise=Enterprise(id="91150302MA0N8K2L3P", name="海勃湾宏达矿业有限公司", street="千里山镇"),
        item_no="S2",
        visit_no="V1",
        round=round,
        assignment=Assignment(department="env", department_name="生态环境局", task_queue="hotline-dept-env"),
        need="焦炉煤气综合利用项目环评",
        category="转型升级",
        person="周科长",
        measures="提前介入，并联审查",
        due_at=datetime(2026, 12, 14, 9, 0, tzinfo=UTC),
    )
