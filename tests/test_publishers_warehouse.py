"""Publishers on the real marts: a warehouse dbt built from a generated sandbox world.

The session's ``built_warehouse`` is copied into a private data directory, so the publication
ledger and outputs of these tests never touch other areas' data.
"""

from __future__ import annotations

import copy
import csv
from datetime import timedelta

import duckdb
from churnkb.publishers.alerts import publish_alerts
from churnkb.publishers.content import DEPARTMENT_TITLES
from churnkb.publishers.digests import publish_digests
from churnkb.publishers.marts import MartMissing
from churnkb.publishers.reengagement import publish_reengagement
from churnkb.publishers.settings import DEFAULT_ROUTING
from churnkb.sandbox.hubspot_server import HubSpotSandbox
from churnkb.sandbox.salesforce_server import SalesforceSandbox
from fixtures.publishers import make_config

from churnkb.paths import DataPaths


def _events_in(data_dir, start, end):
    con = duckdb.connect(str(DataPaths(data_dir).warehouse), read_only=True)
    try:
        return con.execute("""
            select a.account_name, e.primary_reason_category
            from fct_churn_events e join dim_accounts a using (account_id)
            where e.churn_status = 'churned' and cast(e.churned_at as date) between ? and ?""",
                           [start, end]).fetchall()
    finally:
        con.close()


def test_digests_name_every_churned_account_for_its_departments(real_marts):
    data_dir, now, week = real_marts
    report = publish_digests(make_config(data_dir), period_end=week, now=now)
    assert report.failed == 0 and report.sent >= 1
    folder = DataPaths(data_dir).digests(f"{week.isocalendar()[0]}-W{week.isocalendar()[1]:02d}")
    for account, category in _events_in(data_dir, week, week + timedelta(days=6)):
        for department in DEFAULT_ROUTING.get(category, []):
            html = (folder / f"{department}.html").read_text()
            assert DEPARTMENT_TITLES[department] in html
            assert account.replace("&", "&amp;").replace("'", "&#x27;") in html, (
                account, department)
    rerun = publish_digests(make_config(data_dir), period_end=week, now=now)
    assert rerun.sent == 0


def test_alerts_and_reengagement_run_on_the_real_marts(real_marts):
    data_dir, now, _ = real_marts
    config = make_config(data_dir)
    alerts = publish_alerts(config, now=now)
    assert alerts.failed == 0
    try:
        report = publish_reengagement(config, now=now)
    except MartMissing as exc:  # the mart is built by another area; say so clearly until then
        assert "mart_reengagement_candidates" in str(exc) and "build" in str(exc)
        return
    assert report.failed == 0
    listed = DataPaths(data_dir).reengagement / f"{now.date().isoformat()}.csv"
    if report.sent:
        with listed.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        assert rows and all(row["suggested_opening_line"] for row in rows)


def test_write_back_from_the_real_candidates_reaches_the_sandbox_crms_once(real_marts,
                                                                        built_warehouse,
                                                                        monkeypatch):
    """The candidates dbt derived from a world go back, as tasks, into sandboxes of that world."""
    world = built_warehouse.world
    data_dir, now, _ = real_marts
    salesforce = SalesforceSandbox(copy.deepcopy(world.salesforce))
    hubspot = HubSpotSandbox(copy.deepcopy(world.hubspot_objects),
                             copy.deepcopy(world.hubspot_associations),
                             copy.deepcopy(world.hubspot_owners),
                             copy.deepcopy(world.hubspot_pipelines))
    monkeypatch.setenv("SALESFORCE_INSTANCE_URL", salesforce.start())
    monkeypatch.setenv("SALESFORCE_ACCESS_TOKEN", salesforce.token)
    monkeypatch.setenv("HUBSPOT_BASE_URL", hubspot.start())
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", hubspot.token)
    try:
        config = make_config(data_dir)
        first = publish_reengagement(config, now=now, write_back=True)
        written = [i for i in first.items if i["kind"] == "writeback"]
        assert written and {i["status"] for i in written} == {"sent"}, first.rows()
        second = publish_reengagement(config, now=now, write_back=True)
        assert {i["status"] for i in second.items if i["kind"] == "writeback"} == {"skipped"}
        tasks = [t for t in salesforce.store["Task"].values()
                 if "[churnkb " in (t.get("Subject") or "")]
        tasks += [t for t in hubspot.store["tasks"].values()
                  if "[churnkb " in (t["properties"].get("hs_task_subject") or "")]
        assert len(tasks) == len(written)
    finally:
        salesforce.stop()
        hubspot.stop()
