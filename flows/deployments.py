"""The deployment table: one entry per flow with its schedule.

`prefect.yaml` (workers, `prefect deploy --all`) and `churnkb serve` (one process) both follow
this table; a test keeps the two in step. Times are UTC unless `CHURNKB_SCHEDULE_TIMEZONE` says
otherwise for `churnkb serve` (prefect.yaml has its own `timezone:` keys).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

SCHEDULE_TIMEZONE = "UTC"


@dataclass(frozen=True)
class DeploymentSpec:
    name: str
    flow_function: str  # attribute of flows.churn; entrypoint flows/churn.py:<flow_function>
    cron: str | None  # None: run on demand only
    description: str

    @property
    def entrypoint(self) -> str:
        return f"flows/churn.py:{self.flow_function}"


DEPLOYMENTS: tuple[DeploymentSpec, ...] = (
    DeploymentSpec("sync-salesforce-hourly", "sync_salesforce", "5 * * * *", "Salesforce into the raw zone"),
    DeploymentSpec("sync-hubspot-hourly", "sync_hubspot", "5 * * * *", "HubSpot into the raw zone"),
    # after the syncs (they take minutes, not half an hour); the build waits for any reader anyway
    DeploymentSpec("build-warehouse-hourly", "build_warehouse", "35 * * * *", "dbt build of the warehouse"),
    DeploymentSpec("publish-alerts-daily", "publish_alerts", "0 7 * * *", "offboarding alerts"),
    DeploymentSpec("publish-digests-weekly", "publish_digests", "0 7 * * 1", "departmental digests"),
    DeploymentSpec("publish-reengagement-weekly", "publish_reengagement", "0 8 * * 1", "win-back list"),
    DeploymentSpec("churn-pipeline", "churn_pipeline", None, "everything in order, on demand"),
)

SERVED_SUFFIX = "-served"  # served names differ from prefect.yaml's so the two never overwrite each other


def served_deployments(parameters: dict[str, Any] | None = None) -> list[Any]:
    """RunnerDeployments for `prefect.serve`, with the table's schedules."""
    from churnkb.flows import churn
    from prefect.schedules import Cron

    timezone = os.environ.get("CHURNKB_SCHEDULE_TIMEZONE", SCHEDULE_TIMEZONE)
    deployments = []
    for spec in DEPLOYMENTS:
        flow_obj = getattr(churn, spec.flow_function)
        schedules = [Cron(spec.cron, timezone=timezone)] if spec.cron else []
        deployments.append(flow_obj.to_deployment(
            name=spec.name + SERVED_SUFFIX, schedules=schedules, parameters=parameters or {},
            description=spec.description, concurrency_limit=1,
        ))
    return deployments
