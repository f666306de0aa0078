"""Orphans are normal data: records whose account is archived, deleted or not synced yet flow
through every model, the build stays green and everything is published.

The generator writes orphans into every world (sandbox.truth.GroundTruth.orphans): one churned
HubSpot customer whose company alone is archived (its deal, ticket, notes and tasks stay live), a
Salesforce task and a HubSpot note pointing at accounts no sync has landed.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from churnkb.publishers.alerts import publish_alerts
from churnkb.publishers.digests import publish_digests
from churnkb.publishers.reengagement import publish_reengagement
from fixtures.publishers import make_config

from churnkb.paths import DataPaths
from churnkb.warehouse import query


def _rows(config, sql: str, params: list | None = None) -> list[dict]:
    if params:
        for value in params:
            sql = sql.replace("?", f"'{value}'", 1)
    return query(config, sql).to_dicts()


@pytest.fixture(scope="module")
def archived(built_warehouse):
    customers = [c for c in built_warehouse.world.truth.customers if c.company_archived]
    assert len(customers) == 1, "every world holds one churned customer whose company is archived"
    return customers[0]


@pytest.fixture(scope="module")
def orphan_events(built_warehouse) -> list[dict]:
    return _rows(built_warehouse.config,
                 "select * from fct_churn_events where account_id is null")


def test_the_build_is_green_with_orphans(built_warehouse):
    failed = [r.name for r in built_warehouse.report.results if r.status in ("fail", "error")]
    assert failed == []


def test_an_archived_company_keeps_its_churn_history(built_warehouse, archived, orphan_events):
    assert archived.churned and not archived.deleted
    assert len(orphan_events) == 1
    event = orphan_events[0]
    assert event["churn_status"] == "churned"
    assert event["churned_at"].date() == archived.churned_at.date()
    assert float(event["amount_lost"]) == pytest.approx(archived.amount_lost)
    config = built_warehouse.config
    event_id = event["churn_event_id"]
    steps = _rows(config, "select * from fct_offboarding_checklist_steps where churn_event_id = ?",
                  [event_id])
    assert len(steps) == 6
    assert _rows(config, "select * from mart_offboarding_checklist where churn_event_id = ?",
                 [event_id])
    routed = _rows(config, "select * from fct_churn_event_departments where churn_event_id = ?",
                   [event_id])
    assert all(r["churn_status"] == "churned" and r["account_id"] is None for r in routed)
    notes = _rows(config, "select * from fct_feedback_items where account_id is null")
    assert {n["churn_event_id"] for n in notes} <= {event_id}


def test_the_company_wide_figures_count_the_orphaned_churn(built_warehouse, orphan_events):
    event = orphan_events[0]
    month = event["churned_at"].date().replace(day=1)
    figures = _rows(built_warehouse.config, """
        select churned_events, revenue_lost from fct_digest_periods
        where period_kind = 'month' and audience = 'company' and period_start = ?""", [month])[0]
    churned = _rows(built_warehouse.config, """
        select count(*) as n, sum(amount_lost) as lost from fct_churn_events
        where churn_status = 'churned' and date_trunc('month', churned_at) = ?""", [month])[0]
    assert figures["churned_events"] == churned["n"]
    assert float(figures["revenue_lost"]) == pytest.approx(float(churned["lost"]))


def test_no_mart_key_is_null_and_nobody_is_listed_for_an_orphan(built_warehouse):
    config = built_warehouse.config
    assert _rows(config, "select * from mart_reengagement_candidates where account_id is null") == []
    assert _rows(config, "select * from mart_reengagement_people where contact_email is null") == []
    assert _rows(config, "select * from mart_save_opportunities where churn_event_id is null") == []


def test_records_of_accounts_not_synced_yet_are_landed_and_kept(built_warehouse):
    config = built_warehouse.config
    for orphan in built_warehouse.world.truth.orphans:
        if orphan.why != "account_not_synced":
            continue
        table = "stg_salesforce__tasks" if orphan.system == "salesforce" else "stg_hubspot__notes"
        key = "task_id" if orphan.system == "salesforce" else "note_id"
        assert _rows(config, f"select * from {table} where {key} = ?", [orphan.record_id]), orphan


def test_everything_is_published_with_an_archived_company(built_warehouse, orphan_events,
                                                          tmp_path: Path):
    data_dir = tmp_path / "data"
    DataPaths(data_dir).root.mkdir(parents=True)
    shutil.copy(DataPaths(built_warehouse.config.data_dir).warehouse, DataPaths(data_dir).warehouse)
    config = make_config(data_dir, {"period": "monthly"})
    churned_on = orphan_events[0]["churned_at"].date()
    now = datetime.combine(churned_on + timedelta(days=40), datetime.min.time(), UTC)
    digests = publish_digests(config, period_end=churned_on, now=now)
    assert digests.failed == 0 and digests.sent >= 1
    alerts = publish_alerts(config, now=built_warehouse.world.truth.now)
    people = publish_reengagement(config, now=built_warehouse.world.truth.now)
    assert alerts.failed == 0 and people.failed == 0
    folder = DataPaths(data_dir).digests(churned_on.strftime("%Y-%m"))
    routed = _rows(config, "select department from fct_churn_event_departments "
                           "where churn_event_id = ?", [orphan_events[0]["churn_event_id"]])
    assert routed, "the orphaned churn has a department-routed reason in this world"
    for row in routed:
        text = (folder / f"{row['department']}.txt").read_text()
        assert "(account not in the CRM)" in text, row["department"]
