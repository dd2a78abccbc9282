"""A department's system for tests: a local HTTP server that records every request and answers from
a queue of replies (default 200 with an empty body)."""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SECRET = "s3cret-密钥"


@dataclass
class Reply:
    status: int = 200
    body: bytes | str = b""
    delay_s: float = 0.0


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeDepartment:
    """A department system: records every request and answers from a queue (default: 200, empty)."""

    replies: deque[Reply] = field(default_factory=deque)
    requests: list[Seen] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)
    url: str = ""

    def answer(self, status: int = 200, body: bytes | str | dict[str, object] = b"", delay_s: float = 0.0) -> None:
        if isinstance(body, dict):
            body = json.dumps(body)
        self.replies.append(Reply(status, body, delay_s))


# What a test's system answers a POST with: (path, headers, body) → (status, body).
Respond = Callable[[str, dict[str, str], bytes], tuple[int, bytes]]


@contextmanager
def serve_posts(
    respond: Respond, *, name: str, keep_alive: bool = False, on_stop: Callable[[], None] = lambda: None
) -> Iterator[str]:
    """A local HTTP server, in threads of the test process, answering every POST with `respond`;
    yields its inbox URL. `on_stop` runs first at teardown (to wake a reply that is waiting)."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1" if keep_alive else "HTTP/1.0"  # 1.1: the adapter pools connections

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status, data = respond(self.path, dict(self.headers.items()), body)
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                pass  # the sender gave up (a timeout test) or was killed mid-request

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    # A short poll interval keeps shutdown() (and so teardown) quick.
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name=name, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hotline/inbox"
    finally:
        on_stop()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def serve() -> Iterator[FakeDepartment]:
    fake = FakeDepartment()

    def respond(path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        fake.requests.append(Seen(path, headers, body))
        reply = fake.replies.popleft() if fake.replies else Reply()
        if reply.delay_s:
            # Interruptible, so teardown does not wait out the delay.
            fake.stopping.wait(reply.delay_s)
        return reply.status, reply.body.encode() if isinstance(reply.body, str) else reply.body

    with serve_posts(respond, name="fake-department", on_stop=fake.stopping.set) as url:
        fake.url = url
        yield fake
