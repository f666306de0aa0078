"""Re-engagement lists (CSV, Parquet) and CRM write-back into the real sandbox CRMs."""

from __future__ import annotations

import csv

import pyarrow.parquet as pq
import pytest
from churnkb.publishers.content import CATEGORY_TITLES
from churnkb.publishers.reengagement import publish_reengagement
from churnkb.sandbox.generator import generate_world
from churnkb.sandbox.hubspot_server import HubSpotSandbox
from churnkb.sandbox.salesforce_server import SalesforceSandbox
from fixtures.publishers import NOW, build_marts, make_config

from churnkb.paths import DataPaths


def test_list_has_every_eligible_candidate_with_an_opening_line(marts_dir):
    report = publish_reengagement(make_config(marts_dir), now=NOW)
    assert report.sent == 1
    folder = DataPaths(marts_dir).reengagement
    with (folder / "2026-11-25.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["account_id"], r["trigger"]) for r in rows] == [
        ("acc-02", "Requested feature shipped"), ("acc-01", "30-day follow-up"), ("acc-03", "Cool-down over")]
    # a salesperson reads words, not the marts' keys
    assert {r["reason"] for r in rows} <= set(CATEGORY_TITLES.values())
    assert not any("_" in r["trigger"] + r["other_triggers"] + r["reason"] for r in rows)
    assert rows[1]["owner"] == "Owner 1" and rows[1]["contact"] == "Dana Former"
    assert "Account 01 Ltd" in rows[1]["suggested_opening_line"]
    assert rows[2]["contact"] == "'@Kim"  # CSV: a leading @ is neutralised
    parquet = pq.read_table(folder / "2026-11-25.parquet").to_pylist()
    assert [r["account_id"] for r in parquet] == ["acc-02", "acc-01", "acc-03"]
    assert parquet[2]["contact"] == "@Kim" and parquet[0]["priority"] == 1
    assert publish_reengagement(make_config(marts_dir), now=NOW).sent == 0  # once per run date


@pytest.fixture
def crm_sandboxes(tmp_path, monkeypatch):
    world = generate_world(accounts=8, seed=7)
    salesforce = SalesforceSandbox(world.salesforce)
    hubspot = HubSpotSandbox.from_world(world)
    sf_url, hs_url = salesforce.start(), hubspot.start()
    try:
        monkeypatch.setenv("SALESFORCE_INSTANCE_URL", sf_url)
        monkeypatch.setenv("SALESFORCE_ACCESS_TOKEN", salesforce.token)
        monkeypatch.setenv("HUBSPOT_BASE_URL", hs_url)
        monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", hubspot.token)
        accounts = [r for r in world.salesforce["Account"] if not r.get("IsDeleted")]
        companies = world.hubspot_objects["companies"]
        crm_ids = {  # acc-01 and acc-02 live in Salesforce, acc-03 only in HubSpot
            "acc-01": (accounts[0]["Id"], accounts[0]["OwnerId"], None, None),
            "acc-02": (accounts[1]["Id"], accounts[1]["OwnerId"], companies[1]["id"], None),
            "acc-03": (None, None, companies[2]["id"],
                       companies[2]["properties"].get("hubspot_owner_id")),
        }
        data_dir = tmp_path / "data"
        build_marts(DataPaths(data_dir).warehouse, crm_ids=crm_ids)
        yield data_dir, salesforce, hubspot, crm_ids
    finally:
        salesforce.stop()
        hubspot.stop()


def _churnkb_tasks(salesforce, hubspot):
    sf = [t for t in salesforce.store["Task"].values() if "[churnkb " in (t.get("Subject") or "")]
    hs = [t for t in hubspot.store["tasks"].values()
          if "[churnkb " in (t["properties"].get("hs_task_subject") or "")]
    return sf, hs


def test_write_back_creates_one_task_per_account_and_trigger_also_after_reruns(crm_sandboxes):
    data_dir, salesforce, hubspot, crm_ids = crm_sandboxes
    config = make_config(data_dir)
    first = publish_reengagement(config, now=NOW, write_back=True)
    assert first.failed == 0, first.rows()
    sf_tasks, hs_tasks = _churnkb_tasks(salesforce, hubspot)
    assert sorted(t["WhatId"] for t in sf_tasks) == sorted([crm_ids["acc-01"][0],
                                                            crm_ids["acc-02"][0]])
    owners = {t["WhatId"]: t["OwnerId"] for t in sf_tasks}
    assert owners[crm_ids["acc-01"][0]] == crm_ids["acc-01"][1]  # assigned to the account owner
    assert len(hs_tasks) == 1
    assert "Suggested opening line" in hs_tasks[0]["properties"]["hs_task_body"]
    assert "cooldown_elapsed" in hs_tasks[0]["properties"]["hs_task_subject"]

    again = publish_reengagement(config, now=NOW, write_back=True)
    assert [i["status"] for i in again.items if i["kind"] == "writeback"] == ["skipped"] * 3
    # Even without the ledger the CRM look-up prevents a duplicate.
    DataPaths(data_dir).ledger.unlink()
    third = publish_reengagement(config, now=NOW, write_back=True)
    assert {i["detail"] for i in third.items if i["kind"] == "writeback"} == {
        "task already in the CRM"}
    assert [len(tasks) for tasks in _churnkb_tasks(salesforce, hubspot)] == [2, 1]


def test_write_back_without_credentials_is_reported_not_raised(marts_dir, monkeypatch):
    report = publish_reengagement(make_config(marts_dir), now=NOW, write_back=True)
    failures = [i for i in report.items if i["kind"] == "writeback"]
    assert failures and {i["status"] for i in failures} == {"failed"}
    assert "SALESFORCE_ACCESS_TOKEN" in failures[0]["detail"]
    assert report.sent == 1  # the list itself still went out
