"""Every workflow the centre's worker runs, in one list: the worker registers it, the replayer and the
audit replay with it, the upgrade check compares it.

It is a module of its own rather than `workflows/__init__.py` because the sandbox imports a
workflow's package each time it loads the workflow: a registry in the package would make every
ticket's run import all six workflow modules."""

from __future__ import annotations

from workflows.campaign import CampaignWorkflow
from workflows.enterprise import EnterpriseServiceWorkflow
from workflows.meeting import ConsultationMeetingWorkflow
from workflows.report import ReportWorkflow
from workflows.ticket import TicketWorkflow
from workflows.whistle import WhistleWorkflow

WORKFLOWS: list[type] = [
    TicketWorkflow,
    WhistleWorkflow,
    ConsultationMeetingWorkflow,
    CampaignWorkflow,
    EnterpriseServiceWorkflow,
    ReportWorkflow,
]


def workflow_type(cls: type) -> str:
    """The name a workflow class is registered under, as visibility queries spell it."""
    name: str = getattr(cls, "__temporal_workflow_definition").name
    return name
