"""Flows area, plain functions only (no Prefect engine): schedules, deployment table, demo dir."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from churnkb.flows.deployments import DEPLOYMENTS
from churnkb.flows.schedule import (
    PUBLISHERS,
    ScheduleError,
    cron_matches,
    due_publishers,
    fired_within,
    select_publishers,
)
from churnkb.flows.steps import StepFailed, check_sync, safe_text

from churnkb.commands.pipeline import DEMO_MARKER, DemoDirError, prepare_demo_dir

REPO = Path(__file__).resolve().parents[1]
MONDAY_0700 = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


# --- schedules -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "moment", "expected"),
    [
        ("0 7 * * 1", MONDAY_0700, True),
        ("0 7 * * 1", MONDAY_0700 + timedelta(days=1), False),
        ("*/15 9-17 * * 1-5", datetime(2026, 11, 24, 9, 45), True),
        ("*/15 9-17 * * 1-5", datetime(2026, 11, 29, 9, 45), False),  # Sunday
        ("0 0 1 * 0", datetime(2026, 11, 1, 0, 0), True),  # both day fields set: either matches
        ("0 0 1 * 7", datetime(2026, 11, 8, 0, 0), True),  # 7 is Sunday too
        ("5,35 * * * *", datetime(2026, 11, 24, 3, 35), True),
    ],
)
def test_cron_matches(expr, moment, expected):
    assert cron_matches(expr, moment) is expected


@pytest.mark.parametrize("expr", ["0 7 * *", "61 * * * *", "a * * * *", "0 7 * * 1/0"])
def test_bad_cron_names_the_expression(expr):
    with pytest.raises(ScheduleError, match="cron"):
        cron_matches(expr, MONDAY_0700)


def test_hourly_pipeline_publishes_what_fired_in_the_last_hour():
    assert due_publishers({}, MONDAY_0700 + timedelta(minutes=20), HOUR) == ["alerts", "digests"]
    assert due_publishers({}, MONDAY_0700 + timedelta(hours=1, minutes=20), HOUR) == ["reengagement"]
    assert due_publishers({}, MONDAY_0700 + timedelta(days=1, minutes=5), HOUR) == ["alerts"]
    assert due_publishers({}, MONDAY_0700 - timedelta(minutes=1), HOUR) == []


def test_schedules_are_read_in_the_configured_time_zone():
    # 07:00 in Berlin (winter, UTC+1) is 06:00 UTC
    assert fired_within("0 7 * * *", datetime(2026, 11, 24, 6, 10, tzinfo=UTC), HOUR, "Europe/Berlin")
    assert not fired_within("0 7 * * *", datetime(2026, 11, 24, 7, 10, tzinfo=UTC), HOUR, "Europe/Berlin")
    with pytest.raises(ScheduleError, match="Mars/Olympus"):
        fired_within("0 7 * * *", MONDAY_0700, HOUR, "Mars/Olympus")


def test_config_schedule_overrides_the_default():
    assert due_publishers({"digests": "0 7 * * 2"}, MONDAY_0700, HOUR) == ["alerts"]


def test_explicit_publishers_win_over_the_schedule():
    assert select_publishers(None, ["alerts"]) == ["alerts"]
    assert select_publishers(["all"], []) == list(PUBLISHERS)
    assert select_publishers(["reengagement", "digests"], []) == ["digests", "reengagement"]
    with pytest.raises(ScheduleError, match="newsletter"):
        select_publishers(["newsletter"], [])


# --- step logic ----------------------------------------------------------------------------------


def test_failed_sync_raises_with_stream_reasons_and_no_secret(monkeypatch):
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", "pat-secret-123")
    summary = {"source": "hubspot", "status": "failed", "message": "",
               "rows": [{"stream": "deals", "status": "failed", "message": "401 for token pat-secret-123"},
                        {"stream": "notes", "status": "success", "message": ""}]}
    with pytest.raises(StepFailed) as caught:
        check_sync(summary)
    assert "deals: 401" in str(caught.value)
    assert "pat-secret-123" not in str(caught.value)
    assert "notes" not in str(caught.value)


def test_partial_sync_is_not_a_failure():
    check_sync({"source": "salesforce", "status": "partial", "message": "quota", "rows": []})


def test_safe_text_redacts_tokens(monkeypatch):
    monkeypatch.setenv("SALESFORCE_ACCESS_TOKEN", "00Dxx!sessiontoken")
    assert safe_text("auth 00Dxx!sessiontoken failed") == "auth *** failed"


# --- prefect.yaml follows the deployment table ----------------------------------------------------


def _prefect_yaml() -> dict:
    return yaml.safe_load((REPO / "prefect.yaml").read_text())


def test_prefect_yaml_has_a_deployment_per_flow_matching_the_table():
    deployments = {d["name"]: d for d in _prefect_yaml()["deployments"]}
    assert set(deployments) == {spec.name for spec in DEPLOYMENTS}
    for spec in DEPLOYMENTS:
        deployment = deployments[spec.name]
        assert deployment["entrypoint"] == spec.entrypoint
        crons = [s["cron"] for s in deployment["schedules"]]
        assert crons == ([spec.cron] if spec.cron else [])
        assert all(s["timezone"] for s in deployment["schedules"])
        assert deployment["work_pool"]["name"] == "churnkb-process"
        assert deployment["concurrency_limit"]


def test_prefect_yaml_entrypoints_exist():
    import churnkb.flows.churn as churn

    for spec in DEPLOYMENTS:
        assert (REPO / spec.entrypoint.split(":")[0]).exists()
        assert hasattr(churn, spec.flow_function)


def test_pull_step_uses_the_clone_directory_recorded_at_deploy_time():
    config = _prefect_yaml()
    build_ids = [step["prefect.deployments.steps.run_shell_script"]["id"] for step in config["build"]]
    pull = config["pull"][0]["prefect.deployments.steps.set_working_directory"]["directory"]
    assert pull == "{{ " + build_ids[0] + ".stdout }}"


# --- demo data directory -------------------------------------------------------------------------


def test_demo_dir_is_created_and_marked(tmp_path):
    data_dir = tmp_path / "data"
    prepare_demo_dir(data_dir)
    assert (data_dir / DEMO_MARKER).exists()


def test_demo_dir_replaces_earlier_demo_output_but_keeps_prefect_home(tmp_path):
    prepare_demo_dir(tmp_path)
    (tmp_path / "raw" / "salesforce").mkdir(parents=True)
    (tmp_path / "warehouse.duckdb").write_text("old")
    (tmp_path / ".prefect").mkdir()
    (tmp_path / ".prefect" / "prefect.db").write_text("db")
    prepare_demo_dir(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".churnkb-demo", ".prefect"]
    assert (tmp_path / ".prefect" / "prefect.db").read_text() == "db"


def test_demo_refuses_a_data_dir_with_other_data(tmp_path):
    (tmp_path / "warehouse.duckdb").write_text("precious")
    with pytest.raises(DemoDirError, match="--data-dir"):
        prepare_demo_dir(tmp_path)
    assert (tmp_path / "warehouse.duckdb").read_text() == "precious"


def test_serve_without_a_server_says_so(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "PREFECT_HOME": str(tmp_path / "ph"), "HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-m", "churnkb", "serve"], capture_output=True, text=True,
                         env=env, cwd=tmp_path, timeout=120)
    assert out.returncode == 2
    assert "needs a running Prefect server" in out.stderr
    assert "prefect server start" in out.stderr


def test_serve_with_nothing_listening_says_so(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "PREFECT_HOME": str(tmp_path / "ph"), "HOME": str(tmp_path),
           "PREFECT_API_URL": "http://127.0.0.1:9/api"}
    out = subprocess.run([sys.executable, "-m", "churnkb", "serve"], capture_output=True, text=True,
                         env=env, cwd=tmp_path, timeout=120)
    assert out.returncode == 2
    assert "nothing answers at http://127.0.0.1:9/api" in out.stderr


def test_one_failed_stream_in_a_partial_run_fails_the_sync():
    summary = {"source": "salesforce", "status": "partial", "message": "",
               "rows": [{"stream": "case", "status": "failed", "message": "HTTP 500 after 6 attempts"},
                        {"stream": "account", "status": "success", "message": ""}]}
    with pytest.raises(StepFailed, match="case: HTTP 500"):
        check_sync(summary)


def test_a_source_that_cannot_open_is_not_retried():
    from churnkb.flows.steps import NotRetryable

    summary = {"source": "hubspot", "status": "failed", "rows": [],
               "message": "set the environment variable HUBSPOT_ACCESS_TOKEN"}
    with pytest.raises(NotRetryable, match="HUBSPOT_ACCESS_TOKEN"):
        check_sync(summary)


def test_demo_summary_lists_what_was_synced_and_where_digests_went(tmp_path):
    from churnkb.flows.summary import published_targets, readable_digest, synced_lines

    (tmp_path / "finance.md").write_text("# digest")
    result = {
        "syncs": {"hubspot": {"rows": [{"stream": "deals", "landed": 309, "quarantined": 2}]}},
        "published": {"digests": {"rows": [
            {"status": "sent", "target": str(tmp_path / "finance.html"), "channel": "file"},
            {"status": "skipped", "target": str(tmp_path / "product.html"), "channel": "file"},
        ]}},
    }
    assert "hubspot" in synced_lines(result)[1] and "309, 2 quarantined" in synced_lines(result)[1]
    targets = published_targets(result, "digests")
    assert targets == [str(tmp_path / "finance.html")]
    assert readable_digest(targets[0]) == str(tmp_path / "finance.md")


def test_failed_build_and_failed_sends_fail_their_flows_with_the_reason():
    from churnkb.flows.steps import check_build, check_publish

    check_build({"success": True, "duration_s": 3.0, "failures": []})
    with pytest.raises(StepFailed, match="fct_churn_events"):
        check_build({"success": False, "duration_s": 3.0, "failures": ["fct_churn_events"]})
    with pytest.raises(StepFailed, match="dbt.log"):
        check_build({"success": False, "duration_s": 0.1, "failures": []})
    check_publish({"publisher": "digests", "sent": 2, "failed": 0, "rows": []})
    with pytest.raises(StepFailed, match="digests: 1 send"):
        check_publish({"publisher": "digests", "sent": 2, "failed": 1, "rows": []})
