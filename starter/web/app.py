"""The FastAPI app of `hotline web`: the HTTP API (starter/web/api.py, under /api) and the
workbench pages (starter/web/pages*.py), on one Temporal client and one configuration.

Every action a page offers goes through the same functions as the CLI (`starter.tickets.act`, …),
so the workflow's validators decide, and a refusal is shown with the workflow's own reason.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

import uvicorn
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from temporalio.client import Client
from temporalio.service import RPCError

from activities.runtime.codec import PayloadDecryptionError, undecryptable
from activities.runtime.ops import HostedServer, hosting
from domain.config import DistrictConfig
from starter.attachments import FileStore
from starter.web import (
    open311,
    ops_routes,
    pages,
    pages_campaigns,
    pages_center,
    pages_enterprises,
    pages_meetings,
    pages_queue,
    pages_streets,
    pages_tickets,
    public,
)
from starter.web.pages import Forbidden, NotFound, NotSignedIn, render
from starter.web.users import SignInThrottle, UserDirectory, process_secret

api_router: APIRouter | None
try:
    from starter.web.api import router as api_router
    from starter.web.api import serve_docs
except ImportError:  # the API is built separately; the pages work without it
    api_router = None

HERE = Path(__file__).parent


def create_app(
    client: Client,
    config: DistrictConfig,
    users: UserDirectory,
    *,
    temporal_ui_url: str | None = None,
    secret: bytes | None = None,
    secure_cookies: bool = False,
    data_dir: Path = Path(".hotline"),
) -> FastAPI:
    """The app: `client` and `config` for the API and the pages, `users` for signing in;
    `temporal_ui_url` (e.g. http://localhost:8233) for the links to each workflow's history;
    `secret` signs the session cookies (default: HOTLINE_WEB_SECRET or a random one);
    `secure_cookies` marks them Secure even when the request came over HTTP (behind a TLS proxy);
    `data_dir` holds the 答复 attachments (`<data_dir>/attachments`, by SHA-256 digest)."""
    app = FastAPI(title="12345 热线工作台", docs_url=None, redoc_url=None, openapi_url="/api/openapi.json")
    app.state.client = client
    app.state.config = config
    app.state.users = users
    app.state.temporal_ui_url = temporal_ui_url.rstrip("/") if temporal_ui_url else None
    app.state.secret = secret or process_secret()
    app.state.dashboard_cache = {}
    app.state.secure_cookies = secure_cookies
    app.state.sign_in_throttle = SignInThrottle()
    app.state.status_lookups = public.StatusLookups()  # 工单查询: lookups per address
    app.state.attachments = FileStore(data_dir / "attachments")
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    if api_router is not None:
        app.include_router(api_router)
        serve_docs(app)  # /api/docs with its Swagger UI assets served here, not from a CDN
    app.include_router(public.router)  # the citizen's side: no sign-in
    app.include_router(open311.router)  # Open311 GeoReport v2: other systems file requests (their own API keys)
    for module in (
        pages,
        pages_queue,
        pages_tickets,
        pages_center,
        pages_streets,
        pages_enterprises,
        pages_campaigns,
        pages_meetings,
    ):
        app.include_router(module.router)
    ops_routes.install(app, client, config)  # /healthz, /readyz, /metrics (docs/deploy.md)

    @app.exception_handler(NotSignedIn)
    async def _sign_in_first(request: Request, _: NotSignedIn) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.method != "GET":
            target = "/"
        return RedirectResponse(f"/login?next={quote(target, safe='/')}", status_code=303)

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, refused: Forbidden) -> HTMLResponse:
        return render(request, "error.html", status_code=403, title="无权访问", message=str(refused))

    @app.exception_handler(NotFound)
    async def _not_found(request: Request, missing: NotFound) -> HTMLResponse:
        return render(request, "error.html", status_code=404, title="未找到", message=str(missing))

    @app.exception_handler(RPCError)
    async def _temporal_down(request: Request, err: RPCError) -> HTMLResponse:
        message = f"Temporal 服务暂时无法处理请求：{err.message}（请确认服务与中心 worker 正在运行）"
        return render(request, "error.html", status_code=503, title="服务不可用", message=message)

    @app.exception_handler(PayloadDecryptionError)
    async def _key_missing(request: Request, err: PayloadDecryptionError) -> HTMLResponse:
        return render(request, "error.html", status_code=503, title="数据暂时无法解密", message=undecryptable(err))

    return app


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on `port`, or on any free port if that one is taken (port 0: any)."""
    for candidate in dict.fromkeys((port, 0)):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, candidate))
        except OSError:
            sock.close()
            continue
        sock.listen(128)
        sock.setblocking(False)
        return sock
    raise OSError(f"cannot listen on {host}")


@contextlib.asynccontextmanager
async def serving(app: FastAPI, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
    """Serve `app` with uvicorn in this event loop while the block runs; yields its address."""
    sock = bind(host, port)
    server = HostedServer(uvicorn.Config(app, log_level="warning", lifespan="off", ws="none"))
    async with hosting(server, sock, host, "web server") as url:
        yield url
