"""The connectors against the sandbox's fidelity behaviours: URLs that overflow (414) and
records changing while a search pages by id floor."""

from __future__ import annotations

from churnkb.connectors.sync import sync_source
from churnkb.sandbox.faults import Faults
from churnkb.sandbox.http import MAX_URL_CHARS
from fixtures.connectors import (
    assert_hubspot_matches_store,
    assert_salesforce_matches_store,
    landed,
    next_second,
)

WIDE = 400  # custom properties / fields: together their names overflow any GET URL


def overflowing_names(template: str) -> list[str]:
    names = [template.format(i) for i in range(WIDE)]
    assert sum(len(n) + len("&properties=") for n in names) > MAX_URL_CHARS
    return names


def test_hubspot_syncs_a_stream_whose_properties_overflow_a_url(connector_world):
    world = connector_world(accounts=30, sources={"hubspot": {"associations": {}}})
    hs = world.hubspot
    deals = sorted(hs.store["deals"], key=int)
    archived = deals[:4]
    names = overflowing_names("churn_signal_with_a_rather_long_descriptive_property_name_{:03d}")
    for n, name in enumerate(names):  # values on live and archived deals alike
        hs.add_property("deals", name, values={deals[n % 12]: f"value {n}"})
    hs.archive("deals", archived)

    report = sync_source("hubspot", world.config, streams=["deals"])

    assert report.ok, report.rows()
    assert 414 not in {r.status for r in hs.request_log}
    assert_hubspot_matches_store(world, ["deals"])
    rows = landed(world, "hubspot", "deals", "id")
    assert set(names) <= set(rows[deals[0]])
    assert rows[deals[0]]["archived"] == "true"
    assert rows[deals[0]][names[0]] == "value 0"  # archived: first chunk, in the list GET
    assert rows[deals[3]][names[399]] == "value 399"  # archived: last chunk, by batch read
    assert rows[deals[11]][names[11]] == "value 11"  # a live deal's, through search


def test_salesforce_syncs_an_object_whose_fields_overflow_a_url(connector_world):
    world = connector_world(accounts=30)
    sf = world.salesforce
    names = overflowing_names("Churn_Signal_With_A_Long_Descriptive_Name_{:03d}__c")
    for name in names:
        sf.add_field("Account", name, "string")
    accounts = sorted(sf.store["Account"])
    for n, record_id in enumerate(accounts[:10]):
        sf.set_fields("Account", record_id, {names[n * 39]: f"value {n}"})

    report = sync_source("salesforce", world.config, streams=["account"])

    assert report.ok, report.rows()
    assert 414 not in {r.status for r in sf.request_log}
    assert_salesforce_matches_store(world, ["account"])
    rows = landed(world, "salesforce", "account", "Id")
    assert rows[accounts[9]][names[9 * 39]] == "value 9"


def test_hubspot_reconciles_exactly_while_records_change_between_id_floor_pages(connector_world):
    faults = Faults(mutate_during_paging=2)
    world = connector_world(accounts=60, hs_faults=faults,
                            sources={"hubspot": {"search_page_size": 20, "batch_records": 50}})
    hs = world.hubspot
    before = {t: {i: r["updatedAt"] for i, r in hs.store[t].items()} for t in ("deals", "contacts")}

    first = sync_source("hubspot", world.config, streams=["deals", "contacts"])

    assert first.ok, first.rows()
    changed = {t: [i for i, r in hs.store[t].items() if r["updatedAt"] != before[t][i]]
               for t in before}
    assert all(len(ids) >= 2 for ids in changed.values()), "the fault fired on floor pages"
    # Records changed mid-pass are newer than the pass's window: the next run brings them.
    hs.set_faults(Faults())
    next_second()
    second = sync_source("hubspot", world.config, streams=["deals", "contacts"])
    assert second.ok, second.rows()
    assert_hubspot_matches_store(world, ["deals", "contacts"])
    by_stream = {s.stream: s for s in second.streams}
    assert by_stream["deals"].landed >= len(set(changed["deals"]))
