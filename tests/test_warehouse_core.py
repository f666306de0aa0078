"""The warehouse's foundation and core marts, checked against the generator's ground truth.

One warehouse is built per session (``built_warehouse``: 120 accounts, seed 11, landed straight
into the raw zone); tests read it the way analysts do, through ``churnkb.warehouse.query`` or the
``churnkb query`` command.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from datetime import UTC, timedelta
from pathlib import Path

import pytest
import yaml
from churnkb.sandbox import phrases
from churnkb.sandbox.generator import generate_world
from churnkb.sandbox.raw_fixture import land_world, write_stream_batch
from churnkb.sandbox.truth import AT_RISK, SAVED
from fixtures.warehouse import warehouse_config

from churnkb.classification.service import classify_items
from churnkb.paths import DataPaths
from churnkb.warehouse import (
    DBT_PROJECT_DIR,
    WarehouseError,
    build,
    generate_docs,
    query,
    read_connection,
)

REPO = Path(__file__).resolve().parents[1]
SALESFORCE_REASONS = {v: c for c, values in phrases.SALESFORCE_REASON_VALUES.items() for v in values}
HUBSPOT_REASONS = {v.lower(): c for c, values in phrases.HUBSPOT_REASON_TEXTS.items() for v in values}
CORE_PATHS = ("models/staging/", "models/intermediate/core/", "models/marts/core/", "seeds/_seeds.yml",
              "seeds/stated_reason_map")
MISSPELLED = {v.lower(): c for v, c in phrases.MISSPELLED_CATEGORY.items()}


def rows(config, sql: str) -> list[dict]:
    return query(config, sql).to_dicts()


def live_customers(world):
    """Customers with a live account record (an archived-only company has none)."""
    return [c for c in world.truth.customers if not c.deleted and not c.company_archived]


def expected_stated_category(reason: str | None, data_dir: Path) -> str | None:
    """The category the seed gives the raw value, else the classifier's reading of the free text
    (None: neither can read it, so it is flagged unmapped)."""
    if not reason:
        return "unknown"
    if reason in SALESFORCE_REASONS:
        return SALESFORCE_REASONS[reason]
    lowered = reason.lower()
    if lowered in HUBSPOT_REASONS or lowered in MISSPELLED:
        return HUBSPOT_REASONS.get(lowered) or MISSPELLED[lowered]
    if lowered.startswith("chose "):
        return "competitor"
    return classifier_reading(reason, data_dir)


def classifier_reading(text: str, data_dir: Path) -> str | None:
    """What `churnkb classify` makes of a free-text reason (None when it cannot tell)."""
    (result,) = classify_items([("reason", text)], data_dir)
    return None if result.primary_category == "unknown" else result.primary_category


def _is_core_node(path: str) -> bool:
    """Nodes of this area (other areas' nodes are checked by their own tests)."""
    return path.startswith(CORE_PATHS)


def run_cli(*args: str, data_dir: Path, config_path: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("CHURNKB_CONFIG", "CHURNKB_DATA_DIR")}
    command = [sys.executable, "-m", "churnkb", "--data-dir", str(data_dir)]
    if config_path:
        command += ["--config", str(config_path)]
    return subprocess.run(command + list(args), capture_output=True, text=True, env=env, cwd=REPO, timeout=300)


# --- the build ------------------------------------------------------------------------------------


def test_build_succeeds_and_keeps_dbt_files_in_the_data_dir(built_warehouse):
    report = built_warehouse.report
    core_failures = [
        r.name for r in report.results if r.status in ("error", "fail") and _is_core_node(r.path or "")
    ]
    assert core_failures == [], report.summary()
    kinds = Counter(r.kind for r in report.results)
    assert kinds["model"] >= 20 and kinds["test"] >= 40 and kinds["unit_test"] >= 4
    data_dir = built_warehouse.config.data_dir
    assert (data_dir / "warehouse.duckdb").exists()
    assert (data_dir / "dbt" / "target" / "manifest.json").exists()
    assert (data_dir / "dbt" / "logs").is_dir()
    for stray in ("target", "logs", "dbt_packages", ".user.yml"):
        assert not (DBT_PROJECT_DIR / stray).exists(), f"dbt wrote {stray} inside the repo"


def test_docs_site_carries_the_glossary(built_warehouse):
    index = generate_docs(built_warehouse.config)
    assert index.exists()
    catalog = json.loads((index.parent / "catalog.json").read_text())
    assert "model.churnkb.fct_churn_events" in catalog["nodes"]
    manifest = json.loads((index.parent / "manifest.json").read_text())
    columns = manifest["nodes"]["model.churnkb.fct_churn_events"]["columns"]
    assert "derived reason where present" in columns["primary_reason_category"]["description"]
    undocumented = [name for name, column in columns.items() if not column["description"]]
    assert undocumented == []


def test_unmapped_stated_reasons_are_a_warning_not_a_failure(built_warehouse):
    assert "stated_reasons_all_mapped" in built_warehouse.report.warnings
    assert "stated_reasons_all_mapped" in built_warehouse.report.summary()


# --- accounts -------------------------------------------------------------------------------------


def test_each_live_customer_is_one_account(built_warehouse):
    config, world = built_warehouse.config, built_warehouse.world
    accounts = rows(config, "select * from dim_accounts")
    assert len(accounts) == len(live_customers(world))
    by_salesforce = {a["salesforce_account_id"]: a for a in accounts if a["salesforce_account_id"]}
    by_hubspot = {a["hubspot_company_id"]: a for a in accounts if a["hubspot_company_id"]}
    for customer in live_customers(world):
        account = by_salesforce.get(customer.salesforce_account_id) or by_hubspot.get(customer.hubspot_company_id)
        assert account is not None, customer.key
        assert account["salesforce_account_id"] == customer.salesforce_account_id
        assert account["hubspot_company_id"] == customer.hubspot_company_id
        assert account["domain"] == customer.domain


def test_customers_in_both_crms_are_counted_once(built_warehouse):
    config, world = built_warehouse.config, built_warehouse.world
    in_both = [c for c in world.truth.customers_in_both() if not c.deleted]
    assert len(in_both) >= 10, "the world should exercise cross-CRM matching"
    matched = rows(config, "select * from dim_accounts where is_in_both_crms")
    assert len(matched) == len(in_both)
    assert {(a["salesforce_account_id"], a["hubspot_company_id"]) for a in matched} == {
        (c.salesforce_account_id, c.hubspot_company_id) for c in in_both
    }


def test_deleted_and_archived_records_are_absent(built_warehouse):
    config, world = built_warehouse.config, built_warehouse.world
    deleted = [c for c in world.truth.customers if c.deleted]
    assert deleted, "the world should hold deleted customers"
    deleted_ids = {i for c in deleted for i in (c.salesforce_account_id, c.hubspot_company_id) if i}
    deleted_records = {record_id for c in deleted for _, _, record_id in c.churn_records}
    accounts = rows(config, "select salesforce_account_id, hubspot_company_id from dim_accounts")
    assert not deleted_ids & {i for a in accounts for i in a.values() if i}
    events = rows(config, "select source_record_id, notice_record_id from fct_churn_events")
    assert not deleted_records & {i for e in events for i in e.values() if i}
    # staging keeps the deleted rows, flagged, so reconciliation can see them
    flagged = rows(config, "select count(*) as n from stg_salesforce__accounts where is_deleted")[0]["n"]
    assert flagged == sum(1 for c in deleted if c.salesforce_account_id)


# --- staging --------------------------------------------------------------------------------------


def test_staging_keeps_the_latest_version_of_each_record(built_warehouse):
    config, world = built_warehouse.config, built_warehouse.world
    counts = rows(
        config,
        """select
             (select count(*) from stg_salesforce__opportunities) as opportunities,
             (select count(*) from stg_hubspot__deals) as deals,
             (select count(*) from stg_salesforce__accounts where account_name like '%(stale)') as stale_accounts,
             (select count(*) from stg_hubspot__deals where deal_name like '%(stale)') as stale_deals,
             (select count(*) from stg_salesforce__opportunities where amount = 1) as stale_amounts""",
    )[0]
    assert counts["opportunities"] == len(world.salesforce["Opportunity"])
    assert counts["deals"] == len(world.hubspot_objects["deals"])
    assert counts["stale_accounts"] == counts["stale_deals"] == counts["stale_amounts"] == 0


def test_staging_types_ids_and_timestamps(built_warehouse):
    config, world = built_warehouse.config, built_warehouse.world
    opportunity = world.salesforce["Opportunity"][0]
    staged = rows(
        config,
        f"select * from stg_salesforce__opportunities where opportunity_id = '{opportunity['Id']}'",
    )[0]
    assert len(staged["opportunity_id"]) == 18
    assert staged["amount"] == pytest.approx(opportunity["Amount"])
    assert staged["updated_at"].strftime("%Y-%m-%dT%H:%M:%S") == opportunity["SystemModstamp"][:19]
    deal = world.hubspot_objects["deals"][0]
    staged_deal = rows(config, f"select * from stg_hubspot__deals where deal_id = '{deal['id']}'")[0]
    assert staged_deal["updated_at"].replace(tzinfo=UTC).isoformat()[:23] == deal["properties"][
        "hs_lastmodifieddate"
    ][:23]


# --- churn events ---------------------------------------------------------------------------------


def test_churn_events_per_status_match_the_truth(built_warehouse):
    config, world = built_warehouse.config, built_warehouse.world
    by_status = {
        r["churn_status"]: r["n"]
        for r in rows(config, "select churn_status, count(*) as n from fct_churn_events group by 1")
    }
    live = live_customers(world)
    assert by_status.get("churned", 0) == len(world.truth.churned_customers())
    assert by_status.get("open", 0) == sum(c.status == AT_RISK for c in live)
    assert by_status.get("saved", 0) == sum(c.status == SAVED for c in live)


def test_churn_events_per_stated_category_match_the_truth(built_warehouse):
    config, world = built_warehouse.config, built_warehouse.world
    expected = Counter(
        expected_stated_category(next((r for r in c.stated_reasons.values() if r), None), config.data_dir)
        for c in world.truth.churned_customers()
    )
    got = Counter(
        {
            r["stated_reason_category"]: r["n"]
            for r in rows(
                config,
                """select stated_reason_category, count(*) as n from fct_churn_events
                   where churn_status = 'churned' group by 1""",
            )
        }
    )
    assert got == expected


def retyped_reasons(world) -> dict[str, str]:
    """HubSpot loss reasons the reps typed in their own words -> the category they meant."""
    typed = {}
    for customer in world.truth.churned_customers():
        for field_path in ("hubspot.deals.closed_lost_reason", "hubspot.tickets.cancellation_reason"):
            raw = customer.stated_reasons.get(field_path)
            for template, category in phrases.HUBSPOT_RETYPED_CATEGORY.items():
                if raw and raw == template.format(competitor=customer.competitor):
                    typed[raw] = category
    return typed


def test_free_text_loss_reasons_are_read_by_the_classifier(built_warehouse):
    config, world = built_warehouse.config, built_warehouse.world
    typed = retyped_reasons(world)
    assert len(typed) >= 3, "the world should hold loss reasons typed as free text"
    events = rows(config, """select stated_reason_raw, stated_reason_category, stated_reason_mapped_by,
                                    is_stated_reason_unmapped
                             from fct_churn_events where stated_reason_raw is not null""")
    read = {e["stated_reason_raw"]: e for e in events if e["stated_reason_raw"] in typed}
    assert read, "free-text reasons should reach fct_churn_events"
    by_classifier = [e for e in read.values() if e["stated_reason_mapped_by"] == "classifier"]
    unread = [raw for raw, e in read.items() if e["is_stated_reason_unmapped"]]
    assert len(by_classifier) + len(unread) == len(read)  # no seed row lists these texts
    agree = sum(e["stated_reason_category"] == typed[e["stated_reason_raw"]] for e in by_classifier)
    print(f"free-text loss reasons: {len(read)} distinct, read {len(by_classifier)}, "
          f"agreeing with the rep's meaning {agree}")
    # the warehouse's reading is churnkb classify's, and what neither reads is flagged, not dropped
    assert all(e["stated_reason_category"] == classifier_reading(e["stated_reason_raw"], config.data_dir)
               for e in by_classifier)
    assert all(classifier_reading(raw, config.data_dir) is None for raw in unread)
    assert agree >= 0.75 * len(read), {
        e["stated_reason_raw"]: e["stated_reason_category"] for e in by_classifier
        if e["stated_reason_category"] != typed[e["stated_reason_raw"]]}


def test_each_churned_customer_is_one_event_with_its_dates(built_warehouse):
    config, world = built_warehouse.config, built_warehouse.world
    events = rows(
        config,
        """select e.*, a.salesforce_account_id, a.hubspot_company_id
           from fct_churn_events e join dim_accounts a using (account_id)
           where churn_status = 'churned'""",
    )
    by_customer = Counter()
    merged = 0
    for customer in world.truth.churned_customers():
        if customer.company_archived:
            continue  # its churn flows through without an account: test_orphans_flow_through
        mine = [
            e
            for e in events
            if (customer.salesforce_account_id and e["salesforce_account_id"] == customer.salesforce_account_id)
            or (customer.hubspot_company_id and e["hubspot_company_id"] == customer.hubspot_company_id)
        ]
        by_customer[customer.key] = len(mine)
        if len(mine) != 1:
            continue
        event = mine[0]
        assert event["source_record_count"] == len(customer.churn_records), customer.key
        merged += len(customer.churn_records) > 1
        has_notice = any(obj in ("Case", "tickets") for _, obj, _ in customer.churn_records)
        if has_notice:
            # Salesforce datetimes carry whole seconds only
            assert event["notice_at"].replace(microsecond=0) == customer.notice_at.replace(
                tzinfo=None, microsecond=0
            ), customer.key
        assert event["churned_at"].date() == customer.churned_at.date(), customer.key
        assert float(event["amount_lost"]) == pytest.approx(customer.amount_lost), customer.key
    assert set(by_customer.values()) == {1}, {k: n for k, n in by_customer.items() if n != 1}
    assert merged >= 5, "the world should hold notices merged with their lost renewal"


def test_events_and_accounts_are_related_and_reasons_are_consistent(built_warehouse):
    checks = rows(
        built_warehouse.config,
        """select
             count(*) filter (where account_id is null) as without_account,
             count(*) filter (where primary_reason_category <> coalesce(derived_reason_category,
                                                                       stated_reason_category, 'unknown'))
               as wrong_primary,
             count(*) filter (where is_voluntary = (primary_reason_category = 'involuntary')) as wrong_voluntary,
             count(*) filter (where is_stated_reason_unmapped and stated_reason_category is not null)
               as unmapped_but_bucketed
           from fct_churn_events""",
    )[0]
    # Orphans are normal data: a churn whose company was archived keeps its event, without account.
    orphaned = sum(c.company_archived for c in built_warehouse.world.truth.churned_customers())
    assert checks == {"without_account": orphaned, "wrong_primary": 0, "wrong_voluntary": 0,
                      "unmapped_but_bucketed": 0}


def test_unmapped_stated_reasons_are_flagged_and_listed(built_warehouse):
    config, world = built_warehouse.config, built_warehouse.world
    truth_unmapped = {
        r for c in live_customers(world) for r in c.stated_reasons.values() if r in phrases.UNMAPPED_REASONS
    }
    assert truth_unmapped, "the world should hold unmapped reasons"
    listed = {r["stated_reason_raw"] for r in rows(config, "select * from int_stated_reasons_unmapped")}
    flagged = {
        r["stated_reason_raw"]
        for r in rows(config, "select stated_reason_raw from fct_churn_events where is_stated_reason_unmapped")
    }
    assert listed == flagged
    # deliberately unmapped values, and free text the classifier could not read either
    unreadable = {r for c in world.truth.customers for r in c.stated_reasons.values()
                  if r and expected_stated_category(r, config.data_dir) is None}
    assert truth_unmapped <= unreadable
    assert listed and listed <= unreadable


# --- feedback collection --------------------------------------------------------------------------


def test_exit_notes_are_collected_for_their_churn_event(built_warehouse):
    config, world = built_warehouse.config, built_warehouse.world
    items = {
        r["source_record_id"]: r
        for r in rows(
            config,
            """select f.*, a.salesforce_account_id, a.hubspot_company_id
               from int_feedback_items_collected f join dim_accounts a using (account_id)""",
        )
    }
    exit_notes = {note_id: c for c in world.truth.churned_customers() if not c.company_archived
                  for note_id in c.exit_note_ids}
    assert len(exit_notes) >= 10
    for note_id, customer in exit_notes.items():
        item = items.get(note_id)
        assert item is not None, f"exit note {note_id} of {customer.key} not collected"
        assert item["body_text"] and "<p>" not in item["body_text"]
        assert customer.salesforce_account_id == item["salesforce_account_id"] or (
            customer.hubspot_company_id == item["hubspot_company_id"]
        )
    # an exit note without any telling phrase, known only by its timing, may go unflagged; no
    # ordinary note is ever flagged
    flagged = {i for i, item in items.items() if item["is_exit_interview"]}
    archived_notes = {n for c in world.truth.churned_customers() if c.company_archived
                      for n in c.exit_note_ids}
    flagged -= archived_notes
    assert len(flagged & exit_notes.keys()) >= 0.95 * len(exit_notes)
    # other exit feedback the generator wrote (a cancellation e-mail, a deal's description or
    # extra field summing up the interview) may be flagged too: it is exit feedback as well
    feedback = {f.record_id for c in world.truth.customers for f in c.feedback_texts}
    assert {i.split(".")[0] for i in flagged} <= exit_notes.keys() | feedback


# --- empty raw zone, failing nodes, read access ---------------------------------------------------


def test_a_raw_zone_without_files_still_builds(tmp_path):
    report = build(warehouse_config(tmp_path))
    assert report.success, report.summary()
    assert rows(warehouse_config(tmp_path), "select count(*) as n from fct_churn_events") == [{"n": 0}]


def test_org_specific_fields_timestamp_forms_and_re_landed_associations(tmp_path):
    """This org keeps its loss reason in Closed_Lost_Reason__c and has no competitor field at all;
    its HubSpot notes carry hs_timestamp as epoch milliseconds or with a UTC offset; a later sync
    moves a deal to another company."""
    world = generate_world(accounts=30, seed=5)
    for opportunity in world.salesforce["Opportunity"]:
        opportunity["Closed_Lost_Reason__c"] = opportunity.pop("Loss_Reason__c", None)
        opportunity.pop("Competitor__c", None)
    epoch_note, offset_note = world.hubspot_objects["notes"][:2]
    epoch_note["properties"]["hs_timestamp"] = "1704067200000"  # 2024-01-01T00:00:00Z
    offset_note["properties"]["hs_timestamp"] = "2024-04-01T17:04:12.250+02:00"
    land_world(world, tmp_path)
    # a later sync re-lands one deal's associations: it now belongs to another company only
    deal_id, old_company = next(
        (f, t) for f_type, f, t_type, t, _ in world.hubspot_associations if (f_type, t_type) == ("deals", "companies")
    )
    new_company = next(c["id"] for c in world.hubspot_objects["companies"] if c["id"] != old_company)
    edge = {"from_id": deal_id, "to_id": new_company, "association_type_id": "5",
            "association_category": "HUBSPOT_DEFINED", "association_label": None}
    write_stream_batch(DataPaths(tmp_path), "hubspot", "associations_deals_companies", [edge],
                       world.now + timedelta(hours=1), "later-sync", 1)
    config = warehouse_config(tmp_path)
    config.raw["sources"]["salesforce"].update(
        loss_reason_field="Closed_Lost_Reason__c", competitor_field="Competitor_Name__c"
    )
    report = build(config, select=["stg_salesforce__opportunities", "stg_hubspot__notes", "stg_hubspot__associations"])
    assert report.success, report.summary()
    companies_of_deal = rows(
        config,
        f"""select to_id from stg_hubspot__associations
            where from_object_type = 'deals' and to_object_type = 'companies' and from_id = '{deal_id}'""",
    )
    assert companies_of_deal == [{"to_id": new_company}]
    noted = {
        r["note_id"]: r["noted_at"].isoformat()
        for r in rows(config, "select note_id, noted_at from stg_hubspot__notes")
    }
    assert noted[epoch_note["id"]] == "2024-01-01T00:00:00"
    assert noted[offset_note["id"]] == "2024-04-01T15:04:12.250000"
    staged = rows(
        config,
        """select count(loss_reason_raw) as reasons, count(competitor_raw) as competitors
           from stg_salesforce__opportunities""",
    )[0]
    expected = sum(1 for o in world.salesforce["Opportunity"] if o["Closed_Lost_Reason__c"])
    assert expected > 0
    assert staged == {"reasons": expected, "competitors": 0}


def test_build_command_exits_non_zero_naming_the_failing_test(tmp_path):
    """An analyst maps a reason to a category that does not exist: the build names the broken test."""
    project = tmp_path / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs", ".user.yml"))
    seed = project / "seeds" / "stated_reason_map.csv"
    seed.write_text(seed.read_text() + "Too pricey,exact,pricey\n")
    config_path = tmp_path / "churnkb.yaml"
    config_path.write_text(yaml.safe_dump({"warehouse": {"dbt_project_dir": str(project)}}))
    result = run_cli("build", "--select", "stated_reason_map", data_dir=tmp_path / "data", config_path=config_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAILED" in result.stderr
    assert "failed: accepted_values_stated_reason_map_category" in result.stderr


def test_query_command_formats(built_warehouse):
    data_dir = built_warehouse.config.data_dir
    sql = "select account_id, domain from dim_accounts order by account_id limit 3"
    expected = rows(built_warehouse.config, sql)

    as_json = run_cli("query", sql, "--format", "json", data_dir=data_dir)
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout) == expected

    as_csv = run_cli("query", sql, "--format", "csv", data_dir=data_dir)
    assert as_csv.stdout.splitlines() == ["account_id,domain"] + [f"{r['account_id']},{r['domain']}" for r in expected]

    sql_file = built_warehouse.config.data_dir.parent / "accounts.sql"
    sql_file.write_text(sql)
    as_table = run_cli("query", "--file", str(sql_file), data_dir=data_dir)
    lines = as_table.stdout.splitlines()
    assert lines[0].split() == ["account_id", "domain"]
    assert lines[2].split() == [expected[0]["account_id"], expected[0]["domain"]]
    assert lines[-1] == "(3 rows)"


def test_query_errors_are_clear(built_warehouse, tmp_path):
    bad = run_cli("query", "select * from no_such_mart", data_dir=built_warehouse.config.data_dir)
    assert bad.returncode == 2
    assert "no_such_mart" in bad.stderr and "Traceback" not in bad.stderr
    missing = run_cli("query", "select 1", data_dir=tmp_path)
    assert missing.returncode == 2
    assert "churnkb build" in missing.stderr


def test_read_connection_is_read_only(built_warehouse):
    with read_connection(built_warehouse.config) as connection:
        assert connection.execute("select count(*) from fct_churn_events").fetchone()[0] > 0
        with pytest.raises(Exception, match="read-only"):
            connection.execute("create table scratch as select 1")
    with pytest.raises(WarehouseError):
        query(built_warehouse.config, "select * from no_such_mart")
