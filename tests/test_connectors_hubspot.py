"""HubSpot connector against the sandbox portal, through hubspot-api-client (issue 3)."""

from __future__ import annotations

import dataclasses
import json

from churnkb.connectors.hubspot import OBJECT_STREAMS
from churnkb.connectors.sync import sync_source
from churnkb.sandbox.faults import Faults
from churnkb.sandbox.hubspot_search import RESULT_CAP
from churnkb.sandbox.hubspot_server import DEFAULT_TOKEN
from fixtures.connectors import assert_hubspot_matches_store, landed, next_second, row_count

from churnkb.cli import main

SMALL_BATCHES = {"hubspot": {"search_page_size": 50, "batch_records": 120}}


def searches(sandbox, start: int = 0) -> list:
    return [r for r in sandbox.request_log[start:] if r.path.endswith("/search")]


def test_reconciles_exactly_with_faults_on(connector_world):
    faults = Faults(rate_limit_every=6, retry_after_s=0, error_every=7, latency_ms=1,
                    mutate_during_paging=2)
    world = connector_world(accounts=80, hs_faults=faults, sources=SMALL_BATCHES)
    hs = world.hubspot
    archived = sorted(hs.store["deals"], key=int)[:5]
    hs.archive("deals", archived)

    changed_mid_pass: list[str] = []

    def edit_while_paging(progress):  # a user editing deals while the pass pages through them
        if progress.stream == "deals" and not progress.done:
            changed_mid_pass.extend(hs.touch("deals", 3))

    first = sync_source("hubspot", world.config, progress=edit_while_paging)
    assert first.status == "success", first.rows()
    assert changed_mid_pass
    assert {429, 500, 503} <= {r.status for r in hs.request_log}
    hs.faults = hs.clock.faults = dataclasses.replace(faults, mutate_during_paging=0)
    next_second()
    second = sync_source("hubspot", world.config)
    assert second.status == "success", second.rows()

    assert_hubspot_matches_store(world)
    rows = landed(world, "hubspot", "deals", "id")
    assert all(rows[i]["archived"] == "true" and rows[i]["archived_at"] for i in archived)
    pairs = {(r["from_id"], r["to_id"]) for r in
             landed(world, "hubspot", "associations_deals_companies", "from_id").values()}
    live_deals = {i for i, r in hs.store["deals"].items() if not r["archived"]}
    assert {deal for deal, _ in pairs} <= live_deals
    assert row_count(world, "hubspot", "owners") == len(hs.owners)
    assert row_count(world, "hubspot", "deal_pipelines") == sum(
        len(p["stages"]) for p in hs.pipelines["deals"])


def test_associations_are_read_in_batches_never_per_record(connector_world):
    world = connector_world(accounts=80)
    report = sync_source("hubspot", world.config, streams=["deals"])
    assert report.ok
    deals = report.streams[0].landed
    calls = [r for r in world.hubspot.request_log if r.path.startswith("/crm/v4/associations")]
    assert len(calls) == 2  # one per associated type (companies, contacts) for <= 1000 deals
    assert deals > 100
    by_stream = {s.stream: s for s in report.streams}
    assert by_stream["associations_deals_companies"].landed >= deals - 10


def test_second_run_fetches_only_the_modified_records(connector_world):
    world = connector_world(accounts=80)
    assert sync_source("hubspot", world.config).ok
    touched = world.hubspot.touch("deals", 6)
    world.hubspot.touch("contacts", 4)
    next_second()
    log_start = len(world.hubspot.request_log)

    report = sync_source("hubspot", world.config)

    by_stream = {s.stream: s for s in report.streams}
    assert by_stream["deals"].landed == 6 and by_stream["contacts"].landed == 4
    assert all(s.landed == 0 for s in report.streams
               if s.stream in ("companies", "tickets", "notes", "tasks", "owners"))
    # One search per object stream, and the associations of the 6 deals only.
    assert len(searches(world.hubspot, log_start)) == len(OBJECT_STREAMS)
    assert by_stream["associations_deals_companies"].requests == 1
    rows = landed(world, "hubspot", "deals", "id")
    for deal_id in touched:
        assert rows[deal_id]["hs_lastmodifieddate"] == \
            world.hubspot.store["deals"][deal_id]["properties"]["hs_lastmodifieddate"]


def test_25000_deals_sharing_one_timestamp_sync_completely(connector_world):
    world = connector_world(accounts=20, sources={"hubspot": {"batch_records": 5000}})
    stamp = "2026-10-01T08:00:00.000Z"
    deals = [{"id": str(70_000_000_000 + n),
              "properties": {"dealname": f"Bulk {n}", "amount": str(n), "dealstage": "closedlost",
                             "pipeline": "default", "hs_lastmodifieddate": stamp,
                             "createdate": stamp},
              "createdAt": stamp, "updatedAt": stamp, "archived": False}
             for n in range(25_000)]
    world.hubspot.bulk_insert("deals", deals)

    report = sync_source("hubspot", world.config, streams=["deals"])

    assert report.ok, report.rows()
    rows = landed(world, "hubspot", "deals", "id")
    assert {d["id"] for d in deals} <= set(rows)
    assert set(rows) == set(world.hubspot.store["deals"])
    log = world.hubspot.request_log
    assert 400 not in {r.status for r in log}
    assert len(searches(world.hubspot)) <= len(rows) // 200 + 2  # full pages, no loop


def test_search_never_pages_near_the_cap(connector_world):
    world = connector_world(accounts=20)
    stamp = "2026-10-01T08:00:00.000Z"
    world.hubspot.bulk_insert("tickets", [
        {"id": str(90_000_000_000 + n), "properties": {"subject": f"T{n}",
         "hs_lastmodifieddate": stamp}, "createdAt": stamp, "updatedAt": stamp}
        for n in range(RESULT_CAP + 500)])
    assert sync_source("hubspot", world.config, streams=["tickets"]).ok
    assert len(landed(world, "hubspot", "tickets", "id")) == len(world.hubspot.store["tickets"])


def test_daily_limit_is_partial_keeps_state_and_resumes(connector_world):
    world = connector_world(accounts=60, hs_faults=Faults(daily_quota=14),
                            sources={"hubspot": {"stop_at_daily_share": 2.0}})  # soft stop off
    report = sync_source("hubspot", world.config)

    assert report.status == "partial"
    assert "DAILY" in report.message and "next run resumes" in report.message
    done = [s.stream for s in report.streams if s.status == "success" and s.landed]
    assert done
    assert json.loads(world.data_paths.stream_state("hubspot", done[0]).read_text())["cursor"]

    world.hubspot.faults = world.hubspot.clock.faults = Faults()
    world.hubspot.reset_quota()
    resumed = sync_source("hubspot", world.config)
    assert resumed.ok
    assert not {s.stream for s in resumed.streams if s.landed} & set(done)
    assert_hubspot_matches_store(world)


def test_expired_token_mid_run_is_partial_with_the_variable_to_fix(connector_world):
    world = connector_world(accounts=20, hs_faults=Faults(expire_session_after=4))
    report = sync_source("hubspot", world.config)
    assert report.status == "partial"  # issue 12: what landed stays, the next run resumes
    text = json.dumps(report.as_json())
    assert "HUBSPOT_ACCESS_TOKEN" in text and DEFAULT_TOKEN not in text


def test_schema_drift_is_recorded_and_shown_by_status(connector_world, capsys):
    world = connector_world(accounts=40)
    hs = world.hubspot
    assert sync_source("hubspot", world.config, streams=["companies"]).ok
    ids = sorted(hs.store["companies"], key=int)
    hs.add_property("companies", "churn_risk_score", "number",
                    {i: 5 for i in ids[:3]})
    hs.remove_property("companies", "domain")
    hs.change_property_type("companies", "name", "enumeration")
    for company_id in ids[:3]:
        hs.update("companies", company_id, {"industry": None})
    next_second()

    assert sync_source("hubspot", world.config, streams=["companies"]).ok

    assert main(["--data-dir", str(world.config.data_dir), "status"]) == 0
    out = capsys.readouterr().out
    assert "hubspot/companies: field_added churn_risk_score" in out
    assert "hubspot/companies: field_removed domain" in out
    assert "hubspot/companies: type_changed name string -> enumeration" in out


def test_a_field_null_in_a_whole_run_is_recorded(connector_world):
    world = connector_world(accounts=40)
    hs = world.hubspot
    assert sync_source("hubspot", world.config, streams=["companies"]).ok
    for company_id in sorted(hs.store["companies"], key=int)[:4]:
        hs.update("companies", company_id, {"domain": None})
    next_second()
    assert sync_source("hubspot", world.config, streams=["companies"]).ok
    entries = [json.loads(line) for line in
               world.data_paths.drift_log("hubspot").read_text().splitlines()]
    assert {"change": "all_null", "field": "domain"}.items() <= entries[-1].items()


def test_bad_records_are_quarantined_counted_and_shown(connector_world, capsys):
    world = connector_world(accounts=30)
    stamp = "2026-10-02T08:00:00.000Z"
    base = {"createdAt": stamp, "updatedAt": stamp, "archived": False}
    bad = [
        {"id": "99000000001", "properties": {"hs_note_body": "x" * 70_000,
                                             "hs_timestamp": stamp, "hs_lastmodifieddate": stamp}},
        {"id": "99000000002", "properties": {"hs_note_body": "bad \udcff byte",
                                             "hs_timestamp": stamp, "hs_lastmodifieddate": stamp}},
        {"id": "99000000003", "properties": {"hs_note_body": "fine", "hs_timestamp": "yesterday",
                                             "hs_lastmodifieddate": stamp}},
    ]
    world.hubspot.bulk_insert("notes", [{**base, **b} for b in bad])

    report = sync_source("hubspot", world.config, streams=["notes"])

    notes = report.streams[0]
    # issue 12: text is repaired and counted, only the bad date is quarantined
    assert report.ok and notes.quarantined == 1
    assert notes.surrogates_replaced == 1 and notes.truncated == 1
    rows = landed(world, "hubspot", "notes", "id")
    assert notes.landed == len(world.hubspot.store["notes"]) - 1
    assert rows["99000000002"]["hs_note_body"] == "bad \ufffd byte"
    assert len(rows["99000000001"]["hs_note_body"]) == 65536
    assert rows["99000000001"]["hs_note_body"].endswith("70000 characters in all]")
    assert main(["--data-dir", str(world.config.data_dir), "status"]) == 0
    out = capsys.readouterr().out
    assert "quarantined 1 unparseable date" in out


def test_hourly_run_with_nothing_changed_costs_at_most_3_requests_per_stream(connector_world):
    world = connector_world(accounts=60)
    assert sync_source("hubspot", world.config).ok
    next_second()
    hourly = sync_source("hubspot", world.config)
    assert hourly.ok
    costs = {s.stream: s.requests for s in hourly.streams}
    assert max(costs.values()) <= 3, costs
    assert not [r for r in world.hubspot.request_log[-sum(costs.values()):]
                if r.path.startswith("/crm/v3/objects") and "archived=true" in r.query.lower()]


def test_archived_pass_runs_on_its_own_cadence(connector_world):
    world = connector_world(accounts=30)
    hs = world.hubspot
    assert sync_source("hubspot", world.config, streams=["deals"]).ok
    gone = sorted(i for i, r in hs.store["deals"].items() if not r["archived"])[:3]
    hs.archive("deals", gone)
    next_second()
    assert sync_source("hubspot", world.config, streams=["deals"]).ok  # within the day: not yet
    rows = landed(world, "hubspot", "deals", "id")
    assert all(rows[i]["archived"] == "false" for i in gone)

    world.with_sources(hubspot={"archived_every_hours": 0})  # the pass is due
    next_second()
    assert sync_source("hubspot", world.config, streams=["deals"]).ok
    rows = landed(world, "hubspot", "deals", "id")
    assert all(rows[i]["archived"] == "true" for i in gone)
    assert_hubspot_matches_store(world, ["deals"])


def test_ids_without_associations_are_normal_in_a_207(connector_world):
    world = connector_world(accounts=150)
    report = sync_source("hubspot", world.config, streams=["calls"])
    assert report.ok, report.rows()
    assert 207 in {r.status for r in world.hubspot.request_log
                   if r.path.startswith("/crm/v4/associations/calls/deals")}
    links = landed(world, "hubspot", "associations_calls_deals", "from_id")
    assert links and set(links) < set(world.hubspot.store["calls"])
