"""`hotline upgrade check` against a dev server with open tickets: their histories replay against this
code (exit 0); a history this code no longer replays is named, with exit 1."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from importlib import metadata
from pathlib import Path

from temporalio.api.workflowservice.v1 import SetWorkerDeploymentCurrentVersionRequest
from temporalio.common import VersioningBehavior
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from activities.runtime.versioning import CENTER_DEPLOYMENT, center_deployment
from domain.models import TicketStatus
from starter.tickets import handle_for, submit
from tests.support.district import make_config
from tests.support.helpers import eventually, sample_ticket
from worker import build_workers

RECORDED = Path(__file__).resolve().parents[1] / "histories"


async def hotline(*args: str, address: str) -> tuple[int, str, str]:
    env = {**os.environ, "TEMPORAL_ADDRESS": address}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "starter.cli.app",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_upgrade_check_replays_open_tickets_and_names_a_broken_history(
    own_dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    client = own_dev_env.client
    config = make_config(tmp_path)
    address = client.service_client.config.target_host
    async with build_workers(client, config, departments=["cgj"], center=True):
        tickets = [sample_ticket() for _ in range(3)]
        for ticket in tickets:
            await submit(client, config, ticket)
        for ticket in tickets:
            await eventually(client, ticket.ticket_no, lambda r: r.status is TicketStatus.AWAITING_SIGN_FOR)
    # The workers are stopped, as before a rollout: the tickets stay open on the server.

    code, out, err = await hotline("upgrade", "check", "--histories", str(RECORDED / "v3"), address=address)
    assert code == 0, err
    recorded = len(list((RECORDED / "v3").glob("*.json")))
    assert f"已重放 {3 + recorded} 个历史" in out
    assert "可以升级" in out

    # A recorded history whose delivery activity has another name: this code would not replay it.
    raw = json.loads((RECORDED / "v1" / "standard.json").read_text(encoding="utf-8"))
    for event in raw["events"]:
        scheduled = event.get("activityTaskScheduledEventAttributes")
        if scheduled and scheduled["activityType"]["name"] == "deliver_ticket":
            scheduled["activityType"]["name"] = "deliver_parcel"
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "standard.json").write_text(json.dumps(raw), encoding="utf-8")
    workflow_id = raw["events"][0]["workflowExecutionStartedEventAttributes"]["workflowId"]

    code, out, err = await hotline("upgrade", "check", "--histories", str(broken), address=address)
    assert code == 1
    assert f"无法重放：{workflow_id}（TicketWorkflow" in err and "Nondeterminism" in err
    assert "不要升级" in err


async def test_upgrade_check_refuses_a_missing_histories_folder(tmp_path: Path) -> None:
    code, _, err = await hotline("upgrade", "check", "--histories", str(tmp_path / "nope"), address="127.0.0.1:1")
    assert code == 2 and "--histories" in err


async def test_versioned_centre_worker_joins_its_deployment_and_tickets_auto_upgrade(
    own_dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    client = own_dev_env.client
    config = make_config(tmp_path)
    deployment = center_deployment()
    assert deployment.version.build_id == metadata.version("hotline")
    async with build_workers(client, config, departments=["cgj"], center=True, deployment=deployment):
        # The version appears once its worker polls; then the operator makes it current (docs/upgrade.md).
        for _ in range(100):
            try:
                await client.workflow_service.set_worker_deployment_current_version(
                    SetWorkerDeploymentCurrentVersionRequest(
                        namespace=client.namespace,
                        deployment_name=CENTER_DEPLOYMENT,
                        build_id=deployment.version.build_id,
                    )
                )
                break
            except RPCError:
                await asyncio.sleep(0.2)
        else:
            raise AssertionError("the versioned worker never registered its deployment version")
        ticket = sample_ticket()
        await submit(client, config, ticket)
        await eventually(client, ticket.ticket_no, lambda r: r.status is TicketStatus.AWAITING_SIGN_FOR)
        info = (await handle_for(client, ticket.ticket_no).describe()).raw_description.workflow_execution_info
    assert info.versioning_info.behavior == VersioningBehavior.AUTO_UPGRADE.value
    assert info.versioning_info.deployment_version.build_id == deployment.version.build_id
    assert info.versioning_info.deployment_version.deployment_name == CENTER_DEPLOYMENT
