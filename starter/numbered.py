"""The centre's numbered workflows other than the ticket (会商 meeting, 吹哨 whistle, 专项 campaign, 红色服务团
enterprise) share one client shape: start one once under its number, send it a human action, read its
record, await its outcome. `Numbered` is that shape, once; each client module names its workflow."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from temporalio.client import Client, WorkflowHandle
from temporalio.common import TypedSearchAttributes

from activities.runtime.workflow_client import handle_by_number, query_view, start_once
from domain.config import DistrictConfig
from starter.tickets import act_on

Record = TypeVar("Record")
Result = TypeVar("Result")
Outcome = TypeVar("Outcome")


@dataclass(frozen=True)
class Numbered(Generic[Record, Result, Outcome]):
    prefix: str  # the number's kind, as handle_by_number checks it: "meeting"
    label: str  # how messages name one: "会商" (→ "会商 M2026…")
    run: Any  # the workflow's run method
    view_query: Any  # the workflow's view query
    workflow_id_for: Callable[[str], str]
    search_attributes: Callable[[Record], TypedSearchAttributes]
    letter: str = ""  # a new number's first letter: "M" (→ M20261204093000123)

    def new_number(self, now: datetime | None = None) -> str:
        """A fresh number: the letter and the time to the millisecond."""
        return f"{self.letter}{(now or datetime.now(UTC)):%Y%m%d%H%M%S%f}"[:-3]

    def handle(self, client: Client, number: str) -> WorkflowHandle[Any, Any]:
        return handle_by_number(client, number, self.prefix)

    async def start(
        self,
        client: Client,
        config: DistrictConfig,
        argument: Any,
        number: str,
        record: Record,
        *,
        summary: str,
        what: str | None = None,
    ) -> None:
        """Start the workflow for `number` once, on the centre's queue, searchable as `record`."""
        await start_once(
            client,
            self.run,
            argument,
            workflow_id=self.workflow_id_for(number),
            task_queue=config.center.task_queue,
            search_attributes=self.search_attributes(record),
            summary=summary,
            what=what or f"{self.label} {number}",
        )

    async def act(self, client: Client, number: str, update: Any, command: Any) -> Result:
        result: Result = await act_on(self.handle(client, number), update, command, f"{self.label} {number}")
        return result

    async def view(self, client: Client, number: str) -> Record:
        record: Record = await query_view(self.handle(client, number), self.view_query, f"{self.label} {number}")
        return record

    async def outcome(self, client: Client, number: str) -> Outcome:
        workflow_id = self.handle(client, number).id
        outcome: Outcome = await client.get_workflow_handle_for(self.run, workflow_id).result()
        return outcome
