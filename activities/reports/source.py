"""Where reports get their figures: the tickets' own search attributes, listed from visibility.

Nothing but visibility is read, except the days a report's `ledger` has kept (办结台账,
activities/reports/ledger.py): tickets closed on a past day, whose attributes can no longer change. A
figure can always be traced back to the workflows it counts.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from datetime import UTC, datetime
from typing import Any

from temporalio.api.workflowservice.v1 import ListWorkflowExecutionsRequest
from temporalio.client import Client

from activities.reports.ledger import DAY, Ledger, Rows, kept_days, midnight
from domain import search_attributes as sa
from domain.facts import TicketFacts

PAGE = 1000
SLICES = 3  # of the window itself; with the earlier tickets, four listings side by side
# Search attributes are plain JSON payloads (never encrypted); these are the ones facts are made of.
FACT_NAMES = tuple(key.name for key in sa.ALL)


def _instant(at: datetime) -> str:
    return at.isoformat()


def window_query(since: datetime, until: datetime) -> str:
    """Tickets that touch [since, until): received before its end and not closed before its start."""
    return (
        f"WorkflowType = 'TicketWorkflow' AND {sa.RECEIVED_AT.name} < '{_instant(until)}'"
        f" AND ({sa.CLOSED_AT.name} IS NULL OR {sa.CLOSED_AT.name} >= '{_instant(since)}')"
    )


async def ticket_facts(
    client: Client, since: datetime, until: datetime, ledger: Ledger | None = None, now: datetime | None = None
) -> list[TicketFacts]:
    """Every ticket that was open at some time in [since, until), as its search attributes say.

    With a `ledger`, the tickets closed on the whole past days from `since` come from it (listed and
    kept first where a day is not kept yet), and visibility is asked only for the rest: tickets
    still open, or closed after the last kept day."""
    rows: Rows = {}
    if ledger is not None and (days := kept_days(since, until, now or datetime.now(UTC))):
        rows = await ledger.days(client, days, list_rows)
        since = midnight(days[-1]) + DAY
    kept = [sa.facts_of(workflow_id, values) for workflow_id, values in rows.items()]
    return kept + await _listed(client, since, until)


async def _listed(client: Client, since: datetime, until: datetime) -> list[TicketFacts]:
    """The window's tickets from visibility. The server spends about a millisecond a row on a
    listing, whatever the query: the window is read as disjoint slices by reception time, side by
    side (tickets received earlier and still open form the first slice)."""
    step = (until - since) / SLICES
    bounds = [since + step * i for i in range(SLICES)] + [until]
    slices = [window_query(since, until) + f" AND {sa.RECEIVED_AT.name} < '{_instant(since)}'"]
    slices += [
        window_query(since, until) + f" AND {sa.RECEIVED_AT.name} >= '{_instant(start)}'"
        f" AND {sa.RECEIVED_AT.name} < '{_instant(end)}'"
        for start, end in itertools.pairwise(bounds)
    ]
    parts = await asyncio.gather(*(_facts(client, query) for query in slices))
    return [fact for part in parts for fact in part]


async def open_ticket_facts(client: Client) -> list[TicketFacts]:
    """Tickets still running (for the daily warning and the weekly supervision)."""
    return await _facts(client, "WorkflowType = 'TicketWorkflow' AND ExecutionStatus = 'Running'")


async def _facts(client: Client, query: str) -> list[TicketFacts]:
    return [sa.facts_of(workflow_id, values) for workflow_id, values in (await list_rows(client, query)).items()]


async def list_rows(client: Client, query: str) -> Rows:
    """The raw listing, page by page, decoding only the attributes the facts need (the SDK's own
    listing decodes every field of every row)."""
    found: dict[str, dict[str, Any]] = {}
    token = b""
    while True:
        request = ListWorkflowExecutionsRequest(
            namespace=client.namespace, query=query, page_size=PAGE, next_page_token=token
        )
        page = await client.workflow_service.list_workflow_executions(request)
        for row in page.executions:
            fields = row.search_attributes.indexed_fields
            if sa.RECEIVED_AT.name not in fields:
                continue  # started without its attributes (not one of ours): nothing to count
            found[row.execution.workflow_id] = {
                name: json.loads(fields[name].data) for name in FACT_NAMES if name in fields
            }
        token = page.next_page_token
        if not token:
            return found
