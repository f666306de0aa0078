"""Salesforce connector against the sandbox org, through simple-salesforce (issue 3)."""

from __future__ import annotations

import dataclasses
import json

from churnkb.connectors.sync import sync_source
from churnkb.sandbox.faults import Faults
from churnkb.sandbox.salesforce_server import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_TOKEN,
)
from fixtures.connectors import assert_salesforce_matches_store, landed, next_second, row_count

from churnkb.cli import main

SMALL_PAGES = {"salesforce": {"page_size": 200, "batch_records": 150}}


def query_requests(sandbox, start: int = 0) -> list:
    return [r for r in sandbox.request_log[start:] if "/query" in r.path]


def test_reconciles_exactly_with_faults_on(connector_world, monkeypatch):
    faults = Faults(rate_limit_every=5, retry_after_s=0, error_every=7, latency_ms=1,
                    expire_session_after=12, mutate_during_paging=2)
    world = connector_world(accounts=80, sf_faults=faults, sources=SMALL_PAGES)
    monkeypatch.setenv("SALESFORCE_CLIENT_ID", DEFAULT_CLIENT_ID)
    monkeypatch.setenv("SALESFORCE_CLIENT_SECRET", DEFAULT_CLIENT_SECRET)

    first = sync_source("salesforce", world.config)
    assert first.status == "success", first.rows()
    statuses = [r.status for r in world.salesforce.request_log]
    assert {401, 500, 503} <= set(statuses), statuses  # the faults really happened and were survived
    # Records changed while we paged are newer than this run's window: the next run gets them.
    world.salesforce.faults = dataclasses.replace(faults, mutate_during_paging=0)
    next_second()
    second = sync_source("salesforce", world.config)
    assert second.status == "success", second.rows()

    assert_salesforce_matches_store(world)
    deleted = [r for r in world.salesforce.store["Task"].values() if r["IsDeleted"]]
    assert deleted, "the world should hold deleted tasks"
    rows = landed(world, "salesforce", "task", "Id")
    assert all(rows[r["Id"]]["IsDeleted"] == "true" for r in deleted)


def test_second_run_fetches_only_the_modified_records(connector_world):
    world = connector_world(accounts=80)
    assert sync_source("salesforce", world.config).ok
    before = row_count(world, "salesforce", "account")
    touched = world.salesforce.touch("Account", 7)
    next_second()
    log_start = len(world.salesforce.request_log)

    report = sync_source("salesforce", world.config)

    by_stream = {s.stream: s for s in report.streams}
    assert by_stream["account"].landed == 7
    assert by_stream["account"].fetched >= 7  # plus the lookback overlap, which is not re-landed
    assert row_count(world, "salesforce", "account") == before + 7
    assert all(by_stream[s].landed == 0 for s in by_stream if s != "account")
    # One describe and one query per stream: nothing was paged through again.
    queries = query_requests(world.salesforce, log_start)
    assert len(queries) == len(report.streams)
    assert report.totals()["requests"] == 2 * len(report.streams)
    rows = landed(world, "salesforce", "account", "Id")
    for record_id in touched:
        assert rows[record_id]["SystemModstamp"] == \
            world.salesforce.store["Account"][record_id]["SystemModstamp"]


def test_a_rerun_after_success_lands_nothing(connector_world):
    world = connector_world(accounts=60)
    assert sync_source("salesforce", world.config).ok
    report = sync_source("salesforce", world.config)
    assert report.ok
    assert report.totals()["landed"] == 0


def test_expired_session_without_credentials_names_the_variable(connector_world):
    world = connector_world(accounts=40, sf_faults=Faults(expire_session_after=3))
    report = sync_source("salesforce", world.config)
    assert report.status == "partial"  # issue 12: the landed account stays, the next run resumes
    text = json.dumps(report.as_json())
    assert "SALESFORCE_ACCESS_TOKEN" in text
    assert DEFAULT_TOKEN not in text


def test_quota_exhaustion_is_partial_keeps_state_and_resumes(connector_world):
    world = connector_world(accounts=80, sf_faults=Faults(daily_quota=12),
                            sources={"salesforce": {"stop_at_api_usage_share": 2.0,  # soft stop off
                                                    **SMALL_PAGES["salesforce"]}})
    report = sync_source("salesforce", world.config)

    assert report.status == "partial"
    assert "REQUEST_LIMIT_EXCEEDED" in report.message and "next run resumes" in report.message
    finished = [s for s in report.streams if s.status == "success"]
    assert finished, "streams before the limit completed"
    state = json.loads(world.data_paths.stream_state("salesforce", finished[0].stream).read_text())
    assert state["cursor"]

    # The next day (a fresh allocation) the run picks up the stopped streams first.
    world.salesforce.faults = world.salesforce.clock.faults = Faults(daily_quota=40)
    world.salesforce.reset_quota()
    resumed = sync_source("salesforce", world.config)
    assert resumed.ok
    assert resumed.streams[0].stream not in {s.stream for s in finished}
    landed_total = report.totals()["landed"] + resumed.totals()["landed"]
    assert landed_total == sum(len(t) for t in world.salesforce.store.values())  # no re-landing
    assert_salesforce_matches_store(world)


def test_soft_quota_share_stops_before_the_limit(connector_world):
    world = connector_world(accounts=40, sf_faults=Faults(daily_quota=20),
                            sources={"salesforce": {"stop_at_api_usage_share": 0.5}})
    report = sync_source("salesforce", world.config)
    assert report.status == "partial"
    assert "reached the configured stop share 50%" in report.message
    assert 403 not in {r.status for r in world.salesforce.request_log}


def test_schema_drift_is_recorded_and_shown_by_status(connector_world, capsys):
    world = connector_world(accounts=40)
    assert sync_source("salesforce", world.config, streams=["account"]).ok
    sf = world.salesforce
    sf.add_field("Account", "Churn_Risk__c", "string")
    sf.remove_field("Account", "Website")
    sf.change_field_type("Account", "Name", "textarea")
    sf.touch("Account", 3)
    next_second()

    report = sync_source("salesforce", world.config, streams=["account"])
    assert report.ok

    assert main(["--data-dir", str(world.config.data_dir), "status"]) == 0
    out = capsys.readouterr().out
    assert "salesforce/account: field_added Churn_Risk__c" in out
    assert "salesforce/account: field_removed Website" in out
    assert "salesforce/account: type_changed Name string -> textarea" in out


def test_bad_records_are_quarantined_counted_and_shown(connector_world, capsys):
    world = connector_world(accounts=30, sources={"salesforce": {"max_field_chars": 2000}})
    sf = world.salesforce
    sf.add_field("Account", "Churn_Date__c", "date")
    template = dict(next(iter(sf.store["Account"].values())))
    bad = []
    for n, change in enumerate([{"Name": "Bad \udcff bytes"}, {"Description": "x" * 2500},
                                {"Churn_Date__c": "31/02/2026"}]):
        record_id = template["Id"][:-6] + f"ZZZZ{n}A"
        bad.append({**template, "Id": record_id, "Churn_Date__c": None, **change})
    sf.bulk_insert("Account", bad)

    report = sync_source("salesforce", world.config, streams=["account"])

    account = report.streams[0]
    # issue 12: text is repaired and counted, only the bad date is quarantined
    assert report.ok and account.quarantined == 1
    assert account.surrogates_replaced == 1 and account.truncated == 1
    assert account.landed == len(sf.store["Account"]) - 1
    assert "quarantined" in account.message
    files = list(world.data_paths.quarantine("salesforce", "account").glob("*.jsonl"))
    reasons = sorted(json.loads(line)["reason"].split(" ")[0]
                     for f in files for line in f.read_text().splitlines())
    assert reasons == ["unparseable"]
    assert main(["--data-dir", str(world.config.data_dir), "status"]) == 0
    assert "quarantined 1 unparseable date" in \
        capsys.readouterr().out


def test_an_expired_query_locator_restarts_from_the_landed_cursor(connector_world):
    world = connector_world(accounts=80, sources=SMALL_PAGES)
    expired = []

    def expire_once(progress):
        if progress.stream == "task" and progress.landed and not expired:
            world.salesforce.expire_query_locators()
            expired.append(progress.landed)

    report = sync_source("salesforce", world.config, progress=expire_once)

    assert report.ok, report.rows()
    assert expired and 400 in {r.status for r in world.salesforce.request_log}
    assert_salesforce_matches_store(world)


def test_field_lists_are_configurable_and_custom_fields_come_through(connector_world):
    world = connector_world(accounts=30, sources={"salesforce": {"fields": {
        "opportunity": {"include_fields": ["Name", "StageName"]},
        "account": {"exclude_fields": ["Website"]}}}})
    world.salesforce.add_field("Account", "Health_Score__c", "double")
    assert sync_source("salesforce", world.config, streams=["opportunity", "account"]).ok
    opportunity = next(iter(landed(world, "salesforce", "opportunity", "Id").values()))
    account = next(iter(landed(world, "salesforce", "account", "Id").values()))
    assert {"Id", "Name", "StageName", "IsDeleted", "SystemModstamp", "Loss_Reason__c"} <= \
        set(opportunity) and "Amount" not in opportunity
    assert "Health_Score__c" in account and "Website" not in account
