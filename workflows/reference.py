"""The bare engine's reference for the benchmark (`hotline bench`): a workflow of a ticket's outline
with none of its rules.

activity (receive) → activity (deliver) → wait for one update (answer) → activity (close) → return.

The activities return at once. `deliver` tells the driver, in the same process, that the workflow
is now waiting for its update (as a ticket's delivery lets the department's clerk act), and the
driver sends the update straight away. What the project adds to a ticket on top of this outline is
what the benchmark's events/s ratio measures.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from temporalio import activity, workflow

TIMEOUT = timedelta(seconds=30)


@workflow.defn
class ReferenceWorkflow:
    def __init__(self) -> None:
        self.answer: str | None = None

    @workflow.run
    async def run(self, name: str) -> str:
        await workflow.execute_activity("reference_receive", name, start_to_close_timeout=TIMEOUT)
        await workflow.execute_activity(
            "reference_deliver", workflow.info().workflow_id, start_to_close_timeout=TIMEOUT
        )
        await workflow.wait_condition(lambda: self.answer is not None)
        assert self.answer is not None
        closed: str = await workflow.execute_activity("reference_close", self.answer, start_to_close_timeout=TIMEOUT)
        return closed

    @workflow.update
    def answer_it(self, text: str) -> str:
        self.answer = text
        return "ok"

    @answer_it.validator
    def _check_answer(self, text: str) -> None:
        if not text:
            raise ValueError("empty answer")


class ReferenceActivities:
    """Activities that return at once; `delivered(workflow_id)` is called when `deliver` runs."""

    def __init__(self, delivered: Callable[[str], None]) -> None:
        self.delivered = delivered

    @activity.defn(name="reference_receive")
    async def receive(self, name: str) -> str:
        return name

    @activity.defn(name="reference_deliver")
    async def deliver(self, workflow_id: str) -> str:
        self.delivered(workflow_id)
        return workflow_id

    @activity.defn(name="reference_close")
    async def close(self, answer: str) -> str:
        return answer
