"""The fixtures the server tests share: the district's configuration and its workers.

`config` is the bundled district with fresh task queues and file inboxes under the test's tmp_path;
`@pytest.mark.district(**overrides)` (on a test or a module's `pytestmark`) passes keyword
arguments to `make_config` (`adapters={...}`, `red_service=...`, ...).

`workers` runs the centre's worker and the departments' for the test, on the time-skipping server
when the test uses `env`, otherwise on the shared dev server (`client`).
`@pytest.mark.workers(departments=[...])` chooses the departments (default: all of them);
`@pytest.mark.workers(replaying=True)` caches no workflow, so every task replays its whole history and
a non-determinism fails the test where it happens (`replaying_workers`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client

from domain.config import DistrictConfig
from tests.support.district import make_config
from tests.support.helpers import replaying_workers
from tests.support.web_pages import pages  # noqa: F401 (a fixture: the web app on a dev server of its own)
from worker import build_workers


def _marked(request: pytest.FixtureRequest, name: str) -> dict[str, Any]:
    """The keyword arguments of a marker, the closest (the test's own) winning over the module's."""
    found: dict[str, Any] = {}
    for marker in reversed(list(request.node.iter_markers(name))):
        found.update(marker.kwargs)
    return found


@pytest.fixture
def config(request: pytest.FixtureRequest, tmp_path: Path) -> DistrictConfig:
    return make_config(tmp_path, **_marked(request, "district"))


@pytest.fixture
async def workers(request: pytest.FixtureRequest, config: DistrictConfig) -> AsyncIterator[None]:
    wanted = _marked(request, "workers")
    client: Client = (
        request.getfixturevalue("env").client if "env" in request.fixturenames else (request.getfixturevalue("client"))
    )
    if wanted.get("replaying"):
        async with replaying_workers(client, config):
            yield
        return
    departments = wanted.get("departments") or [d.code for d in config.departments]
    async with build_workers(client, config, departments=departments, center=True):
        yield
