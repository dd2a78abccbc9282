"""Reliability under faults, with real processes: the centre's and the departments' workers are
`python worker.py` processes, the Temporal server is the embedded one on a SQLite file, and the
departments' systems are a local HTTP receiver counting deliveries by their Idempotency-Key. The
test acts as the departments' clerks and the callback operator, one stable update id per action.

- kill -9 of every worker, twice, with 200 tickets in flight (the first time with deliveries on the
  wire): all 200 close (办结), each delivered downstream under exactly one key, each action once;
- the embedded server stopped and started again mid-load, then killed and started again: the same
  worker processes and the clerks carry on, every ticket closes, nothing is duplicated downstream;
- a configuration file broken on disk (YAML, an unknown department in a route, a missing field):
  new workers refuse to start with one line naming the file and the line or field, exit 2, while
  the workers already running finish every ticket in flight.

The figures go to $HOTLINE_RELIABILITY_OUT or .pytest-results/reliability-faults.json.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from temporalio.client import Client

from activities.runtime.settings import CONFIG_ENV, connect
from domain.models import Ticket
from starter.tools.server import EmbeddedServer
from tests.support.department_system import DepartmentSystem, department_system
from tests.support.fault_rig import (
    CATEGORIES,
    ROOT,
    CpuMeter,
    Desk,
    Figures,
    Fleet,
    dying_with_parent,
    fault_config_raw,
    fault_tickets,
    results_path,
    write_config,
)
from tests.support.processes import free_port
from tests.support.replay_all import replay_everything

ROUTES = {category: code for code, category in CATEGORIES.items()}


@pytest.fixture(scope="module")
def figures() -> Figures:
    return Figures(results_path())


class FaultServer(EmbeddedServer):
    """The embedded server, killed by Linux if the test process dies before it can stop it."""

    def command(self) -> list[str]:
        return dying_with_parent(super().command())


@pytest.fixture(scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[EmbeddedServer]:
    """The embedded server on a SQLite file of this module's own (a test stops and restarts it)."""
    embedded = FaultServer(
        port=free_port(), ui_port=free_port(), data_dir=tmp_path_factory.mktemp("faults-server"), headless=True
    )
    embedded.start()
    try:
        await embedded.wait_ready()
        yield embedded
        # Every history the faults left, through kills and restarts, replays against today's code.
        await server_up(embedded)
        await replay_everything(await connect(embedded.address))
    finally:
        embedded.stop()


async def server_up(server: EmbeddedServer) -> None:
    if server.process is None or server.process.poll() is not None:
        server.start()
    await server.wait_ready()


@pytest.fixture
async def client(server: EmbeddedServer) -> Client:
    await server_up(server)  # a failed restart test may have left it down
    return await connect(server.address)


@pytest.fixture
def system() -> Iterator[DepartmentSystem]:
    with department_system() as received:
        yield received


class Rig:
    """One test's configuration file, department system, worker processes, desk and figures."""

    def __init__(
        self, client: Client, server: EmbeddedServer, tmp_path: Path, system: DepartmentSystem, patience_s: float
    ) -> None:
        self.begun = time.monotonic()
        self.load = [round(x, 2) for x in os.getloadavg()]
        self.cpu = CpuMeter(lambda: server.process.pid if server.process and server.process.poll() is None else None)
        self.system = system
        self.raw = fault_config_raw(tmp_path, system.url)
        self.config_file = tmp_path / "district.yaml"
        self.config = write_config(self.config_file, self.raw)
        self.fleet = Fleet(server.address, self.config_file, tmp_path / "logs")
        self.desk = Desk(client, self.config, patience_s=patience_s)
        system.on_new = self.desk.delivered
        self.faults: list[dict[str, Any]] = []
        self.result: dict[str, Any] = {}

    def at(self) -> dict[str, Any]:
        """The tickets at this moment, and the time since the test began."""
        return {"at_s": self.elapsed(), "tickets": self.desk.snapshot(self.system.delivered())}

    def elapsed(self) -> float:
        return round(time.monotonic() - self.begun, 1)

    def record(self, figures: Figures, name: str, error: BaseException | None) -> None:
        """The test's figures, whether it passed or not (a fault not survived shows as such)."""
        passed = error is None
        figures.record(
            name,
            {
                "passed": passed,
                **({} if passed else {"error": " ".join(f"{type(error).__name__}: {error}".split())[:500]}),
                "faults_injected": len(self.faults),
                "faults_survived": len(self.faults) if passed else None,
                "faults": self.faults,
                **self.result,
                "wall_s": self.elapsed(),
                "cpu_s": self.cpu.used(),
                "load_average": {"begin": self.load, "end": [round(x, 2) for x in os.getloadavg()]},
            },
        )


@contextlib.asynccontextmanager
async def rigged(
    name: str,
    client: Client,
    server: EmbeddedServer,
    tmp_path: Path,
    system: DepartmentSystem,
    figures: Figures,
    patience_s: float,
) -> AsyncIterator[Rig]:
    """A rig whose workers are killed and desk stopped however the test ends, its figures written."""
    rig = Rig(client, server, tmp_path, system, patience_s)
    error: BaseException | None = None
    try:
        async with rig.fleet:
            try:
                yield rig
            finally:
                await rig.desk.aclose()
    except BaseException as err:
        error = err
        print(rig.fleet.logs_tail(), file=sys.stderr)
        raise
    finally:
        rig.record(figures, name, error)


async def finish(rig: Rig, tickets: list[Ticket]) -> dict[str, Any]:
    """Every ticket called back, its history read, the workers stopped gracefully (exit 0), and the
    department system's counts: what the test's figures are made of."""
    desk = rig.desk
    numbers = [t.ticket_no for t in tickets]
    routed = {t.ticket_no: [ROUTES[t.category]] for t in tickets}
    await desk.until(lambda: desk.called_back >= set(numbers), "every ticket called back")
    closed_s = rig.elapsed()
    stories = await desk.verify_closed(numbers)
    stops = await rig.fleet.stop()
    assert stops == {"center": 0, "cgj": 0, "zjj": 0}, stops
    seen = rig.system.figures(numbers)
    keys, departments = seen.pop("keys"), seen.pop("departments")
    defects = {no: story for no, story in stories.items() if not story.standard}
    summary = {
        "tickets": len(numbers),
        "downstream": seen,
        # A ticket delivered under a second key, or a human action accepted twice.
        "duplicates_found": sum(len(k) - 1 for k in keys.values() if k)
        + sum(1 for s in stories.values() if len(s.updates) != len(set(s.updates))),
        "tickets_lost": sum(1 for s in stories.values() if s.status != "办结"),
        "tickets_delivery_retried": sum(1 for s in stories.values() if max(s.delivery_attempts, default=1) > 1),
        "workflow_task_timeouts": sum(s.task_timeouts for s in stories.values()),
        "workflow_task_failures": dict(Counter(cause for s in stories.values() for cause in s.task_failures)),
        "driver_retries": dict(sorted(desk.retries.items())),
        "driver_retry_errors": desk.retry_examples,
        "all_closed_s": closed_s,
    }
    # Exactly one delivery key per ticket, its first round's; every POST signed; only tickets sent.
    assert {no: k for no, k in keys.items() if k != [f"{no}#1"]} == {}
    assert departments == routed  # each reached its own department's system, and no other
    assert seen["distinct_deliveries"] == len(numbers)
    assert seen["bad_signatures"] == 0
    assert seen["kinds"] == {"ticket": seen["raw_posts"]}
    assert defects == {}
    assert summary["duplicates_found"] == 0 and summary["tickets_lost"] == 0
    return summary


# --- 1. kill -9 of every worker, twice, mid-load -----------------------------------------------


async def test_kill9_workers_twice_with_200_tickets_in_flight(
    client: Client, server: EmbeddedServer, tmp_path: Path, system: DepartmentSystem, figures: Figures
) -> None:
    count = 200
    tickets = fault_tickets(count)
    first, second = tickets[: count // 2], tickets[count // 2 :]
    async with rigged("kill9_workers", client, server, tmp_path, system, figures, patience_s=300) as rig:
        desk, fleet = rig.desk, rig.fleet

        async def kill_and_restart(name: str) -> list[str]:
            on_the_wire = system.held_keys()
            moment = rig.at() | {"deliveries_on_the_wire": len(on_the_wire)}
            codes = await fleet.kill()
            system.release()
            assert codes == [-signal.SIGKILL] * 3, codes
            restart_s = await fleet.start()
            rig.faults.append({"fault": name, **moment, "restart_s": round(restart_s, 1)})
            assert moment["tickets"]["in_flight"] > 0
            return on_the_wire

        # Tickets wait on the centre's queue while the workers start.
        desk.spawn(desk.submit_all(first))
        rig.result["worker_startup_s"] = round(await fleet.start(), 1)
        await desk.until(
            lambda: len(desk.called_back) >= 5 and len(desk.started) - len(desk.called_back) >= 5,
            "the first fault's moment",
        )
        # Early: the first hundred at every step, the second hundred being submitted, and the
        # department system holding its answers back, so that deliveries are on the wire at the kill.
        system.hold()
        submitting = desk.spawn(desk.submit_all(second))
        await desk.until(lambda: len(system.held_keys()) >= 3, "deliveries on the wire", seconds=60)
        on_the_wire = await kill_and_restart("kill -9 of the centre's and both departments' workers, early")
        # Late: half closed, the rest anywhere from 派遣中 (a delivery lost at the first kill waits out
        # its 30 s activity timeout) to 待回访.
        await desk.until(lambda: len(desk.called_back) >= count // 2, "the second fault's moment")
        await kill_and_restart("kill -9 of the centre's and both departments' workers, late")
        await desk.until(submitting.done, "every ticket submitted")
        rig.result |= await finish(rig, tickets)
        # Each delivery on the wire at the first kill reached the system, but the workflow never
        # heard: it was sent again after the activity's timeout, under the same key, and the system
        # counted a redelivery.
        assert len(on_the_wire) >= 3
        assert all(system.posts_by_key[key] >= 2 for key in on_the_wire)
        assert rig.result["downstream"]["redeliveries"] >= len(on_the_wire)
        assert rig.result["tickets_delivery_retried"] >= len(on_the_wire)


# --- 2. the embedded server stopped and restarted mid-load ---------------------------------------


async def test_server_stopped_and_killed_mid_load_everything_continues(
    client: Client, server: EmbeddedServer, tmp_path: Path, system: DepartmentSystem, figures: Figures
) -> None:
    count = 60
    tickets = fault_tickets(count)
    async with rigged("server_restart", client, server, tmp_path, system, figures, patience_s=240) as rig:
        desk, fleet = rig.desk, rig.fleet

        async def outage(name: str, stop: Callable[[], None]) -> None:
            moment = rig.at()
            down = time.monotonic()
            stop()
            stopped_s = time.monotonic() - down
            server.start()
            await server.wait_ready()
            down_s = time.monotonic() - down
            rig.faults.append(
                {"fault": name, **moment, "server_stop_s": round(stopped_s, 1), "server_down_s": round(down_s, 1)}
            )
            assert moment["tickets"]["in_flight"] > 0

        def kill_server() -> None:
            assert server.process is not None
            server.process.kill()
            server.process.wait()

        submitting = desk.spawn(desk.submit_all(tickets))
        rig.result["worker_startup_s"] = round(await fleet.start(), 1)
        await desk.until(
            lambda: len(desk.called_back) >= 10 and len(desk.started) - len(desk.called_back) >= 5,
            "the first outage's moment",
        )
        await outage("embedded server stopped (SIGTERM) and started again on its data folder", server.stop)
        await desk.until(lambda: len(desk.called_back) >= count * 6 // 10, "the second outage's moment")
        await outage("embedded server killed (SIGKILL) and started again on its data folder", kill_server)
        await desk.until(submitting.done, "every ticket submitted")
        rig.result |= await finish(rig, tickets)
        # The same worker processes throughout: they reconnected, none died or was restarted.
        assert [w.starts for w in fleet.workers] == [1, 1, 1]


# --- 3. a configuration file broken on disk --------------------------------------------------------


async def refused(config_file: Path, address: str, *args: str) -> tuple[int, str, float]:
    """`python worker.py ARGS` against the broken file: its exit code, stderr and time taken."""
    env = {**os.environ, "TEMPORAL_ADDRESS": address, CONFIG_ENV: str(config_file)}
    begun = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        *dying_with_parent([sys.executable, "worker.py", *args]),
        cwd=ROOT,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        _, err = await asyncio.wait_for(process.communicate(), timeout=120)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, err.decode(errors="replace"), round(time.monotonic() - begun, 1)


def broken_yaml(good: str) -> tuple[str, str]:
    """The file with one line that is not YAML in the middle; what the message must name."""
    lines = good.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("departments:"))
    lines.insert(at, "routes: 市容环卫: cgj")  # a second ': ' on one line: not YAML
    return "\n".join(lines) + "\n", f"line {at + 1} not valid YAML"


def unknown_department(raw: dict[str, Any]) -> tuple[str, str]:
    broken = copy.deepcopy(raw)
    i = next(i for i, line in enumerate(broken["catalogue"]) if line["department"] == "cgj")
    broken["catalogue"][i]["department"] = "xyz"
    return yaml.safe_dump(broken, allow_unicode=True, sort_keys=False), f"catalogue.{i}.department: unknown 'xyz'"


def missing_field(raw: dict[str, Any]) -> tuple[str, str]:
    broken = copy.deepcopy(raw)
    del broken["departments"][1]["name"]
    return yaml.safe_dump(broken, allow_unicode=True, sort_keys=False), "departments.1.name: Field required"


async def test_broken_config_refused_while_running_workers_finish_their_tickets(
    client: Client, server: EmbeddedServer, tmp_path: Path, system: DepartmentSystem, figures: Figures
) -> None:
    tickets = fault_tickets(30)
    before, after = tickets[:20], tickets[20:]  # submitted before the file breaks, and while it is broken
    async with rigged("broken_config", client, server, tmp_path, system, figures, patience_s=180) as rig:
        desk, fleet = rig.desk, rig.fleet
        good = rig.config_file.read_text(encoding="utf-8")
        # Each breakage, what its one line must name, and who tries to start against it.
        breakages = [
            ("invalid YAML", *broken_yaml(good), [["--center"], ["--department", "cgj"]]),
            ("unknown department in a route", *unknown_department(rig.raw), [["--department", "zjj"]]),
            ("missing field", *missing_field(rig.raw), [["--center"]]),
        ]
        refusals: list[dict[str, Any]] = rig.result.setdefault("refusals", [])
        desk.spawn(desk.submit_all(before))
        rig.result["worker_startup_s"] = round(await fleet.start(), 1)
        await desk.until(
            lambda: len(desk.called_back) >= 5 and len(desk.started) - len(desk.called_back) >= 5,
            "tickets in flight",
        )
        for what, text, expected, starts in breakages:
            rig.faults.append({"fault": f"configuration file broken on disk: {what}", **rig.at()})
            rig.config_file.write_text(text, encoding="utf-8")
            if len(rig.faults) == 1:
                desk.spawn(desk.submit_all(after))  # new tickets while the file is broken
            runs = await asyncio.gather(*(refused(rig.config_file, server.address, *args) for args in starts))
            for args, (code, err, took) in zip(starts, runs, strict=True):
                refusals.append(
                    {"breakage": what, "args": " ".join(args), "exit": code, "message": err.strip(), "s": took}
                )
                assert code == 2, (what, args, err)
                assert "Traceback" not in err, err
                assert err.strip().count("\n") == 0, f"more than one line: {err!r}"
                assert err.startswith("错误：") and str(rig.config_file) in err and expected in err, err
        rig.result["tickets_submitted_while_broken"] = len(after)
        assert rig.faults[0]["tickets"]["in_flight"] > 0
        # The workers that were running before the file broke have not noticed.
        assert [w.running for w in fleet.workers] == [True] * 3
        rig.result |= await finish(rig, tickets)
        assert [w.starts for w in fleet.workers] == [1, 1, 1]
