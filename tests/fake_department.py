"""A department's system for tests: a local HTTP server that records every request and answers from
a queue of replies (default 200 with an empty body)."""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Iterator
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


def _handler(fake: FakeDepartment) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            fake.requests.append(Seen(self.path, dict(self.headers.items()), body))
            reply = fake.replies.popleft() if fake.replies else Reply()
            if reply.delay_s:
                # Interruptible, so teardown does not wait out the delay.
                fake.stopping.wait(reply.delay_s)
            data = reply.body.encode() if isinstance(reply.body, str) else reply.body
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                pass  # the client gave up (timeout test)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@contextmanager
def serve() -> Iterator[FakeDepartment]:
    fake = FakeDepartment()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/hotline/inbox"
    # A short poll interval keeps shutdown() (and so teardown) quick.
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="fake-department", daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        fake.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
