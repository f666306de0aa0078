"""Issue 12, "text is kept": valid Unicode lands as it is, and a delete always lands."""

from __future__ import annotations

from churnkb.connectors.sync import sync_source
from fixtures.connectors import next_second

from churnkb.warehouse import build, query

NAME = "Caf\ufffd Ünïcödé \u202eRTL\u202c Bar"


def test_a_name_with_u_fffd_reaches_dim_accounts_unchanged_and_its_delete_removes_it(
        connector_world):
    world = connector_world(accounts=12, sources={"hubspot": {"archived_every_hours": 0}})
    stamp = "2026-10-02T08:00:00.000Z"
    world.hubspot.bulk_insert("companies", [{
        "id": "99000000777", "createdAt": stamp, "updatedAt": stamp, "archived": False,
        "properties": {"name": NAME, "domain": "cafe-fffd.example", "hs_lastmodifieddate": stamp,
                       "createdate": stamp}}])
    assert sync_source("salesforce", world.config).ok
    assert sync_source("hubspot", world.config).ok
    assert build(world.config).success

    names = query(world.config, "select account_name from dim_accounts "
                                "where hubspot_company_id = '99000000777'")["account_name"]
    assert names.to_list() == [NAME]

    world.hubspot.archive("companies", ["99000000777"])
    next_second()
    assert sync_source("hubspot", world.config).ok
    assert build(world.config).success
    gone = query(world.config, "select count(*) as n from dim_accounts "
                               "where hubspot_company_id = '99000000777'")["n"]
    assert gone.to_list() == [0]
