"""worker.py as an operator runs it: separate processes for the centre and a department, stopped
gracefully by SIGTERM; bad arguments refused with exit code 2."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest
import yaml
from temporalio.client import Client

from domain.models import TicketStatus
from starter.tickets import submit
from tests.support.district import make_config
from tests.support.helpers import eventually, sample_ticket
from tests.support.processes import start_worker

ROOT = Path(__file__).resolve().parents[2]


async def test_centre_and_department_workers_in_their_own_processes(client: Client, tmp_path: Path) -> None:
    config = make_config(tmp_path)
    config_file = tmp_path / "district.yaml"
    config_file.write_text(yaml.safe_dump(config.model_dump(mode="json"), allow_unicode=True), encoding="utf-8")
    env = {**os.environ, "TEMPORAL_ADDRESS": client.service_client.config.target_host}
    center = await start_worker(env, "--center", "--config", str(config_file))
    department = await start_worker(env, "--department", "cgj", "--config", str(config_file))
    try:
        ticket = sample_ticket()  # → cgj
        await submit(client, config, ticket)
        await eventually(client, ticket.ticket_no, lambda r: r.status is TicketStatus.AWAITING_SIGN_FOR)
        assert len(list((tmp_path / "cgj" / "tickets").glob("*.json"))) == 1
    finally:
        for process in (center, department):
            process.send_signal(signal.SIGTERM)
        codes = [await asyncio.wait_for(p.wait(), timeout=30) for p in (center, department)]
    errs = [(await p.stderr.read()).decode()[-3000:] for p in (center, department)]
    assert codes == [0, 0], errs


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--department", "nope"], "unknown department 'nope'"),
        (["--all", "--config", "/no/such/file.yaml"], "/no/such/file.yaml: cannot read"),
    ],
)
async def test_bad_arguments_exit_2_with_one_line(client: Client, args: list[str], expected: str) -> None:
    env = {**os.environ, "TEMPORAL_ADDRESS": client.service_client.config.target_host}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "worker.py", *args, cwd=ROOT, env=env, stderr=asyncio.subprocess.PIPE
    )
    _, err = await process.communicate()
    assert process.returncode == 2
    assert expected in err.decode() and "Traceback" not in err.decode()
