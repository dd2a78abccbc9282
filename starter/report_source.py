"""Where reports get their figures: the tickets' own search attributes, listed from visibility.

No copy of the data is kept: every report reads the server again, so a figure can always be traced
back to the workflows it counts, and recomputed after a correction.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from datetime import datetime

from temporalio.api.workflowservice.v1 import ListWorkflowExecutionsRequest
from temporalio.client import Client

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


async def ticket_facts(client: Client, since: datetime, until: datetime) -> list[TicketFacts]:
    """Every ticket that was open at some time in [since, until), as its search attributes say.

    The server spends about a millisecond a row on a listing, whatever the query: the window is read
    as disjoint slices by reception time, side by side (tickets received earlier and still open form
    the first slice)."""
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
    """The raw listing, page by page, decoding only the attributes the facts need: a month of
    20,000 tickets is read in seconds (the SDK's own listing decodes every field of every row)."""
    found = []
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
            values = {name: json.loads(fields[name].data) for name in FACT_NAMES if name in fields}
            found.append(sa.facts_of(row.execution.workflow_id, values))
        token = page.next_page_token
        if not token:
            return found
