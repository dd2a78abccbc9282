"""Build the adapter a department's configuration names."""

from __future__ import annotations

from temporalio.client import Client

from activities.adapters.base import CallbackSurvey, DepartmentAdapter, MessageSink, OperatorCallbacks
from activities.adapters.file_inbox import FileInboxDepartmentAdapter
from activities.adapters.simulated import SimulatedCallbacks, SimulatedDepartmentAdapter
from activities.adapters.webhook import WebhookDepartmentAdapter
from domain.config import (
    AdapterSettings,
    Department,
    DepartmentSite,
    DistrictConfig,
    FileInboxAdapter,
    SimulatedAdapter,
    SimulatedSurvey,
    WebhookAdapter,
)


def build_sink(settings: AdapterSettings) -> MessageSink:
    """The city centre's link: a file inbox or a webhook (a simulated city is a file inbox)."""
    if isinstance(settings, WebhookAdapter):
        return WebhookDepartmentAdapter(settings)
    if isinstance(settings, FileInboxAdapter):
        return FileInboxDepartmentAdapter(settings)
    raise TypeError(f"the city link cannot be {settings.type}")


def build_survey(config: DistrictConfig, client: Client) -> CallbackSurvey:
    """The callback channel the centre's configuration names: operators, or a simulated survey."""
    survey = config.center.callback
    if isinstance(survey, SimulatedSurvey):
        return SimulatedCallbacks(survey, config.person(survey.actor).actor(), client)
    return OperatorCallbacks()


def build_adapter(department: Department, config: DistrictConfig | DepartmentSite, client: Client) -> DepartmentAdapter:
    settings = department.adapter
    if isinstance(settings, WebhookAdapter):
        return WebhookDepartmentAdapter(settings)
    if isinstance(settings, FileInboxAdapter):
        return FileInboxDepartmentAdapter(settings)
    if isinstance(settings, SimulatedAdapter):
        return SimulatedDepartmentAdapter(settings, config.person(settings.actor).actor(), client)
    raise TypeError(f"no adapter for {settings!r}")
