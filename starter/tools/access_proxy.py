"""The access proxy (访问代理): the only door to the district's Temporal frontend, which checks
every call's credentials and lets a department's worker do nothing but its own work.

Each caller presents an API key (`TEMPORAL_API_KEY`: the SDK sends `authorization: Bearer <key>`).
The credentials file (JSON, mode 0600, holding only each key's SHA-256) names its principal:

    {"namespace": "default", "principals": [
        {"name": "hotline-center", "key_sha256": "…"},
        {"name": "hotline-dept-zjj", "department": "zjj", "task_queue": "hotline-dept-zjj", "key_sha256": "…"}]}

A principal without `department` is the centre's: every call passes. A department's principal may
only: poll activity tasks on its own task queue in the district's namespace; answer, fail, cancel
or heartbeat a task the proxy handed to that same principal (the task token is remembered from the
poll's response, so a token of another department's task is refused); and the worker's start-up
and shutdown calls. Everything else (start, update, signal, query, list, history, terminate, other
queues, workflow tasks) is refused with PERMISSION_DENIED, and an unknown or missing key with
UNAUTHENTICATED. Requests and responses are passed through as bytes; only the ones checked are
parsed. What this enforces holds only where the frontend itself is reachable through this proxy
alone (docs/security.md).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import stat
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import structlog
from temporalio.api.workflowservice.v1 import (
    DescribeNamespaceRequest,
    PollActivityTaskQueueRequest,
    PollActivityTaskQueueResponse,
    RecordActivityTaskHeartbeatRequest,
    RespondActivityTaskCanceledRequest,
    RespondActivityTaskCompletedRequest,
    RespondActivityTaskFailedRequest,
)

from activities.runtime.keys import KeyRingError, write_secret

log = structlog.get_logger(__name__)

WORKFLOW_SERVICE = "/temporal.api.workflowservice.v1.WorkflowService/"
OPERATOR_SERVICE = "/temporal.api.operatorservice.v1.OperatorService/"
HEALTH = "/grpc.health.v1.Health/Check"

# What a department's worker needs besides its own tasks: the SDK's start-up and shutdown calls and
# the project's start-up check of the search attributes (names only, no data).
WORKER_HOUSEKEEPING = frozenset(
    {
        WORKFLOW_SERVICE + "GetSystemInfo",
        WORKFLOW_SERVICE + "GetClusterInfo",
        WORKFLOW_SERVICE + "ShutdownWorker",
        WORKFLOW_SERVICE + "RecordWorkerHeartbeat",
        OPERATOR_SERVICE + "ListSearchAttributes",
        HEALTH,
    }
)
TASK_ANSWERS: Mapping[str, Callable[[bytes], Any]] = {
    WORKFLOW_SERVICE + "RespondActivityTaskCompleted": RespondActivityTaskCompletedRequest.FromString,
    WORKFLOW_SERVICE + "RespondActivityTaskFailed": RespondActivityTaskFailedRequest.FromString,
    WORKFLOW_SERVICE + "RespondActivityTaskCanceled": RespondActivityTaskCanceledRequest.FromString,
    WORKFLOW_SERVICE + "RecordActivityTaskHeartbeat": RecordActivityTaskHeartbeatRequest.FromString,
}
POLL_ACTIVITY = WORKFLOW_SERVICE + "PollActivityTaskQueue"
DESCRIBE_NAMESPACE = WORKFLOW_SERVICE + "DescribeNamespace"
ISSUED_TOKENS = 100_000  # task tokens remembered (oldest forgotten first)
# Headers the gRPC library sets itself: never copied onto the upstream call.
_OWN_HEADERS = ("user-agent", "te", "content-type", "grpc-", ":")


class AccessError(Exception):
    """A credentials file that cannot be used; the message is one line naming the file."""


@dataclass(frozen=True)
class Principal:
    name: str
    department: str | None = None  # None: the centre's processes (every call)
    task_queue: str | None = None


@dataclass(frozen=True)
class Credentials:
    namespace: str
    by_digest: Mapping[str, Principal]

    def who(self, api_key: str) -> Principal | None:
        return self.by_digest.get(_digest(api_key))


def _digest(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def read_credentials(path: Path) -> Credentials:
    try:
        mode = path.stat().st_mode
        raw: Any = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise AccessError(f"{path}: cannot read: {err.strerror}") from None
    except json.JSONDecodeError as err:
        raise AccessError(f"{path}: not valid JSON (line {err.lineno})") from None
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise AccessError(f"{path}: readable by group or others (mode {mode & 0o777:o}): chmod 600 {path}")
    if not isinstance(raw, dict) or not isinstance(raw.get("principals"), list):
        raise AccessError(f'{path}: expected {{"namespace": …, "principals": [...]}}')
    by_digest: dict[str, Principal] = {}
    for i, entry in enumerate(raw["principals"]):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise AccessError(f"{path}: principals.{i}: expected name and key_sha256")
        digest = entry.get("key_sha256")
        if not isinstance(digest, str) or len(digest) != 64:
            raise AccessError(f"{path}: principals.{i}.key_sha256: a SHA-256 in hex")
        department = entry.get("department")
        queue = entry.get("task_queue") or (f"hotline-dept-{department}" if department else None)
        by_digest[digest] = Principal(name=entry["name"], department=department, task_queue=queue)
    return Credentials(namespace=str(raw.get("namespace") or "default"), by_digest=by_digest)


def add_principal(path: Path, name: str, department: str | None = None, task_queue: str | None = None) -> str:
    """Add a principal with a new random API key to the credentials file (created, 0600); returns
    the key, which is kept nowhere else: only its digest is written."""
    raw: dict[str, Any] = {"namespace": "default", "principals": []}
    if path.exists():
        read_credentials(path)  # refuse a broken or exposed file before changing it
        raw = json.loads(path.read_text(encoding="utf-8"))
    if any(p.get("name") == name for p in raw["principals"]):
        raise AccessError(f"{path}: principal '{name}' exists already")
    api_key = secrets.token_urlsafe(32)
    entry: dict[str, Any] = {"name": name, "key_sha256": _digest(api_key)}
    if department:
        entry |= {"department": department, "task_queue": task_queue or f"hotline-dept-{department}"}
    raw["principals"].append(entry)
    try:
        write_secret(path, json.dumps(raw, ensure_ascii=False, indent=2) + "\n", exclusive=False)
    except KeyRingError as err:
        raise AccessError(str(err)) from None
    return api_key


class Refused(Exception):
    def __init__(self, code: grpc.StatusCode, reason: str) -> None:
        super().__init__(reason)
        self.code = code


class AccessProxy(grpc.GenericRpcHandler):
    """Forwards each allowed call to the frontend as bytes; refuses the rest before forwarding."""

    def __init__(self, upstream: str, credentials: Credentials) -> None:
        self.credentials = credentials
        self.channel = grpc.aio.insecure_channel(upstream)
        self.issued: OrderedDict[bytes, str] = OrderedDict()  # task token → the principal it went to

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler[bytes, bytes]:
        method = handler_call_details.method

        async def call(request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
            return await self.forward(method, request, context)

        return grpc.unary_unary_rpc_method_handler(call)

    def check(self, principal: Principal, method: str, request: bytes) -> None:
        """Raises Refused unless `principal` may make this call (centre: always)."""
        if principal.department is None or method in WORKER_HOUSEKEEPING:
            return
        where = f"{principal.name}（承办单位 {principal.department}）"
        if method == POLL_ACTIVITY:
            poll = PollActivityTaskQueueRequest.FromString(request)
            if poll.namespace != self.credentials.namespace or poll.task_queue.name != principal.task_queue:
                raise Refused(
                    grpc.StatusCode.PERMISSION_DENIED,
                    f"拒绝：{where} 只能领取本单位任务队列 {principal.task_queue} 的任务，"
                    f"不能领取 {poll.namespace}/{poll.task_queue.name} / may poll only its own task queue",
                )
            return
        if method == DESCRIBE_NAMESPACE:
            if DescribeNamespaceRequest.FromString(request).namespace != self.credentials.namespace:
                raise Refused(grpc.StatusCode.PERMISSION_DENIED, f"拒绝：{where} 只能访问本区命名空间")
            return
        answer = TASK_ANSWERS.get(method)
        if answer is not None:
            if self.issued.get(answer(request).task_token) != principal.name:
                raise Refused(
                    grpc.StatusCode.PERMISSION_DENIED,
                    f"拒绝：{where} 只能答复发给本单位的任务 / may answer only tasks handed to it",
                )
            return
        raise Refused(
            grpc.StatusCode.PERMISSION_DENIED,
            f"拒绝：{where} 无权调用 {method.rsplit('/', 1)[-1]} / not allowed for a department's credentials",
        )

    async def forward(self, method: str, request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
        headers = [(k, v) for k, v in context.invocation_metadata() or () if not k.startswith(_OWN_HEADERS)]
        offered = next((str(v) for k, v in headers if k == "authorization"), "")
        principal = self.credentials.who(offered[7:].strip()) if offered[:7].lower() == "bearer " else None
        try:
            if principal is None:
                raise Refused(grpc.StatusCode.UNAUTHENTICATED, "未提供有效的接口密钥 / a valid API key is required")
            self.check(principal, method, request)
        except Refused as refused:
            log.warning("access refused", method=method, principal=principal.name if principal else None)
            await context.abort(refused.code, str(refused))
        assert principal is not None
        upstream: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = self.channel.unary_unary(
            method
        )  # bytes in, bytes out
        remaining = context.time_remaining()
        # The frontend never sees the caller's key; it trusts this proxy's network position.
        sent = tuple((k, v) for k, v in headers if k != "authorization")
        try:
            response: bytes = await upstream(request, metadata=sent, timeout=remaining)
        except grpc.aio.AioRpcError as err:
            # The server's typed failure (e.g. already started) rides in grpc-status-details-bin: pass it on.
            trailer = tuple((k, v) for k, v in err.trailing_metadata() or () if k == "grpc-status-details-bin")
            await context.abort(err.code(), err.details() or "", trailing_metadata=trailer)
        if method == POLL_ACTIVITY and principal.department is not None:
            token = PollActivityTaskQueueResponse.FromString(response).task_token
            if token:
                self.issued[token] = principal.name
                while len(self.issued) > ISSUED_TOKENS:
                    self.issued.popitem(last=False)
        return response

    async def close(self) -> None:
        await self.channel.close()


@dataclass
class RunningProxy:
    address: str
    server: grpc.aio.Server
    proxy: AccessProxy

    async def stop(self) -> None:
        await self.server.stop(grace=1)
        await self.proxy.close()


async def start_access_proxy(
    upstream: str,
    credentials: Credentials,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    tls: tuple[bytes, bytes] | None = None,
) -> RunningProxy:
    """Serve in this process's event loop (port 0: a free one); `tls`: the proxy's certificate chain
    and private key (PEM), so API keys never cross the network in clear."""
    proxy = AccessProxy(upstream, credentials)
    server = grpc.aio.server(handlers=[proxy])
    if tls is None:
        bound = server.add_insecure_port(f"{host}:{port}")
    else:
        chain, key = tls
        bound = server.add_secure_port(f"{host}:{port}", grpc.ssl_server_credentials([(key, chain)]))
    if bound == 0:
        raise OSError(f"cannot listen on {host}:{port}")
    await server.start()
    return RunningProxy(address=f"{host}:{bound}", server=server, proxy=proxy)


def principals_summary(credentials: Credentials) -> Sequence[str]:
    return [
        f"{p.name}（{'承办单位 ' + p.department + '，队列 ' + str(p.task_queue) if p.department else '中心：全部'}）"
        for p in credentials.by_digest.values()
    ]
