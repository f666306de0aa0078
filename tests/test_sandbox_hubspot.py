"""The sandbox HubSpot portal, driven through the real hubspot-api-client (never raw HTTP)."""

from __future__ import annotations

import json

import pytest
from churnkb.connectors.clients import hubspot_client, hubspot_retry
from churnkb.sandbox.faults import Faults
from churnkb.sandbox.hubspot_server import DEFAULT_TOKEN, HubSpotSandbox
from hubspot.crm.associations.v4 import (
    BatchInputPublicFetchAssociationsBatchRequest,
    PublicFetchAssociationsBatchRequest,
)
from hubspot.crm.associations.v4.exceptions import ApiException as AssociationsApiException
from hubspot.crm.deals import Filter, FilterGroup, PublicObjectSearchRequest
from hubspot.crm.deals.exceptions import ApiException as DealsApiException
from hubspot.crm.deals.exceptions import ServiceException as DealsServiceException
from hubspot.crm.deals.exceptions import UnauthorizedException as DealsUnauthorized
from hubspot.crm.objects.exceptions import ApiException as ObjectsApiException
from hubspot.crm.objects.notes.exceptions import UnauthorizedException as NotesUnauthorized
from hubspot.crm.objects.tasks import SimplePublicObjectInputForCreate
from hubspot.crm.objects.tasks.exceptions import ApiException as TasksApiException

T0 = "2024-01-01T00:00:00.000Z"
JAN_15_MS = "1705276800000"  # 2024-01-15T00:00:00Z


def _record(object_id: int, created: str = T0, modified: str = T0, archived: bool = False, **props) -> dict:
    return {"id": str(object_id), "properties": {"createdate": created, "hs_lastmodifieddate": modified,
                                                **props},
            "createdAt": created, "updatedAt": modified, "archived": archived,
            "archivedAt": "2024-02-01T00:00:00.000Z" if archived else None}


def _deals() -> list[dict]:
    """30 deals: ids 95..124 (so 99 < 100 numerically but not as text), 3 archived."""
    deals = []
    for n, object_id in enumerate(range(95, 125)):
        lost = n % 3 == 0
        deals.append(_record(
            object_id,
            modified=f"2024-01-{n + 1:02d}T12:00:00.000Z",
            archived=object_id in (100, 110, 120),
            dealname=f"Deal {object_id}", amount=str(1000 * n), pipeline="default",
            dealstage="closedlost" if lost else "closedwon",
            closed_lost_reason="Went with competitor" if lost and n % 2 else ("Price" if lost else None),
            closedate=f"2024-01-{n + 1:02d}",
        ))
    return deals


def _portal(**kwargs) -> HubSpotSandbox:
    companies = [_record(900, name="Acme", domain="acme.example"), _record(901, name="Globex")]
    contacts = [_record(700, email="ann@acme.example", lastmodifieddate=T0)]
    notes = [_record(500, hs_note_body="<p>Exit interview: <strong>pricing</strong> too high</p>",
                     hs_timestamp=T0)]
    feedback = [_record(300 + i, hs_value=str(i), hs_survey_type="NPS") for i in range(11)]
    associations = [("deals", "95", "companies", "900", 5), ("deals", "95", "companies", "900", 341),
                    ("deals", "96", "companies", "901", 5), ("notes", "500", "deals", "95", 214),
                    ("contacts", "700", "companies", "900", 1)]
    owners = [{"id": str(10 + i), "email": f"owner{i}@example.com", "firstName": "Owner",
               "lastName": str(i), "userId": 100 + i} for i in range(7)]
    return HubSpotSandbox({"deals": _deals(), "companies": companies, "contacts": contacts,
                           "notes": notes, "feedback_submissions": feedback},
                          associations, owners, None, **kwargs)


@pytest.fixture
def portal():
    with _portal() as sandbox:
        yield sandbox


@pytest.fixture
def client(portal):
    return hubspot_client(portal.base_url, DEFAULT_TOKEN)


def _search(client, filters=(), sorts=None, limit=100, after=0, properties=None):
    request = PublicObjectSearchRequest(
        filter_groups=[FilterGroup(filters=list(group)) for group in filters],
        sorts=sorts or [], limit=limit, after=str(after), properties=properties or [])
    return client.crm.deals.search_api.do_search(public_object_search_request=request)


def _all_pages(api, **kwargs) -> list:
    results, after = [], None
    while True:
        page = api.get_page(after=after, **kwargs)
        results += page.results
        if page.paging is None or page.paging.next is None:
            return results
        after = page.paging.next.after


def _error_body(exc) -> dict:
    return json.loads(exc.body)


# -- list pages --------------------------------------------------------------------------------

def test_list_pages_through_every_live_deal_in_id_order(portal, client):
    deals = _all_pages(client.crm.deals.basic_api, limit=7, properties=["amount", "dealname"])
    ids = [d.id for d in deals]
    assert ids == [str(i) for i in range(95, 125) if i not in (100, 110, 120)]
    assert all(isinstance(v, str) for d in deals for v in d.properties.values() if v is not None)
    assert deals[0].properties == {"amount": "0", "dealname": "Deal 95"}
    assert portal.requests_for("/crm/v3/objects/deals") == 4  # 27 records, 7 per page


def test_list_defaults_omits_unknown_properties_and_accepts_comma_joined(client):
    default = client.crm.deals.basic_api.get_page(limit=1).results[0]
    assert set(default.properties) == {"amount", "closedate", "createdate", "dealname", "dealstage",
                                       "hs_lastmodifieddate", "hs_object_id", "pipeline"}
    assert default.properties["hs_object_id"] == default.id
    joined = client.crm.deals.basic_api.get_page(limit=1, properties=["dealname,no_such_property"])
    assert joined.results[0].properties == {"dealname": "Deal 95"}


def test_list_rejects_a_page_size_over_100(client):
    with pytest.raises(DealsApiException) as caught:
        client.crm.deals.basic_api.get_page(limit=101)
    assert caught.value.status == 400
    assert _error_body(caught.value)["category"] == "VALIDATION_ERROR"


def test_archived_list_returns_only_archived_records(portal, client):
    archived = _all_pages(client.crm.deals.basic_api, archived=True)
    assert [d.id for d in archived] == ["100", "110", "120"]
    assert all(d.archived and d.archived_at is not None for d in archived)


def test_archive_keeps_hs_lastmodifieddate_as_hubspot_does(portal, client):
    before = portal.store["deals"]["97"]["properties"]["hs_lastmodifieddate"]
    portal.archive("deals", ["97"])
    record = portal.store["deals"]["97"]
    assert record["archived"] and record["archivedAt"]
    assert record["properties"]["hs_lastmodifieddate"] == before
    live_ids = [d.id for d in _all_pages(client.crm.deals.basic_api, limit=100)]
    assert "97" not in live_ids


def test_list_with_associations_names_v3_types(client):
    deal = client.crm.deals.basic_api.get_page(limit=1, associations=["companies"]).results[0]
    block = deal.associations["companies"].results
    assert {(a.id, a.type) for a in block} == {("900", "deal_to_company"), ("900", "deal_to_company_unlabeled")}
    contact = client.crm.contacts.basic_api.get_page(associations=["companies"]).results[0]
    assert contact.associations["companies"].results[0].type == "contact_to_company"


def test_generic_objects_api_reads_feedback_submissions_and_notes(client):
    nps = _all_pages(client.crm.objects.basic_api, object_type="feedback_submissions",
                     limit=4, properties=["hs_value", "hs_survey_type"])
    assert sorted(int(f.properties["hs_value"]) for f in nps) == list(range(11))
    note = client.crm.objects.notes.basic_api.get_page(properties=["hs_note_body"]).results[0]
    assert note.properties["hs_note_body"].startswith("<p>Exit interview: <strong>")


def test_get_by_id_and_missing_record(client):
    assert client.crm.deals.basic_api.get_by_id("101", properties=["dealname"]).properties == {"dealname": "Deal 101"}
    with pytest.raises(DealsApiException) as caught:
        client.crm.deals.basic_api.get_by_id("100")  # archived: not found without archived=true
    assert caught.value.status == 404


# -- search ------------------------------------------------------------------------------------

def test_search_compares_hs_object_id_numerically(client):
    found = _search(client, [[Filter(property_name="hs_object_id", operator="GT", value="99")]])
    ids = [int(r.id) for r in found.results]
    assert ids == sorted(ids) and min(ids) == 101 and found.total == 22  # 101..124 minus 2 archived


@pytest.mark.parametrize(("operator", "value", "expected"), [
    ("EQ", "closedlost", 9), ("NEQ", "closedlost", 18), ("IN", None, 27), ("HAS_PROPERTY", None, 27),
])
def test_search_operators_on_strings(client, operator, expected, value):
    flt = Filter(property_name="dealstage", operator=operator, value=value,
                 values=["closedlost", "CLOSEDWON"] if operator == "IN" else None)
    assert _search(client, [[flt]]).total == expected


def test_search_numbers_compare_numerically_and_sort(client):
    found = _search(client, [[Filter(property_name="amount", operator="GTE", value="9000"),
                              Filter(property_name="amount", operator="LT", value="20000")]],
                    sorts=[{"propertyName": "amount", "direction": "DESCENDING"}], properties=["amount"])
    assert [r.properties["amount"] for r in found.results] == [
        str(a) for a in range(19000, 8000, -1000) if a not in (5000, 15000)]


def test_search_dates_accept_epoch_ms_and_iso(client):
    epoch = _search(client, [[Filter(property_name="hs_lastmodifieddate", operator="LTE", value=JAN_15_MS)]])
    iso = _search(client, [[Filter(property_name="hs_lastmodifieddate", operator="LT",
                                   value="2024-01-15T00:00:00Z")]])
    assert epoch.total == iso.total == 13  # Jan 1..14 minus the archived deal 100 (Jan 6)
    closing = _search(client, [[Filter(property_name="closedate", operator="GT", value=JAN_15_MS)]])
    assert closing.total == 13  # Jan 16..30 minus the archived deals 110 (Jan 16) and 120 (Jan 26)


def test_search_filter_groups_are_ored_and_never_return_archived(portal, client):
    found = _search(client, [[Filter(property_name="hs_object_id", operator="EQ", value="100")],
                             [Filter(property_name="hs_object_id", operator="EQ", value="101")]])
    assert [r.id for r in found.results] == ["101"]


def test_search_sees_changes_made_after_an_earlier_search(portal, client):
    recent = [[Filter(property_name="hs_lastmodifieddate", operator="GTE", value="2025-01-01T00:00:00Z")]]
    assert _search(client, recent).total == 0 and _search(client).total == 27
    touched = portal.touch("deals", 2)
    portal.update("deals", "101", {"amount": 123456})
    portal.archive("deals", [touched[0]])
    found = _search(client, recent, properties=["amount"])
    assert sorted(r.id for r in found.results) == sorted([touched[1], "101"])
    assert _search(client, [[Filter(property_name="amount", operator="EQ", value="123456")]]).total == 1
    assert _search(client).total == 26


def test_search_pages_with_numeric_offsets_and_total(client):
    first = _search(client, limit=10)
    assert first.total == 27 and first.paging.next.after == "10"
    last = _search(client, limit=10, after=20)
    assert len(last.results) == 7 and last.paging is None


@pytest.mark.parametrize("body_change", [{"limit": 201}, {"groups": 6}, {"filters": 7}, {"unknown_prop": True}])
def test_search_validation_errors_surface_as_deals_api_exception(client, body_change):
    groups = [[Filter(property_name="amount", operator="HAS_PROPERTY")]]
    if "groups" in body_change:
        groups = groups * 6
    if "filters" in body_change:
        groups = [groups[0] * 7]
    if "unknown_prop" in body_change:
        groups = [[Filter(property_name="no_such_property", operator="EQ", value="x")]]
    with pytest.raises(DealsApiException) as caught:
        _search(client, groups, limit=body_change.get("limit", 10))
    assert caught.value.status == 400
    body = _error_body(caught.value)
    assert set(body) >= {"status", "message", "correlationId", "category"}
    assert body["category"] == "VALIDATION_ERROR"


def test_search_cap_fails_past_10000_results_per_query():
    stamp = "2024-03-01T00:00:00.000Z"  # 10,500 deals sharing one hs_lastmodifieddate
    bulk = [_record(1_000_000 + i, modified=stamp, dealname=f"bulk {i}") for i in range(10_500)]
    with HubSpotSandbox({"deals": []}) as portal:
        portal.bulk_insert("deals", bulk)
        client = hubspot_client(portal.base_url, DEFAULT_TOKEN)
        same_stamp = Filter(property_name="hs_lastmodifieddate", operator="EQ", value=stamp)
        last_allowed = _search(client, [[same_stamp]], limit=200, after=9800)
        assert last_allowed.total == 10_500 and last_allowed.paging.next.after == "10000"
        with pytest.raises(DealsApiException) as caught:
            _search(client, [[same_stamp]], limit=200, after=9900)
        assert caught.value.status == 400
        assert _error_body(caught.value)["category"] == "VALIDATION_ERROR"
        # The cap is per query: a new query with an id floor reaches the rest.
        floor = last_allowed.results[-1].id
        rest = _search(client, [[same_stamp, Filter(property_name="hs_object_id", operator="GT", value=floor)]],
                       limit=200)
        assert rest.total == 500 and rest.results[0].id == str(int(floor) + 1)


# -- associations, properties, owners, pipelines -----------------------------------------------

def _batch_read(client, from_type, to_type, ids):
    request = BatchInputPublicFetchAssociationsBatchRequest(
        inputs=[PublicFetchAssociationsBatchRequest(id=i) for i in ids])
    return client.crm.associations.v4.batch_api.get_page(
        from_type, to_type, batch_input_public_fetch_associations_batch_request=request)


def test_v4_batch_read_answers_both_directions(client):
    forward = _batch_read(client, "deals", "companies", ["95", "96", "97"])
    by_from = {r._from.id: r for r in forward.results}
    assert set(by_from) == {"95", "96"}  # 97 has no company: left out
    assert sorted(t.type_id for t in by_from["95"].to[0].association_types) == [5, 341]
    assert by_from["95"].to[0].to_object_id == "900"
    reverse = _batch_read(client, "companies", "deals", ["900"])
    types = reverse.results[0].to[0].association_types
    assert sorted(t.type_id for t in types) == [6, 342]
    assert {t.category for t in types} == {"HUBSPOT_DEFINED"}
    note_links = _batch_read(client, "notes", "deals", ["500"]).results[0].to[0]
    assert note_links.association_types[0].type_id == 214


def test_v4_batch_read_rejects_more_than_1000_inputs(client):
    with pytest.raises(AssociationsApiException) as caught:
        _batch_read(client, "deals", "companies", [str(i) for i in range(1001)])
    assert caught.value.status == 400


def test_property_definitions_and_drift(portal, client):
    def types():
        return {p.name: p.type for p in client.crm.properties.core_api.get_all("deals").results}
    defined = types()
    assert defined["hs_lastmodifieddate"] == "datetime" and defined["createdate"] == "datetime"
    assert defined["amount"] == "number" and defined["dealstage"] == "enumeration"
    assert defined["closedate"] == "datetime" and defined["dealname"] == "string"
    portal.add_property("deals", "churn_notes")
    portal.remove_property("deals", "closed_lost_reason")
    portal.change_property_type("deals", "dealname", "number")
    drifted = types()
    assert drifted["churn_notes"] == "string" and "closed_lost_reason" not in drifted
    assert drifted["dealname"] == "number"
    page = client.crm.deals.basic_api.get_page(properties=["closed_lost_reason", "dealname"])
    assert set(page.results[0].properties) == {"dealname"}


def test_owners_page_to_the_end(client):
    owners = _all_pages(client.crm.owners.owners_api, limit=3)
    assert [o.email for o in owners] == [f"owner{i}@example.com" for i in range(7)]


def test_pipelines_have_a_closed_lost_stage(client):
    deals = client.crm.pipelines.pipelines_api.get_all("deals").results
    lost = [s for p in deals for s in p.stages if s.id == "closedlost"]
    assert lost and lost[0].metadata == {"isClosed": "true", "probability": "0.0"}
    tickets = client.crm.pipelines.pipelines_api.get_all("tickets").results
    assert any(s.metadata.get("ticketState") == "CLOSED" for s in tickets[0].stages)


# -- write-back --------------------------------------------------------------------------------

def test_create_task_lands_in_the_store_with_its_association(portal, client):
    task = client.crm.objects.tasks.basic_api.create(SimplePublicObjectInputForCreate(
        properties={"hs_task_subject": "Win-back call", "hs_timestamp": "2024-05-01T09:00:00Z",
                    "hs_task_status": "NOT_STARTED"},
        associations=[{"to": {"id": "95"}, "types": [{"associationCategory": "HUBSPOT_DEFINED",
                                                      "associationTypeId": 216}]}]))
    stored = portal.store["tasks"][task.id]
    assert stored["properties"]["hs_task_subject"] == "Win-back call"
    assert stored["properties"]["hs_lastmodifieddate"] == stored["updatedAt"]
    linked = _batch_read(client, "deals", "tasks", ["95"]).results[0].to[0]
    assert linked.to_object_id == task.id and linked.association_types[0].type_id == 215


def test_create_task_with_unknown_property_is_a_validation_error(portal, client):
    with pytest.raises(TasksApiException) as caught:
        client.crm.objects.tasks.basic_api.create(SimplePublicObjectInputForCreate(
            properties={"hs_timestamp": T0, "no_such_property": "x"}))
    assert caught.value.status == 400
    assert "no_such_property" in _error_body(caught.value)["message"]
    assert portal.store["tasks"] == {}


def test_update_task_moves_its_modified_date(portal, client):
    from hubspot.crm.objects.tasks import SimplePublicObjectInput

    task = client.crm.objects.tasks.basic_api.create(SimplePublicObjectInputForCreate(
        properties={"hs_task_subject": "Exit interview", "hs_timestamp": T0}))
    portal.store["tasks"][task.id]["properties"]["hs_lastmodifieddate"] = T0  # pretend it is old
    client.crm.objects.tasks.basic_api.update(task.id, SimplePublicObjectInput(
        properties={"hs_task_status": "COMPLETED"}))
    stored = portal.store["tasks"][task.id]["properties"]
    assert stored["hs_task_status"] == "COMPLETED" and stored["hs_lastmodifieddate"] > T0


# -- auth and faults ---------------------------------------------------------------------------

def test_wrong_token_gets_each_packages_unauthorized_exception(portal):
    wrong = hubspot_client(portal.base_url, "not-the-token")
    with pytest.raises(DealsUnauthorized) as caught:
        wrong.crm.deals.basic_api.get_page()
    assert _error_body(caught.value)["category"] == "INVALID_AUTHENTICATION"
    with pytest.raises(NotesUnauthorized):
        wrong.crm.objects.notes.basic_api.get_page()


def test_every_response_carries_daily_rate_limit_headers(client):
    _, status, headers = client.crm.deals.basic_api.get_page_with_http_info(limit=1)
    assert status == 200
    assert int(headers["X-HubSpot-RateLimit-Daily"]) > int(headers["X-HubSpot-RateLimit-Daily-Remaining"])


def test_rate_limit_429_is_retried_by_the_client():
    with _portal(faults=Faults(rate_limit_every=3, retry_after_s=0)) as portal:
        client = hubspot_client(portal.base_url, DEFAULT_TOKEN, retry=hubspot_retry())
        deals = _all_pages(client.crm.deals.basic_api, limit=5)
        found = _search(client, limit=5, after=5)
        statuses = [r.status for r in portal.request_log]
        searches = [r.status for r in portal.request_log if r.path.endswith("/search")]
    assert len(deals) == 27 and found.total == 27
    assert searches == [429, 200]  # POST is retried too (allowed_methods=None)
    assert statuses.count(429) >= 2 and statuses[-1] == 200
    assert len(statuses) == 6 + 1 + statuses.count(429)  # every 429 cost exactly one retry


def test_rate_limit_429_without_our_retry_shows_hubspots_body_and_headers():
    with _portal(faults=Faults(rate_limit_every=1, retry_after_s=0)) as portal:
        client = hubspot_client(portal.base_url, DEFAULT_TOKEN)
        with pytest.raises(DealsApiException) as caught:
            client.crm.deals.basic_api.get_page()
        # urllib3's default Retry retries a GET 429 only while it has Retry-After; real 429s
        # may come without one (every other one here), and then the client gives up at once.
        assert [r.status for r in portal.request_log] == [429] * 2
    assert caught.value.status == 429
    assert "Retry-After" not in caught.value.headers
    assert caught.value.headers["X-HubSpot-RateLimit-Secondly-Remaining"] == "0"
    body = _error_body(caught.value)
    assert body["policyName"] == "SECONDLY" and body["errorType"] == "RATE_LIMIT"
    assert body["message"] == "You have reached your secondly limit."


def test_daily_quota_answers_429_daily_until_reset():
    with _portal(faults=Faults(daily_quota=2)) as portal:
        client = hubspot_client(portal.base_url, DEFAULT_TOKEN)
        client.crm.deals.basic_api.get_page()
        _, _, headers = client.crm.deals.basic_api.get_page_with_http_info()
        assert headers["X-HubSpot-RateLimit-Daily-Remaining"] == "0"
        with pytest.raises(ObjectsApiException) as caught:
            client.crm.objects.basic_api.get_page("deals")
        assert caught.value.status == 429 and "Retry-After" not in caught.value.headers
        assert _error_body(caught.value)["policyName"] == "DAILY"
        portal.reset_quota()
        assert client.crm.deals.basic_api.get_page().results


def test_transient_server_errors_surface_as_service_exception_or_are_retried():
    with _portal(faults=Faults(error_every=2)) as portal:
        plain = hubspot_client(portal.base_url, DEFAULT_TOKEN)
        plain.crm.deals.basic_api.get_page()
        with pytest.raises(DealsServiceException) as caught:
            plain.crm.deals.basic_api.get_page()
        assert caught.value.status in (500, 503)
        retrying = hubspot_client(portal.base_url, DEFAULT_TOKEN, retry=hubspot_retry(backoff_factor=0))
        assert len(_all_pages(retrying.crm.deals.basic_api, limit=10)) == 27
        assert {r.status for r in portal.request_log} >= {200, 500, 503}


def test_session_expiry_lasts_until_renewed():
    with _portal(faults=Faults(expire_session_after=2)) as portal:
        client = hubspot_client(portal.base_url, DEFAULT_TOKEN)
        client.crm.deals.basic_api.get_page()
        client.crm.deals.basic_api.get_page()
        for _ in range(2):
            with pytest.raises(DealsUnauthorized):
                client.crm.deals.basic_api.get_page()
        portal.renew_session()
        assert client.crm.deals.basic_api.get_page().results


def test_records_change_while_a_client_pages():
    with _portal(faults=Faults(mutate_during_paging=2)) as portal:
        client = hubspot_client(portal.base_url, DEFAULT_TOKEN)
        _all_pages(client.crm.deals.basic_api, limit=10)  # 3 pages: 2 non-first pages touch 2 each
        touched = [r for r in portal.store["deals"].values()
                   if r["properties"]["hs_lastmodifieddate"] > "2025"]
    assert len(touched) == 4
    assert all(r["updatedAt"] == r["properties"]["hs_lastmodifieddate"] for r in touched)


def test_touch_moves_both_contact_cursors(portal, client):
    [touched] = portal.touch("contacts", 1)
    contact = client.crm.contacts.basic_api.get_by_id(touched, properties=["lastmodifieddate",
                                                                           "hs_lastmodifieddate"])
    assert contact.properties["lastmodifieddate"] == contact.properties["hs_lastmodifieddate"] > T0


def test_latency_fault_still_answers():
    with _portal(faults=Faults(latency_ms=5)) as portal:
        client = hubspot_client(portal.base_url, DEFAULT_TOKEN)
        assert len(client.crm.deals.basic_api.get_page(limit=3).results) == 3


# -- the generated world -----------------------------------------------------------------------

@pytest.mark.parametrize("object_type", ["companies", "contacts", "deals", "tickets", "notes", "tasks",
                                         "feedback_submissions"])
def test_generated_world_pages_to_the_end_live_and_archived(hubspot_sandbox, object_type):
    client = hubspot_client(hubspot_sandbox.base_url, DEFAULT_TOKEN)
    truth = hubspot_sandbox.store[object_type].values()
    live = _all_pages(client.crm.objects.basic_api, object_type=object_type, limit=100)
    archived = _all_pages(client.crm.objects.basic_api, object_type=object_type, limit=100, archived=True)
    assert sorted(r.id for r in live) == sorted(r["id"] for r in truth if not r["archived"])
    assert sorted(r.id for r in archived) == sorted(r["id"] for r in truth if r["archived"])


def test_generated_world_serves_churn_signals(hubspot_sandbox):
    client = hubspot_client(hubspot_sandbox.base_url, DEFAULT_TOKEN)
    lost = _search(client, [[Filter(property_name="dealstage", operator="EQ", value="closedlost")]],
                   properties=["closed_lost_reason", "amount"])
    assert lost.total > 0 and any(r.properties["closed_lost_reason"] for r in lost.results)
    cancellations = client.crm.tickets.search_api.do_search(public_object_search_request={
        "filterGroups": [{"filters": [{"propertyName": "hs_ticket_category", "operator": "EQ",
                                       "value": "CANCELLATION"}]}], "limit": 5})
    assert cancellations.total > 0
    ticket_types = {p.name: p.type for p in client.crm.properties.core_api.get_all("tickets").results}
    assert ticket_types["hs_ticket_category"] == "enumeration" and ticket_types["closed_date"] == "datetime"


def test_same_seed_gives_the_same_answers():
    from churnkb.sandbox.generator import generate_world

    def answers(seed: int) -> list:
        with HubSpotSandbox.from_world(generate_world(accounts=15, seed=seed)) as portal:
            client = hubspot_client(portal.base_url, DEFAULT_TOKEN)
            deals = _all_pages(client.crm.deals.basic_api, limit=20, associations=["companies"])
            notes = _all_pages(client.crm.objects.basic_api, object_type="notes", properties=["hs_note_body"])
            links = _batch_read(client, "companies", "contacts", [c.id for c in _all_pages(
                client.crm.companies.basic_api, limit=100)])
            return [d.to_dict() for d in deals + notes] + [r.to_dict() for r in links.results]

    assert answers(11) == answers(11)
    assert answers(11) != answers(12)


# --- real-API shapes of issue 10 -----------------------------------------------------------------


def test_v4_batch_read_answers_207_naming_ids_without_associations(client):
    request = BatchInputPublicFetchAssociationsBatchRequest(inputs=[
        PublicFetchAssociationsBatchRequest(id="95"), PublicFetchAssociationsBatchRequest(id="97")])
    response = client.crm.associations.v4.batch_api.get_page(
        "deals", "companies", batch_input_public_fetch_associations_batch_request=request,
        _preload_content=False)
    assert response.status == 207
    body = json.loads(response.data)
    assert [r["from"]["id"] for r in body["results"]] == ["95"]
    assert body["numErrors"] == 1
    assert body["errors"][0]["subCategory"] == "crm.associations.NO_ASSOCIATIONS_FOUND"
    assert body["errors"][0]["context"]["fromObjectId"] == ["97"]


def test_missing_scope_gets_hubspots_403_body_on_that_object_only(portal, client):
    portal.scopes = {"crm.objects.deals.read", "crm.objects.companies.read"}
    with pytest.raises(ObjectsApiException) as caught:
        client.crm.objects.basic_api.get_page("feedback_submissions")
    assert caught.value.status == 403
    body = _error_body(caught.value)
    assert body["category"] == "MISSING_SCOPES"
    assert body["message"].startswith("This app hasn't been granted all required scopes")
    assert body["errors"][0]["context"]["requiredGranularScopes"] == [
        "crm.objects.feedback_submissions.read"]
    assert client.crm.deals.basic_api.get_page().results  # a granted object still answers


def test_delete_archives_the_record_as_hubspot_does(portal, client):
    before = portal.store["deals"]["96"]["properties"]["hs_lastmodifieddate"]
    client.crm.deals.basic_api.archive("96")
    record = portal.store["deals"]["96"]
    assert record["archived"] and record["archivedAt"]
    assert record["properties"]["hs_lastmodifieddate"] == before
    archived = _all_pages(client.crm.deals.basic_api, archived=True)
    assert "96" in {d.id for d in archived}


def test_engagement_objects_and_multiple_checkbox_options():
    calls = [_record(800, hs_call_title="Exit interview", hs_call_body="<p>Too expensive</p>",
                     hs_timestamp=T0)]
    tickets = [_record(600, hs_ticket_category="BILLING_ISSUE;CANCELLATION",
                       cancellation_effective_date=JAN_15_MS)]
    with HubSpotSandbox({"calls": calls, "tickets": tickets}) as sandbox:
        client = hubspot_client(sandbox.base_url, DEFAULT_TOKEN)
        page = client.crm.objects.calls.basic_api.get_page(properties=["hs_call_body"])
        assert page.results[0].properties["hs_call_body"] == "<p>Too expensive</p>"
        definitions = {p.name: p for p in client.crm.properties.core_api.get_all("tickets").results}
        category = definitions["hs_ticket_category"]
        assert category.field_type == "checkbox"
        assert {o.value for o in category.options} == {"BILLING_ISSUE", "CANCELLATION"}
        assert definitions["cancellation_effective_date"].type == "date"
        stages = client.crm.pipelines.pipelines_api.get_all("tickets").results[0].stages
        assert all(set(s.metadata) == {"ticketState"} for s in stages)
