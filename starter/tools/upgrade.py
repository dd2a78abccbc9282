"""`hotline upgrade check`: before a rollout, replay against this installation's workflow code every
open workflow's history on the server (the runs the new worker would take over) and the recorded
histories (tests/histories or --histories DIR). A history that no longer replays names its workflow
id and the reason; the command then exits non-zero (docs/upgrade.md)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from temporalio.client import Client, WorkflowHistory
from temporalio.worker import Replayer

from activities.runtime.settings import converter

FETCH_CONCURRENCY = 8
# The recorded histories of a source checkout (an installed package has none: give --histories).
RECORDED = Path(__file__).resolve().parent.parent / "tests" / "histories"


@dataclass
class Failure:
    source: str  # "server" or the file
    workflow_id: str
    workflow_type: str
    reason: str


@dataclass
class CheckResult:
    replayed: int = 0
    skipped: dict[str, int] = field(default_factory=dict)  # workflow types this code does not define
    failures: list[Failure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


def workflow_types() -> dict[str, type]:
    from workflows.registry import WORKFLOWS, workflow_type

    return {workflow_type(cls): cls for cls in WORKFLOWS}


async def open_histories(client: Client, query: str) -> list[tuple[str, WorkflowHistory]]:
    """Each open run's history with its workflow type (listed, then fetched a few at a time)."""
    listed = [(e.id, e.run_id, e.workflow_type) async for e in client.list_workflows(query)]
    slots = asyncio.Semaphore(FETCH_CONCURRENCY)

    async def fetch(workflow_id: str, run_id: str | None, kind: str) -> tuple[str, WorkflowHistory]:
        async with slots:
            return kind, await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()

    return list(await asyncio.gather(*(fetch(*row) for row in listed)))


def recorded_histories(folder: Path) -> Iterator[tuple[str, WorkflowHistory, str]]:
    """(workflow type, history, file) of every *.json under `folder`, as `temporal workflow show
    --output json` or `python -m tests.support.record_histories` writes them."""
    for path in sorted(folder.rglob("*.json")):
        raw = json.loads(path.read_text(encoding="utf-8"))
        started = raw["events"][0]["workflowExecutionStartedEventAttributes"]
        yield started["workflowType"]["name"], WorkflowHistory.from_json(started["workflowId"], raw), str(path)


async def check(
    client: Client | None, folders: Sequence[Path], *, query: str = "ExecutionStatus = 'Running'"
) -> CheckResult:
    known = workflow_types()
    replayer = Replayer(workflows=list(known.values()), data_converter=client.data_converter if client else converter())
    result = CheckResult()
    histories: list[tuple[str, WorkflowHistory, str]] = []
    if client is not None:
        histories += [(kind, history, "server") for kind, history in await open_histories(client, query)]
    for folder in folders:
        histories += list(recorded_histories(folder))
    for kind, history, source in histories:
        if kind not in known:
            result.skipped[kind] = result.skipped.get(kind, 0) + 1
            continue
        replayed = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        result.replayed += 1
        if replayed.replay_failure is not None:
            reason = f"{type(replayed.replay_failure).__name__}: {replayed.replay_failure}"
            result.failures.append(Failure(source, history.workflow_id, kind, reason.splitlines()[0][:400]))
    return result
