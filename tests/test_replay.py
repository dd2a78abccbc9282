"""Recorded ticket histories must replay against today's TicketWorkflow: a change that breaks them would
break every running ticket. Re-record with `python -m tests.record_histories` after an intended change."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from starter.settings import converter
from worker import WORKFLOWS

HISTORIES = Path(__file__).parent / "histories"
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
    },
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

    assert files, f"no recorded histories in {HISTORIES}: run `python -m tests.record_histories`"
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
