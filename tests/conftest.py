"""Test-session settings shared by every area.

Prefect gets a temporary PREFECT_HOME and quiet, offline settings before anything imports it;
dbt never phones home. Area fixtures live in tests/fixtures/<area>.py and are registered below.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from churnkb.flows.runtime import local_prefect_env

# The same quiet, offline settings `churnkb demo` uses, with Prefect's home in a temp dir.
os.environ.update(local_prefect_env(Path(tempfile.mkdtemp(prefix="churnkb-test-"))))
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
