"""Prefect settings for running flows on one machine (`churnkb demo`, `churnkb run`).

They must be in the environment before Prefect is imported, so the CLI calls
`apply_local_prefect_env` first and imports `flows.churn` after. Anything the user already set
wins (setdefault), e.g. a `PREFECT_API_URL` pointing at a real server.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def local_prefect_env(data_dir: Path) -> dict[str, str]:
    """Quiet, offline settings; Prefect's home (its SQLite DB) under the data directory."""
    return {
        "PREFECT_HOME": str(data_dir / ".prefect"),
        # a fresh-DB start of the ephemeral server is close to the 20 s default on 2 cores
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "PREFECT_SERVER_LOGGING_LEVEL": "CRITICAL",
        "PREFECT_LOGGING_TO_API_ENABLED": "false",
        # prefect-dbt derives dbt's level from PREFECT_LOGGING_LEVEL ('warning' is invalid for dbt)
        "DBT_LOG_LEVEL": "warn",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }


def apply_local_prefect_env(data_dir: Path) -> None:
    """Set the local settings and create the folders they name (a new data dir has none)."""
    for name, value in local_prefect_env(data_dir).items():
        os.environ.setdefault(name, value)
    Path(os.environ["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)


@contextmanager
def without_heartbeat() -> Iterator[None]:
    """Flow-run heartbeats cost ~1 s per flow at exit and only matter to a server watching for
    crashed runs; the env var cannot switch them off, temporary_settings can."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield
