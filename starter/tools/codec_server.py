"""The codec server: Temporal's remote codec protocol, so the Web UI and `temporal` CLI can show
decrypted payloads to whoever holds the token, and to no one else.

POST /encode and /decode (also /{namespace}/encode|decode) take and return `{"payloads": [...]}`,
payloads in protobuf JSON form. Every request needs `Authorization: Bearer <token>` or the cookie
that `GET /login?token=…` sets (the Web UI sends cookies when "Include cross-origin credentials" is
on). The cookie never holds the token: it holds its expiry time signed with it (HMAC-SHA256), so
it ends by itself after COOKIE_MAX_AGE and a copied cookie does not reveal the token;
`POST /logout` removes it.

Who signs in sees what their role may (受众): the centre's token decodes everything; a department's
token (`department_token`, derived from the centre's and given to that department) decodes only
payloads sealed for that department; the rest comes back as it was, still encrypted. CORS admits only the Web UI's origins, with credentials, and refusals
carry CORS headers too so the browser shows the 401 instead of a network error.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import stat
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from google.protobuf import json_format
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from temporalio.api.common.v1 import Payloads

from activities.runtime.codec import EncryptionCodec, PayloadDecryptionError
from activities.runtime.keys import (
    DEPARTMENT_CODE,
    KEYS_ENV,
    KEYS_FILE_ENV,
    KeyRing,
    KeyRingError,
    keys_file_path,
    write_secret,
)
from activities.runtime.ops import HostedServer, RequestMetrics, health_routes, listening_socket, start_serving

TOKEN_ENV = "HOTLINE_CODEC_TOKEN"
TOKEN_FILE = "codec-token"
COOKIE = "hotline_codec"
DEFAULT_PORT = 8089
COOKIE_MAX_AGE = 12 * 3600  # a working day's sign-in (the cookie's own expiry; the token has none)


def cookie_value(token: str, now: float | None = None) -> str:
    """The sign-in cookie: its expiry (Unix seconds) and an HMAC of it under the token."""
    expires = str(int(time.time() if now is None else now) + COOKIE_MAX_AGE)
    mac = hmac.new(token.encode(), f"codec-cookie|{expires}".encode(), hashlib.sha256).hexdigest()
    return f"{expires}.{mac}"


def cookie_valid(token: str, value: str, now: float | None = None) -> bool:
    """A cookie this token signed, not yet expired."""
    expires, _, mac = value.partition(".")
    if not expires.isascii() or not expires.isdigit() or len(expires) > 12 or not mac:
        return False
    expected = hmac.new(token.encode(), f"codec-cookie|{expires}".encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(mac.encode(), expected.encode()) and int(expires) > (time.time() if now is None else now)


CENTRE_VIEW = ""  # the audience of the centre's sign-in: every payload


def department_token(token: str, code: str) -> str:
    """A department's codec token: its code and an HMAC of it under the centre's token, so the
    centre gives each department its own without storing more secrets (`hotline keys codec-token`)."""
    mac = hmac.new(token.encode(), f"codec-department|{code}".encode(), hashlib.sha256).hexdigest()
    return f"{code}.{mac}"


def token_audience(token: str, offered: str) -> str | None:
    """Whose token was offered: CENTRE_VIEW for the centre's, a department's code, or None."""
    if offered and hmac.compare_digest(offered.encode(), token.encode()):
        return CENTRE_VIEW
    code, dot, _ = offered.partition(".")
    own = dot and DEPARTMENT_CODE.fullmatch(code)
    return code if own and hmac.compare_digest(offered.encode(), department_token(token, code).encode()) else None


def token_path() -> Path:
    """Next to the key file (or in .hotline when the keys come inline from HOTLINE_KEYS)."""
    if os.environ.get(KEYS_ENV) and not os.environ.get(KEYS_FILE_ENV):
        return Path(".hotline") / TOKEN_FILE
    return keys_file_path().parent / TOKEN_FILE


def codec_token() -> tuple[str, str]:
    """The token and where it came from (to print the place, never the token): HOTLINE_CODEC_TOKEN,
    else the token file, created (mode 0600) when missing."""
    if os.environ.get(TOKEN_ENV):
        return os.environ[TOKEN_ENV], TOKEN_ENV
    path = token_path()
    if not path.exists():
        with contextlib.suppress(KeyRingError):  # another process created it meanwhile: read theirs
            write_secret(path, secrets.token_urlsafe(32) + "\n", exclusive=True)
    if os.name == "posix" and path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyRingError(f"{path}: token file is readable by group or others: chmod 600 {path}")
    token = path.read_text(encoding="utf-8").strip()
    if len(token) < 16:
        raise KeyRingError(f"{path}: the codec token must be at least 16 characters")
    return token, str(path)


def ui_origins(ui_port: int) -> list[str]:
    return [f"http://127.0.0.1:{ui_port}", f"http://localhost:{ui_port}"]


def create_app(codec: EncryptionCodec, token: str, origins: Sequence[str]) -> Starlette:
    registry = CollectorRegistry()
    measured = RequestMetrics(registry, "codec")

    def audience(request: Request) -> str | None:
        """The signed-in audience (CENTRE_VIEW or a department's code), None if not signed in."""
        header = request.headers.get("authorization", "")
        if header[:7].lower() == "bearer ":
            return token_audience(token, header[7:].strip())
        value = request.cookies.get(COOKIE, "")
        code, tilde, signed = value.rpartition("~")
        if not tilde:
            return CENTRE_VIEW if cookie_valid(token, value) else None
        if DEPARTMENT_CODE.fullmatch(code) and cookie_valid(department_token(token, code), signed):
            return code
        return None

    def view(code: str) -> EncryptionCodec | None:
        """A department's view: its own keys only (None if the centre has made none for it)."""
        codec.refresh()
        try:
            return EncryptionCodec(codec.keys.department(code))
        except KeyRingError:
            return None

    async def transform(request: Request) -> Response:
        who = audience(request)
        if who is None:
            return JSONResponse({"message": "需要编解码令牌 / codec token required"}, status_code=401)
        try:
            payloads = json_format.ParseDict(await request.json(), Payloads(), ignore_unknown_fields=True)
        except (json.JSONDecodeError, json_format.ParseError, UnicodeDecodeError):
            return JSONResponse({"message": 'expected {"payloads": [...]}'}, status_code=400)
        encoding = request.url.path.endswith("/encode")
        try:
            if who == CENTRE_VIEW:
                result = await (codec.encode if encoding else codec.decode)(payloads.payloads)
            elif (own := view(who)) is None:
                return JSONResponse({"message": f"单位 '{who}' 尚无密钥 / no keys for '{who}'"}, status_code=403)
            elif encoding:
                result = await own.encode(payloads.payloads)
            else:
                # What is not sealed for this department stays as it was: the UI shows it encrypted.
                result = [own.decrypt_or_keep(p) for p in payloads.payloads]
        except PayloadDecryptionError as err:
            return JSONResponse({"message": str(err)}, status_code=400)
        body = json_format.MessageToDict(Payloads(payloads=result))
        return JSONResponse({"payloads": body.get("payloads", [])})

    async def login(request: Request) -> Response:
        offered = request.query_params.get("token", "")
        who = token_audience(token, offered)
        if who is None:
            return HTMLResponse("<p>令牌不正确 / wrong token</p>", status_code=401)
        page = HTMLResponse(
            "<p>已登录编解码服务，可返回 Temporal Web UI 查看解密后的数据（12 小时内有效）。</p>"
            '<form method="post" action="/logout"><button type="submit">退出编解码服务</button></form>'
        )
        # HttpOnly: page scripts never read it; Lax: the UI on another port of the same host is the same site.
        signed = cookie_value(token) if who == CENTRE_VIEW else f"{who}~{cookie_value(offered)}"
        page.set_cookie(COOKIE, signed, max_age=COOKIE_MAX_AGE, httponly=True, samesite="lax", path="/")
        page.headers["Cache-Control"] = "no-store"
        page.headers["Referrer-Policy"] = "no-referrer"
        return page

    async def logout(request: Request) -> Response:
        page = HTMLResponse("<p>已退出编解码服务。</p>")
        page.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax")
        return page

    async def metrics(_: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    routes = [
        Route("/encode", transform, methods=["POST"]),
        Route("/decode", transform, methods=["POST"]),
        Route("/{namespace}/encode", transform, methods=["POST"]),
        Route("/{namespace}/decode", transform, methods=["POST"]),
        Route("/login", login, methods=["GET"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/metrics", metrics, methods=["GET"]),
        # Ready: its key ring is loaded (it never talks to Temporal itself).
        *health_routes({"keys": lambda: _ring_in_use(codec)}),
    ]
    cors = Middleware(
        CORSMiddleware,
        allow_origins=list(origins),
        allow_credentials=True,
        allow_methods=["POST", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type", "X-Namespace"],
        max_age=600,
    )
    return Starlette(routes=routes, middleware=[cors, Middleware(measured.middleware)])


async def _ring_in_use(codec: EncryptionCodec) -> str:
    codec.refresh()
    return f"{len(codec.keys.keys)} keys, current {codec.keys.current}"


@dataclass
class CodecServer:
    url: str
    token_source: str
    server: uvicorn.Server
    task: asyncio.Task[None]

    @property
    def login_hint(self) -> str:
        return f"{self.url}/login?token=<令牌>"

    async def stop(self) -> None:
        self.server.should_exit = True
        await self.task


async def start_codec_server(
    keys: KeyRing,
    origins: Sequence[str],
    *,
    port: int = DEFAULT_PORT,
    host: str = "127.0.0.1",
    token: tuple[str, str] | None = None,
) -> CodecServer:
    """Serve in this process's event loop; the port is bound before returning (OSError if busy;
    port 0 picks a free one)."""
    token_value, source = token or codec_token()
    app = create_app(EncryptionCodec(keys), token_value, origins)
    sock = listening_socket(host, port)
    bound = sock.getsockname()[1]
    # log_config=None: the process's own logging stays as configured; no access log (it would hold
    # /login's token).
    config = uvicorn.Config(
        app,
        log_config=None,
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=3,
        server_header=False,
    )
    server = HostedServer(config)
    task = await start_serving(server, sock, "codec server")
    return CodecServer(url=f"http://{host}:{bound}", token_source=source, server=server, task=task)


def codec_lines(url: str, token_source: str) -> list[str]:
    """How a holder of the token reads decrypted payloads in the Web UI (the token itself is not shown)."""
    return [
        f"载荷编解码服务（codec server）：{url}；令牌见 {token_source}",
        f"持令牌者查看解密数据：浏览器打开 {url}/login?token=<令牌> 登录；在 Web UI 的 Codec Server 设置中选"
        f"“Use my browser setting”，填入 {url}，勾选 Include cross-origin credentials",
    ]
