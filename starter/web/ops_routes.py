"""`/healthz`, `/readyz` and `/metrics` of `hotline web`: request metrics, and the gauges an operator
watches, computed from visibility counts (count queries on search attributes, never a history or a
payload), cached for CACHE_SECONDS so a scrape every 15 s costs one round of counts every 30 s.

Series (docs/deploy.md lists them with the alerts that read them):
- hotline_open_tickets{status, department}: open tickets (the workflow running, status not final);
  department "" while none holds it (待派遣).
- hotline_overdue_tickets{step}: open overdue tickets by the highest step of the escalation ladder
  reached (催办, 督办 …; "" before the first step).
- hotline_deliveries_blocked{department}: tickets still 派遣中 longer than the centre's
  delivery_alert_after since they were received: the deliveries the workflow reports as 派遣受阻.
- hotline_callbacks_waiting: tickets 待回访.
- hotline_report_runs_failed: report runs (ReportWorkflow, scheduled or on demand) failed, timed out
  or terminated in the last 24 hours.
- hotline_task_queue_pollers{task_queue, department}: workers polling each task queue (the
  centre's workflows, each department's deliveries) seen by the server in the last POLLER_WINDOW:
  the centre sees a department's worker go without any inbound connection to the department.
- hotline_visibility_refresh_timestamp_seconds: when the counts were last taken.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

from fastapi import FastAPI, Request
from fastapi.responses import Response
from prometheus_client import CollectorRegistry, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.types import ASGIApp, Receive, Scope, Send
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from activities.runtime.ops import RequestMetrics, client_checks, health_routes
from activities.runtime.tracing import instrument_web
from domain import search_attributes as sa
from domain.calendar import natural
from domain.config import DistrictConfig
from domain.models import TicketStatus
from domain.reports import LADDER

CACHE_SECONDS = 30.0
COUNT_CONCURRENCY = 8
OPEN_STATUSES = [s for s in TicketStatus if not s.is_final]
FAILED_WITHIN = timedelta(hours=24)
POLLER_WINDOW = timedelta(minutes=2)


def _quote(value: str) -> str:
    return "'" + value.replace("'", "\\'") + "'"


def _at(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class BusinessGauges:
    """The gauges, refreshed from visibility counts at most once per CACHE_SECONDS."""

    def __init__(self, client: Client, config: DistrictConfig, registry: CollectorRegistry) -> None:
        self.client = client
        self.config = config
        self.open = Gauge(
            "hotline_open_tickets", "Open tickets by status and department", ["status", "department"], registry=registry
        )
        self.overdue = Gauge(
            "hotline_overdue_tickets", "Open overdue tickets by escalation step reached", ["step"], registry=registry
        )
        self.blocked = Gauge(
            "hotline_deliveries_blocked",
            "Deliveries failing past the alert threshold (派遣受阻)",
            ["department"],
            registry=registry,
        )
        self.callbacks = Gauge(
            "hotline_callbacks_waiting", "Tickets waiting for their callback (待回访)", registry=registry
        )
        self.report_failures = Gauge(
            "hotline_report_runs_failed",
            "Report runs failed, timed out or terminated in the last 24 hours",
            registry=registry,
        )
        self.pollers = Gauge(
            "hotline_task_queue_pollers",
            "Workers polling the task queue (seen by the server in the last 2 minutes)",
            ["task_queue", "department"],
            registry=registry,
        )
        self.refreshed = Gauge(
            "hotline_visibility_refresh_timestamp_seconds",
            "When the visibility counts were last taken",
            registry=registry,
        )
        self._taken = 0.0
        self._lock = asyncio.Lock()
        self._slots = asyncio.Semaphore(COUNT_CONCURRENCY)

    async def _count(self, query: str) -> int:
        async with self._slots:
            return (await self.client.count_workflows(query)).count

    async def refresh(self) -> None:
        async with self._lock:
            if time.monotonic() - self._taken < CACHE_SECONDS and self._taken:
                return
            await self._take()
            self._taken = time.monotonic()
            self.refreshed.set(time.time())

    async def _take(self) -> None:
        running = "WorkflowType = 'TicketWorkflow' AND ExecutionStatus = 'Running'"
        codes = [d.code for d in self.config.departments]
        by_status = await asyncio.gather(
            *(self._count(f"{running} AND {sa.STATUS.name} = {_quote(s.value)}") for s in OPEN_STATUSES)
        )
        self.open.clear()
        for status, total in zip(OPEN_STATUSES, by_status, strict=True):
            if not total:
                continue
            held = await asyncio.gather(
                *(
                    self._count(
                        f"{running} AND {sa.STATUS.name} = {_quote(status.value)} AND {sa.DEPARTMENT.name} = {_quote(c)}"
                    )
                    for c in codes
                )
            )
            for code, count in zip(codes, held, strict=True):
                if count:
                    self.open.labels(status.value, code).set(count)
            if total - sum(held) > 0:
                self.open.labels(status.value, "").set(total - sum(held))
        overdue = f"{running} AND {sa.OVERDUE.name} = true"
        steps = await asyncio.gather(
            *(self._count(f"{overdue} AND {sa.ESCALATION.name} = {_quote(s)}") for s in LADDER)
        )
        all_overdue = await self._count(overdue)
        self.overdue.clear()
        for step, count in zip(LADDER, steps, strict=True):
            self.overdue.labels(step).set(count)
        self.overdue.labels("").set(max(all_overdue - sum(steps), 0))
        since = datetime.now(UTC) - natural(self.config.center.delivery_alert_after)
        dispatching = (
            f"{running} AND {sa.STATUS.name} = {_quote(TicketStatus.DISPATCHING.value)} "
            f"AND {sa.RECEIVED_AT.name} < {_quote(_at(since))}"
        )
        blocked = await asyncio.gather(
            *(self._count(f"{dispatching} AND {sa.DEPARTMENT.name} = {_quote(c)}") for c in codes)
        )
        for code, count in zip(codes, blocked, strict=True):
            self.blocked.labels(code).set(count)
        self.callbacks.set(
            await self._count(f"{running} AND {sa.STATUS.name} = {_quote(TicketStatus.AWAITING_CALLBACK.value)}")
        )
        failed = (
            "WorkflowType = 'ReportWorkflow' AND ExecutionStatus IN ('Failed', 'TimedOut', 'Terminated') "
            f"AND CloseTime > {_quote(_at(datetime.now(UTC) - FAILED_WITHIN))}"
        )
        self.report_failures.set(await self._count(failed))
        queues = [(self.config.center.task_queue, "center", TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW)]
        queues += [(d.task_queue, d.code, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY) for d in self.config.departments]
        polling = await asyncio.gather(*(self._pollers(name, kind) for name, _, kind in queues))
        for (name, unit, _), count in zip(queues, polling, strict=True):
            self.pollers.labels(name, unit).set(count)

    async def _pollers(self, task_queue: str, kind: TaskQueueType.ValueType) -> int:
        async with self._slots:
            described = await self.client.workflow_service.describe_task_queue(
                DescribeTaskQueueRequest(
                    namespace=self.client.namespace, task_queue=TaskQueue(name=task_queue), task_queue_type=kind
                )
            )
        recent = datetime.now(UTC) - POLLER_WINDOW
        return len({p.identity for p in described.pollers if p.last_access_time.ToDatetime(tzinfo=UTC) >= recent})


def install(app: FastAPI, client: Client, config: DistrictConfig) -> None:
    """Add the request metrics, /metrics, /healthz and /readyz to the web app."""
    registry = CollectorRegistry()
    measured = RequestMetrics(registry, "web")
    gauges = BusinessGauges(client, config, registry)
    app.state.business_gauges = gauges
    app.add_middleware(_Measured, metrics=measured)

    async def metrics(_: Request) -> Response:
        await gauges.refresh()
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    app.add_api_route("/metrics", metrics, methods=["GET"], include_in_schema=False)
    for route in health_routes(client_checks(client)):
        app.add_api_route(route.path, route.endpoint, methods=["GET"], include_in_schema=False)
    instrument_web(app)  # OpenTelemetry, only when OTEL_* configure it


class _Measured:
    """The request metrics as Starlette middleware (add_middleware wants a class)."""

    def __init__(self, app: ASGIApp, metrics: RequestMetrics) -> None:
        self.wrapped = metrics.middleware(app)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.wrapped(scope, receive, send)
