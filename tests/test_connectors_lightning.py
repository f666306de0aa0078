"""A Lightning org: exit interviews in ContentNotes, Log a Call tasks, Events and descriptions."""

from __future__ import annotations

import json

import pytest
from churnkb.connectors.raw_zone import read_stream
from churnkb.connectors.sync import sync_source
from simple_salesforce.exceptions import SalesforceMalformedRequest


def test_content_notes_land_decoded_with_the_records_they_hang_on(connector_world):
    world = connector_world(accounts=200, seed=7)
    report = sync_source("salesforce", world.config, streams=["content_note", "event"])
    assert report.status == "success", report.message
    notes = read_stream(world.data_paths, "salesforce", "content_note").to_pylist()
    generated = {r["Id"]: r for r in world.salesforce.store["ContentNote"].values()}
    assert notes and {n["Id"] for n in notes} == set(generated)
    links = {}
    for link in world.salesforce.store["ContentDocumentLink"].values():
        links.setdefault(link["ContentDocumentId"], set()).add(link["LinkedEntityId"])
    for note in notes:
        if note["IsDeleted"] == "true":
            continue
        assert note["Content"].startswith("<") and " ".join(note["TextPreview"].split()[:2]) in _plain(note["Content"])
        assert set(json.loads(note["LinkedEntityIds"])) == links[note["Id"]]
    events = read_stream(world.data_paths, "salesforce", "event").to_pylist()
    assert len(events) == len(world.salesforce.store["Event"]) > 0


def test_content_document_links_cannot_be_listed_without_a_filter(connector_world):
    from churnkb.connectors.clients import salesforce_client

    world = connector_world(accounts=10, seed=2)
    sf = salesforce_client(world.env["SALESFORCE_INSTANCE_URL"], world.env["SALESFORCE_ACCESS_TOKEN"])
    with pytest.raises(SalesforceMalformedRequest, match="Implementation restriction"):
        sf.query("SELECT Id, LinkedEntityId FROM ContentDocumentLink")


def _plain(html: str) -> str:
    import re

    return " ".join(re.sub(r"<[^>]+>", " ", html.replace("&nbsp;", " ")).split())


def test_every_exit_note_reaches_fct_feedback_items_with_its_account_and_churn_event(connector_world):
    """Through the real connectors: sync both sandbox CRMs, build, and reconcile per source."""
    from collections import Counter

    from churnkb.sandbox.generator import generate_world

    from churnkb.warehouse import build, read_connection

    world = connector_world(accounts=200, seed=7)
    for source in ("salesforce", "hubspot"):
        assert sync_source(source, world.config).status == "success"
    assert build(world.config).success
    customers = generate_world(accounts=200, seed=7).truth.customers  # the fixture's world
    with read_connection(world.config) as con:
        items = {r[0]: r for r in con.execute("""
            select f.source_record_id, f.feedback_source, a.salesforce_account_id,
                   a.hubspot_company_id, e.source_record_id
            from fct_feedback_items f
            left join dim_accounts a using (account_id)
            left join fct_churn_events e using (churn_event_id)""").fetchall()}
    checked = Counter()
    for customer in customers:
        if customer.deleted or not customer.exit_note_ids:
            continue
        (note_id,) = customer.exit_note_ids
        item = items.get(note_id)
        assert item is not None, (customer.key, customer.exit_note_source, note_id)
        _, feedback_source, sf_account, hs_company, event_record = item
        assert feedback_source == customer.exit_note_source
        assert sf_account == customer.salesforce_account_id or hs_company == customer.hubspot_company_id
        assert event_record in {record_id for _, _, record_id in customer.churn_records}, customer.key
        checked[feedback_source] += 1
    assert {"salesforce_task", "salesforce_content_note", "hubspot_note"} <= set(checked), checked
    print(dict(checked))


@pytest.mark.parametrize("hidden, expected_status", [("ContentNote", "partial"), ("Opportunity", "failed")])
def test_an_object_the_user_cannot_see_skips_its_stream_unless_the_warehouse_needs_it(
        tmp_path, monkeypatch, hidden, expected_status):
    from churnkb.sandbox.generator import generate_world
    from churnkb.sandbox.salesforce_server import DEFAULT_TOKEN, SalesforceSandbox
    from fixtures.connectors import make_config

    world = generate_world(accounts=30, seed=3)
    with SalesforceSandbox(world.salesforce, hidden_objects=(hidden,)) as org:
        monkeypatch.setenv("SALESFORCE_INSTANCE_URL", org.base_url)
        monkeypatch.setenv("SALESFORCE_ACCESS_TOKEN", DEFAULT_TOKEN)
        report = sync_source("salesforce", make_config(tmp_path))
    assert report.status == expected_status
    by_stream = {s.stream: s for s in report.streams}
    refused = "content_note" if hidden == "ContentNote" else "opportunity"
    assert f"object {hidden} is not granted" in by_stream[refused].message
    if expected_status == "partial":
        assert "exclude the stream with sources.salesforce.exclude_streams" in by_stream[refused].message
        assert by_stream["account"].status == "success" and by_stream["account"].landed > 0


def test_an_org_long_text_field_named_in_config_is_a_feedback_source(connector_world):
    from churnkb.sandbox.generator import generate_world

    from churnkb.warehouse import build, read_connection

    world = connector_world(accounts=120, seed=11)
    customer = next(c for c in generate_world(accounts=120, seed=11).truth.churned_customers()
                    if not c.deleted and any(o == "Opportunity" for _, o, _ in c.churn_records))
    opportunity = next(i for s, o, i in customer.churn_records if o == "Opportunity")
    world.salesforce.add_field("Opportunity", "Closed_Lost_Notes__c", "textarea")
    world.salesforce.set_fields("Opportunity", opportunity, {
        "Closed_Lost_Notes__c": "Went with a cheaper tool after the renewal quote doubled."})
    config = world.with_sources(salesforce={"extra_text_fields": {"Opportunity": ["Closed_Lost_Notes__c"]}})
    assert sync_source("salesforce", config).status == "success"
    assert sync_source("hubspot", config).status == "success"
    assert build(config).success
    with read_connection(config) as con:
        found = con.execute("""
            select f.feedback_source, f.body_text, e.source_record_id from fct_feedback_items f
            join fct_churn_events e using (churn_event_id)
            where f.source_record_id = ?""", [f"{opportunity}.Closed_Lost_Notes__c"]).fetchall()
    assert found == [("salesforce_extra_field",
                      "Went with a cheaper tool after the renewal quote doubled.", opportunity)]
