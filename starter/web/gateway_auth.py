"""Who is calling the HTTP API (网关鉴权): every request is signed with its caller's key.

A request names its caller in `X-Hotline-Department` (a department's code, or `center` for the
centre's key), the instant it was signed in `X-Hotline-Timestamp` (Unix seconds), and carries
`X-Hotline-Signature: sha256=<hex>`: the webhook adapter's signature (`activities.adapters.webhook.sign`)
of the bytes

    <timestamp> "\\n" <METHOD> "\\n" <path>[?<query>] "\\n" <Idempotency-Key> "\\n" <hex SHA-256 of the body>

under the caller's key (the key line is empty when the request has none). Binding the method, the
path, the time, the idempotency key and the body together means a captured request cannot be
replayed on another ticket or action, nor under another idempotency key (which would make it a new
request), nor after `MAX_SKEW_S`; within that window a replay with its own key is a retry, which
the workflow applies once (docs/api.md).

The headers are checked in two steps so that nothing unauthenticated costs the server memory:
`check_headers` (who, with which key, when) before the body is read, `verify_signature` after.

Keys (one family with the webhook adapter's): a department's `callback_secret` / `callback_secret_env`,
else the secret its webhook adapter signs deliveries with; the centre's `center.api_secret` /
`api_secret_env`.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass

from activities.adapters.webhook import (
    DEPARTMENT_HEADER,
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    resolve_secret,
    sign,
    verify,
)
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


def signing_payload(timestamp: str, method: str, target: str, idempotency_key: str, body: bytes) -> bytes:
    """The bytes that are signed: timestamp, method, path with query, idempotency key (or nothing)
    and the body's SHA-256 in hex, one a line."""
    digest = hashlib.sha256(body).hexdigest()
    return f"{timestamp}\n{method.upper()}\n{target}\n{idempotency_key}\n{digest}".encode()


def signed_headers(
    secret: str,
    caller: str,
    method: str,
    target: str,
    body: bytes = b"",
    *,
    idempotency_key: str | None = None,
    timestamp: int | None = None,
) -> dict[str, str]:
    """The headers that authenticate one request (`target` is the path, with `?query` if any),
    `Idempotency-Key` among them when one is given (it is signed)."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    headers = {
        DEPARTMENT_HEADER: caller,
        TIMESTAMP_HEADER: stamp,
        SIGNATURE_HEADER: sign(signing_payload(stamp, method, target, idempotency_key or "", body), secret),
    }
    if idempotency_key is not None:
        headers[IDEMPOTENCY_HEADER] = idempotency_key
    return headers


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


@dataclass(frozen=True)
class Claim:
    """What a request's headers claim before its body is read: the caller, its key, the time."""

    caller: str
    secret: str
    timestamp: str


def check_headers(config: DistrictConfig, headers: Mapping[str, str], now: float | None = None) -> Claim:
    """The caller the headers name, with a key and a fresh timestamp, or AuthError: all that can be
    checked without the body, so an unsigned or stale request is refused before it is read."""
    caller = headers.get(DEPARTMENT_HEADER)
    if not caller:
        raise AuthError(f"缺少请求头 {DEPARTMENT_HEADER}（承办单位代码，或 {CENTER}）")
    secret = secret_for(config, caller)
    stamp = headers.get(TIMESTAMP_HEADER, "")
    if not stamp.isascii() or not stamp.isdigit() or len(stamp) > 12:
        raise AuthError(f"{TIMESTAMP_HEADER}: 应为签名时的 Unix 时间（秒）")
    if not headers.get(SIGNATURE_HEADER):
        raise AuthError(f"缺少请求头 {SIGNATURE_HEADER}（sha256=<签名>）")
    if abs((time.time() if now is None else now) - int(stamp)) > MAX_SKEW_S:
        raise AuthError(f"{TIMESTAMP_HEADER}: 签名时间超出 {MAX_SKEW_S // 60} 分钟有效期（请求过期或时钟不准）")
    return Claim(caller, secret, stamp)


def verify_signature(claim: Claim, headers: Mapping[str, str], method: str, target: str, body: bytes) -> Caller:
    """The caller, once the signature over the whole request is right; AuthError otherwise."""
    payload = signing_payload(claim.timestamp, method, target, headers.get(IDEMPOTENCY_HEADER, ""), body)
    if not verify(payload, claim.secret, headers.get(SIGNATURE_HEADER)):
        raise AuthError(
            f"{SIGNATURE_HEADER}: 签名无效（须以 {claim.caller} 的密钥签名时间、方法、路径、幂等键和请求体摘要）"
        )
    return Caller(claim.caller)


def authenticate(
    config: DistrictConfig,
    headers: Mapping[str, str],
    method: str,
    target: str,
    body: bytes,
    now: float | None = None,
) -> Caller:
    """The caller a request proves it comes from, or AuthError saying what is wrong with it."""
    return verify_signature(check_headers(config, headers, now), headers, method, target, body)
