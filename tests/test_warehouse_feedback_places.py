"""Every place exit feedback lives in HubSpot reaches fct_feedback_items (issue 10, acceptance).

The sandbox portal in its default mode is synced through the real connector (hubspot-api-client),
the warehouse is built from what landed, and each exit-feedback text the generator wrote is
reconciled with the ground truth, per source: found, with the right account and churn event.
"""

from __future__ import annotations

from collections import Counter

from churnkb.connectors.sync import sync_source

from churnkb.warehouse import build, query

HUBSPOT_SOURCES = ("hubspot_note", "hubspot_call", "hubspot_meeting", "hubspot_email",
                   "hubspot_deal_description", "hubspot_extra_field")


def feedback_row_id(text) -> str:
    """The source_record_id a text has in the warehouse (an extra field names its property)."""
    if text.feedback_source == "hubspot_extra_field":
        return f"{text.record_id}.churn_notes"
    return text.record_id


def test_every_hubspot_exit_feedback_text_reaches_fct_feedback_items(connector_world):
    world = connector_world(accounts=220, sources={"hubspot": {
        "extra_text_properties": {"deals": ["churn_notes"]}}})
    report = sync_source("hubspot", world.config)
    assert report.ok, report.rows()
    built = build(world.config)
    assert built.success, built.summary()

    truth = world.hubspot  # the sandbox store is the ground truth of what was written
    # an archived-only company's feedback has no account: tests/test_warehouse_orphans.py
    customers = [c for c in _truth(world).customers
                 if not c.deleted and c.churned and not c.company_archived]
    items = {(r["source_system"], r["source_record_id"]): r for r in query(world.config, """
        select f.*, a.hubspot_company_id from fct_feedback_items f
        left join dim_accounts a using (account_id)""").to_dicts()}
    events = {}
    for r in query(world.config, "select churn_event_id, source_system, source_record_id "
                                 "from int_churn_records_grouped").to_dicts():
        events.setdefault(r["churn_event_id"], set()).add((r["source_system"], r["source_record_id"]))

    expected, found, problems = Counter(), Counter(), []
    for customer in customers:
        churn_ids = {(system, record_id) for system, _, record_id in customer.churn_records}
        for text in customer.feedback_texts:
            if text.system != "hubspot":
                continue
            expected[text.feedback_source] += 1
            item = items.get(("hubspot", feedback_row_id(text)))
            if item is None:
                problems.append(f"{text.feedback_source} {text.record_id} of {customer.key}: missing")
                continue
            if item["feedback_source"] != text.feedback_source:
                problems.append(f"{text.record_id}: source {item['feedback_source']}")
            elif item["hubspot_company_id"] != customer.hubspot_company_id:
                problems.append(f"{text.record_id}: account {item['hubspot_company_id']} "
                                f"instead of {customer.hubspot_company_id}")
            elif not events.get(item["churn_event_id"], set()) & churn_ids:
                problems.append(f"{text.record_id}: churn event {item['churn_event_id']} is not "
                                f"{customer.key}'s")
            else:
                found[text.feedback_source] += 1
    assert set(expected) == set(HUBSPOT_SOURCES), expected
    assert not problems, (problems[:10], dict(expected), dict(found))
    assert found == expected
    assert truth.store["calls"] and truth.store["meetings"] and truth.store["emails"]

    # the same calls, meetings and e-mails are account activities the checklist can match
    activities = query(world.config, """
        select activity_type, activity_subtype, count(*) as n from int_account_tasks_unioned
        where source_system = 'hubspot' group by all""").to_dicts()
    kinds = {(r["activity_type"], r["activity_subtype"]) for r in activities}
    assert {"call", "meeting", "email"} <= {kind for kind, _ in kinds}
    assert ("meeting", "COMPLETED") in kinds and ("email", "INCOMING_EMAIL") in kinds
    print("\nHubSpot exit-feedback texts in fct_feedback_items per source:", dict(found))

    # real value formats: a multiple-checkbox "BILLING_ISSUE;CANCELLATION" ticket is a
    # cancellation; ticket stages carry only ticketState; epoch-ms dates parse
    multi = {i for i, r in truth.store["tickets"].items() if not r["archived"]
             and ";" in (r["properties"].get("hs_ticket_category") or "")
             and "CANCELLATION" in r["properties"]["hs_ticket_category"].split(";")}
    churn_tickets = {r["source_record_id"] for r in query(world.config, """
        select source_record_id from int_churn_records_unioned
        where source_system = 'hubspot' and source_object = 'tickets'""").to_dicts()}
    assert multi and multi <= churn_tickets
    stages = {r["stage_id"]: r["is_closed"] for r in query(
        world.config, "select * from stg_hubspot__ticket_pipeline_stages").to_dicts()}
    assert stages == {"1": False, "2": False, "3": False, "4": True}
    epoch = {i: r["properties"]["cancellation_effective_date"] for i, r in truth.store["tickets"].items()
             if (r["properties"].get("cancellation_effective_date") or "").isdigit()}
    dates = {r["ticket_id"]: r["cancellation_effective_date"] for r in query(world.config, """
        select ticket_id, cancellation_effective_date from stg_hubspot__tickets""").to_dicts()}
    assert epoch and all(dates[i] is not None and dates[i].isoformat() >= "2020-01-01" for i in epoch)


def _truth(world):
    from churnkb.sandbox.generator import generate_world

    return generate_world(accounts=220, seed=11).truth  # connector_world's default seed
