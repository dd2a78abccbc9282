"""Where reports get their figures: the tickets' own search attributes, listed from visibility.

No copy of the data is kept: every report reads the server again, so a figure can always be traced
back to the workflows it counts, and recomputed after a correction.
"""

from __future__ import annotations

from datetime import datetime

from temporalio.client import Client

from domain import search_attributes as sa
from domain.facts import TicketFacts


def _instant(at: datetime) -> str:
    return at.isoformat()


def window_query(since: datetime, until: datetime) -> str:
    """Tickets that touch [since, until): received before its end and not closed before its start."""
    return (
        f"WorkflowType = 'TicketWorkflow' AND {sa.RECEIVED_AT.name} < '{_instant(until)}'"
        f" AND ({sa.CLOSED_AT.name} IS NULL OR {sa.CLOSED_AT.name} >= '{_instant(since)}')"
    )


async def ticket_facts(client: Client, since: datetime, until: datetime) -> list[TicketFacts]:
    """Every ticket that was open at some time in [since, until), as its search attributes say."""
    found = []
    async for wf in client.list_workflows(window_query(since, until), page_size=1000):
        if wf.typed_search_attributes.get(sa.RECEIVED_AT) is None:
            continue  # started without its attributes (not one of ours): nothing to count
        found.append(sa.facts_of(wf.id, wf.typed_search_attributes))
    return found


async def open_ticket_facts(client: Client) -> list[TicketFacts]:
    """Tickets still running (for the daily warning and the weekly supervision)."""
    query = "WorkflowType = 'TicketWorkflow' AND ExecutionStatus = 'Running'"
    return [
        sa.facts_of(wf.id, wf.typed_search_attributes)
        async for wf in client.list_workflows(query, page_size=1000)
        if wf.typed_search_attributes.get(sa.RECEIVED_AT) is not None
    ]
