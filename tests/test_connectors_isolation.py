"""Failure isolation by stream: a stream the CRM refuses is skipped, the others sync (issue 10)."""

from __future__ import annotations

from churnkb.connectors.hubspot import OBJECT_STREAMS
from churnkb.connectors.sync import sync_source
from churnkb.sandbox.hubspot_catalog import ALL_SCOPES
from fixtures.connectors import assert_hubspot_matches_store, next_second

from churnkb.cli import main

FEEDBACK_SCOPE = "crm.objects.feedback_submissions.read"


def test_missing_optional_scope_skips_that_stream_and_every_other_lands(connector_world, capsys):
    world = connector_world(accounts=40)
    world.hubspot.scopes = set(ALL_SCOPES) - {FEEDBACK_SCOPE}
    data_dir = str(world.config.data_dir)

    for attempt in range(2):  # a second run must do the same, not fail before syncing anything
        code = main(["--data-dir", data_dir, "sync", "all", "--quiet"])
        out = capsys.readouterr().out
        assert code == 3, out
        assert "hubspot sync" in out and "PARTIAL" in out
        assert f"feedback_submissions skipped: scope {FEEDBACK_SCOPE} is not granted" in out
        assert "Private Apps" in out and "exclude_streams: [feedback_submissions]" in out
        others = [s for s in OBJECT_STREAMS if s != "feedback_submissions"]
        assert_hubspot_matches_store(world, others)
        if attempt == 0:
            next_second()
    refused = [r for r in world.hubspot.request_log if r.status == 403]
    assert refused and all("feedback_submissions" in r.path for r in refused)
    assert len(refused) <= 2  # one refused request per run, never retried


def test_refused_stream_runs_last_and_never_blocks_the_others(connector_world):
    world = connector_world(accounts=20)
    world.hubspot.scopes = set(ALL_SCOPES) - {FEEDBACK_SCOPE}
    first = sync_source("hubspot", world.config)
    assert first.status == "partial"
    assert FEEDBACK_SCOPE in first.message
    next_second()
    second = sync_source("hubspot", world.config)
    order = [s.stream for s in second.streams if s.stream in OBJECT_STREAMS]
    assert order[-1] == "feedback_submissions"
    assert {s.status for s in second.streams if s.stream != "feedback_submissions"} == {"success"}

    world.hubspot.scopes = None  # the scope is granted: the stream catches up on the next run
    next_second()
    third = sync_source("hubspot", world.config)
    assert third.ok, third.rows()
    assert_hubspot_matches_store(world)


def test_a_refused_required_stream_still_fails_the_source(connector_world):
    world = connector_world(accounts=20)
    world.hubspot.scopes = set(ALL_SCOPES) - {"crm.objects.deals.read"}
    report = sync_source("hubspot", world.config)
    assert report.status == "failed"
    assert "deals refused: scope crm.objects.deals.read is not granted" in report.message
    assert "cannot do without deals" in report.message


def test_missing_contacts_scope_skips_contacts_and_their_links_but_deals_land(connector_world):
    world = connector_world(accounts=20)
    world.hubspot.scopes = set(ALL_SCOPES) - {"crm.objects.contacts.read"}
    report = sync_source("hubspot", world.config)
    by_stream = {s.stream: s for s in report.streams}
    assert report.status == "partial"
    assert by_stream["deals"].status == "success" and by_stream["companies"].status == "success"
    assert by_stream["contacts"].status == "skipped"
    assert by_stream["associations_deals_contacts"].status == "skipped"
    assert "sources.hubspot.associations.deals" in by_stream["associations_deals_contacts"].message
    assert_hubspot_matches_store(world, ["companies", "deals", "tickets", "feedback_submissions"])
