"""The demo's sample tickets (issue 22, item 7: their 受理时间 ran seconds ahead of their 受理 entry)."""

from __future__ import annotations

from datetime import UTC, datetime

from activities.runtime.settings import load_config
from starter.tools.demo_data import demo_tickets


def test_no_demo_ticket_is_received_after_the_demo_starts() -> None:
    now = datetime(2026, 12, 4, 8, 30, tzinfo=UTC)
    tickets = demo_tickets(load_config(None), 50, "DEMO", now)
    received = [t.received_at for t in tickets]
    # The demo submits them after `now`: a time after it would precede its own intake entry.
    assert max(received) == now
    assert received == sorted(received) and len(set(received)) == len(received)
