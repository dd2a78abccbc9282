"""Who is calling the HTTP API (网关鉴权): every request is signed with its caller's key.

A request names its caller in `X-Hotline-Department` (a department's code, or `center` for the
centre's key), the instant it was signed in `X-Hotline-Timestamp` (Unix seconds), and carries
`X-Hotline-Signature: sha256=<hex>`: the webhook adapter's signature (`activities.adapters.webhook.sign`)
of the bytes

    <timestamp> "\\n" <METHOD> "\\n" <path>[?<query>] "\\n" <body>

under the caller's key. Binding the method, the path and the time to the body means a captured
request cannot be replayed on another ticket or action, nor after `MAX_SKEW_S`; within that
window a callback's idempotency key makes a replay harmless (docs/api.md).

Keys (one family with the webhook adapter's): a department's `callback_secret` / `callback_secret_env`,
else the secret its webhook adapter signs deliveries with; the centre's `center.api_secret` /
`api_secret_env`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass

from activities.adapters.webhook import DEPARTMENT_HEADER, SIGNATURE_HEADER, resolve_secret, sign, verify
from domain.config import Department, DistrictConfig, WebhookAdapter

CENTER = "center"  # the caller name of the centre's key (reserved: no department may use it as its code)
TIMESTAMP_HEADER = "X-Hotline-Timestamp"
MAX_SKEW_S = 300  # a signature older (or further in the future) than this is refused


class AuthError(Exception):
    """A request that cannot be authenticated (401), or a key the centre has not configured (503)."""

    def __init__(self, message: str, status: int = 401) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Caller:
    """The authenticated caller: a department (by its code) or the centre."""

    name: str

    @property
    def is_center(self) -> bool:
        return self.name == CENTER


def signing_payload(timestamp: str, method: str, target: str, body: bytes) -> bytes:
    """The bytes that are signed: timestamp, method, path with query, and the raw body."""
    return f"{timestamp}\n{method.upper()}\n{target}\n".encode() + body


def signed_headers(
    secret: str, caller: str, method: str, target: str, body: bytes = b"", *, timestamp: int | None = None
) -> dict[str, str]:
    """The headers that authenticate one request (`target` is the path, with `?query` if any)."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    return {
        DEPARTMENT_HEADER: caller,
        TIMESTAMP_HEADER: stamp,
        SIGNATURE_HEADER: sign(signing_payload(stamp, method, target, body), secret),
    }


def _from(inline: str | None, env: str | None) -> str | None:
    return inline or (os.environ.get(env) if env else None) or None


def department_secret(department: Department) -> str | None:
    """The department's API key: its own callback key, else its webhook adapter's secret."""
    own = _from(department.callback_secret, department.callback_secret_env)
    if own or not isinstance(department.adapter, WebhookAdapter):
        return own
    try:
        return resolve_secret(department.adapter)
    except ValueError:  # its environment variable is not set
        return None


def center_secret(config: DistrictConfig) -> str | None:
    return _from(config.center.api_secret, config.center.api_secret_env)


def secret_for(config: DistrictConfig, caller: str) -> str:
    """The key a caller signs with; AuthError when there is none."""
    if caller == CENTER:
        secret = center_secret(config)
        if not secret:
            raise AuthError("中心未配置接口密钥（center.api_secret 或 api_secret_env），接口暂不可用", status=503)
        return secret
    try:
        department = config.department(caller)
    except KeyError:
        raise AuthError(f"{DEPARTMENT_HEADER}: 未知的调用方 '{caller[:64]}'") from None
    secret = department_secret(department)
    if not secret:
        raise AuthError(f"{DEPARTMENT_HEADER}: 承办单位 {caller} 未配置接口密钥，不能使用接口")
    return secret


def authenticate(
    config: DistrictConfig,
    headers: Mapping[str, str],
    method: str,
    target: str,
    body: bytes,
    now: float | None = None,
) -> Caller:
    """The caller a request proves it comes from, or AuthError saying what is wrong with it."""
    caller = headers.get(DEPARTMENT_HEADER)
    if not caller:
        raise AuthError(f"缺少请求头 {DEPARTMENT_HEADER}（承办单位代码，或 {CENTER}）")
    secret = secret_for(config, caller)
    stamp = headers.get(TIMESTAMP_HEADER, "")
    if not stamp.isascii() or not stamp.isdigit():
        raise AuthError(f"{TIMESTAMP_HEADER}: 应为签名时的 Unix 时间（秒）")
    if not verify(signing_payload(stamp, method, target, body), secret, headers.get(SIGNATURE_HEADER)):
        raise AuthError(f"{SIGNATURE_HEADER}: 签名无效（须以 {caller} 的密钥签名时间、方法、路径和请求体）")
    if abs((time.time() if now is None else now) - int(stamp)) > MAX_SKEW_S:
        raise AuthError(f"{TIMESTAMP_HEADER}: 签名时间超出 {MAX_SKEW_S // 60} 分钟有效期（请求过期或时钟不准）")
    return Caller(caller)
