"""``churnkb sandbox`` as a user runs it: a foreground process printing the exports to use."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading

import pytest
from churnkb.connectors.clients import hubspot_client, salesforce_client

from churnkb.commands.sandbox import READY_LINE


def _exports(process: subprocess.Popen) -> dict[str, str]:
    """Read stdout up to the ready line; collect ``export NAME=value``."""
    env: dict[str, str] = {}
    for line in process.stdout:
        line = line.strip()
        if line.startswith("export "):
            name, _, value = line.removeprefix("export ").partition("=")
            env[name] = value
        if line == READY_LINE:
            return env
    raise AssertionError(f"churnkb sandbox exited early: {process.stderr.read()}")


@pytest.fixture
def running_cli(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "CHURNKB_CONFIG"}
    process = subprocess.Popen(  # in an empty directory, so no local churnkb.yaml is read
        [sys.executable, "-m", "churnkb", "sandbox", "--accounts", "12", "--seed", "5"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    watchdog = threading.Timer(60, process.kill)  # a hung start fails the test instead of hanging it
    watchdog.start()
    try:
        yield process
    finally:
        watchdog.cancel()
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        process.stdout.close()
        process.stderr.close()


def test_cli_serves_both_crms_until_sigterm(running_cli):
    env = _exports(running_cli)
    assert set(env) == {"SALESFORCE_INSTANCE_URL", "SALESFORCE_ACCESS_TOKEN", "HUBSPOT_BASE_URL",
                        "HUBSPOT_ACCESS_TOKEN"}
    assert env["HUBSPOT_BASE_URL"].startswith("http://127.0.0.1:")
    hubspot = hubspot_client(env["HUBSPOT_BASE_URL"], env["HUBSPOT_ACCESS_TOKEN"])
    assert hubspot.crm.companies.basic_api.get_page(limit=5).results
    salesforce = salesforce_client(env["SALESFORCE_INSTANCE_URL"], env["SALESFORCE_ACCESS_TOKEN"])
    assert salesforce.query("SELECT Id, Name FROM Account")["totalSize"] > 0

    running_cli.send_signal(signal.SIGTERM)
    assert running_cli.wait(timeout=15) == 0
    assert "sandboxes stopped" in running_cli.stderr.read()


def test_cli_rejects_an_unknown_fault_with_a_clear_message():
    result = subprocess.run([sys.executable, "-m", "churnkb", "sandbox", "--faults", "explode_every=3"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "unknown fault 'explode_every'" in result.stderr and result.stdout == ""


def test_cli_help_documents_the_options():
    result = subprocess.run([sys.executable, "-m", "churnkb", "sandbox", "--help"],
                            capture_output=True, text=True, timeout=60)
    for option in ("--accounts", "--seed", "--faults", "--salesforce-port", "--hubspot-port",
                   "--hubspot-without-scope"):
        assert option in result.stdout


def test_sandboxes_context_serves_the_generated_world_and_stops():
    from churnkb.sandbox.run import sandboxes

    with sandboxes(accounts=10, seed=2) as running:
        hubspot = hubspot_client(running.env["HUBSPOT_BASE_URL"], running.env["HUBSPOT_ACCESS_TOKEN"])
        live_deals = [d for d in running.world.hubspot_objects["deals"] if not d["archived"]]
        assert len(hubspot.crm.deals.basic_api.get_page(limit=100).results) == len(live_deals)
        assert running.exports()[0].startswith("export SALESFORCE_INSTANCE_URL=http://127.0.0.1:")
        url = running.env["HUBSPOT_BASE_URL"]
    with pytest.raises(Exception):  # noqa: B017 - stopped: any connection error will do
        hubspot_client(url, "sandbox-hubspot-token").crm.deals.basic_api.get_page()


def test_sandboxes_with_a_token_lacking_a_scope_refuse_only_that_object():
    from churnkb.sandbox.run import sandboxes
    from hubspot.crm.objects.exceptions import ApiException

    with sandboxes(accounts=10, seed=2,
                   hubspot_missing_scopes=("crm.objects.feedback_submissions.read",)) as running:
        hubspot = hubspot_client(running.env["HUBSPOT_BASE_URL"], running.env["HUBSPOT_ACCESS_TOKEN"])
        assert hubspot.crm.deals.basic_api.get_page(limit=5).results
        with pytest.raises(ApiException) as refused:
            hubspot.crm.objects.basic_api.get_page("feedback_submissions")
        assert refused.value.status == 403 and "MISSING_SCOPES" in str(refused.value.body)
