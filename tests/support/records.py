"""A ticket record delivered to its department, in memory."""

from __future__ import annotations

from datetime import UTC, datetime

from activities.runtime.calendar_source import calendar_for
from domain.config import DistrictConfig
from domain.intake import IntakePlan, plan_intake
from domain.models import (
    Ticket,
    TicketStatus,
)
from domain.ticket_record import TicketRecord
from tests.support.helpers import sample_ticket


def delivered(config: DistrictConfig, urgency: str = "一般") -> TicketRecord:
    """A 市容环卫 ticket of 滨河街道, routed to cgj and delivered at T0 (status 待签收)."""
    ticket = sample_ticket(urgency=urgency, ticket_no="HX-RECORD-1")
    record = TicketRecord.receive(ticket, plan_for(config, ticket), T0)
    assert record.status is TicketStatus.DISPATCHING and record.pending_dispatch
    assert record.start_delivery(T0) == 1
    record.delivered(T0, "cgj/tickets/HX-RECORD-1_round1.json")
    return record


T0 = datetime(2024, 5, 6, 9, 0, tzinfo=UTC)  # received and dispatched: Monday 17:00 China time


def plan_for(config: DistrictConfig, ticket: Ticket) -> IntakePlan:
    """The intake plan, with the working-day calendar sliced at T0."""
    return plan_intake(config, ticket, calendar_for(config.calendar, T0)).plan
