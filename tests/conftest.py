"""Test-session settings shared by every area.

Prefect gets a temporary PREFECT_HOME and quiet, offline settings before anything imports it;
dbt never phones home. Area fixtures live in tests/fixtures/<area>.py and are registered below.
"""

from __future__ import annotations

import os
import tempfile

_PREFECT_HOME = tempfile.mkdtemp(prefix="churnkb-prefect-home-")
os.environ.update(
    {
        "PREFECT_HOME": _PREFECT_HOME,
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "PREFECT_SERVER_LOGGING_LEVEL": "CRITICAL",
        "PREFECT_LOGGING_TO_API_ENABLED": "false",
        "DBT_LOG_LEVEL": "warn",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
)
for _name in ("PREFECT_API_URL", "CHURNKB_CONFIG", "CHURNKB_DATA_DIR", "SALESFORCE_INSTANCE_URL",
              "SALESFORCE_ACCESS_TOKEN", "HUBSPOT_BASE_URL", "HUBSPOT_ACCESS_TOKEN"):
    os.environ.pop(_name, None)

pytest_plugins = [
    "fixtures.sandbox",
    "fixtures.connectors",
    "fixtures.warehouse",
    "fixtures.publishers",
    "fixtures.flows",
]
