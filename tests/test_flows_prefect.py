"""Flows run by the Prefect engine on the session's one test server (`prefect_harness`):
artifacts, retries that are skipped when pointless, and the failure channel."""

from __future__ import annotations

import json

import pytest
from churnkb.sandbox.run import sandboxes


def _artifact(key: str) -> list[dict]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))
    assert artifacts, f"no artifact with key {key}"
    data = artifacts[-1].data
    return json.loads(data) if isinstance(data, str) else data


def test_sync_flow_lands_raw_parquet_and_leaves_a_table_artifact(prefect_harness, tmp_path, monkeypatch):
    from churnkb.flows.churn import sync_hubspot

    with sandboxes(accounts=20, seed=5) as crms:
        for name, value in crms.env.items():
            monkeypatch.setenv(name, value)
        summary = sync_hubspot(data_dir=str(tmp_path))

    landed = {row["stream"]: row["landed"] for row in summary["rows"]}
    assert landed["deals"] > 0 and landed["companies"] > 0
    assert list((tmp_path / "raw" / "hubspot" / "deals").glob("*.parquet"))
    assert not (tmp_path / "warehouse.duckdb").exists(), "a sync must never write the warehouse"
    table = _artifact("sync-hubspot")
    assert {row["stream"]: row["landed"] for row in table} == landed
    assert crms.env["HUBSPOT_ACCESS_TOKEN"] not in json.dumps(table)


def test_a_failed_flow_tells_the_failure_channel_once_without_retrying(prefect_harness, tmp_path,
                                                                          monkeypatch):
    from churnkb.flows.churn import sync_salesforce

    monkeypatch.delenv("SALESFORCE_INSTANCE_URL", raising=False)
    monkeypatch.delenv("SALESFORCE_ACCESS_TOKEN", raising=False)
    state = sync_salesforce(data_dir=str(tmp_path), return_state=True)

    assert state.is_failed()
    assert "SALESFORCE_" in state.message
    notices = [json.loads(line) for line in
               (tmp_path / "outputs" / "failures" / "failures.jsonl").read_text().splitlines()]
    assert len(notices) == 1
    assert "sync-salesforce" in notices[0]["title"]
    assert "SALESFORCE_" in notices[0]["message"]
    # missing credentials fail the same way every time: one sync attempt, not three
    runs = [json.loads(line) for line in (tmp_path / "state" / "runs.jsonl").read_text().splitlines()]
    assert len(runs) == 1 and runs[0]["status"] == "failed"


def test_the_pipeline_rejects_an_unknown_publisher_before_syncing(prefect_harness, tmp_path):
    from churnkb.flows.churn import churn_pipeline

    state = churn_pipeline(data_dir=str(tmp_path), publishers=["newsletter"], return_state=True)
    assert state.is_failed()
    assert "newsletter" in state.message
    assert not (tmp_path / "raw").exists()


@pytest.fixture(autouse=True)
def _no_crm_env(monkeypatch):
    for name in ("SALESFORCE_INSTANCE_URL", "SALESFORCE_ACCESS_TOKEN", "HUBSPOT_BASE_URL",
                 "HUBSPOT_ACCESS_TOKEN"):
        monkeypatch.delenv(name, raising=False)


def test_a_failed_pipeline_sends_one_notice_naming_every_failed_step(prefect_harness, tmp_path,
                                                                      monkeypatch):
    from churnkb.flows.churn import churn_pipeline

    for name in ("SALESFORCE_INSTANCE_URL", "SALESFORCE_ACCESS_TOKEN", "HUBSPOT_ACCESS_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    state = churn_pipeline(data_dir=str(tmp_path), publishers=["all"], return_state=True)

    assert state.is_failed()
    notices = [json.loads(line) for line in
               (tmp_path / "outputs" / "failures" / "failures.jsonl").read_text().splitlines()]
    assert len(notices) == 1, notices
    assert "churn-pipeline" in notices[0]["title"]
    assert "sync-salesforce" in notices[0]["message"] and "sync-hubspot" in notices[0]["message"]


def test_a_library_error_quoting_a_secret_never_reaches_the_prefect_api(prefect_harness, tmp_path,
                                                                          monkeypatch):
    """An exception our steps did not word (here a client library's, quoting its request URL)
    escapes a task: the task's and the flow's state messages, stored by the Prefect API, and the
    failure notice carry it masked."""
    from pathlib import Path

    from churnkb.flows import churn, steps
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.settings import PREFECT_SERVER_DATABASE_CONNECTION_URL

    secret = "x9-library-leak-4c1d2e3f"
    monkeypatch.setenv("ACME_WAREHOUSE_TOKEN", secret)

    def failing_build(*args, **kwargs):
        raise ConnectionError(f"GET https://api.acme.example/v1/refresh?token={secret} failed")

    monkeypatch.setattr(steps, "run_build", failing_build)
    state = churn.build_warehouse(data_dir=str(tmp_path), return_state=True)
    assert state.is_failed() and "ConnectionError" in state.message
    with get_client(sync_client=True) as client:
        flow_run = client.read_flow_run(state.state_details.flow_run_id)
        task_runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run.id])))
    messages = [flow_run.state.message] + [run.state.message for run in task_runs]
    assert any("token=***" in (m or "") for m in messages), messages
    assert not any(secret in (m or "") for m in messages), messages
    database = Path(PREFECT_SERVER_DATABASE_CONNECTION_URL.value().split(":///", 1)[1])
    assert not any(secret.encode() in p.read_bytes() for p in database.parent.glob("prefect-test.db*"))
    notices = (tmp_path / "outputs" / "failures" / "failures.jsonl").read_text()
    assert "build-warehouse" in notices and secret not in notices
