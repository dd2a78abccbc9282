"""The fixture the pure tests share: the bundled district as `hotline` loads it (frozen, so one for
the session)."""

from __future__ import annotations

import pytest

from activities.runtime.settings import bundled_config_path, load_config
from domain.config import DistrictConfig
from tests.support.codec import no_keys  # noqa: F401 (a fixture: a key-less environment)


@pytest.fixture(scope="session")
def config() -> DistrictConfig:
    return load_config(bundled_config_path())
