"""OpenTelemetry tracing, off unless configured by the standard variables: OTEL_EXPORTER_OTLP_ENDPOINT
or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (or OTEL_TRACES_EXPORTER=otlp|console), with OTEL_SERVICE_NAME,
OTEL_RESOURCE_ATTRIBUTES and the rest read by the SDK itself. The packages are the `[ops]` extra.

One trace follows a ticket: the web API's request (FastAPI instrumentation), the workflow's start,
its run and each activity on the centre's and the department's workers
(`temporalio.contrib.opentelemetry.TracingInterceptor` on the client; workers built on that client
take it too). Span attributes are Temporal's (workflow id, run id, types), never payloads.
"""

from __future__ import annotations

import os
from typing import Any

TRACES_ENV = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
_configured: bool | None = None


def tracing_requested() -> bool:
    exporter = os.environ.get("OTEL_TRACES_EXPORTER", "").lower()
    if exporter == "none" or os.environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return False
    return bool(exporter) or any(os.environ.get(name) for name in TRACES_ENV)


def configure_tracing(service_name: str) -> bool:
    """Install the global tracer provider with the configured exporter, once per process; False
    when tracing is not configured. An ImportError names the missing extra."""
    global _configured
    if _configured is not None:
        return _configured
    _configured = tracing_requested()
    if not _configured:
        return False
    try:
        from opentelemetry import trace
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
    except ImportError as err:
        raise ImportError(
            f"tracing is configured (OTEL_*) but {err.name} is missing: pip install 'hotline[ops]'"
        ) from err
    provider = TracerProvider(
        resource=Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", service_name)})
    )
    if os.environ.get("OTEL_TRACES_EXPORTER", "otlp").lower() == "console":
        exporter: Any = ConsoleSpanExporter()
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()  # endpoint, headers, timeout from OTEL_EXPORTER_OTLP_*
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return True


def client_interceptors(tracer: Any = None) -> list[Any]:
    """The Temporal tracing interceptor when tracing is on (or a tracer is given, as in tests)."""
    if tracer is None and not _configured:
        return []
    from temporalio.contrib.opentelemetry import TracingInterceptor

    return [TracingInterceptor(tracer)]


def instrument_web(app: Any, tracer_provider: Any = None) -> None:
    """The FastAPI instrumentation on the web app when tracing is on (or a provider is given)."""
    if tracer_provider is None and not _configured:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(app, tracer_provider=tracer_provider, excluded_urls="healthz,readyz,metrics")
