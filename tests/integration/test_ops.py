"""Operations: /healthz, /readyz and /metrics on the web app, the codec server and worker processes
(scraped as Prometheus would); `hotline worker` and `python worker.py` as an operator installs them
(paths under HOTLINE_HOME, not the working directory); JSON logs with the workflow bound and no
personal data in any line."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import yaml
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.runtime.keys import KeyRing
from activities.runtime.logging import configure_logging, mask_numbers
from domain.models import Citizen, TicketStatus
from starter.tickets import submit
from starter.tools.codec_server import start_codec_server
from starter.web.app import create_app, serving
from starter.web.users import UserDirectory, WebUser, hash_password, write_users
from tests.support.deploy import series_used
from tests.support.district import make_config
from tests.support.helpers import eventually, sample_ticket
from tests.support.processes import finished, free_port
from tests.support.prometheus import samples, value
from worker import build_workers

ROOT = Path(__file__).resolve().parents[2]
PHONE = "13987650123"
NAME = "欧阳测试娜"
ADDRESS = "滨河街道镇北社区甲九号楼"


@pytest.fixture
async def web(own_dev_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[tuple[str, Client, object]]:
    client = own_dev_env.client
    config = make_config(tmp_path)
    app = create_app(client, config, UserDirectory([], config))
    async with serving(app) as url:
        yield url, client, config


async def test_web_health_readiness_and_metrics(web: tuple[str, Client, object]) -> None:
    url, client, config = web
    # Only the centre's worker: the delivery to cgj is never taken, as when its worker is down.
    async with build_workers(client, config, center=True, max_cached_workflows=0):  # type: ignore[arg-type]  # the fixture types its config object
        ticket = sample_ticket().model_copy(update={"received_at": datetime.now(UTC) - timedelta(minutes=20)})
        await submit(client, config, ticket)  # type: ignore[arg-type]  # the fixture types its config object
        await eventually(client, ticket.ticket_no, lambda r: r.status is TicketStatus.DISPATCHING)
        async with httpx.AsyncClient(base_url=url) as http:
            assert (await http.get("/healthz")).json() == {"status": "ok"}
            ready = await http.get("/readyz")
            assert ready.status_code == 200, ready.text
            assert set(ready.json()["checks"]) == {"temporal", "search_attributes", "keys"}
            await http.get("/login")
            scraped = samples((await http.get("/metrics")).text)
    assert value(scraped["hotline_http_requests_total"], app="web", route="/login", status="200") == 1
    assert value(scraped["hotline_http_requests_total"], route="/readyz") == 1
    assert "hotline_http_request_duration_seconds_bucket" in scraped
    assert value(scraped["hotline_open_tickets"], status="派遣中", department="cgj") == 1
    assert value(scraped["hotline_deliveries_blocked"], department="cgj") == 1
    assert value(scraped["hotline_deliveries_blocked"], department="zjj") == 0
    assert value(scraped["hotline_callbacks_waiting"]) == 0
    assert value(scraped["hotline_report_runs_failed"]) == 0
    assert {labels["step"] for labels, _ in scraped["hotline_overdue_tickets"]} >= {"催办", "督办"}
    # The centre's worker polls; cgj's is gone (the alert "worker gone" reads this).
    assert value(scraped["hotline_task_queue_pollers"], department="center") >= 1
    assert value(scraped["hotline_task_queue_pollers"], department="cgj") == 0


async def test_web_is_not_ready_without_temporal(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    port = free_port()  # nothing listens here
    client = await Client.connect(f"127.0.0.1:{port}", lazy=True)
    app = create_app(client, config, UserDirectory([], config))
    async with serving(app) as url, httpx.AsyncClient(base_url=url) as http:
        assert (await http.get("/healthz")).status_code == 200
        ready = await http.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["temporal"].startswith("failed")


async def test_codec_server_health_and_metrics() -> None:
    codec = await start_codec_server(KeyRing.generate(), ["http://localhost:8233"], port=0, token=("t" * 20, "test"))
    try:
        async with httpx.AsyncClient(base_url=codec.url) as http:
            assert (await http.get("/healthz")).status_code == 200
            ready = await http.get("/readyz")
            assert ready.status_code == 200 and ready.json()["checks"]["keys"].startswith("ok: 1 keys")
            assert (await http.post("/decode", json={"payloads": []})).status_code == 401
            scraped = samples((await http.get("/metrics")).text)
    finally:
        await codec.stop()
    assert value(scraped["hotline_http_requests_total"], app="codec", route="/decode", status="401") == 1


async def start(args: list[str], env: dict[str, str], cwd: Path) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        *args, cwd=cwd, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), timeout=60)
    assert "worker 已启动" in line.decode(), line
    return process


async def test_workers_as_installed_serve_metrics_and_log_no_personal_data(client: Client, tmp_path: Path) -> None:
    home = tmp_path / "home"
    elsewhere = tmp_path / "elsewhere"  # the working directory: nothing may land here
    home.mkdir()
    elsewhere.mkdir()
    config = make_config(tmp_path)
    raw = config.model_dump(mode="json")
    for dept in raw["departments"]:
        if dept["code"] == "cgj":
            dept["adapter"] = {"type": "file_inbox", "folder": "inbox/cgj"}  # relative: under HOTLINE_HOME
    config_file = tmp_path / "district.yaml"
    config_file.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": client.service_client.config.target_host,
        "HOTLINE_HOME": str(home),
        "HOTLINE_LOG_LEVEL": "DEBUG",
    }
    env.pop("HOTLINE_LOG_FORMAT", None)
    center_port, dept_port = free_port(), free_port()
    center = await start(
        [
            sys.executable,
            str(ROOT / "worker.py"),
            "--center",
            "--config",
            str(config_file),
            "--metrics-port",
            str(center_port),
        ],
        env,
        elsewhere,
    )
    department = await start(
        [
            sys.executable,
            "-m",
            "starter.cli.app",
            "worker",
            "--department",
            "cgj",
            "--config",
            str(config_file),
            "--metrics-port",
            str(dept_port),
        ],
        env,
        elsewhere,
    )
    try:
        ticket = sample_ticket()
        ticket = ticket.model_copy(update={"citizen": Citizen(name=NAME, phone=PHONE, address=ADDRESS)})
        await submit(client, config, ticket)
        await eventually(client, ticket.ticket_no, lambda r: r.status is TicketStatus.AWAITING_SIGN_FOR)
        assert len(list((home / "inbox" / "cgj" / "tickets").glob("*.json"))) == 1
        assert not list(elsewhere.rglob("*"))
        async with httpx.AsyncClient() as http:
            for port in (center_port, dept_port):
                assert (await http.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200
                ready = await http.get(f"http://127.0.0.1:{port}/readyz")
                assert ready.status_code == 200, ready.text
            center_metrics = samples((await http.get(f"http://127.0.0.1:{center_port}/metrics")).text)
            dept_metrics = samples((await http.get(f"http://127.0.0.1:{dept_port}/metrics")).text)
    finally:
        for process in (center, department):
            process.send_signal(signal.SIGTERM)
        codes = [await asyncio.wait_for(p.wait(), timeout=30) for p in (center, department)]
    logs = [(await p.stderr.read()).decode() for p in (center, department)]
    assert codes == [0, 0], logs
    # The SDK's own series (its Prometheus exporter, passed on) and ours, on one port per worker.
    assert value(center_metrics["hotline_worker_up"], task_queue=config.center.task_queue) == 1
    assert value(dept_metrics["hotline_worker_up"], task_queue=config.department("cgj").task_queue) == 1
    assert any(
        name.startswith("temporal_workflow_completed") or name.startswith("temporal_workflow_task")
        for name in center_metrics
    )
    assert any(name.startswith("temporal_activity_execution_latency") for name in dept_metrics), sorted(dept_metrics)
    # Every SDK series the dashboard and alert rules in deploy/ read is one a worker exports.
    assert series_used("temporal_") <= {*center_metrics, *dept_metrics}, sorted({*center_metrics, *dept_metrics})
    # JSON lines (stderr is not a terminal), the delivery bound to its workflow, run and department.
    lines = [json.loads(line) for text in logs for line in text.splitlines() if line.strip()]
    delivered = [line for line in lines if line.get("event") == "delivered"]
    assert delivered and delivered[0]["workflow_id"].endswith(ticket.ticket_no)
    assert delivered[0]["department"] == "cgj" and delivered[0]["run_id"]
    everything = "\n".join(logs)
    for personal in (PHONE, PHONE[-8:], NAME, ADDRESS, ticket.content[:12]):
        assert personal not in everything


def test_the_log_pipeline_masks_numbers_and_drops_personal_fields(capsys: pytest.CaptureFixture[str]) -> None:
    import logging

    import structlog

    root = logging.getLogger()
    kept = (root.handlers[:], root.level)
    try:
        configure_logging(log_format="json")
        structlog.get_logger().info("called back", phone=PHONE, citizen={"name": NAME}, note=f"拨打 {PHONE} 未接")
        logging.getLogger("temporalio.worker").warning("activity failed for %s", PHONE)
        err = capsys.readouterr().err
    finally:
        root.handlers, root.level = kept
        structlog.reset_defaults()
    assert PHONE not in err and NAME not in err
    assert mask_numbers(f"tel {PHONE}") == "tel 139********"
    assert all(json.loads(line) for line in err.splitlines())


async def started_line(args: list[str], env: dict[str, str]) -> tuple[asyncio.subprocess.Process, str]:
    """A service started as a process, and the log line on its stderr that says it started."""
    process = await asyncio.create_subprocess_exec(
        *args, cwd=ROOT, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    assert process.stderr is not None
    while True:
        line = (await asyncio.wait_for(process.stderr.readline(), timeout=60)).decode()
        assert line, f"{args[3]} ended without its start line"
        if " started" in line:
            return process, line


async def stopped(process: asyncio.subprocess.Process) -> int:
    process.send_signal(signal.SIGINT)
    return await asyncio.wait_for(process.wait(), timeout=30)


async def test_web_and_codec_server_log_in_the_format_asked(client: Client, tmp_path: Path) -> None:
    users = tmp_path / "users.yaml"
    write_users(users, [WebUser(username="clerk1", person="cgj_sun", password_hash=hash_password("pw-123456"))])
    env = {**os.environ, "TEMPORAL_ADDRESS": client.service_client.config.target_host, "HOTLINE_CODEC_TOKEN": "t" * 20}
    env.pop("HOTLINE_LOG_FORMAT", None)
    cli = [sys.executable, "-m", "starter.cli.app"]
    web_port = free_port()
    web_args = [*cli, "web", "--port", str(web_port), "--users", str(users), "--data-dir", str(tmp_path)]
    codec_args = [*cli, "codec-server", "--port", "0"]

    web, web_line = await started_line([*web_args, "--log-format", "json"], env)
    try:
        async with httpx.AsyncClient() as http:
            assert (await http.get(f"http://127.0.0.1:{web_port}/healthz")).status_code == 200
    finally:
        assert await stopped(web) in (0, 130)  # uvicorn ends on Ctrl-C as a shell's 130 says
    codec, codec_line = await started_line([*codec_args, "--log-format", "json"], env)
    assert await stopped(codec) == 0
    # The same JSON lines as a worker's (activities/runtime/logging.py), whatever the terminal.
    assert json.loads(web_line) | {"event": "web started", "level": "info"} == json.loads(web_line)
    assert json.loads(codec_line)["event"] == "codec server started"
    codec, console_line = await started_line([*codec_args, "--log-format", "console"], env)
    assert await stopped(codec) == 0
    assert "codec server started" in console_line and not console_line.lstrip().startswith("{")
    # A format it does not know: one line naming the option, exit 2, nothing started.
    for args in (web_args, codec_args):
        code, err = await finished(*args, "--log-format", "xml", env=env)
        assert code == 2 and "--log-format" in err, err
