"""Health, readiness and metrics for the processes an operator runs (the web app, the codec server,
the workers).

- `/healthz`: the process is up and its event loop answers (200, always, while it runs).
- `/readyz`: it can do its work: the Temporal server answers, our search attributes are registered
  (the same check the workers and the CLI make at start-up), the key ring is loaded. 200 with each
  check's result, or 503 naming what failed.
- `/metrics`: Prometheus text. A worker's port serves the Temporal SDK's own metrics (the SDK's
  Prometheus exporter binds a port of its own on 127.0.0.1; this server passes its text on, so a
  worker is one scrape target and one port) followed by `hotline_worker_*` series.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
import uvicorn
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio.client import Client
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from activities.runtime.keys import load_key_ring
from activities.runtime.startup import check_search_attributes

Check = Callable[[], Awaitable[str]]
READY_TIMEOUT = 5.0


async def temporal_reachable(client: Client) -> str:
    await client.service_client.check_health(timeout=timedelta(seconds=READY_TIMEOUT))
    return client.service_client.config.target_host


async def search_attributes_present(client: Client) -> str:
    await check_search_attributes(client)
    return "ok"


async def key_ring_loaded() -> str:
    ring = load_key_ring()
    return "encryption off" if ring is None else f"{len(ring.keys)} keys, current {ring.current}"


def client_checks(client: Client) -> dict[str, Check]:
    """What a process that talks to Temporal needs to be ready."""
    return {
        "temporal": lambda: temporal_reachable(client),
        "search_attributes": lambda: search_attributes_present(client),
        "keys": key_ring_loaded,
    }


async def run_checks(checks: dict[str, Check]) -> tuple[bool, dict[str, str]]:
    results: dict[str, str] = {}
    ready = True
    for name, check in checks.items():
        try:
            results[name] = "ok: " + await asyncio.wait_for(check(), timeout=READY_TIMEOUT)
        except Exception as err:
            # Any failure of a check means "not ready" with its reason; the probe itself must not fail.
            ready = False
            results[name] = f"failed: {type(err).__name__}: {err}"[:300]
    return ready, results


def health_routes(checks: dict[str, Check]) -> list[Route]:
    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> Response:
        ready, results = await run_checks(checks)
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "checks": results}, status_code=200 if ready else 503
        )

    return [Route("/healthz", healthz, methods=["GET"]), Route("/readyz", readyz, methods=["GET"])]


class RequestMetrics:
    """`hotline_http_requests_total` and `hotline_http_request_duration_seconds` by route template
    (never the raw path: a ticket number in a path would make a series per ticket)."""

    def __init__(self, registry: CollectorRegistry, app_name: str) -> None:
        self.requests = Counter(
            "hotline_http_requests",
            "HTTP requests answered",
            ["app", "method", "route", "status"],
            registry=registry,
        )
        self.duration = Histogram(
            "hotline_http_request_duration_seconds",
            "Time to answer an HTTP request",
            ["app", "method", "route"],
            registry=registry,
        )
        self.app_name = app_name

    def middleware(self, app: ASGIApp) -> ASGIApp:
        async def measured(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            started = time.perf_counter()
            status = {"code": 500}

            async def sending(message: Message) -> None:
                if message["type"] == "http.response.start":
                    status["code"] = message["status"]
                await send(message)

            try:
                await app(scope, receive, sending)
            finally:
                route = getattr(scope.get("route"), "path", None) or "unmatched"
                method = scope.get("method", "GET")
                self.requests.labels(self.app_name, method, route, str(status["code"])).inc()
                self.duration.labels(self.app_name, method, route).observe(time.perf_counter() - started)

        return measured


def free_local_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def telemetry_runtime(sdk_metrics_port: int) -> Runtime:
    """A Temporal runtime whose SDK metrics (task slots, poll latency, workflow and activity
    completions …) are served in Prometheus text on 127.0.0.1:`sdk_metrics_port`."""
    return Runtime(
        telemetry=TelemetryConfig(
            metrics=PrometheusConfig(bind_address=f"127.0.0.1:{sdk_metrics_port}", durations_as_seconds=True),
            global_tags={"service": "hotline-worker"},
        )
    )


@dataclass
class WorkerStatus:
    """What a worker process's health server reports beside the SDK's metrics."""

    task_queues: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.time)


def worker_app(checks: dict[str, Check], sdk_metrics_url: str | None, status: WorkerStatus) -> Starlette:
    registry = CollectorRegistry()
    up = Gauge(
        "hotline_worker_up", "1 while this worker process polls its task queues", ["task_queue"], registry=registry
    )
    started = Gauge("hotline_worker_start_time_seconds", "When this worker process started", registry=registry)
    started.set(status.started)
    http = httpx.AsyncClient(timeout=5.0)

    async def metrics(_: Request) -> Response:
        for queue in status.task_queues:
            up.labels(queue).set(1)
        sdk = ""
        if sdk_metrics_url:
            with contextlib.suppress(httpx.HTTPError):
                sdk = (await http.get(sdk_metrics_url)).text
        return PlainTextResponse(sdk + generate_latest(registry).decode(), media_type=CONTENT_TYPE_LATEST)

    app = Starlette(routes=[*health_routes(checks), Route("/metrics", metrics, methods=["GET"])])
    app.state.http = http
    return app


@contextlib.asynccontextmanager
async def serving_worker_ops(
    client: Client, task_queues: list[str], sdk_metrics_port: int | None, host: str, port: int
) -> AsyncIterator[str]:
    """A worker process's health, readiness and metrics port (`hotline worker --metrics-port`, and
    the demo's workers on a free port) while the block runs; yields its URL (OSError if taken).
    `sdk_metrics_port`: where the process's Temporal runtime (`telemetry_runtime`) exports."""
    sdk_url = f"http://127.0.0.1:{sdk_metrics_port}/metrics" if sdk_metrics_port else None
    app = worker_app(client_checks(client), sdk_url, WorkerStatus(task_queues=task_queues))
    try:
        async with serving_ops(app, host, port) as url:
            yield url
    finally:
        await app.state.http.aclose()


class HostedServer(uvicorn.Server):
    """uvicorn inside a process that owns its signals (the worker, the web, the codec server, the demo, tests)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to `port` (0: any free one); OSError if the port is taken."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


async def start_serving(server: uvicorn.Server, sock: socket.socket, what: str) -> asyncio.Task[None]:
    """Serve on `sock` in this event loop; returns once `server` is up. What stops it while starting
    is raised, with the socket closed."""
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            sock.close()
            task.result()  # raises what stopped it
            raise RuntimeError(f"the {what} stopped while starting")
        await asyncio.sleep(0.01)
    return task


@contextlib.asynccontextmanager
async def hosting(server: uvicorn.Server, sock: socket.socket, host: str, what: str) -> AsyncIterator[str]:
    """Serve while the block runs; yields the server's URL, and stops it (and closes `sock`) after."""
    task = await start_serving(server, sock, what)
    try:
        yield f"http://{host}:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


@contextlib.asynccontextmanager
async def serving_ops(app: Starlette, host: str, port: int) -> AsyncIterator[str]:
    """Serve `app` in this event loop while the block runs; yields its URL (OSError if the port is taken)."""
    sock = listening_socket(host, port)
    config = uvicorn.Config(app, log_config=None, log_level="warning", access_log=False, lifespan="off")
    async with hosting(HostedServer(config), sock, host, "health server") as url:
        yield url
