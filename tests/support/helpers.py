"""Test helpers: sample tickets, people as actors, waiting for a ticket to reach a state, and workers
that replay every history."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

from temporalio.client import Client
from temporalio.workflow import NondeterminismError

from activities.runtime.settings import actor_for
from domain.config import DistrictConfig
from domain.models import Actor, Citizen, RequestKind, Ticket
from domain.ticket_record import TicketRecord
from starter.tickets import view
from worker import build_workers


def sample_ticket(
    category: str = "市容环卫",
    street: str = "滨河街道",
    *,
    kind: RequestKind = RequestKind.COMPLAINT,
    title: str = "小区门口垃圾堆积无人清运",
    content: str = "镇北社区东门垃圾箱已满三天，气味很大，希望尽快清运。",
    urgency: str = "一般",
    ticket_no: str | None = None,
) -> Ticket:
    ticket_no = ticket_no or f"T{uuid.uuid4().hex[:12]}"
    # Each ticket at its own address: the dev server is shared, and equal addresses would be merged (并单).
    return Ticket(
        ticket_no=ticket_no,
        received_at=datetime.now(UTC),
        kind=kind,
        category=category,
        street=street,
        urgency=urgency,
        title=title,
        content=content,
        citizen=Citizen(name="王小明", phone="13812341234", address=f"滨河街道镇北社区{ticket_no}号"),
    )


def person(config: DistrictConfig, person_id: str) -> Actor:
    return actor_for(config, person_id)


async def eventually(
    client: Client, ticket_no: str, condition: Callable[[TicketRecord], bool], timeout: float = 20.0
) -> TicketRecord:
    """Query the ticket until the condition holds (the workflow moves on its own between actions)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            record = await view(client, ticket_no)
        except Exception:
            record = None
        if record is not None and condition(record):
            return record
        if time.monotonic() > deadline:
            raise AssertionError(
                f"ticket {ticket_no} never reached the expected state; last: {record and record.status}"
            )
        await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def replaying_workers(client: Client, config: DistrictConfig) -> AsyncIterator[None]:
    """The centre's worker and every department's, caching no workflow: every task replays the whole
    history, so a non-determinism fails the workflow (and the test) where it happens."""
    async with build_workers(
        client,
        config,
        departments=[d.code for d in config.departments],
        center=True,
        max_cached_workflows=0,
        workflow_failure_exception_types=[NondeterminismError],
    ):
        yield
