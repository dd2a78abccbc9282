"""Webhook adapter: POST each delivery or notice as signed JSON to the department's system.

Every request carries the idempotency key (so the department can drop a redelivery) and an
HMAC-SHA256 signature of the exact body bytes (so it can trust the sender). `sign` and `verify`
are pure helpers the receiving side can reuse.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from typing import Any

import httpx

from activities.adapters.base import PermanentDeliveryError, TransientDeliveryError
from domain.config import WebhookAdapter
from domain.delivery import Delivery, DeliveryReceipt, ItemDelivery, Notice

SIGNATURE_HEADER = "X-Hotline-Signature"
DEPARTMENT_HEADER = "X-Hotline-Department"
IDEMPOTENCY_HEADER = "Idempotency-Key"

# Statuses in the 4xx range that mean "not now" rather than "never".
_TRANSIENT_4XX = frozenset({408, 429})
_BODY_EXCERPT = 200


def sign(body: bytes, secret: str) -> str:
    """The signature header value for `body`: "sha256=<hex HMAC-SHA256>"."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(body: bytes, secret: str, header: str | None) -> bool:
    """True when `header` is the signature of `body` under `secret` (constant-time compare)."""
    if not header:
        return False
    # Compare bytes: compare_digest refuses non-ASCII str, and a forged header may contain any text.
    return hmac.compare_digest(sign(body, secret).encode("utf-8"), header.encode("utf-8", "surrogateescape"))


def encode_body(payload: dict[str, Any]) -> bytes:
    """The canonical body bytes: what is signed is exactly what is sent."""
    return json.dumps(payload, ensure_ascii=False, sort_keys=True).encode("utf-8")


def resolve_secret(settings: WebhookAdapter) -> str:
    """The inline secret, else the value of the environment variable named by `secret_env`."""
    if settings.secret:
        return settings.secret
    name = settings.secret_env or ""
    value = os.environ.get(name)
    if not value:
        raise ValueError(f"webhook secret environment variable {name!r} is not set (for {settings.url})")
    return value


def _one_line(text: str, limit: int = _BODY_EXCERPT) -> str:
    return " ".join(text[: limit * 2].split())[:limit]


class WebhookDepartmentAdapter:
    """Delivers to a department system that accepts signed JSON POSTs."""

    kind = "webhook"

    def __init__(self, settings: WebhookAdapter) -> None:
        self._settings = settings
        self._url = settings.url
        self._secret = resolve_secret(settings)
        # One client per adapter so connections are pooled across deliveries.
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(settings.timeout_s), follow_redirects=False)

    async def deliver(self, delivery: Delivery) -> DeliveryReceipt:
        body = encode_body({"type": "ticket", "delivery": delivery.model_dump(mode="json")})
        response = await self._post(body, delivery.idempotency_key, delivery.assignment.department)
        return self._receipt(response, delivery.idempotency_key)

    async def deliver_item(self, delivery: ItemDelivery) -> DeliveryReceipt:
        body = encode_body({"type": "enterprise_item", "delivery": delivery.model_dump(mode="json")})
        response = await self._post(body, delivery.idempotency_key, delivery.assignment.department)
        return self._receipt(response, delivery.idempotency_key)

    async def notify(self, notice: Notice) -> None:
        body = encode_body({"type": "notice", "notice": notice.model_dump(mode="json")})
        await self._post(body, notice.idempotency_key, notice.department)

    async def send(self, kind: str, idempotency_key: str, payload: dict[str, Any]) -> None:
        """Any other message (e.g. to the city centre), signed and keyed like deliveries."""
        await self._post(encode_body({"type": kind, kind: payload}), idempotency_key, kind)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _post(self, body: bytes, idempotency_key: str, department: str) -> httpx.Response:
        headers = {
            "Content-Type": "application/json",
            IDEMPOTENCY_HEADER: idempotency_key,
            SIGNATURE_HEADER: sign(body, self._secret),
            DEPARTMENT_HEADER: department,
        }
        try:
            response = await self._client.post(self._url, content=body, headers=headers)
        except httpx.TimeoutException as exc:
            raise TransientDeliveryError(
                f"timeout after {self._settings.timeout_s}s posting to {self._url} ({type(exc).__name__})"
            ) from exc
        except httpx.TransportError as exc:
            detail = _one_line(str(exc)) or type(exc).__name__
            raise TransientDeliveryError(f"cannot reach {self._url}: {detail}") from exc
        self._check_status(response)
        return response

    def _check_status(self, response: httpx.Response) -> None:
        status = response.status_code
        if 200 <= status < 300:
            return
        message = f"HTTP {status} from {self._url}: {_one_line(response.text)}"
        if status >= 500 or status in _TRANSIENT_4XX:
            raise TransientDeliveryError(message)
        # 4xx, and 1xx/3xx (we do not follow redirects): retrying the same request will not help.
        raise PermanentDeliveryError(message)

    def _receipt(self, response: httpx.Response, idempotency_key: str) -> DeliveryReceipt:
        reference = idempotency_key
        duplicate = False
        try:
            data = response.json()
        except ValueError:
            data = None
        if isinstance(data, dict):
            ref = data.get("reference")
            if isinstance(ref, str | int) and not isinstance(ref, bool) and str(ref):
                reference = str(ref)
            dup = data.get("duplicate")
            if isinstance(dup, bool):
                duplicate = dup
        return DeliveryReceipt(adapter=self.kind, reference=reference, duplicate=duplicate)
