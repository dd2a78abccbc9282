"""`hotline demo` on a server that is already running (issue 19, finding 11): it keeps to a namespace
of its own, leaves the server's namespace untouched, and ends what it started (no workflow of it
left running for workers that are gone); its web and codec ports are options. One real demo run,
as a process, against a dev server of the test's own."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from temporalio.client import Client

from activities.runtime.binaries import start_dev_server
from activities.runtime.settings import converter
from starter.tools.demo import demo_namespace

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parent.parent


async def test_the_demo_keeps_to_its_own_namespace_and_ends_what_it_started(tmp_path: Path) -> None:
    env = await start_dev_server()
    try:
        address = env.client.service_client.config.target_host
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "starter.cli.app", "demo", "-n", "13", "--timeout", "240", "--web-port", "0",
            "--codec-port", "0", "--data-dir", str(tmp_path / "demo"),
            cwd=ROOT, env={**os.environ, "TEMPORAL_ADDRESS": address, "COLUMNS": "200"},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(process.communicate(), timeout=400)
        text = out.decode()
        assert process.returncode == 0, (text[-3000:], err.decode()[-3000:])
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
