"""Every published figure reconciled with the sandbox's ground truth, never with the warehouse.

For three seeds (the session warehouse plus two smaller worlds) and both weekly and monthly
periods, the digests' headline figures and tables, the alert items and the re-engagement people
are recomputed from ``sandbox.truth`` (customers' dates, amounts, checklist outcomes, moved
champions) with the configured SLAs, and compared with what the publishers built.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pytest
from churnkb.publishers.alerts import collect_alerts
from churnkb.publishers.digests import build_all
from churnkb.publishers.marts import MartReader, open_marts
from churnkb.publishers.periods import Period, period_containing
from churnkb.publishers.settings import Publishing
from churnkb.sandbox.truth import AT_RISK, CHURNED, GroundTruth
from fixtures.publishers import make_config
from fixtures.warehouse import BuiltWarehouse, build_world_warehouse

from churnkb.warehouse import query

EXTRA_SEEDS = (5, 23)
EXTRA_ACCOUNTS = 80
SLAS = {"ack_business_days": 1, "save": 3, "exit": 14, "window": (25, 40), "warning": 3,
        "lookback": 30}
EXPIRY = {"followup_30d": 15, "cooldown_elapsed": 365, "champion_moved": 90}


@pytest.fixture(scope="module", params=["seed-11", *(f"seed-{s}" for s in EXTRA_SEEDS)])
def world_warehouse(request, built_warehouse, tmp_path_factory) -> BuiltWarehouse:
    if request.param == "seed-11":
        return built_warehouse
    seed = int(request.param.split("-")[1])
    built = build_world_warehouse(tmp_path_factory.mktemp(request.param), EXTRA_ACCOUNTS, seed)
    failed = [r.name for r in built.report.results if r.status in ("fail", "error")]
    assert failed == [], built.report.summary()
    return built


def _as_of(built: BuiltWarehouse) -> date:
    return query(built.config, "select max(as_of_date) as d from fct_offboarding_checklist_steps"
                 ).to_dicts()[0]["d"]


def _customer_of_event(built: BuiltWarehouse) -> dict[str, str]:
    """churn_event_id -> truth customer key, through the CRM ids in dim_accounts."""
    truth = built.world.truth.customers
    by_sf = {c.salesforce_account_id: c.key for c in truth if c.salesforce_account_id}
    by_hs = {c.hubspot_company_id: c.key for c in truth if c.hubspot_company_id}
    rows = query(built.config, """
        select e.churn_event_id, a.salesforce_account_id, a.hubspot_company_id
        from fct_churn_events e join dim_accounts a using (account_id)""").to_dicts()
    return {r["churn_event_id"]: by_sf.get(r["salesforce_account_id"])
            or by_hs.get(r["hubspot_company_id"]) for r in rows}


def _busiest_period(truth: GroundTruth, kind: str) -> Period:
    counts = Counter(period_containing(c.churned_at.date(), kind).start
                     for c in truth.churned_customers() if c.churned_at < truth.now)
    start = max(counts, key=lambda s: (counts[s], s))
    return period_containing(start, kind)


# -- digests ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["weekly", "monthly"])
def test_digest_figures_equal_the_truth(world_warehouse, kind):
    built, truth = world_warehouse, world_warehouse.world.truth
    period = _busiest_period(truth, kind)
    churned = [c for c in truth.churned_customers() if period.start <= c.churned_at.date() < period.end]
    expected_lost = sum(c.amount_lost or 0 for c in churned)
    config = make_config(built.config.data_dir, {"period": kind})
    settings = Publishing.from_config(config)
    digests = build_all(config, settings, period, _as_of(built))
    names = {c.name for c in churned}
    listed_anywhere: set[str] = set()
    for department, digest in digests.items():
        company = {m.label: m.current for m in digest.metrics if m.scope == "Company-wide"}
        assert company["Churned accounts"] == len(churned), (department, period.label)
        assert company["Revenue lost"] == pytest.approx(expected_lost), (department, period.label)
        mine = {m.label: m.current for m in digest.metrics if m.scope.startswith("Routed to")
                and "as of" not in m.scope}
        table = digest.tables[0]
        assert table.title.startswith(f"Churned in {period.label}")
        amounts = [float(row[3].replace(",", "")) for row in table.rows]
        accounts = {row[0].text for row in table.rows}
        assert mine["Churned accounts"] == len(accounts), (department, "headline = its table")
        assert mine["Revenue lost"] == pytest.approx(sum(amounts)), (department, "headline = table")
        # every account listed really churned in the period, under one of its names
        for account in accounts:
            assert account == "(account not in the CRM)" or any(n in account for n in names), (
                department, account)
        listed_anywhere |= accounts
        open_notices = next(t for t in digest.tables if t.title.startswith("Open notices as of"))
        at_risk = {m.label: m.current for m in digest.metrics if "as of" in m.scope}
        assert at_risk["Open notices at risk"] == len(open_notices.rows)
        assert at_risk["Amount at risk"] == pytest.approx(
            sum(float(r[3].replace(",", "")) for r in open_notices.rows))
    # The finance digest's revenue lost is all revenue lost in the period.
    finance = {m.label: m.current for m in digests["finance"].metrics if m.scope == "Company-wide"}
    assert finance["Revenue lost"] == pytest.approx(expected_lost)
    # Each churned customer routed to a department appears in at least one digest (company and
    # unknown reasons route nowhere and are in the company-wide figures only).
    routed = [c for c in churned if c.primary_reason not in ("company", "unknown")]
    found = sum(any(c.name in a for a in listed_anywhere) for c in routed)
    assert found >= len(routed) - 1, (found, len(routed))


def test_open_notices_at_risk_equal_the_truth(world_warehouse):
    built, truth = world_warehouse, world_warehouse.world.truth
    with open_marts(built.config) as con:
        notices = MartReader(con).notices(None, ("open",))
    expected = {c.name: c.amount_lost for c in truth.open_save_opportunities()}
    got = {row["account_name"]: float(row["amount_at_risk"] or 0) for row in notices}
    assert len(got) == len(expected)
    for name, amount in expected.items():
        match = [v for k, v in got.items() if k and name in k]
        assert match and match[0] == pytest.approx(amount), name


# -- alerts ----------------------------------------------------------------------------------------

def _add_business_days(day: date, days: int) -> date:
    while days:
        day += timedelta(days=1)
        if day.weekday() < 5:
            days -= 1
    return day


def _expected_alerts(truth: GroundTruth, as_of: date) -> set[tuple[str, str, str]]:
    """(customer, step, state) from the truth's dates and outcomes and the configured SLAs."""
    expected = set()
    for customer in truth.customers:
        if customer.deleted or customer.company_archived or customer.status not in (CHURNED, AT_RISK):
            continue
        notice, churn = customer.notice_at.date(), customer.churned_at.date()
        due = {"acknowledge": _add_business_days(notice, SLAS["ack_business_days"]),
               "save_assessment": notice + timedelta(days=SLAS["save"]),
               "data_handover": churn, "exit_interview": notice + timedelta(days=SLAS["exit"]),
               "followup": churn + timedelta(days=SLAS["window"][1])}
        for step, outcome in customer.checklist.items():
            if outcome.done_at is not None:
                continue
            if as_of > due[step]:
                if due[step] >= as_of - timedelta(days=SLAS["lookback"]):
                    expected.add((customer.key, step, "overdue"))
            elif step == "followup":
                if churn + timedelta(days=SLAS["window"][0]) <= as_of:
                    expected.add((customer.key, step, "due soon"))
            elif due[step] <= as_of + timedelta(days=SLAS["warning"]):
                expected.add((customer.key, step, "due soon"))
    return expected


def test_alerts_equal_the_truth_and_never_repeat(world_warehouse):
    built, truth = world_warehouse, world_warehouse.world.truth
    as_of = _as_of(built)
    settings = Publishing.from_config(make_config(built.config.data_dir))
    with open_marts(built.config) as con:
        items = collect_alerts(MartReader(con), settings.get("alerts", {}), as_of)
    assert len({i.key for i in items}) == len(items)
    event_customer = _customer_of_event(built)
    by_key = truth.by_key()
    got = {(event_customer.get(i.item_id), i.alert_type, i.state) for i in items
           if i.alert_type not in ("save", "feedback_routed")}
    assert not [i for i in items if event_customer.get(i.item_id) is None], "alert for an orphan"
    saved = {c.key for c in truth.customers if c.status == "saved"}
    assert not {k for k, _, _ in got} & saved, "no alert for a saved event"
    for key, step, _ in got:  # never for a step done on time
        assert by_key[key].checklist[step].outcome != "on_time", (key, step)
    assert got == _expected_alerts(truth, as_of)
    saves = {event_customer.get(i.item_id) for i in items if i.alert_type == "save"}
    assert saves == {c.key for c in truth.open_save_opportunities() if c.amount_lost >= 20_000}


# -- re-engagement ---------------------------------------------------------------------------------

def test_reengagement_people_equal_the_truth(world_warehouse):
    built, truth = world_warehouse, world_warehouse.world.truth
    as_of = _as_of(built)
    with open_marts(built.config) as con:
        people = MartReader(con).reengagement_people()
    emails = [p["contact_email"] for p in people]
    assert len(emails) == len(set(emails)), "one row per person"
    old_addresses = {m.old_email.lower() for m in truth.moved_champions}
    assert not old_addresses & set(emails), "a moved champion is contacted at the new company only"
    moved = {m.new_email.lower() for m in truth.moved_champions
             if m.joined_at.date() <= as_of <= m.joined_at.date() + timedelta(
                 days=EXPIRY["champion_moved"])}
    champions = {p["contact_email"] for p in people if p["trigger"] == "champion_moved"
                 or "champion_moved" in (p["other_triggers"] or [])}
    assert champions == moved
    churned = [c for c in truth.churned_customers()
               if not c.company_archived and c.primary_reason != "company"]
    expected: dict[str, set[str]] = {
        "followup_30d": {c.key for c in churned if c.checklist["followup"].done_at is None
                         and c.churned_at.date() + timedelta(days=SLAS["window"][0]) <= as_of
                         <= c.churned_at.date() + timedelta(days=SLAS["window"][0]
                                                            + EXPIRY["followup_30d"])},
        "cooldown_elapsed": {c.key for c in churned
                             if c.churned_at.date() + timedelta(days=180) <= as_of
                             <= c.churned_at.date() + timedelta(days=180 + EXPIRY[
                                 "cooldown_elapsed"])},
    }
    account_customer = _account_customers(built)
    for trigger, keys in expected.items():
        got = {account_customer.get(p["account_id"]) for p in people
               if p["trigger"] == trigger or trigger in (p["other_triggers"] or [])}
        # a customer whose only contact moved away has nobody left to write to
        reachable = {k for k in keys if k in account_customer.values()}
        # the warehouse's 'company' reason may differ from the truth for a misleading stated
        # reason: one difference each way is allowed, as in test_warehouse_marts
        assert len(got ^ reachable) <= 1, (trigger, got ^ reachable)


def _account_customers(built: BuiltWarehouse) -> dict[str, str]:
    truth = built.world.truth.customers
    by_sf = {c.salesforce_account_id: c.key for c in truth if c.salesforce_account_id}
    by_hs = {c.hubspot_company_id: c.key for c in truth if c.hubspot_company_id}
    return {r["account_id"]: by_sf.get(r["salesforce_account_id"]) or by_hs.get(
        r["hubspot_company_id"]) for r in query(built.config, "select * from dim_accounts").to_dicts()}
