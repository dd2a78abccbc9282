"""Worker versioning with Temporal's Worker Deployments (docs/upgrade.md).

With `--versioning`, the centre's worker joins the deployment `hotline-center` as version
`<package version>` (the build id). Each workflow type says what happens to its open runs when a new
version becomes current:
- AUTO_UPGRADE (the worker's default; tickets, whistles, meetings, campaigns, enterprise services):
  they live for days to months, so they move to the new build at their next task; the new code must
  replay their histories (`hotline upgrade check`) and guard changed behaviour with `workflow.patched()`.
- PINNED (ReportWorkflow, set on its `@workflow.defn`): a run lasts minutes, so it finishes on the
  build it began on and needs no patch; the old worker runs until the drained version has none left.
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
