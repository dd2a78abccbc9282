"""Every history a test server holds, replayed against today's workflows before the server stops.

A change that makes any history the suite produced non-deterministic fails the suite at that
server's teardown, naming the workflow. The dev servers list their workflows (every run, closed or
open); the time-skipping test server cannot list, so its clients record the workflows they start
(`Recorder`), and child workflows are followed from the histories.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import (
    Client,
    Interceptor,
    OutboundInterceptor,
    StartWorkflowInput,
    StartWorkflowUpdateWithStartInput,
    WorkflowHistory,
    WorkflowUpdateHandle,
)
from temporalio.client import WorkflowHandle as _Handle
from temporalio.worker import Replayer

from activities.runtime.settings import converter
from workflows.reference import ReferenceWorkflow
from workflows.registry import WORKFLOWS

ROOT = Path(__file__).resolve().parents[2]
FETCH_CONCURRENCY = 16
REGISTERED = {*WORKFLOWS, ReferenceWorkflow}


@dataclass
class Tally:
    """What the suite replayed, for the README's reliability figures."""

    servers: int = 0
    histories: int = 0
    events: int = 0
    by_type: Counter[str] = field(default_factory=Counter)
    not_ours: Counter[str] = field(default_factory=Counter)  # test-only workflow types, not replayed

    def as_json(self) -> dict[str, Any]:
        return {
            "servers": self.servers,
            "histories_replayed": self.histories,
            "events_replayed": self.events,
            "by_workflow_type": dict(sorted(self.by_type.items())),
            "test_only_types_skipped": dict(sorted(self.not_ours.items())),
            "replay_failures": 0,
        }


TALLY = Tally()


class Recorder(Interceptor):
    """Notes the id of every workflow a client starts (the time-skipping server cannot list them)."""

    def __init__(self) -> None:
        self.ids: set[str] = set()

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        return _Recording(next, self.ids)


class _Recording(OutboundInterceptor):
    def __init__(self, next: OutboundInterceptor, ids: set[str]) -> None:
        super().__init__(next)
        self._ids = ids

    async def start_workflow(self, input: StartWorkflowInput) -> _Handle[Any, Any]:
        self._ids.add(input.id)
        return await super().start_workflow(input)

    async def start_update_with_start_workflow(
        self, input: StartWorkflowUpdateWithStartInput
    ) -> WorkflowUpdateHandle[Any]:
        self._ids.add(input.start_workflow_input.id)
        return await super().start_update_with_start_workflow(input)


def recording_client(client: Client, recorder: Recorder) -> Client:
    """The same connection, also noting the workflows it starts."""
    config = client.config()
    config["interceptors"] = [*config["interceptors"], recorder]
    return Client(**config)


async def _histories_listed(client: Client) -> list[WorkflowHistory]:
    executions = [e async for e in client.list_workflows()]
    gate = asyncio.Semaphore(FETCH_CONCURRENCY)

    async def fetch(workflow_id: str, run_id: str) -> WorkflowHistory:
        async with gate:
            return await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()

    return list(await asyncio.gather(*(fetch(e.id, e.run_id) for e in executions)))


async def _histories_followed(client: Client, ids: Iterable[str]) -> list[WorkflowHistory]:
    """The latest run of each workflow id, and of each child workflow found in those histories."""
    todo, seen, histories = list(ids), set[str](), []
    while todo:
        workflow_id = todo.pop()
        if workflow_id in seen:
            continue
        seen.add(workflow_id)
        history = await client.get_workflow_handle(workflow_id).fetch_history()
        histories.append(history)
        for event in history.events:
            if event.event_type == EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED:
                todo.append(event.child_workflow_execution_started_event_attributes.workflow_execution.workflow_id)
    return histories


async def replay_everything(client: Client, started: Iterable[str] | None = None) -> int:
    """Replays the server's histories (listed, or followed from `started` on a server that cannot
    list) against today's workflows; raises naming every one that fails. Returns how many replayed."""
    histories = await (_histories_listed(client) if started is None else _histories_followed(client, started))
    names = {w.__temporal_workflow_definition.name: w for w in REGISTERED}  # type: ignore[attr-defined]  # set by @workflow.defn
    ours: list[WorkflowHistory] = []
    for history in histories:
        if not history.events:
            continue
        kind = history.events[0].workflow_execution_started_event_attributes.workflow_type.name
        if kind in names:
            ours.append(history)
            TALLY.by_type[kind] += 1
            TALLY.events += len(history.events)
        else:
            TALLY.not_ours[kind] += 1

    async def each() -> Any:
        for history in ours:
            yield history

    results = await Replayer(workflows=list(REGISTERED), data_converter=converter()).replay_workflows(
        each(), raise_on_replay_failure=False
    )
    TALLY.servers += 1
    TALLY.histories += len(ours)
    if results.replay_failures:
        failed = [f"{run_id}: {err!r}"[:300] for run_id, err in results.replay_failures.items()]
        raise AssertionError(f"{len(failed)} of {len(ours)} histories no longer replay:\n" + "\n".join(failed))
    return len(ours)


def write_tally() -> None:
    """The replay figures next to the fault suite's (`.pytest-results/`, or HOTLINE_RELIABILITY_OUT_DIR)."""
    if not TALLY.servers:
        return
    folder = Path(os.environ.get("HOTLINE_RELIABILITY_OUT_DIR") or ROOT / ".pytest-results")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "reliability-replay.json").write_text(
        json.dumps(TALLY.as_json(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
