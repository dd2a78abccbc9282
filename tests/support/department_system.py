"""A department's own system for the fault suite: a local HTTP receiver (a thread of the test
process) that takes the webhook adapter's POSTs and counts them by their `Idempotency-Key`, as a real
system that drops redeliveries would: every raw POST, every distinct key, and the keys per ticket.

Each delivery is checked against its HMAC signature; a key seen for the first time is reported to
`on_new(ticket_no, department)` (from the server's thread), which is how the test's clerks learn
that a ticket has reached their department.

`hold()` makes the system keep its answers back (the POSTs are recorded, the replies wait) until
`release()`: a test kills the department's worker while deliveries are in flight, so that the
system has a ticket whose delivery the workflow has not seen complete, and will be sent again.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from activities.adapters.webhook import DEPARTMENT_HEADER, IDEMPOTENCY_HEADER, SIGNATURE_HEADER, verify
from tests.support.fake_department import serve_posts

SECRET_ENV = "HOTLINE_FAULTS_WEBHOOK_SECRET"  # the workers read the webhook secret from here
SECRET = "faults-密钥-0042"


@dataclass
class DepartmentSystem:
    """What the departments' systems received, by idempotency key."""

    secret: str = SECRET
    on_new: Callable[[str, str], None] = lambda _ticket, _department: None
    url: str = ""
    raw_posts: int = 0
    bad_signatures: int = 0
    posts_by_key: Counter[str] = field(default_factory=Counter)
    keys_by_ticket: dict[str, set[str]] = field(default_factory=dict)
    department_by_key: dict[str, str] = field(default_factory=dict)
    kinds: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)
    holding: bool = False
    held: Counter[str] = field(default_factory=Counter)  # keys whose answers are being held back
    released: threading.Event = field(default_factory=threading.Event)

    def hold(self) -> None:
        with self.lock:
            self.released.clear()
            self.holding = True

    def release(self) -> None:
        with self.lock:
            self.holding = False
            self.released.set()

    def wait_if_held(self, key: str) -> None:
        with self.lock:
            if not self.holding:
                return
            self.held[key] += 1
        self.released.wait(timeout=60)
        with self.lock:
            self.held[key] -= 1
            if not self.held[key]:
                del self.held[key]

    def held_keys(self) -> list[str]:
        """Deliveries on the wire: recorded by the system, not yet answered."""
        with self.lock:
            return sorted(self.held)

    def receive(self, headers: dict[str, str], body: bytes) -> dict[str, Any]:
        """Record one POST; the answer tells the sender whether the key was a redelivery."""
        key = headers.get(IDEMPOTENCY_HEADER, "")
        department = headers.get(DEPARTMENT_HEADER, "")
        payload = json.loads(body)
        kind = payload.get("type", "?")
        with self.lock:
            self.raw_posts += 1
            self.kinds[kind] += 1
            if not verify(body, self.secret, headers.get(SIGNATURE_HEADER)):
                self.bad_signatures += 1
            duplicate = key in self.posts_by_key
            self.posts_by_key[key] += 1
            ticket_no = payload["delivery"]["ticket"]["ticket_no"] if kind == "ticket" else None
            if ticket_no is not None:
                self.keys_by_ticket.setdefault(ticket_no, set()).add(key)
                self.department_by_key.setdefault(key, department)
        if ticket_no is not None and not duplicate:
            self.on_new(ticket_no, department)
        return {"reference": f"{department.upper()}-{key}", "duplicate": duplicate}

    def delivered(self) -> int:
        """Tickets that reached a department's system (at least once)."""
        with self.lock:
            return len(self.keys_by_ticket)

    def figures(self, tickets: list[str]) -> dict[str, Any]:
        """Raw POSTs against distinct deliveries, and what went wrong for these tickets."""
        with self.lock:
            keys = {no: sorted(self.keys_by_ticket.get(no, ())) for no in tickets}
            departments = {no: sorted({self.department_by_key[k] for k in k_}) for no, k_ in keys.items()}
            raw = self.raw_posts
            distinct = len(self.posts_by_key)
            return {
                "raw_posts": raw,
                "distinct_deliveries": distinct,
                "redeliveries": raw - distinct,
                "redelivered_keys": sum(1 for n in self.posts_by_key.values() if n > 1),
                "tickets_delivered": sum(1 for k in keys.values() if k),
                "tickets_with_more_than_one_key": sorted(no for no, k in keys.items() if len(k) > 1),
                "tickets_never_delivered": sorted(no for no, k in keys.items() if not k),
                "bad_signatures": self.bad_signatures,
                "kinds": dict(self.kinds),
                "keys": keys,
                "departments": departments,
            }


@contextmanager
def department_system(on_new: Callable[[str, str], None] | None = None) -> Iterator[DepartmentSystem]:
    system = DepartmentSystem()
    if on_new is not None:
        system.on_new = on_new

    def respond(_path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        try:
            status, data = 200, json.dumps(system.receive(headers, body)).encode()
        except Exception as err:  # a malformed delivery: the test sees it as a 400 in the history
            status, data = 400, json.dumps({"error": repr(err)}).encode()
        system.wait_if_held(headers.get(IDEMPOTENCY_HEADER, ""))
        return status, data

    with serve_posts(respond, name="department-system", keep_alive=True, on_stop=system.release) as url:
        system.url = url
        yield system
