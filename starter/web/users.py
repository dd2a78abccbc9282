"""Who may sign in to the workbench, and how a signed-in browser is recognised.

The users file (YAML) lists accounts, each with an argon2 password hash and either the id of a
person of the configuration (`people:`), whose role and department, street or enterprise the account
takes, or `role: leader` (区领导: reads everything, acts on nothing):

    users:
      - {username: cgj_sun, person: cgj_sun, password_hash: "$argon2id$v=19$..."}
      - {username: leader_wang, name: 王区长, role: leader, password_hash: "$argon2id$..."}

A session is a cookie holding the username, the account's session generation and the time of
sign-in, signed with HMAC-SHA256 under the process's secret (`HOTLINE_WEB_SECRET`, or a random one
per process). The account is looked up again on every request (the file is read again when it
changes), and a session counts only while its generation is the account's: signing out and a new
password (`hotline web users add` again) raise the generation in the file, which ends every session
of that account, across restarts too; removing the account ends them as well.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

import structlog
import yaml
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from activities.runtime.keys import WatchedFile
from activities.runtime.settings import ConfigError, actor_for
from domain.config import DistrictConfig, describe_validation_error
from domain.models import ROLE_LABELS, Actor, Role

SECRET_ENV = "HOTLINE_WEB_SECRET"
USERS_ENV = "HOTLINE_WEB_USERS"
DEFAULT_USERS_FILE = Path(".hotline/web-users.yaml")
LEADER = "leader"
LEADER_LABEL = "区领导"
SESSION_HOURS = 12

_hasher = PasswordHasher()
log = structlog.get_logger(__name__)


@cache
def _dummy_hash() -> str:
    """Checked when the username is unknown, so a wrong name costs the same time as a wrong password
    (made on first use: hashing takes a fifth of a second, which every `hotline` command would pay)."""
    return _hasher.hash(secrets.token_urlsafe(12))


class UsersFileError(Exception):
    """A users file that cannot be used; one line naming the file and the key."""


class WebUser(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    username: str = Field(pattern=r"^[A-Za-z0-9._-]{1,64}$")
    password_hash: str = Field(min_length=10)
    person: str | None = None  # a person of the configuration: role and unit come from there
    role: Literal["leader"] | None = None  # an account of no person: a leader, who only reads
    name: str | None = None  # a leader's name (a person's comes from the configuration)
    # Raised on sign-out and on a new password: sessions signed with an older one no longer count.
    session_generation: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _person_or_leader(self) -> WebUser:
        if (self.person is None) == (self.role is None):
            raise ValueError("give either person (a person of the configuration) or role: leader")
        return self


class UsersFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    users: list[WebUser] = Field(default_factory=list)


@dataclass(frozen=True)
class Viewer:
    """The signed-in user: an actor of the configuration (who may act) or a leader (who reads)."""

    username: str
    name: str
    role: str  # a Role's value, or "leader"
    actor: Actor | None

    @property
    def role_label(self) -> str:
        return LEADER_LABEL if self.role == LEADER else ROLE_LABELS[Role(self.role)]

    @property
    def department(self) -> str | None:
        return self.actor.department if self.actor else None

    @property
    def street(self) -> str | None:
        return self.actor.street if self.actor else None

    @property
    def enterprise(self) -> str | None:
        return self.actor.enterprise if self.actor else None

    def is_(self, *roles: str | Role) -> bool:
        return self.role in {str(r.value) if isinstance(r, Role) else r for r in roles}

    @property
    def of_centre(self) -> bool:
        """The centre's people and the leaders see every ticket."""
        return self.is_(Role.SHIFT_LEAD, Role.OPERATOR, Role.ARBITER, LEADER)


class UserDirectory:
    """The accounts of a users file, checked against the configuration; read again when the file
    changes (a new password, a removed account, another process's sign-out)."""

    def __init__(self, users: list[WebUser], config: DistrictConfig, path: Path | None = None) -> None:
        self.config = config
        self.path = path
        self._file = WatchedFile(path)
        self._take(users)

    def _take(self, users: list[WebUser]) -> None:
        self.users = {u.username: u for u in users}
        self._viewers = {u.username: self._viewer(u) for u in users}

    def _viewer(self, user: WebUser) -> Viewer:
        if user.person is None:
            return Viewer(user.username, user.name or user.username, LEADER, None)
        actor = actor_for(self.config, user.person)
        return Viewer(user.username, actor.name, actor.role.value, actor)

    def refresh(self) -> None:
        """Read the file again if it changed since; a file broken meanwhile keeps the accounts read before."""
        self._file.if_changed(self._reread)

    def _reread(self, path: Path) -> bool:
        try:
            fresh = load_users(path, self.config)
        except UsersFileError:
            return False  # tried again on the next call
        self._take(list(fresh.users.values()))
        return True

    def viewer(self, username: str) -> Viewer | None:
        self.refresh()
        return self._viewers.get(username)

    def session_viewer(self, session: Session) -> Viewer | None:
        """The signed-in account, if the session is of its current generation."""
        self.refresh()
        user = self.users.get(session.username)
        if user is None or user.session_generation != session.generation:
            return None
        return self._viewers.get(session.username)

    def generation(self, username: str) -> int:
        self.refresh()
        user = self.users.get(username)
        return user.session_generation if user else 0

    def end_sessions(self, username: str) -> None:
        """Sign-out: every session of the account ends (its generation is raised, in the file too,
        so the sessions stay ended after a restart)."""
        self.refresh()
        with self._file.lock:
            users = list(self.users.values())
            if username not in self.users:
                return
            users = [
                u.model_copy(update={"session_generation": u.session_generation + 1}) if u.username == username else u
                for u in users
            ]
            if self.path is not None:
                try:
                    write_users(self.path, users)
                    self._file.taken()
                except OSError as err:  # a read-only users file: the sessions still end in this process
                    log.warning(
                        "users file not writable; sign-out kept in memory only", path=str(self.path), error=str(err)
                    )
            self._take(users)

    def authenticate(self, username: str, password: str) -> Viewer | None:
        """The account if the password is right; None otherwise (the same time either way)."""
        self.refresh()
        user = self.users.get(username.strip())
        try:
            _hasher.verify(user.password_hash if user else _dummy_hash(), password)
        except (VerificationError, InvalidHashError):
            return None
        return self._viewers[user.username] if user else None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def read_users(path: Path) -> list[WebUser]:
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as err:
        raise UsersFileError(f"{path}: cannot read: {err.strerror}") from err
    except yaml.YAMLError as err:
        raise UsersFileError(f"{path}: not valid YAML") from err
    try:
        return UsersFile.model_validate(raw).users
    except ValidationError as err:
        raise UsersFileError(describe_validation_error(str(path), err)) from err


def load_users(path: Path, config: DistrictConfig) -> UserDirectory:
    """The accounts of the file; an unknown person or a repeated username is named with its key."""
    users = read_users(path)
    seen: set[str] = set()
    for i, user in enumerate(users):
        if user.username in seen:
            raise UsersFileError(f"{path}: users.{i}.username: '{user.username}' appears twice")
        seen.add(user.username)
        if user.person is not None:
            try:
                actor_for(config, user.person)
            except ConfigError:
                raise UsersFileError(f"{path}: users.{i}.person: unknown '{user.person}'") from None
    return UserDirectory(users, config, path)


def write_users(path: Path, users: list[WebUser]) -> None:
    """Write the file atomically, readable by its owner only (it holds password hashes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"users": [u.model_dump(exclude_defaults=True) for u in users]}
    text = "# 工作台用户（hotline web users add …）：口令只存 argon2 散列\n"
    text += yaml.safe_dump(body, allow_unicode=True, sort_keys=False)
    partial = path.with_name(path.name + ".tmp")
    partial.write_text(text, encoding="utf-8")
    partial.chmod(0o600)
    partial.replace(path)


def add_user(path: Path, user: WebUser) -> bool:
    """Add or replace the account of that username; True if it replaced one. A replaced account
    (a new password) starts a new session generation: its sessions end."""
    users = read_users(path) if path.exists() else []
    old = next((u for u in users if u.username == user.username), None)
    replaced = old is not None
    if old is not None:
        generation = max(old.session_generation + 1, user.session_generation)
        user = user.model_copy(update={"session_generation": generation})
    users = [u for u in users if u.username != user.username] + [user]
    write_users(path, users)
    return replaced


# ----- sessions: signed cookies -----


def process_secret() -> bytes:
    """HOTLINE_WEB_SECRET, or a random secret for this process (sessions end when it restarts)."""
    configured = os.environ.get(SECRET_ENV)
    return configured.encode() if configured else secrets.token_bytes(32)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(secret: bytes, payload: dict[str, Any]) -> str:
    body = _b64(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode())
    mac = hmac.new(secret, body.encode(), hashlib.sha256).digest()
    return f"{body}.{_b64(mac)}"


def unsign(secret: bytes, token: str | None) -> dict[str, Any] | None:
    """The payload of a token signed with `secret`, or None if it was not (or is malformed)."""
    if not token or "." not in token:
        return None
    body, mac = token.rsplit(".", 1)
    expected = _b64(hmac.new(secret, body.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(mac, expected):
        return None
    try:
        payload = json.loads(_unb64(body))
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


@dataclass(frozen=True)
class Session:
    """What a valid session cookie says: whose, and of which generation of the account."""

    username: str
    generation: int


def session_token(secret: bytes, username: str, generation: int = 0) -> str:
    return sign(secret, {"u": username, "g": generation, "t": int(time.time()), "n": secrets.token_urlsafe(8)})


def read_session(secret: bytes, token: str | None) -> Session | None:
    """The session of a valid token that has not expired (a token without a generation is of the first)."""
    payload = unsign(secret, token)
    if payload is None or not isinstance(payload.get("u"), str) or not isinstance(payload.get("t"), int):
        return None
    if time.time() - payload["t"] > SESSION_HOURS * 3600:
        return None
    generation = payload.get("g", 0)
    if not isinstance(generation, int):
        return None
    return Session(payload["u"], generation)


def session_user(secret: bytes, token: str | None) -> str | None:
    """The username of a valid session token that has not expired."""
    session = read_session(secret, token)
    return session.username if session else None


def csrf_token(secret: bytes, session: str) -> str:
    """The token every form of a session carries: bound to that session, so another site cannot
    forge a form for it."""
    return _b64(hmac.new(secret, b"csrf|" + session.encode(), hashlib.sha256).digest())[:32]


# ----- failed sign-ins -----

FAILURES_PER_USER = 5  # wrong passwords for one username …
FAILURES_PER_ADDRESS = 20  # … or from one address (an office behind one NAT shares it) …
FAILURE_WINDOW_MINUTES = 15  # … within this many minutes, and signing in is refused for a while


class SignInThrottle:
    """Failed sign-ins, counted per username and per client address over a moving window (in this
    process's memory, which the window bounds): past the limit, sign-in is refused without checking
    the password, so guessing costs an attacker time rather than the server."""

    def __init__(
        self,
        per_user: int = FAILURES_PER_USER,
        per_address: int = FAILURES_PER_ADDRESS,
        minutes: int = FAILURE_WINDOW_MINUTES,
    ) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._per_user = RateLimitItemPerMinute(per_user, minutes)
        self._per_address = RateLimitItemPerMinute(per_address, minutes)

    def _keys(self, username: str, address: str) -> list[tuple[RateLimitItemPerMinute, str, str]]:
        return [(self._per_user, "user", username.strip().lower()[:64]), (self._per_address, "address", address)]

    def wait_minutes(self, username: str, address: str) -> int | None:
        """How many minutes until this username, from this address, may try again; None: now."""
        for item, kind, key in self._keys(username, address):
            if not self._limiter.test(item, kind, key):
                reset = self._limiter.get_window_stats(item, kind, key).reset_time
                return max(1, -int(-(reset - time.time()) // 60))
        return None

    def failed(self, username: str, address: str) -> None:
        for item, kind, key in self._keys(username, address):
            self._limiter.hit(item, kind, key)

    def succeeded(self, username: str) -> None:
        """The right password: the username's count starts again (the address's runs on)."""
        self._limiter.clear(self._per_user, "user", username.strip().lower()[:64])


# ----- the demo's accounts -----

DEMO_PASSWORD = "demo12345"
DEMO_LEADER = "leader"


def demo_users(path: Path, config: DistrictConfig, people: list[str]) -> UserDirectory:
    """The demo's accounts (the given people and a leader), all with DEMO_PASSWORD, in `path`;
    an existing file with the same accounts is kept."""
    wanted = [*people, DEMO_LEADER]
    if path.exists():
        try:
            directory = load_users(path, config)
        except UsersFileError:
            directory = None
        if (
            directory is not None
            and list(directory.users) == wanted
            and directory.authenticate(people[0], DEMO_PASSWORD)
        ):
            return directory
    digest = hash_password(DEMO_PASSWORD)  # one hash for all: they share the demo's password anyway
    users = [WebUser(username=p, person=p, password_hash=digest) for p in people]
    users.append(WebUser(username=DEMO_LEADER, role=LEADER, name="王区长", password_hash=digest))
    write_users(path, users)
    return load_users(path, config)
