"""What the terminal shows of a ticket (`hotline ticket show`, `ticket list`): times in the district's
time zone whatever the host's (issue 19, finding 12: a container on UTC printed them 8 hours off)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Rendered in a process of its own, so that the host's zone is the one given here, as on a server.
SHOW = """
from datetime import UTC, datetime
from rich.console import Console
from domain.intake import IntakePlan
from domain.models import SYSTEM_ACTOR, Action
from domain.ticket_record import TicketRecord
from starter.render import ticket_panel, when
from tests.support.helpers import sample_ticket

received = datetime(2026, 12, 3, 1, 30, tzinfo=UTC)  # 09:30 in the district
ticket = sample_ticket().model_copy(update={"received_at": received})
record = TicketRecord(ticket=ticket, plan=IntakePlan(), actions=[Action(at=received, actor=SYSTEM_ACTOR, action="受理")])
console = Console(record=True, width=200)
console.print(ticket_panel(record, now=received))
print("LIST", when(received))
"""


def test_ticket_show_and_list_print_the_districts_time_whatever_the_hosts_zone():
    for zone in ("UTC", "America/New_York"):
        done = subprocess.run(
            [sys.executable, "-c", SHOW],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
            env={**os.environ, "TZ": zone},
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert "2026-12-03 09:30:00" in done.stdout, (zone, done.stdout)
        assert "LIST 2026-12-03 09:30:00" in done.stdout
        assert "01:30:00" not in done.stdout and "20:30:00" not in done.stdout, (zone, done.stdout)
