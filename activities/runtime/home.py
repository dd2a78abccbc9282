"""Where an installed worker keeps its files: relative paths of the configuration (each department's
file inbox, the centre's notices, the city link's inbox, the reports) resolve against HOTLINE_HOME,
else against the configuration file's own folder; never against the working directory of whoever
started the process. HOTLINE_HOME also places the key file (HOTLINE_HOME/keys.json) unless
HOTLINE_KEYS_FILE or HOTLINE_KEYS says otherwise. Only the bundled sample with neither (a local
trial) keeps its paths relative to the current folder, as `hotline demo` and `hotline server` do.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from activities.runtime.keys import KEYS_ENV, KEYS_FILE_ENV
from activities.runtime.settings import CONFIG_ENV
from domain.config import DistrictConfig, FileInboxAdapter

HOME_ENV = "HOTLINE_HOME"


def home_dir(config_flag: str | Path | None = None) -> Path | None:
    """HOTLINE_HOME, else the folder of the configuration file in use; None for the bundled sample."""
    if os.environ.get(HOME_ENV):
        return Path(os.environ[HOME_ENV]).expanduser().resolve()
    chosen = config_flag or os.environ.get(CONFIG_ENV)
    return Path(chosen).expanduser().resolve().parent if chosen else None


def _under(base: Path, folder: str) -> str:
    path = Path(folder).expanduser()
    return str(path if path.is_absolute() else base / path)


def _adapter(adapter: Any, base: Path) -> Any:
    if isinstance(adapter, FileInboxAdapter):
        return adapter.model_copy(update={"folder": _under(base, adapter.folder)})
    return adapter


def with_paths_under(config: DistrictConfig, base: Path) -> DistrictConfig:
    """The configuration with every relative folder made absolute under `base`."""
    center = config.center.model_copy(
        update={
            "notifications": config.center.notifications.model_copy(
                update={"folder": _under(base, config.center.notifications.folder)}
            ),
            "city": config.center.city.model_copy(update={"adapter": _adapter(config.center.city.adapter, base)}),
        }
    )
    reports = config.reports.model_copy(
        update={
            "folder": _under(base, config.reports.folder),
            "recipients": [
                r.model_copy(update={"adapter": _adapter(r.adapter, base)}) for r in config.reports.recipients
            ],
        }
    )
    departments = [d.model_copy(update={"adapter": _adapter(d.adapter, base)}) for d in config.departments]
    return config.model_copy(update={"center": center, "reports": reports, "departments": departments})


def place_key_file() -> None:
    """HOTLINE_HOME/keys.json as the key file, unless the keys are configured otherwise."""
    if os.environ.get(HOME_ENV) and not os.environ.get(KEYS_FILE_ENV) and not os.environ.get(KEYS_ENV):
        os.environ[KEYS_FILE_ENV] = str(Path(os.environ[HOME_ENV]).expanduser().resolve() / "keys.json")
