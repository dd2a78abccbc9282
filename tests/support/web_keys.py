"""The web gateway's department keys, configured as the web tests do."""

from __future__ import annotations

from domain.config import DistrictConfig
from tests.support.fake_department import SECRET

CALLBACK_KEYS = {"cgj": "cgj-callback-key", "sw": "sw-callback-key", "gdgs": "gdgs-callback-key"}
CENTER_KEY = "centre-api-key-中心"
STHJ_KEY_ENV = "HOTLINE_TEST_STHJ_API_KEY"


def with_keys(config: DistrictConfig) -> DistrictConfig:
    """The centre's key; callback keys for cgj, sw, gdgs; sthj's from the environment; zjj has none of
    its own and uses its webhook adapter's secret."""
    departments = [
        d.model_copy(update={"callback_secret": CALLBACK_KEYS.get(d.code)})
        if d.code != "sthj"
        else d.model_copy(update={"callback_secret_env": STHJ_KEY_ENV})
        for d in config.departments
    ]
    center = config.center.model_copy(update={"api_secret": CENTER_KEY})
    return config.model_copy(update={"center": center, "departments": departments})


KEYS = {"center": CENTER_KEY, "zjj": SECRET, "sthj": "sthj-key-from-env", **CALLBACK_KEYS}
