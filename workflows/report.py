"""ReportWorkflow (日报预警 / 周报督办 / 月报分析): one report, made and delivered by an activity on the
centre's worker. Started by a Temporal Schedule (its scheduled time is the report's time) or on
demand; the figures come from the tickets' own search attributes at that time."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey

with workflow.unsafe.imports_passed_through():
    from domain.report_request import ReportReceipt, ReportRequest

# Set by the server on a workflow a Schedule starts: the instant it was due.
SCHEDULED_AT = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")


@workflow.defn
class ReportWorkflow:
    @workflow.run
    async def run(self, request: ReportRequest) -> ReportReceipt:
        as_of = request.as_of or workflow.info().typed_search_attributes.get(SCHEDULED_AT) or workflow.now()
        receipt: ReportReceipt = await workflow.execute_activity(
            "make_report",
            request.model_copy(update={"as_of": as_of}),
            result_type=ReportReceipt,
            start_to_close_timeout=timedelta(minutes=10),
            retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=5), maximum_attempts=10),
        )
        return receipt
