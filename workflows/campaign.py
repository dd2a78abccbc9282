"""CampaignWorkflow (专项行动协调会 / 专项推进会): a campaign follows the tickets its filter chooses
until its deadline or until the shift lead closes it, then leaves a summary; a backlog push
escalates what it did not clear."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributePair, TypedSearchAttributes

with workflow.unsafe.imports_passed_through():
    from domain import search_attributes as sa
    from domain.calendar import natural
    from domain.campaign import CampaignInput, CampaignRecord, CampaignStatus, CampaignSummary, FindTickets
    from domain.commands import CloseCampaign, RecordMinutes

from workflows import interfaces
from workflows.common import publish, send_notices, validates


@workflow.defn
class CampaignWorkflow:
    @workflow.init
    def __init__(self, input: CampaignInput) -> None:
        self.record = CampaignRecord.start(input, workflow.now())
        self._published = workflow.info().typed_search_attributes

    @workflow.run
    async def run(self, input: CampaignInput) -> CampaignSummary:
        record = self.record
        self._publish()
        notices = asyncio.create_task(send_notices(record.outbox, f"C-{input.campaign_no}"))
        while record.status is CampaignStatus.RUNNING:
            await self._refresh()
            if record.status is not CampaignStatus.RUNNING:
                break  # closed by the shift lead while refreshing
            remaining = input.deadline - workflow.now()
            if remaining <= timedelta(0):
                record.close(None, "到期", workflow.now())
                break
            with contextlib.suppress(TimeoutError):  # time to refresh
                await workflow.wait_condition(
                    lambda: record.status is not CampaignStatus.RUNNING, timeout=min(natural(input.refresh), remaining)
                )
            self._publish()
        self._publish()
        await workflow.wait_condition(lambda: not record.outbox and workflow.all_handlers_finished())
        notices.cancel()
        assert record.summary is not None
        return record.summary

    @workflow.update
    def record_meeting(self, cmd: RecordMinutes) -> str:
        self.record.record_meeting(cmd.actor, cmd.minutes, workflow.now())
        return "已记录专项协调会"

    @validates(record_meeting)
    def _check_meeting(self, cmd: RecordMinutes) -> None:
        self.record.check_lead(cmd.actor, "记录协调会")

    async def _refresh(self) -> None:
        """Who belongs to the campaign now, and how far each ticket is."""
        record = self.record
        snapshot = await workflow.execute_activity(
            interfaces.find_campaign_tickets,
            FindTickets(filter=record.input.filter, members=[m.workflow_id for m in record.members]),
            start_to_close_timeout=timedelta(minutes=1),
        )
        record.apply(snapshot, workflow.now())

    @workflow.update
    async def close(self, cmd: CloseCampaign) -> CampaignSummary:
        await self._refresh()  # the summary reflects the tickets as they are now
        return self.record.close(cmd.actor, cmd.note, workflow.now())

    @validates(close)
    def _check_close(self, cmd: CloseCampaign) -> None:
        self.record.check_lead(cmd.actor, "结束")

    @workflow.query
    def view(self) -> CampaignRecord:
        return self.record

    def _publish(self) -> None:
        self._published = publish(self._published, for_campaign(self.record))


def for_campaign(record: CampaignRecord) -> TypedSearchAttributes:
    f = record.input.filter
    values: list[SearchAttributePair[Any]] = [
        SearchAttributePair(sa.STATUS, record.status.value),
        SearchAttributePair(sa.CATEGORY, record.input.kind.value),
        SearchAttributePair(sa.RECEIVED_AT, record.started_at),
    ]
    if f.department:
        values.append(SearchAttributePair(sa.DEPARTMENT, f.department))
    if f.street:
        values.append(SearchAttributePair(sa.STREET, f.street))
    return TypedSearchAttributes(values)
