"""Recorded ticket histories must replay against today's TicketWorkflow: a change that breaks them would
break every running ticket. Re-record with `python -m tests.support.record_histories` after an intended change."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker
from temporalio.workflow import NondeterminismError

from activities.runtime.settings import converter
from tests.support import replay_all
from workflows.registry import WORKFLOWS

HISTORIES = Path(__file__).resolve().parents[1] / "histories"
# Every release's histories: tickets started under an older release may still be running.
EXPECTED = {
    "v1": {"standard", "return_reassign", "redo_extension"},
    "v2": {
        "standard",
        "return_reassign",
        "redo_extension",
        "escalated",
        "whistle",
        "problem_ticket",
        "meeting",
        "merged_main",
        "merged_repeat",
        "joint_response",
        "campaign",
        "enterprise_first_run",
        "enterprise_carried_run",
        "report_daily",
        "outage",  # 派遣受阻: the first stretch of retries ran out, the shift lead was told, delivered later
    },
    # The dispatch step published once (when delivered, blocked or failed), and no callback request
    # (local activity) when operators make the callbacks: both fixed into the plan at intake.
    "v3": {"standard", "return_reassign", "redo_extension", "outage"},
    # 核查 after the callback (待核查: 重办 or 核查结案), 免考核, 挂账 (its monthly reminder's timer) and
    # 暂停计时 (its limit's timer), and each finished round's facts: fixed into the plan at intake.
    "v4": {
        "standard",
        "return_reassign",
        "redo_extension",
        "outage",
        "verified_closed",
        "verified_redo",
        "exempted",
        "backlog",
        "paused",
    },
    # 人工改派 while 派遣受阻 (the blocked delivery called off), and an enterprise item's 派送受阻.
    "v5": {"redirected", "enterprise_outage"},
}


def history_files() -> list[Path]:
    return sorted(HISTORIES.glob("*/*.json"))


def load(raw: dict[str, Any]) -> WorkflowHistory:
    """A history from its JSON, under the workflow id it was recorded with."""
    started = raw["events"][0]["workflowExecutionStartedEventAttributes"]
    return WorkflowHistory.from_json(started["workflowId"], raw)


def replayer() -> Replayer:
    # The encrypting converter of every worker: the recorded histories are unencrypted and pass through.
    return Replayer(workflows=WORKFLOWS, data_converter=converter())


def test_histories_are_recorded() -> None:
    files = history_files()

    assert files, f"no recorded histories in {HISTORIES}: run `python -m tests.support.record_histories`"
    for release, names in EXPECTED.items():
        assert {p.stem for p in files if p.parent.name == release} >= names, release


@pytest.mark.parametrize("path", history_files(), ids=lambda p: f"{p.parent.name}-{p.stem}")
async def test_recorded_history_replays(path: Path) -> None:
    raw = json.loads(path.read_text(encoding="utf-8"))
    history = load(raw)
    # A whole run: a ticket to its end, an enterprise's run to its continue-as-new.
    assert raw["events"][-1]["eventType"] in (
        "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED",
        "EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW",
    )

    result = await replayer().replay_workflow(history)

    assert result.replay_failure is None


async def test_a_changed_command_fails_replay() -> None:
    """The replayer does check: a history whose delivery activity has another name is refused."""
    raw = json.loads((HISTORIES / "v1" / "standard.json").read_text(encoding="utf-8"))
    [scheduled] = [
        e["activityTaskScheduledEventAttributes"]
        for e in raw["events"]
        if e["eventType"] == "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED"
        and e["activityTaskScheduledEventAttributes"]["activityType"]["name"] == "deliver_ticket"
    ]
    scheduled["activityType"]["name"] = "deliver_parcel"

    with pytest.raises(NondeterminismError):
        await replayer().replay_workflow(load(raw))


@workflow.defn(sandboxed=False)
class ChangingWorkflow:
    """A workflow whose code changes between a run and its replay, as a careless release would."""

    steps = 1

    @workflow.run
    async def run(self) -> int:
        for _ in range(ChangingWorkflow.steps):
            await workflow.sleep(timedelta(seconds=1))
        return ChangingWorkflow.steps


async def test_the_suite_end_replay_names_a_history_that_no_longer_replays(
    env: WorkflowEnvironment, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What every test server's teardown does (tests/support/replay_all.py) fails when code changed under a history."""
    monkeypatch.setattr(replay_all, "REGISTERED", {*replay_all.REGISTERED, ChangingWorkflow})
    queue = f"changing-{uuid.uuid4().hex[:6]}"
    async with Worker(env.client, task_queue=queue, workflows=[ChangingWorkflow]):
        await env.client.execute_workflow(ChangingWorkflow.run, id=f"changing-{queue}", task_queue=queue)
    recorded = {f"changing-{queue}"}

    assert await replay_all.replay_everything(env.client, recorded) == 1
    monkeypatch.setattr(ChangingWorkflow, "steps", 2)
    with pytest.raises(AssertionError, match="1 of 1 histories no longer replay"):
        await replay_all.replay_everything(env.client, recorded)


def _with_ticket(raw: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    """The history with its ticket's input changed as an older release accepted it."""
    raw = json.loads(json.dumps(raw))
    payload = raw["events"][0]["workflowExecutionStartedEventAttributes"]["input"]["payloads"][0]
    body = json.loads(base64.b64decode(payload["data"]))
    for path, value in change.items():
        *parents, last = path.split(".")
        node = body["ticket"]
        for key in parents:
            node = node[key]
        node[last] = value
    payload["data"] = base64.b64encode(json.dumps(body, ensure_ascii=False).encode()).decode()
    return raw


async def test_a_ticket_accepted_before_a_later_input_rule_still_replays() -> None:
    """Rules added to the input models later (no invisible characters, a phone that is a number)
    refuse new input but not a running ticket's history: its payloads decode as they were accepted."""
    from domain.models import Citizen

    raw = json.loads((HISTORIES / "v1" / "standard.json").read_text(encoding="utf-8"))
    older = _with_ticket(raw, {"title": "垃圾\u200b堆积", "citizen.phone": "12345"})
    with pytest.raises(ValueError):
        Citizen(name="王小明", phone="12345")  # new input meets today's rule
    await replayer().replay_workflow(load(older))
