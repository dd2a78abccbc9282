"""The bundled district as tests use it: its raw YAML, and a configuration with fresh task queues and
file inboxes under a test's own folder."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import yaml

from activities.runtime.settings import bundled_config_path
from domain.config import DistrictConfig


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
