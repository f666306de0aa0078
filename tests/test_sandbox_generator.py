"""The sandbox's synthetic CRM world: deterministic, well-formed and consistent with its truth."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import os
import re
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from churnkb.sandbox.generator import ASSOC, DEFAULT_NOW, World, generate_world
from churnkb.sandbox.ids import SALESFORCE_PREFIXES, salesforce_18
from churnkb.sandbox.truth import AT_RISK, CATEGORIES, CHURNED, LATE, MISSING, ON_TIME

SF_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.000\+0000$")
SF_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
HS_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
SF_DATETIME_FIELDS = ("CreatedDate", "LastModifiedDate", "SystemModstamp", "ClosedDate", "CompletedDateTime")
SF_DATE_FIELDS = ("CloseDate", "ActivityDate", "Cancellation_Effective_Date__c", "Churn_Date__c")
REPO = Path(__file__).resolve().parents[1]


def fingerprint(world: World) -> str:
    payload = {
        "salesforce": world.salesforce,
        "hubspot_objects": world.hubspot_objects,
        "hubspot_associations": world.hubspot_associations,
        "hubspot_owners": world.hubspot_owners,
        "hubspot_pipelines": world.hubspot_pipelines,
        "truth": dataclasses.asdict(world.truth),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(accounts=200, seed=7)


@pytest.fixture(scope="module")
def big_world() -> World:
    return generate_world(accounts=1500, seed=11)


def sf_by_id(world: World) -> dict[str, dict]:
    return {r["Id"]: r for records in world.salesforce.values() for r in records}


def hs_by_id(world: World) -> dict[tuple[str, str], dict]:
    return {(t, r["id"]): r for t, records in world.hubspot_objects.items() for r in records}


EXIT_BODY = {"notes": "hs_note_body", "calls": "hs_call_body", "meetings": "hs_meeting_body"}


def hs_exit_body(hs: dict[tuple[str, str], dict], record_id: str) -> str:
    """A HubSpot exit interview's body, whether it was logged as a note, a call or a meeting."""
    return next(hs[(t, record_id)]["properties"][p] for t, p in EXIT_BODY.items() if (t, record_id) in hs)


# --- determinism ----------------------------------------------------------------------------------


def test_same_seed_gives_identical_world(world):
    assert fingerprint(generate_world(accounts=200, seed=7)) == fingerprint(world)


def test_different_seed_gives_different_world(world):
    assert fingerprint(generate_world(accounts=200, seed=8)) != fingerprint(world)


def test_default_now_is_fixed_and_naive_now_is_utc(world):
    assert world.now == DEFAULT_NOW == datetime(2026, 11, 1, 12, tzinfo=UTC)
    assert fingerprint(generate_world(200, 7, now=DEFAULT_NOW)) == fingerprint(world)
    assert fingerprint(generate_world(200, 7, now=datetime(2026, 11, 1, 12))) == fingerprint(world)


def test_world_does_not_depend_on_wall_clock_timezone_or_hash_seed(world):
    code = ("import dataclasses, hashlib, json; from churnkb.sandbox.generator import generate_world; "
            "from tests.test_sandbox_generator import fingerprint; print(fingerprint(generate_world(200, 7)))")
    env = {**os.environ, "TZ": "Asia/Kathmandu", "PYTHONHASHSEED": "4242", "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO,
                         check=True)
    assert out.stdout.strip() == fingerprint(world)


def test_now_moves_the_whole_history():
    later = generate_world(50, 7, now=datetime(2030, 1, 1, tzinfo=UTC))
    created = [r["CreatedDate"] for r in later.salesforce["Account"]]
    assert min(created) >= "2027-01"
    assert max(r["SystemModstamp"][:19] for rs in later.salesforce.values() for r in rs) <= "2030-01-01T00:00:00"


def test_empty_and_invalid_sizes():
    empty = generate_world(accounts=0)
    assert empty.truth.customers == [] and empty.salesforce["Account"] == []
    with pytest.raises(ValueError, match="accounts must be >= 0"):
        generate_world(accounts=-1)


# --- Salesforce records -------------------------------------------------------------------------------


def test_salesforce_ids_are_18_chars_with_prefix_checksum_and_unique(world):
    seen = set()
    for sobject, records in world.salesforce.items():
        assert records, f"no {sobject} records"
        for record in records:
            record_id = record["Id"]
            assert len(record_id) == 18 and record_id.startswith(SALESFORCE_PREFIXES[sobject])
            assert salesforce_18(record_id[:15]) == record_id
            seen.add(record_id)
    assert len(seen) == sum(len(r) for r in world.salesforce.values())


def test_salesforce_field_formats(world):
    for sobject, records in world.salesforce.items():
        keys = set(records[0])
        for record in records:
            assert set(record) == keys, f"{sobject} records must share one field list"
            if sobject == "User":  # a real org's User has no IsDeleted (users are deactivated)
                assert "IsDeleted" not in record and isinstance(record["IsActive"], bool)
            else:
                assert isinstance(record["IsDeleted"], bool)
            for name in SF_DATETIME_FIELDS:
                if record.get(name) is not None:
                    assert SF_DATETIME.match(record[name]), (sobject, name, record[name])
            for name in SF_DATE_FIELDS:
                if record.get(name) is not None:
                    assert SF_DATE.match(record[name]), (sobject, name, record[name])
            if sobject == "Opportunity":
                assert isinstance(record["Amount"], float) and isinstance(record["Probability"], float)
    now = world.now.strftime("%Y-%m-%dT%H:%M:%S")
    assert all(r["SystemModstamp"][:19] <= now for rs in world.salesforce.values() for r in rs)


def test_salesforce_references_point_at_existing_records(world):
    """Every reference resolves, except the orphans the truth names (an account not synced)."""
    by_id = sf_by_id(world)
    orphans = {o.record_id for o in world.truth.orphans if o.system == "salesforce"}
    for record in world.salesforce["Contact"] + world.salesforce["Opportunity"] + world.salesforce["Case"]:
        assert by_id[record["AccountId"]]["Id"].startswith("001")
    for task in (t for t in world.salesforce["Task"] if t["Id"] not in orphans):
        assert task["WhatId"] in by_id and task["AccountId"] in by_id
        assert task["WhoId"] is None or by_id[task["WhoId"]]["Id"].startswith("003")
        assert task["Status"] in ("Completed", "Not Started")
        assert (task["Status"] == "Completed") == (task["CompletedDateTime"] is not None)
    for note in world.salesforce["Note"]:
        assert by_id[note["ParentId"]]["Id"][:3] in ("001", "006")
    owners = {u["Id"] for u in world.salesforce["User"]}
    assert all(r["OwnerId"] in owners for k, rs in world.salesforce.items()
               if k not in ("User", "ContentDocumentLink") for r in rs)
    notes = {n["Id"] for n in world.salesforce["ContentNote"]}
    for link in world.salesforce["ContentDocumentLink"]:
        assert link["ContentDocumentId"] in notes and link["LinkedEntityId"][:3] in ("001", "006", "005")


def test_salesforce_picklists(world):
    opps = world.salesforce["Opportunity"]
    assert {o["Type"] for o in opps} <= {"Renewal", "New Business", "Existing Customer - Upgrade"}
    stages = Counter(o["StageName"] for o in opps)
    assert stages["Closed Lost"] and stages["Closed Won"] and len(stages) > 2
    for opp in opps:
        assert opp["IsClosed"] == opp["StageName"].startswith("Closed")
        assert opp["IsWon"] == (opp["StageName"] == "Closed Won")
    cancellations = [c for c in world.salesforce["Case"] if c["Type"] == "Cancellation"]
    assert "Closed" in {c["Status"] for c in cancellations}
    assert {c["Status"] for c in cancellations} & {"New", "Working", "Escalated"}
    assert {c["Outcome__c"] for c in cancellations} <= {"Saved", "Churned", None}
    subjects = " ".join(t["Subject"] for t in world.salesforce["Task"])
    for expected in ("Acknowledge", "Save call", "Exit interview", "Data export", "follow-up", "QBR"):
        assert expected in subjects


# --- HubSpot records ------------------------------------------------------------------------------------


def test_hubspot_property_values_are_strings_and_ids_numeric(world):
    ids = set()
    for object_type, records in world.hubspot_objects.items():
        assert records, f"no {object_type}"
        for record in records:
            assert set(record) == {"id", "properties", "createdAt", "updatedAt", "archived", "archivedAt"}
            assert record["id"].isdigit() and record["properties"]["hs_object_id"] == record["id"]
            assert all(v is None or isinstance(v, str) for v in record["properties"].values()), record
            assert HS_DATETIME.match(record["createdAt"]) and HS_DATETIME.match(record["updatedAt"])
            assert record["archived"] == (record["archivedAt"] is not None)
            ids.add((object_type, record["id"]))
    assert len(ids) == sum(len(r) for r in world.hubspot_objects.values())


def test_hubspot_associations_use_defined_type_ids_and_existing_records(world):
    records = hs_by_id(world)
    not_synced = {(o.object, o.record_id) for o in world.truth.orphans
                  if o.why == "account_not_synced"}
    assert world.hubspot_associations
    for from_type, from_id, to_type, to_id, type_id in world.hubspot_associations:
        assert ASSOC[(from_type, to_type)] == type_id
        assert (from_type, from_id) in records
        assert (to_type, to_id) in records or (from_type, from_id) in not_synced
    assert ASSOC[("notes", "deals")] == 214 and ASSOC[("deals", "companies")] == 5


def test_hubspot_owners_and_pipelines(world):
    owner = world.hubspot_owners[0]
    assert set(owner) == {"id", "email", "firstName", "lastName", "userId", "createdAt", "updatedAt", "archived"}
    stages = {s["id"]: s for s in world.hubspot_pipelines["deals"][0]["stages"]}
    assert stages["closedwon"]["metadata"] == {"isClosed": "true", "probability": "1.0"}
    assert stages["closedlost"]["metadata"] == {"isClosed": "true", "probability": "0.0"}
    tickets = world.hubspot_pipelines["tickets"][0]
    assert tickets["id"] == "0" and [s["id"] for s in tickets["stages"]] == ["1", "2", "3", "4"]
    owner_ids = {o["id"] for o in world.hubspot_owners}
    assert all(r["properties"]["hubspot_owner_id"] in owner_ids for r in world.hubspot_objects["deals"])


def test_hubspot_notes_carry_html(world):
    bodies = [n["properties"]["hs_note_body"] for n in world.hubspot_objects["notes"]]
    assert all(b.startswith("<p>") or b.startswith("<ul>") for b in bodies)
    assert any("<ul><li>" in b for b in bodies)


# --- truth consistent with the records ----------------------------------------------------------------


def test_every_customer_has_its_crm_records(world):
    sf, hs = sf_by_id(world), hs_by_id(world)
    for customer in world.truth.customers:
        assert customer.salesforce_account_id or customer.hubspot_company_id
        if customer.salesforce_account_id:
            account = sf[customer.salesforce_account_id]
            assert account["IsDeleted"] == customer.deleted
            assert customer.name in account["Name"]
        if customer.hubspot_company_id:
            company = hs[("companies", customer.hubspot_company_id)]
            assert company["archived"] == (customer.deleted or customer.company_archived)
            assert company["properties"]["domain"].lower().rstrip(".") == customer.domain


def test_churned_customers_have_notice_records_and_stated_reasons(world):
    sf, hs = sf_by_id(world), hs_by_id(world)
    for customer in world.truth.customers:
        if customer.status in ("retained",):
            assert customer.notice_at is None and not customer.churn_records
            continue
        assert customer.notice_at is not None and customer.primary_reason in CATEGORIES
        assert customer.reasons[0] == customer.primary_reason
        if customer.status == CHURNED:
            assert customer.churned and customer.churned_at > customer.notice_at and customer.amount_lost > 0
            assert customer.churned_at <= world.now and customer.churn_records
        for system, sobject, record_id in customer.churn_records:
            record = sf[record_id] if system == "salesforce" else hs[(sobject, record_id)]
            deleted = record["IsDeleted"] if system == "salesforce" else record["archived"]
            assert deleted == customer.deleted
        for field_path, raw in customer.stated_reasons.items():
            system, sobject, name = field_path.split(".")
            matching = [r for s, o, r in customer.churn_records if s == system and o == sobject]
            assert len(matching) == 1
            record = sf[matching[0]] if system == "salesforce" else hs[(sobject, matching[0])]["properties"]
            assert record[name] == raw


def test_open_save_opportunities_have_open_cancellations(world):
    sf, hs = sf_by_id(world), hs_by_id(world)
    at_risk = [c for c in world.truth.customers if c.status == AT_RISK]
    assert at_risk
    for customer in at_risk:
        assert customer.open_save_opportunity and not customer.churned and customer.churned_at > world.now
        for system, sobject, record_id in customer.churn_records:
            if system == "salesforce":
                assert sf[record_id]["Status"] != "Closed" and sf[record_id]["Outcome__c"] is None
            else:
                assert hs[(sobject, record_id)]["properties"]["hs_pipeline_stage"] != "4"
    assert {c.key for c in world.truth.open_save_opportunities()} <= {c.key for c in at_risk}


def test_churn_events_by_category_counts_churned_not_deleted_customers(world):
    counts = world.truth.churn_events_by_category()
    assert set(counts) == set(CATEGORIES)
    assert sum(counts.values()) == len(world.truth.churned_customers())
    assert len(world.truth.churned_customers(include_deleted=True)) >= len(world.truth.churned_customers())


def test_checklist_outcomes_match_due_and_done(world):
    outcomes = Counter()
    for customer in world.truth.churned_customers(include_deleted=True):
        assert set(customer.checklist) == {"acknowledge", "save_assessment", "data_handover",
                                           "exit_interview", "followup"}
        for step in customer.checklist.values():
            outcomes[step.outcome] += 1
            if step.outcome == ON_TIME:
                assert step.done_at.date() <= step.due
            elif step.outcome == LATE:
                assert step.done_at.date() > step.due
            else:
                assert step.done_at is None
    assert outcomes[ON_TIME] and outcomes[LATE] and outcomes[MISSING]


def test_completed_checklist_steps_have_completed_activities(world):
    patterns = {"acknowledge": "acknowledg", "save_assessment": "save call", "data_handover": "data export",
                "exit_interview": "exit interview", "followup": "follow-up"}
    sf_done = {(t["AccountId"], t["Subject"].lower(), t["ActivityDate"]) for t in world.salesforce["Task"]
               if t["CompletedDateTime"]}
    hs_tasks = {r["id"]: r["properties"] for r in world.hubspot_objects["tasks"]}
    hs_done = {(to_id, hs_tasks[from_id]["hs_task_subject"].lower(), hs_tasks[from_id]["hs_timestamp"][:10])
               for from_type, from_id, to_type, to_id, _ in world.hubspot_associations
               if from_type == "tasks" and to_type == "companies" and hs_tasks[from_id]["hs_task_completion_date"]}
    checked = 0
    for customer in world.truth.churned_customers():
        for step in customer.checklist.values():
            if step.done_at is None:
                continue
            if customer.home_system == "salesforce":
                account, done = customer.salesforce_account_id, sf_done
            else:
                account, done = customer.hubspot_company_id, hs_done
            assert any(a == account and patterns[step.step] in subject and due == step.due.isoformat()
                       for a, subject, due in done), (customer.key, step)
            checked += 1
    assert checked > 50


def test_exit_notes_exist_for_most_churners_and_vary(world, big_world):
    churned = big_world.truth.churned_customers()
    with_note = [c for c in churned if c.exit_note_ids]
    assert 0.6 < len(with_note) / len(churned) < 0.98
    langs = Counter(c.exit_note_lang for c in with_note)
    assert set(langs) == {"en", "es", "de", "fr", "pt"} and langs["en"] / len(with_note) > 0.85
    sf, hs = sf_by_id(big_world), hs_by_id(big_world)
    texts = []
    for customer in with_note:
        (note_id,) = customer.exit_note_ids
        texts.append(exit_note_text(sf, hs, note_id))
    assert len(set(texts)) > 0.95 * len(texts)
    assert sum("\n- " in t or "<li>" in t for t in texts) > 0.2 * len(texts)
    assert any(len(c.reasons) >= 3 for c in with_note)
    titles = [n["Title"] for n in big_world.salesforce["Note"]]
    assert all(t.startswith("Exit interview - ") for t in titles)


def exit_note_text(sf: dict, hs: dict, note_id: str) -> str:
    """The exit interview's text wherever the generator put it (Note, ContentNote, Log a Call,
    Event, lost opportunity description, or a HubSpot note)."""
    if note_id not in sf:
        return hs_exit_body(hs, note_id)
    record = sf[note_id]
    if record.get("Content"):
        return base64.b64decode(record["Content"]).decode("utf-8")
    return record.get("Body") or record["Description"]


def test_exit_notes_live_where_a_lightning_org_keeps_them(big_world):
    places = Counter(c.exit_note_source for c in big_world.truth.customers if c.exit_note_ids)
    salesforce = {p: n for p, n in places.items() if p.startswith("salesforce_")}
    assert {"salesforce_task", "salesforce_content_note", "salesforce_event"} <= set(salesforce)
    assert salesforce.get("salesforce_note", 0) < 0.3 * sum(salesforce.values())


def test_stated_reasons_include_blank_misspelled_and_unmapped(big_world):
    raws = [raw for c in big_world.truth.customers for raw in c.stated_reasons.values()]
    assert None in raws or "" in raws
    assert {"Pricng", "pricng", "Competiter", "competiter"} & set(raws)
    assert {"Other - see notes", "Timing", "TBD"} & set(raws)
    assert "Price" in raws


def test_moved_champions_reappear_at_another_customer(world, big_world):
    for w in (world, big_world):
        assert w.truth.moved_champions
        customers = w.truth.by_key()
        sf, hs = sf_by_id(w), hs_by_id(w)
        for moved in w.truth.moved_champions:
            assert moved.from_customer != moved.to_customer
            assert customers[moved.from_customer].churned
            new_domain = customers[moved.to_customer].domain
            assert moved.new_email.endswith("@" + new_domain) and moved.old_email != moved.new_email
            if moved.system == "salesforce":
                contact = sf[moved.contact_id]
                assert contact["Name"] == moved.contact_name and contact["Email"] == moved.new_email
                assert contact["AccountId"] == customers[moved.to_customer].salesforce_account_id
            else:
                props = hs[("contacts", moved.contact_id)]["properties"]
                assert f"{props['firstname']} {props['lastname']}" == moved.contact_name
                assert props["associatedcompanyid"] == customers[moved.to_customer].hubspot_company_id


def test_contact_names_are_unique_except_moved_champions(big_world):
    accounts_per_name: dict[str, set[str]] = {}
    for contact in big_world.salesforce["Contact"]:
        accounts_per_name.setdefault(contact["Name"], set()).add(contact["AccountId"])
    for contact in big_world.hubspot_objects["contacts"]:
        props = contact["properties"]
        name = f"{props['firstname']} {props['lastname']}"
        accounts_per_name.setdefault(name, set()).add(props["associatedcompanyid"])
    customer_of = {}
    for customer in big_world.truth.customers:
        customer_of[customer.salesforce_account_id] = customer_of[customer.hubspot_company_id] = customer.key
    moved = {m.contact_name for m in big_world.truth.moved_champions}
    for name, accounts in accounts_per_name.items():
        if name not in moved:
            assert len({customer_of[a] for a in accounts}) == 1, name


def test_nps_drops_before_notice(big_world):
    def last_score(status: str) -> list[int]:
        return [c.nps_scores[-1] for c in big_world.truth.customers if c.status == status and c.nps_scores]

    churned, retained = last_score(CHURNED), last_score("retained")
    assert sum(churned) / len(churned) < 4 < 7 < sum(retained) / len(retained)


# --- shares ---------------------------------------------------------------------------------------------


def test_shares_of_churners_and_customers_in_both(big_world):
    truth = big_world.truth
    churned = len(truth.churned_customers(include_deleted=True)) / len(truth.customers)
    both = len(truth.customers_in_both()) / len(truth.customers)
    deleted = sum(c.deleted for c in truth.customers) / len(truth.customers)
    assert 0.18 <= churned <= 0.32
    assert 0.20 <= both <= 0.30
    assert 0.01 <= deleted <= 0.06
    counts = truth.churn_events_by_category()
    assert all(counts[c] > 0 for c in CATEGORIES)


def test_domains_vary_between_crms_but_normalise_to_one(big_world):
    sf, hs = sf_by_id(big_world), hs_by_id(big_world)
    raw_pairs = []
    for customer in big_world.truth.customers_in_both():
        website = sf[customer.salesforce_account_id]["Website"]
        domain = hs[("companies", customer.hubspot_company_id)]["properties"]["domain"]
        normalised = re.sub(r"^(https?://)?(www\.)?", "", website.lower()).rstrip("/").rstrip(".")
        assert normalised == customer.domain == domain.lower().rstrip(".")
        raw_pairs.append((website, domain))
    assert any(w.startswith("www.") and w[4:] != w[4:].lower() for w, _ in raw_pairs)
    assert any(d.endswith(".") for _, d in raw_pairs) and any(d.isupper() for _, d in raw_pairs)
    names = [(sf[c.salesforce_account_id]["Name"], hs[("companies", c.hubspot_company_id)]["properties"]["name"])
             for c in big_world.truth.customers_in_both()]
    assert any(a != b for a, b in names)


def test_deleted_and_archived_records_exist_beyond_deleted_customers(world):
    deleted_customers = {c.salesforce_account_id for c in world.truth.customers if c.deleted}
    stray = [t for t in world.salesforce["Task"] if t["IsDeleted"] and t["AccountId"] not in deleted_customers]
    assert stray
    assert any(t["archived"] for t in world.hubspot_objects["tasks"])


def test_requested_features_are_named_in_exit_notes(big_world):
    from churnkb.sandbox.phrases import FEATURE_SLUGS

    sf, hs = sf_by_id(big_world), hs_by_id(big_world)
    requested = [c for c in big_world.truth.customers if c.requested_feature]
    assert len(requested) > 20
    for customer in requested:
        assert "product" in customer.reasons
        (note_id,) = customer.exit_note_ids
        text = exit_note_text(sf, hs, note_id)
        names = [name for name, slug in FEATURE_SLUGS.items() if slug == customer.requested_feature]
        assert any(name in text for name in names), text
