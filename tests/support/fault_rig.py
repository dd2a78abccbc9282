"""The fault suite's rig: a configuration file for the two departments the tickets route to, the
workers as real `python worker.py` processes (killed with SIGKILL, restarted), the desk that acts as
the departments' clerks and the centre's callback operator, and the figures file.

The desk's clerks and operator are `SimulatedClerk`s (activities/adapters/clerk.py) sending through
`starter.tickets.act` with one stable update id per action (`<workflow id>:<step>`),
so a request sent again after a lost reply (a killed worker, a restarted server) is applied once;
it retries what a fault makes transient and fails at once on anything else (a refusal by the
workflow is a defect, not a fault).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode

from activities.adapters.clerk import Action, SimulatedClerk
from activities.runtime.settings import CONFIG_ENV
from domain.commands import TicketOutcome
from domain.config import DistrictConfig
from domain.intake import workflow_id_for
from domain.models import Callback, Citizen, RequestKind, Role, Satisfaction, Ticket, TicketStatus
from starter.tickets import ActionFailed, act, submit
from starter.tools import bench_engine
from starter.tools.bench_engine import live_cpu_seconds, own_cpu_seconds
from tests.support.department_system import SECRET, SECRET_ENV
from tests.support.district import raw_config

ROOT = Path(__file__).resolve().parents[2]
RESULTS_ENV = "HOTLINE_RELIABILITY_OUT"  # a file; or a folder for every reliability figure:
RESULTS_DIR_ENV = "HOTLINE_RELIABILITY_OUT_DIR"
DEPARTMENTS = ("cgj", "zjj")  # the only departments the suite's tickets route to
CATEGORIES = {"cgj": "市容环卫", "zjj": "城乡建设"}  # → cgj, → zjj on 滨河街道 (catalogue)
# What a closed ticket's history holds: each human action accepted once, one delivery scheduled.
ACTIONS = ["sign_for", "contact_citizen", "answer", "record_callback"]
DELIVERIES = ["deliver_ticket"]
# Workflow task failures the server itself causes, which the next attempt gets past (an update or
# event arriving as the task completes, a sticky queue reset); any other cause is a defect.
BENIGN_TASK_FAILURES = frozenset({"UNHANDLED_COMMAND", "UNHANDLED_UPDATE", "RESET_STICKY_TASK_QUEUE"})

# What a fault makes transient: the server is away or restarting, a reply was lost, a task failed.
TRANSIENT = frozenset(
    {
        RPCStatusCode.UNAVAILABLE,
        RPCStatusCode.DEADLINE_EXCEEDED,
        RPCStatusCode.CANCELLED,
        RPCStatusCode.UNKNOWN,
        RPCStatusCode.INTERNAL,
        RPCStatusCode.ABORTED,
        RPCStatusCode.RESOURCE_EXHAUSTED,
        RPCStatusCode.FAILED_PRECONDITION,
    }
)
GONE = "不存在或已结束"  # ActionFailed for NOT_FOUND: transient while the server restarts


def results_path() -> Path:
    chosen = os.environ.get(RESULTS_ENV)
    folder = os.environ.get(RESULTS_DIR_ENV)
    return Path(chosen) if chosen else Path(folder or ROOT / ".pytest-results") / "reliability-faults.json"


class Figures:
    """The suite's figures, written after every test so that a failure keeps what ran before it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data: dict[str, Any] = {
            "suite": "tests/faults/test_faults.py",
            "machine": {"cpus": os.cpu_count(), "load_average_at_start": [round(x, 2) for x in os.getloadavg()]},
            "totals": {},
            "tests": {},
        }

    def record(self, name: str, figures: dict[str, Any]) -> None:
        self.data["tests"][name] = figures
        self.data["written_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        tests = self.data["tests"].values()
        self.data["totals"] = {
            key: round(sum(t.get(key) or 0 for t in tests), 1)
            for key in ("tickets", "faults_injected", "faults_survived", "duplicates_found", "tickets_lost", "wall_s")
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        tmp.replace(self.path)


# --- configuration -----------------------------------------------------------------------------


def fault_config_raw(tmp_path: Path, url: str) -> dict[str, Any]:
    """The bundled district cut down to cgj and zjj, both reached by webhook at the department system
    (secret from the environment), on task queues of their own run; everything else under tmp_path."""
    raw = raw_config()
    run = uuid.uuid4().hex[:8]
    raw["departments"] = [d for d in raw["departments"] if d["code"] in DEPARTMENTS]
    for dept in raw["departments"]:
        dept["task_queue"] = f"faults-{run}-{dept['code']}"
        dept["adapter"] = {"type": "webhook", "url": url, "secret_env": SECRET_ENV, "timeout_s": 10}
    raw["catalogue"] = [line for line in raw["catalogue"] if line["department"] in DEPARTMENTS]
    raw["people"] = [p for p in raw["people"] if p.get("department") in (None, *DEPARTMENTS)]
    raw["joint_response"] = []
    raw["center"]["task_queue"] = f"faults-{run}-center"
    raw["center"]["callback"] = {"type": "manual"}
    raw["center"]["notifications"] = {"folder": str(tmp_path / "center")}
    raw["center"]["city"] = {"adapter": {"type": "file_inbox", "folder": str(tmp_path / "city")}}
    raw["reports"] = {"folder": str(tmp_path / "reports")}
    return raw


def write_config(path: Path, raw: dict[str, Any]) -> DistrictConfig:
    """Validate and write the configuration file (key order kept, so line numbers are predictable)."""
    config = DistrictConfig.model_validate(raw)
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return config


def fault_ticket(ticket_no: str, department: str) -> Ticket:
    """A standard 一般 complaint routed to `department`. No address: the intake makes no 并单 look-up,
    so every ticket is dispatched on its own."""
    return Ticket(
        ticket_no=ticket_no,
        received_at=datetime.now(UTC),
        kind=RequestKind.COMPLAINT,
        category=CATEGORIES[department],
        street="滨河街道",
        urgency="一般",
        title="故障演练工单",
        content="故障注入测试：工单应送达一次并办结。",
        citizen=Citizen(name="王小明", phone="13812341234"),
    )


def fault_tickets(count: int) -> list[Ticket]:
    run = uuid.uuid4().hex[:6].upper()
    return [fault_ticket(f"F{run}{i:04d}", DEPARTMENTS[i % len(DEPARTMENTS)]) for i in range(count)]


# --- worker processes --------------------------------------------------------------------------


# Run as `python -c DIE_WITH_PARENT COMMAND...`: asks Linux to SIGKILL the process when the test
# process dies (PR_SET_PDEATHSIG survives exec), then becomes COMMAND. Whatever ends the test run,
# no worker or server is left behind.
DIE_WITH_PARENT = "import ctypes, os, sys; ctypes.CDLL(None).prctl(1, 9); os.execv(sys.argv[1], sys.argv[1:])"


def dying_with_parent(command: Sequence[str]) -> list[str]:
    return [sys.executable, "-c", DIE_WITH_PARENT, *command]


class CpuMeter(bench_engine.CpuMeter):
    """CPU seconds spent by a test: this process, the children it waited for (workers, and a
    server it stopped), and the live server."""

    def __init__(self, server_pid: Callable[[], int | None]) -> None:
        super().__init__({"rig": own_cpu_seconds, "server": lambda: live_cpu_seconds(server_pid())})
        self.begun = self.start()

    def used(self) -> float:
        return round(self.total_since(self.begun), 1)


class WorkerProcess:
    """`python worker.py ARGS` with HOTLINE_CONFIG and TEMPORAL_ADDRESS; stderr to a log file."""

    def __init__(self, name: str, args: Sequence[str], address: str, config_file: Path, logs: Path) -> None:
        self.name = name
        self.args = list(args)
        self.env = {**os.environ, "TEMPORAL_ADDRESS": address, CONFIG_ENV: str(config_file), SECRET_ENV: SECRET}
        self.env.setdefault("HOTLINE_LOG_LEVEL", "WARNING")
        for unwanted in ("TEMPORAL_PROFILE", "TEMPORAL_NAMESPACE", "TEMPORAL_API_KEY"):
            self.env.pop(unwanted, None)
        self.logs = logs
        self.starts = 0
        self.process: asyncio.subprocess.Process | None = None

    @property
    def log(self) -> Path:
        return self.logs / f"{self.name}.{self.starts}.log"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def start(self, timeout: float = 90.0) -> None:
        assert not self.running, f"{self.name} is already running"
        self.starts += 1
        self.logs.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as errors:
            self.process = await asyncio.create_subprocess_exec(
                *dying_with_parent([sys.executable, "worker.py", *self.args]),
                cwd=ROOT,
                env=self.env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=errors,
            )
        assert self.process.stdout is not None
        try:
            line = await asyncio.wait_for(self.process.stdout.readline(), timeout=timeout)
        except TimeoutError:
            line = b""
        if "worker 已启动" not in line.decode(errors="replace"):
            await self.kill()
            raise AssertionError(f"{self.name} did not start: {self.log.read_text(errors='replace')[-1500:]}")

    async def kill(self) -> int | None:
        """SIGKILL: no shutdown, no goodbye to the server. Returns the exit status."""
        if self.process is None:
            return None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)
        return await self.process.wait()

    async def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM, as an operator stops a worker; SIGKILL if it does not leave in time."""
        if self.process is None or self.process.returncode is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self.process.wait(), timeout=timeout)
        except TimeoutError:
            await self.kill()
            raise AssertionError(f"{self.name} did not stop within {timeout:.0f} s of SIGTERM") from None


class Fleet:
    """The centre's worker and one worker per department, each in its own process."""

    def __init__(self, address: str, config_file: Path, logs: Path) -> None:
        self.workers = [WorkerProcess("center", ["--center"], address, config_file, logs)] + [
            WorkerProcess(code, ["--department", code], address, config_file, logs) for code in DEPARTMENTS
        ]

    async def __aenter__(self) -> Fleet:
        return self

    async def __aexit__(self, *exc: object) -> None:
        # On failure nothing may be left behind: whatever still runs is killed.
        await asyncio.gather(*(w.kill() for w in self.workers), return_exceptions=True)

    async def start(self) -> float:
        begun = time.monotonic()
        await asyncio.gather(*(w.start() for w in self.workers))
        return time.monotonic() - begun

    async def kill(self) -> list[int | None]:
        return list(await asyncio.gather(*(w.kill() for w in self.workers)))

    async def stop(self) -> dict[str, int | None]:
        codes = await asyncio.gather(*(w.stop() for w in self.workers))
        return {w.name: code for w, code in zip(self.workers, codes, strict=True)}

    def logs_tail(self) -> str:
        return "\n".join(
            f"--- {w.name}: {w.log.read_text(errors='replace')[-1500:]}" for w in self.workers if w.log.exists()
        )


# --- the desk: clerks and the callback operator --------------------------------------------------


class Desk:
    """Submits the tickets and, as each reaches its department's system, acts on it as the
    department's clerk (签收, 联系诉求人, 答复) and then as the centre's operator (回访) → 办结."""

    def __init__(self, client: Client, config: DistrictConfig, *, patience_s: float) -> None:
        self.client = client
        self.config = config
        self.loop = asyncio.get_running_loop()
        self.deadline = time.monotonic() + patience_s
        people = config.people
        self.clerks = {
            code: SimulatedClerk(
                next(p for p in people if p.role is Role.CLERK and p.department == code).actor(), self.send
            )
            for code in DEPARTMENTS
        }
        self.operator = SimulatedClerk(next(p for p in people if p.role is Role.OPERATOR).actor(), self.send)
        self.submitted: set[str] = set()
        self.started: set[str] = set()  # the clerk has begun on it
        self.called_back: set[str] = set()  # the last action was applied: the ticket is 办结
        self.retries: Counter[str] = Counter()  # what was sent again, and why
        self.retry_examples: dict[str, str] = {}  # the first error of each kind
        self.failures: list[BaseException] = []
        self._tasks: set[asyncio.Task[None]] = set()

    # Called from the department system's thread for each ticket's first delivery.
    def delivered(self, ticket_no: str, department: str) -> None:
        self.loop.call_soon_threadsafe(self._begin, ticket_no, department)

    def _begin(self, ticket_no: str, department: str) -> None:
        if ticket_no in self.started:
            return
        self.started.add(ticket_no)
        self.spawn(self.handle(ticket_no, department))

    def spawn(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)

        def done(task: asyncio.Task[None]) -> None:
            self._tasks.discard(task)
            if not task.cancelled() and task.exception() is not None:
                self.failures.append(task.exception())  # type: ignore[arg-type]  # checked not None just above

        task.add_done_callback(done)
        return task

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    @property
    def in_flight(self) -> int:
        return len(self.submitted) - len(self.called_back)

    def snapshot(self, delivered: int) -> dict[str, int]:
        return {
            "submitted": len(self.submitted),
            "delivered": delivered,
            "being_acted_on": len(self.started) - len(self.called_back),
            "closed": len(self.called_back),
            "in_flight": self.in_flight,
        }

    # --- intake

    async def submit_all(self, tickets: Sequence[Ticket], concurrency: int = 8) -> None:
        gate = asyncio.Semaphore(concurrency)

        async def one(ticket: Ticket) -> None:
            async with gate:
                attempt = 0
                while True:
                    attempt += 1
                    try:
                        submitted = await submit(self.client, self.config, ticket)
                    except RPCError as err:
                        await self._transient("submit", err)
                        continue
                    # A repeat is only expected when the first attempt's reply was lost.
                    assert not submitted.duplicate or attempt > 1, f"{ticket.ticket_no} submitted twice"
                    self.submitted.add(ticket.ticket_no)
                    return

        await asyncio.gather(*(one(t) for t in tickets))

    # --- acting

    async def handle(self, ticket_no: str, department: str) -> None:
        workflow_id = workflow_id_for(ticket_no)
        await self.clerks[department].handle(workflow_id, note="已电话联系", answer="已处理完毕")
        callback = Callback(resolved=True, satisfaction=Satisfaction.SATISFIED)
        await self.operator.record_callback(workflow_id, callback)
        self.called_back.add(ticket_no)

    async def send(self, action: Action) -> Any:
        """One action under one update id, sent again for as long as a fault keeps it from an answer."""
        step, workflow_id = action.step, action.workflow_id
        update_id = f"{workflow_id}:{step}"
        while True:
            try:
                return await act(self.client, workflow_id, action.update, action.command, update_id=update_id)
            except WorkflowUpdateRPCTimeoutOrCancelledError as err:
                await self._transient(step, err)
            except RPCError as err:
                await self._transient(step, err)
            except ActionFailed as err:
                if GONE not in str(err):
                    raise AssertionError(f"{workflow_id}: {step} refused: {err}") from None
                # The last action closes the ticket: if its reply was lost, the workflow has ended.
                if step == "callback" and await self._closed(workflow_id):
                    self.retries["callback_found_closed"] += 1
                    return None
                await self._transient(step, err)

    async def _closed(self, workflow_id: str) -> bool:
        try:
            description = await self.client.get_workflow_handle(workflow_id).describe()
        except RPCError:
            return False
        return description.close_time is not None

    async def _transient(self, what: str, err: BaseException) -> None:
        status = getattr(err, "status", None)
        if isinstance(err, RPCError) and status not in TRANSIENT:
            raise err
        kind = status.name if isinstance(status, RPCStatusCode) else type(err).__name__
        self.retries[f"{what}:{kind}"] += 1
        self.retry_examples.setdefault(kind, " ".join(str(err).split())[:200])
        if time.monotonic() > self.deadline:
            raise AssertionError(f"{what}: still failing at the deadline: {err}") from err
        await asyncio.sleep(0.25)

    # --- waiting

    async def until(self, condition: Callable[[], bool], what: str, seconds: float | None = None) -> float:
        """Poll until `condition` holds; a clerk's failure or the deadline fails the test at once."""
        begun = time.monotonic()
        deadline = min(self.deadline, begun + seconds) if seconds else self.deadline
        while not condition():
            if self.failures:
                raise self.failures[0]
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}: {self.snapshot(-1)}")
            await asyncio.sleep(0.05)
        return time.monotonic() - begun

    # --- the end

    async def verify_closed(self, numbers: Sequence[str], concurrency: int = 8) -> dict[str, Story]:
        """Read each ticket's history (from the server alone: no replay in a worker): how it ended,
        which human actions it accepted, and how many deliveries it scheduled."""
        gate = asyncio.Semaphore(concurrency)
        stories: dict[str, Story] = {}

        async def one(no: str) -> None:
            async with gate:
                handle = self.client.get_workflow_handle(workflow_id_for(no))
                events = [e async for e in handle.fetch_history_events()]
                stories[no] = await Story.read(self.client, events)

        await asyncio.gather(*(one(no) for no in numbers))
        return stories


@dataclass
class Story:
    """What a ticket's history says: its end, the updates it accepted (in order), the activities it
    scheduled, how many attempts its delivery took, and its workflow tasks that timed out (a killed
    worker's) or failed (with their causes)."""

    status: str
    updates: list[str]
    activities: list[str]
    delivery_attempts: list[int]
    task_timeouts: int
    task_failures: list[str]

    @classmethod
    async def read(cls, client: Client, events: Sequence[HistoryEvent]) -> Story:
        last = events[-1]
        status = EventType.Name(last.event_type)
        if last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
            payloads = list(last.workflow_execution_completed_event_attributes.result.payloads)
            [outcome] = await client.data_converter.decode(payloads, [TicketOutcome])
            status = outcome.status.value
        updates = [
            e.workflow_execution_update_accepted_event_attributes.accepted_request.input.name
            for e in events
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
        ]
        scheduled = [
            e.activity_task_scheduled_event_attributes.activity_type.name
            for e in events
            if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        ]
        attempts = [
            e.activity_task_started_event_attributes.attempt
            for e in events
            if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
        ]
        failures = [
            WorkflowTaskFailedCause.Name(e.workflow_task_failed_event_attributes.cause).removeprefix(
                "WORKFLOW_TASK_FAILED_CAUSE_"
            )
            for e in events
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
        ]
        timeouts = sum(1 for e in events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT)
        return cls(status, updates, scheduled, attempts, task_timeouts=timeouts, task_failures=failures)

    @property
    def standard(self) -> bool:
        """办结, each action accepted exactly once, one delivery (however many attempts it took), and
        no workflow task failed for a reason of the workflow's own (a code error, non-determinism
        on replay by a restarted worker, a bad command)."""
        return (
            self.status == TicketStatus.CLOSED.value
            and self.updates == ACTIONS
            and self.activities == DELIVERIES
            and not set(self.task_failures) - BENIGN_TASK_FAILURES
        )
