"""Tracing: one trace from POST /api/tickets through the ticket's workflow to the department's
delivery, seen by an in-memory exporter; and tracing stays off unless OTEL_* configure it."""

from __future__ import annotations

import json

import httpx
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.client import Client

from activities.runtime import tracing
from domain.models import TicketStatus
from starter.web.api import api_app
from starter.web.gateway_auth import signed_headers
from tests.support.district import make_config
from tests.support.helpers import eventually, sample_ticket
from worker import build_workers

CENTER_KEY = "centre-api-key-for-tracing"


async def test_one_trace_from_the_api_to_the_departments_delivery(client: Client, tmp_path) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    traced = Client(**{**client.config(), "interceptors": tracing.client_interceptors(provider.get_tracer("test"))})  # type: ignore[arg-type]  # the client's own config, given back with interceptors
    config = make_config(tmp_path)
    config = config.model_copy(update={"center": config.center.model_copy(update={"api_secret": CENTER_KEY})})
    app = api_app(traced, config)
    tracing.instrument_web(app, tracer_provider=provider)
    ticket = sample_ticket()
    body = json.dumps(ticket.model_dump(mode="json"), ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json", **signed_headers(CENTER_KEY, "center", "POST", "/api/tickets", body)}
    async with build_workers(traced, config, departments=["cgj"], center=True, max_cached_workflows=0):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hotline.test") as http:
            response = await http.post("/api/tickets", content=body, headers=headers)
        assert response.status_code == 201, response.text
        await eventually(client, ticket.ticket_no, lambda r: r.status is TicketStatus.AWAITING_SIGN_FOR)
    spans = exporter.get_finished_spans()
    [request] = [s for s in spans if s.name == "POST /api/tickets" and s.parent is None]
    in_trace = {s.name for s in spans if s.context.trace_id == request.context.trace_id}
    assert {"StartWorkflow:TicketWorkflow", "RunWorkflow:TicketWorkflow"} <= in_trace, sorted(in_trace)
    assert "RunActivity:deliver_ticket" in in_trace, sorted(in_trace)
    [delivery] = [s for s in spans if s.name == "RunActivity:deliver_ticket"]
    assert delivery.attributes["temporalWorkflowID"].endswith(ticket.ticket_no)  # type: ignore[index]  # the delivery span has attributes


def test_tracing_is_off_unless_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    assert not tracing.tracing_requested()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    assert tracing.tracing_requested()
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
    assert not tracing.tracing_requested()
