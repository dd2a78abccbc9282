"""`hotline demo` on a server that is already running (issue 19, finding 11): it keeps to a namespace
of its own, leaves the server's namespace untouched, and ends what it started (no workflow of it
left running for workers that are gone); its web and codec ports are options. With --keep-server
(issue 21's "done when") the workbench and the workers stay after the summary until stopped, and both
answer /healthz, /readyz and /metrics on the addresses the demo prints. One real demo run, as a
process, against a dev server of the test's own."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client

from activities.runtime.binaries import start_dev_server
from activities.runtime.settings import converter
from starter.tools.demo import demo_namespace
from tests.support.prometheus import samples, value

ROOT = Path(__file__).resolve().parents[2]
OPS_URL = re.compile(r"(http://127\.0\.0\.1:\d+)/healthz")


async def lines_until(stream: asyncio.StreamReader, marker: str) -> list[str]:
    lines: list[str] = []
    while not lines or marker not in lines[-1]:
        line = await stream.readline()
        if not line:
            raise AssertionError("the demo ended before: " + marker + "\n" + "\n".join(lines[-40:]))
        lines.append(line.decode().rstrip("\n"))
    return lines


async def scrape_ops(lines: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The web's and the workers' /healthz and /readyz status codes and /metrics series, at the
    addresses the demo printed."""

    def printed(label: str) -> str:
        found = [m.group(1) for line in lines if label in line for m in [OPS_URL.search(line)] if m]
        assert found, (label, lines[-40:])
        return found[0]

    scraped = []
    async with httpx.AsyncClient(timeout=30) as http:
        for label in ("工作台健康检查与指标：", "worker 健康检查与指标："):
            url = printed(label)
            scraped.append({
                "healthz": (await http.get(f"{url}/healthz")).status_code,
                "readyz": (await http.get(f"{url}/readyz")).status_code,
                "metrics": samples((await http.get(f"{url}/metrics")).text),
            })  # fmt: skip
    return scraped[0], scraped[1]


async def test_the_demo_keeps_to_its_own_namespace_and_ends_what_it_started(tmp_path: Path) -> None:
    env = await start_dev_server()
    try:
        address = env.client.service_client.config.target_host
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "starter.cli.app", "demo", "-n", "13", "--timeout", "240", "--web-port", "0",
            "--codec-port", "0", "--data-dir", str(tmp_path / "demo"), "--keep-server",
            cwd=ROOT, env={**os.environ, "TEMPORAL_ADDRESS": address, "COLUMNS": "200"},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert process.stdout is not None and process.stderr is not None
        errors = asyncio.create_task(process.stderr.read())  # read beside stdout: a full pipe would stall it
        try:
            # Up to the summary and the line saying what keeps running, then the ops ports, scraped.
            lines = await asyncio.wait_for(lines_until(process.stdout, "按 Ctrl-C 结束"), timeout=400)
            ops = await scrape_ops(lines)
        finally:
            process.send_signal(signal.SIGINT)
            rest = await asyncio.wait_for(process.stdout.read(), timeout=120)
            await asyncio.wait_for(process.wait(), timeout=60)
        text = "\n".join(lines) + rest.decode()
        assert process.returncode == 0, (text[-3000:], (await errors).decode()[-3000:])
        web, worker = ops
        assert web["healthz"] == 200 and web["readyz"] == 200
        assert worker["healthz"] == 200 and worker["readyz"] == 200
        # The web's business gauges; the workers' own series and the SDK's, passed on by their port.
        assert value(web["metrics"]["hotline_open_tickets"]) >= 1  # the unanswered urgent ticket, the 挂账 one
        assert value(worker["metrics"]["hotline_worker_up"], task_queue="hotline-demo-center") == 1
        assert value(worker["metrics"]["hotline_worker_up"], task_queue="hotline-demo-cgj") == 1
        assert any(name.startswith("temporal_activity_execution_latency") for name in worker["metrics"])
        assert any(name.startswith("temporal_workflow_completed") for name in worker["metrics"])
        namespace = demo_namespace(datetime.now(UTC))
        assert f"演示专用命名空间 {namespace}" in text, text[:2000]
        # The server's own namespace holds nothing of the demo.
        assert (await env.client.count_workflows()).count == 0
        demo = await Client.connect(address, namespace=namespace, data_converter=converter())
        assert (await demo.count_workflows("WorkflowType = 'TicketWorkflow'")).count >= 13
        for kind in ("EnterpriseServiceWorkflow", "WhistleWorkflow", "CampaignWorkflow"):
            assert (await demo.count_workflows(f"WorkflowType = '{kind}'")).count >= 1, kind
        # Nothing of it is left running for its workers, which stopped with it.
        running = [wf.id async for wf in demo.list_workflows("ExecutionStatus = 'Running'")]
        assert not running, running
    finally:
        await env.shutdown()
