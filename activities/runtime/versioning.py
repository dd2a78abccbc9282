"""Worker versioning with Temporal's Worker Deployments (docs/upgrade.md).

With `--versioning`, the centre's worker joins the deployment `hotline-center` as version
`<package version>` (the build id). Every workflow type runs AUTO_UPGRADE (the worker's default):
tickets, whistles, meetings, campaigns and enterprise services live for days to months, so their
open runs move to the new build at their next task; the new code must replay their histories
(`hotline upgrade check`) and guard changed behaviour with `workflow.patched()`. ReportWorkflow (a
run lasts minutes) would suit PINNED, but `@workflow.defn(versioning_behavior=PINNED)` stops its runs
on an unversioned worker (checked here: Server 1.32, temporalio 1.35), and workers run unversioned
unless this flag is given; docs/upgrade.md says why it stays AUTO_UPGRADE.
Department workers run only activities (no workflow code) and stay unversioned.
"""

from __future__ import annotations

from importlib import metadata

from temporalio.common import VersioningBehavior, WorkerDeploymentVersion
from temporalio.worker import WorkerDeploymentConfig

CENTER_DEPLOYMENT = "hotline-center"


def build_id() -> str:
    """The installed package's version: one build id per release."""
    try:
        return metadata.version("hotline")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "0+unknown"


def center_deployment() -> WorkerDeploymentConfig:
    return WorkerDeploymentConfig(
        version=WorkerDeploymentVersion(deployment_name=CENTER_DEPLOYMENT, build_id=build_id()),
        use_worker_versioning=True,
        default_versioning_behavior=VersioningBehavior.AUTO_UPGRADE,
    )
