"""What every page shares (who is signed in, the menu for their role, forms with their CSRF token,
one-time messages after an action, rendering) and the pages of signing in and out."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context
from temporalio.client import Client

from domain.calendar import Span, china_time, parse_span
from domain.config import DistrictConfig
from domain.models import Actor, Role
from starter.render import remaining
from starter.web.users import (
    LEADER,
    SESSION_HOURS,
    SignInThrottle,
    UserDirectory,
    Viewer,
    csrf_token,
    read_session,
    session_token,
    sign,
    unsign,
)

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
SESSION_COOKIE = "hotline_session"
FLASH_COOKIE = "hotline_flash"


def _when(at: datetime | None) -> str:
    return china_time(at) if at else "—"


# A file's path on the server (a file inbox's delivery receipt, "…（/srv/hotline/var/inbox/cgj/tickets/T1.json）")
# shown as its name alone: the page tells that the file was written, not where the server keeps it.
_SERVER_PATH = re.compile(r"(?<![\w:/\\.])(?:[A-Za-z]:)?[/\\](?:[^\s（）()/\\]+[/\\])+([^\s（）()/\\]+)")


def without_paths(text: str) -> str:
    return _SERVER_PATH.sub(r"\1", text)


def span_label(value: object) -> str:
    """A span as people say it ("2wd" → 2个工作日), whatever form the record keeps it in."""
    try:
        return Span.model_validate(parse_span(value)).label
    except (ValueError, TypeError):
        return str(value)


def unit_name(config: DistrictConfig, code: str | None) -> str:
    """A department's or enterprise's name for its code (a street is its name already)."""
    if not code:
        return ""
    with contextlib.suppress(KeyError):
        return config.department(code).name
    for enterprise in config.red_service.enterprises:
        if enterprise.id == code:
            return enterprise.name
    return code


@pass_context
def who(context: Context, actor: Actor | None) -> str:
    """An actor as people say it: 名称（部门名）, the system as 系统, never codes or role keys."""
    if actor is None or actor.role is Role.SYSTEM:
        return "系统"
    config = context["request"].app.state.config
    unit = unit_name(config, actor.department or actor.enterprise) or actor.street or "中心"
    return f"{actor.name}（{unit}）"


@pass_context
def department_name(context: Context, code: str | None) -> str:
    return unit_name(context["request"].app.state.config, code) or "—"


templates.env.filters["when"] = _when
templates.env.filters["without_paths"] = without_paths
templates.env.filters["span_label"] = span_label
templates.env.filters["who"] = who
templates.env.filters["department_name"] = department_name
templates.env.globals["remaining"] = remaining


class NotSignedIn(Exception):
    """No valid session: the browser goes to the sign-in page."""


class Forbidden(Exception):
    """Not for this user (403); the message says why, in Chinese."""


class NotFound(Exception):
    """No such ticket, whistle or page (404)."""


# ----- the request's context -----


def client_of(request: Request) -> Client:
    client: Client = request.app.state.client
    return client


def config_of(request: Request) -> DistrictConfig:
    config: DistrictConfig = request.app.state.config
    return config


def _secret(request: Request) -> bytes:
    secret: bytes = request.app.state.secret
    return secret


def viewer_of(request: Request) -> Viewer | None:
    """The signed-in user: a valid cookie of the account's current session generation."""
    session = read_session(_secret(request), request.cookies.get(SESSION_COOKIE))
    users: UserDirectory = request.app.state.users
    return users.session_viewer(session) if session else None


def secure_cookies(request: Request) -> bool:
    """Cookies only over HTTPS: when the request came so, or always when told (behind a TLS proxy)."""
    return bool(getattr(request.app.state, "secure_cookies", False)) or request.url.scheme == "https"


def signed_in(request: Request) -> Viewer:
    viewer = viewer_of(request)
    if viewer is None:
        raise NotSignedIn()
    return viewer


def unit_of(viewer: Viewer, config: DistrictConfig) -> str:
    """The viewer's unit as people say it: the department's name, the street, or 中心."""
    if viewer.department:
        with contextlib.suppress(KeyError):
            return config.department(viewer.department).name
        return viewer.department
    if viewer.street or viewer.enterprise:
        return viewer.street or viewer.enterprise or ""
    return "中心" if viewer.is_(Role.SHIFT_LEAD, Role.OPERATOR) else ""


def require(viewer: Viewer, *roles: str | Role, what: str) -> None:
    if not viewer.is_(*roles):
        raise Forbidden(f"{viewer.name}（{viewer.role_label}）无权查看{what}")


async def form_of(request: Request) -> dict[str, str]:
    """A POSTed form, once its CSRF token is checked against the session."""
    form = await request.form()
    expected = csrf_token(_secret(request), request.cookies.get(SESSION_COOKIE) or "")
    if not hmac.compare_digest(str(form.get("csrf", "")), expected):
        raise Forbidden("表单已失效（会话已变更），请刷新页面后重试")
    # A field given several times (check boxes) comes as one comma-separated value.
    # Files (a 答复's attachments) are read by their own handler, never as text.
    return {key: ",".join(v for v in form.getlist(key) if isinstance(v, str)) for key in form if key != "csrf"}


def sees_workflow_history(viewer: Viewer | None) -> bool:
    """The Temporal Web UI is the centre's tool (its shift lead): others cannot sign in to it."""
    return viewer is not None and viewer.is_(Role.SHIFT_LEAD)


def workflow_link(request: Request, workflow_id: str) -> str | None:
    """The workflow's page in the Temporal Web UI, if its address is known and the viewer can use it."""
    ui = request.app.state.temporal_ui_url
    if not ui or not sees_workflow_history(viewer_of(request)):
        return None
    return f"{ui}/namespaces/{client_of(request).namespace}/workflows/{workflow_id}"


# ----- menus -----

NAV: dict[str, list[tuple[str, str]]] = {
    Role.CLERK.value: [
        ("/queue", "本单位工单"),
        ("/whistles", "吹哨报到"),
        ("/enterprises", "企业事项"),
        ("/meetings", "会商"),
    ],
    Role.SHIFT_LEAD.value: [
        ("/center", "值班长工作台"),
        ("/queue", "全部工单"),
        ("/whistles", "镇街吹哨"),
        ("/enterprises", "红色服务团"),
        ("/campaigns", "专项行动"),
        ("/meetings", "会商"),
        ("/dashboard", "领导驾驶舱"),
    ],
    Role.OPERATOR.value: [("/center", "回访工作台"), ("/queue", "全部工单")],
    Role.ARBITER.value: [("/queue", "全部工单"), ("/meetings", "会商裁定")],
    Role.STREET.value: [("/whistles", "本镇街吹哨"), ("/queue", "本镇街工单")],
    Role.SERVICE_TEAM.value: [("/enterprises", "红色服务团")],
    Role.ENTERPRISE.value: [("/enterprises", "本企业两张清单")],
    LEADER: [
        ("/dashboard", "领导驾驶舱"),
        ("/queue", "全部工单"),
        ("/center", "中心工作台"),
        ("/whistles", "镇街吹哨"),
        ("/enterprises", "红色服务团"),
        ("/campaigns", "专项行动"),
        ("/meetings", "会商"),
    ],
}


def nav_for(viewer: Viewer | None) -> list[tuple[str, str]]:
    return NAV.get(viewer.role, []) if viewer else []


# ----- rendering and redirects -----


def render(request: Request, template: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
    viewer = viewer_of(request)
    flash = unsign(_secret(request), request.cookies.get(FLASH_COOKIE))
    session = request.cookies.get(SESSION_COOKIE) or ""
    response = templates.TemplateResponse(
        request,
        template,
        {
            "viewer": viewer,
            "nav": nav_for(viewer),
            "unit": unit_of(viewer, config_of(request)) if viewer else "",
            "path": request.url.path,
            "csrf": csrf_token(_secret(request), session) if viewer else "",
            "flash": flash,
            "district": config_of(request).district,
            "now": datetime.now(UTC),
            **context,
        },
        status_code=status_code,
    )
    if flash is not None:
        response.delete_cookie(FLASH_COOKIE)
    return response


def go(request: Request, url: str, text: str | None = None, *, ok: bool = True) -> RedirectResponse:
    """POST → redirect → GET, with a one-time message for the next page."""
    response = RedirectResponse(url, status_code=303)
    if text:
        token = sign(_secret(request), {"text": text, "ok": ok})
        response.set_cookie(
            FLASH_COOKIE, token, max_age=60, httponly=True, samesite="lax", secure=secure_cookies(request)
        )
    return response


def home_of(viewer: Viewer) -> str:
    menu = nav_for(viewer)
    return menu[0][0] if menu else "/queue"


def _safe_next(target: str | None) -> str | None:
    """Only a path of this site (never //host or a full URL)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


# ----- signing in and out -----


@router.get("/", response_class=HTMLResponse)
async def home(request: Request) -> Response:
    return RedirectResponse(home_of(signed_in(request)), status_code=303)


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, next: str | None = None) -> Response:
    viewer = viewer_of(request)
    if viewer is not None:
        return RedirectResponse(_safe_next(next) or home_of(viewer), status_code=303)
    return render(request, "login.html", next=_safe_next(next) or "", username="")


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request) -> Response:
    form = await request.form()
    username, password = str(form.get("username", "")).strip(), str(form.get("password", ""))
    target = _safe_next(str(form.get("next", "")))
    users: UserDirectory = request.app.state.users
    throttle: SignInThrottle = request.app.state.sign_in_throttle
    address = request.client.host if request.client else "unknown"
    wait = throttle.wait_minutes(username, address)
    if wait is not None:
        message = f"登录失败次数过多，请 {wait} 分钟后再试"
        return render(request, "login.html", status_code=429, next=target or "", username=username, error=message)
    viewer = await asyncio.to_thread(users.authenticate, username, password) if username and password else None
    if viewer is None:
        if username and password:
            throttle.failed(username, address)
        return render(
            request, "login.html", status_code=401, next=target or "", username=username, error="用户名或口令错误"
        )
    throttle.succeeded(username)
    response = RedirectResponse(target or home_of(viewer), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        session_token(_secret(request), viewer.username, users.generation(viewer.username)),
        max_age=SESSION_HOURS * 3600,
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request),
    )
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    """Signing out ends every session of the account (here and in other browsers), for good."""
    viewer = viewer_of(request)
    if viewer is not None:
        await form_of(request)
        users: UserDirectory = request.app.state.users
        await asyncio.to_thread(users.end_sessions, viewer.username)
    response = go(request, "/login", "已退出登录")
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax", secure=secure_cookies(request))
    return response
