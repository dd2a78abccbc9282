"""Where the configuration and the Temporal connection come from: flags, then the environment,
then defaults. Shared by worker.py and the CLI."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from temporalio.client import Client
from temporalio.converter import DataConverter
from temporalio.envconfig import ClientConfig
from temporalio.runtime import Runtime

from activities.runtime.codec import converter_from_environment
from activities.runtime.keys import KeyRingError
from activities.runtime.tracing import client_interceptors, configure_tracing
from domain.config import CalendarSettings, DepartmentSite, DistrictConfig, describe_validation_error
from domain.models import Actor

CONFIG_ENV = "HOTLINE_CONFIG"
DEFAULT_ADDRESS = "localhost:7233"


class ConfigError(Exception):
    """A configuration that cannot be used; the message is one line naming the file and key."""


def bundled_config_path() -> Path:
    return Path(str(resources.files("domain").joinpath("data/haibowan.yaml")))


def config_path(flag: str | Path | None = None) -> Path:
    chosen = flag or os.environ.get(CONFIG_ENV)
    return Path(chosen) if chosen else bundled_config_path()


def read_utf8(path: Path) -> str:
    """A configuration file's text; one line if it is not UTF-8 (saved as GBK, or cut mid-character)."""
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        cut = (
            "cut in the middle of a character" if err.end == len(raw) and err.reason == "unexpected end of data" else ""
        )
        why = cut or "not UTF-8 text (saved as GBK? save it as UTF-8)"
        raise ConfigError(f"{path}: line {line}: {why} (byte {err.start + 1})") from None


def _read_mapping(path: Path) -> dict[str, Any]:
    try:
        raw: Any = yaml.safe_load(read_utf8(path))
    except OSError as err:
        raise ConfigError(f"{path}: cannot read: {err.strerror}") from err
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}:{where} not valid YAML") from err
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return raw


def load_config(flag: str | Path | None = None) -> DistrictConfig:
    path = config_path(flag)
    raw = _read_mapping(path)
    try:
        config = DistrictConfig.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(describe_validation_error(str(path), err)) from err
    return _with_calendar_overrides(config, path)


def load_department_site(path: Path) -> DepartmentSite:
    """A department's own configuration file (单位配置, see docs/deploy.md)."""
    raw = _read_mapping(path)
    try:
        return DepartmentSite.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(describe_validation_error(str(path), err)) from err


def _with_calendar_overrides(config: DistrictConfig, path: Path) -> DistrictConfig:
    """Merge the calendar override file (relative to the configuration file) into the settings."""
    settings = config.calendar
    if not settings.override_file:
        return config
    override_path = (path.parent / settings.override_file).resolve()
    try:
        raw: Any = yaml.safe_load(read_utf8(override_path)) or {}
        extra = CalendarSettings.model_validate(raw)
    except OSError as err:
        raise ConfigError(f"{path}: calendar.override_file: cannot read {override_path}: {err.strerror}") from err
    except yaml.YAMLError as err:
        raise ConfigError(f"{override_path}: not valid YAML") from err
    except ValidationError as err:
        raise ConfigError(describe_validation_error(str(override_path), err)) from err
    merged = CalendarSettings(
        override_file=str(override_path),
        holidays=sorted({*settings.holidays, *extra.holidays}),
        workdays=sorted({*settings.workdays, *extra.workdays}),
        complete_years=sorted({*settings.complete_years, *extra.complete_years}),
        names={**settings.names, **extra.names},
    )
    return config.model_copy(update={"calendar": merged})


def actor_for(config: DistrictConfig, person_id: str) -> Actor:
    """Bind a person of the configuration to an Actor; unknown people are refused here."""
    try:
        return config.person(person_id).actor()
    except KeyError:
        raise ConfigError(f"actor: unknown person '{person_id}'") from None


def connect_options() -> dict[str, Any]:
    """Temporal's environment conventions (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY,
    TLS settings, TEMPORAL_PROFILE and temporal.toml), defaulting to localhost:7233."""
    options: dict[str, Any] = dict(ClientConfig.load_client_connect_config(profile=os.environ.get("TEMPORAL_PROFILE")))
    options.setdefault("target_host", DEFAULT_ADDRESS)
    if not options.get("target_host"):
        options["target_host"] = DEFAULT_ADDRESS
    return options


def address() -> str:
    return str(connect_options()["target_host"])


def converter() -> DataConverter:
    """The encrypting converter for the configured keys; no keys (and not HOTLINE_ENCRYPTION=off): one line."""
    try:
        return converter_from_environment()
    except KeyRingError as err:
        raise ConfigError(str(err)) from None


async def connect(
    target_host: str | None = None, namespace: str | None = None, runtime: Runtime | None = None
) -> Client:
    """`runtime`: a Temporal runtime of its own (a worker's, with its metrics exporter)."""
    options = connect_options()
    if target_host:
        options["target_host"] = target_host
    if namespace:
        options["namespace"] = namespace
    if runtime is not None:
        options["runtime"] = runtime
    if configure_tracing("hotline"):  # off unless OTEL_* configure it (activities/runtime/tracing.py)
        options["interceptors"] = [*options.get("interceptors", []), *client_interceptors()]
    return await Client.connect(**options, data_converter=converter())
