"""Sandbox fidelity gaps closed: each behaviour checked through the real client libraries."""

from __future__ import annotations

import copy
from collections.abc import Iterator

import pytest
from churnkb.connectors.clients import hubspot_client, salesforce_client
from churnkb.sandbox.faults import Faults
from churnkb.sandbox.generator import World, generate_world
from churnkb.sandbox.http import MAX_URL_CHARS, encode_json
from churnkb.sandbox.hubspot_server import DEFAULT_TOKEN as HS_TOKEN
from churnkb.sandbox.hubspot_server import HubSpotSandbox
from churnkb.sandbox.salesforce_server import DEFAULT_TOKEN as SF_TOKEN
from churnkb.sandbox.salesforce_server import SalesforceSandbox
from hubspot.crm.objects import (
    BatchReadInputSimplePublicObjectId,
    Filter,
    FilterGroup,
    PublicObjectSearchRequest,
    SimplePublicObjectId,
)
from hubspot.crm.objects.exceptions import ApiException as ObjectsApiException
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceGeneralError, SalesforceRefusedRequest

LONG_NAME = "churn_signal_with_a_rather_long_descriptive_property_name_{:03d}"


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(accounts=20, seed=5)


@pytest.fixture
def hubspot(world: World) -> Iterator[HubSpotSandbox]:
    with HubSpotSandbox.from_world(world) as portal:
        yield portal


@pytest.fixture
def salesforce(world: World) -> Iterator[SalesforceSandbox]:
    with SalesforceSandbox(world.salesforce) as org:
        yield org


def hs_client(portal: HubSpotSandbox):
    return hubspot_client(portal.base_url, HS_TOKEN).crm.objects


def sf_client(org: SalesforceSandbox) -> Salesforce:
    return salesforce_client(org.base_url, SF_TOKEN)


def long_properties(portal: HubSpotSandbox, object_type: str, count: int) -> list[str]:
    names = [LONG_NAME.format(i) for i in range(count)]
    for name in names:
        portal.add_property(object_type, name)
    return names


# -- 1. URL length ------------------------------------------------------------------------------

def test_hubspot_answers_414_to_a_properties_list_that_overflows_the_url(hubspot):
    names = long_properties(hubspot, "deals", 400)
    assert sum(len(n) + len("&properties=") for n in names) > MAX_URL_CHARS
    objects = hs_client(hubspot)
    served_before = hubspot.clock.requests

    with pytest.raises(ObjectsApiException) as refused:
        objects.basic_api.get_page("deals", limit=5, properties=names)

    assert refused.value.status == 414
    assert hubspot.request_log[-1].status == 414
    assert hubspot.clock.requests == served_before  # refused at the front door: no quota spent
    page = objects.basic_api.get_page("deals", limit=5, properties=names[:100])  # fits: served
    assert len(page.results) == 5 and names[0] in page.results[0].properties


def test_hubspot_serves_the_same_properties_in_a_search_body(hubspot):
    names = long_properties(hubspot, "deals", 400)
    found = hs_client(hubspot).search_api.do_search(
        "deals", PublicObjectSearchRequest(properties=names, limit=3))
    assert len(found.results) == 3 and set(names) <= set(found.results[0].properties)


def test_salesforce_answers_414_to_soql_that_overflows_the_url(salesforce):
    fields = [f"Churn_Signal_With_A_Long_Descriptive_Name_{i:03d}__c" for i in range(400)]
    for name in fields:
        salesforce.add_field("Account", name, "string")
    sf = sf_client(salesforce)
    long_soql = f"SELECT Id, {', '.join(fields)} FROM Account"
    assert len(long_soql) > MAX_URL_CHARS

    with pytest.raises(SalesforceGeneralError) as refused:
        sf.query(long_soql)

    assert refused.value.status == 414
    assert salesforce.request_log[-1].status == 414
    short = sf.query(f"SELECT Id, {', '.join(fields[:100])} FROM Account LIMIT 2")
    assert short["totalSize"] == 2 and fields[99] in short["records"][0]


# -- 2. batch read: archived in the query string -----------------------------------------------

def test_batch_read_takes_archived_from_the_query_string(hubspot):
    archived = sorted(hubspot.store["deals"], key=int)[:3]
    hubspot.archive("deals", archived)
    batch = hs_client(hubspot).batch_api
    request = BatchReadInputSimplePublicObjectId(
        inputs=[SimplePublicObjectId(id=i) for i in archived], properties=["dealname"])

    read = batch.read("deals", request, archived=True)

    assert sorted(r.id for r in read.results) == archived
    assert all(r.archived for r in read.results)
    assert "archived=true" in hubspot.request_log[-1].query.lower()  # the client sends "True"
    assert batch.read("deals", request).results == []  # archived=false (the default) hides them


def test_batch_read_still_accepts_archived_in_the_body(hubspot):
    archived = sorted(hubspot.store["deals"], key=int)[:2]
    hubspot.archive("deals", archived)
    body = {"inputs": [{"id": i} for i in archived], "properties": ["dealname"], "archived": True}
    read = hs_client(hubspot).batch_api.read("deals", body)
    assert sorted(r.id for r in read.results) == archived


# -- 3. set_faults --------------------------------------------------------------------------------

def test_set_faults_switches_hubspot_faults_on_and_off(hubspot):
    objects = hs_client(hubspot)
    objects.basic_api.get_page("deals", limit=1)
    faults = Faults(daily_quota=1)

    hubspot.set_faults(faults)

    assert hubspot.faults is faults and hubspot.clock.faults is faults
    with pytest.raises(ObjectsApiException) as refused:
        objects.basic_api.get_page("deals", limit=1)
    assert refused.value.status == 429 and "DAILY" in refused.value.body
    assert refused.value.headers["X-HubSpot-RateLimit-Daily"] == "1"
    hubspot.set_faults(Faults())
    assert len(objects.basic_api.get_page("deals", limit=1).results) == 1


def test_set_faults_switches_salesforce_faults_on_and_off(salesforce):
    sf = sf_client(salesforce)
    sf.query("SELECT Id FROM Account LIMIT 1")

    salesforce.set_faults(Faults(daily_quota=1, latency_ms=2))

    assert salesforce.clock.faults == salesforce.faults == Faults(daily_quota=1, latency_ms=2)
    with pytest.raises(SalesforceRefusedRequest) as refused:
        sf.query("SELECT Id FROM Account LIMIT 1")
    assert refused.value.content[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
    salesforce.set_faults(Faults())
    assert sf.query("SELECT Id FROM Account LIMIT 1")["totalSize"] == 1
    assert sf.api_usage["api-usage"].total == 100_000  # the default allocation is back


# -- 4. Salesforce sandboxes copy the records they are given ---------------------------------------

def test_two_salesforce_sandboxes_from_one_world_are_independent(world):
    original = copy.deepcopy(world.salesforce)
    with SalesforceSandbox(world.salesforce) as first, SalesforceSandbox(world.salesforce) as second:
        account = next(a for a in world.salesforce["Account"] if not a["IsDeleted"])
        sf_first, sf_second = sf_client(first), sf_client(second)

        sf_first.Account.update(account["Id"], {"Name": "Renamed in the first org"})
        first.store["Account"][account["Id"]]["Industry"] = "Edited in place"  # a careless test
        first.touch("Contact", 5)
        sf_first.Account.delete(next(a["Id"] for a in world.salesforce["Account"]
                                     if not a["IsDeleted"] and a["Id"] != account["Id"]))

        seen = sf_second.query(f"SELECT Name, Industry FROM Account WHERE Id = '{account['Id']}'")
        assert seen["records"][0]["Name"] == account["Name"]
        assert seen["records"][0]["Industry"] == account["Industry"]
        live_in_second = sf_second.query("SELECT COUNT() FROM Account")["totalSize"]
        live_in_first = sf_first.query("SELECT COUNT() FROM Account")["totalSize"]
        assert live_in_second == live_in_first + 1
    assert world.salesforce == original


# -- 5. JSON bodies through orjson -----------------------------------------------------------------

def test_json_bodies_keep_non_ascii_text_and_large_numbers_intact(salesforce, world):
    task = next(n for n in world.salesforce["Task"] if not n["IsDeleted"])
    salesforce.set_fields("Task", task["Id"], {"Description": "Kündigung: zu teuer — 価格が高い ✓"})
    sf = sf_client(salesforce)
    fetched = sf.query(f"SELECT Description FROM Task WHERE Id = '{task['Id']}'")
    assert fetched["records"][0]["Description"] == "Kündigung: zu teuer — 価格が高い ✓"
    assert encode_json({"n": 2**70, "s": "é"}) == b'{"n": 1180591620717411303424, "s": "\\u00e9"}'


# -- 6. mutate_during_paging fires on id-floor continuations ---------------------------------------

def id_floor_search(floor: str) -> PublicObjectSearchRequest:
    return PublicObjectSearchRequest(
        filter_groups=[FilterGroup(filters=[
            Filter(property_name="hs_object_id", operator="GT", value=floor)])],
        sorts=[{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
        properties=["dealname"], limit=10, after="0")


def modified_stamps(portal: HubSpotSandbox) -> dict[str, str]:
    return {i: r["properties"]["hs_lastmodifieddate"] for i, r in portal.store["deals"].items()}


def test_mutation_fault_fires_on_an_id_floor_continuation_not_on_a_first_page(world):
    with HubSpotSandbox.from_world(world, faults=Faults(mutate_during_paging=3)) as portal:
        search = hs_client(portal).search_api
        before = modified_stamps(portal)
        first = search.do_search("deals", id_floor_search("0"))
        assert modified_stamps(portal) == before  # a first page changes nothing

        search.do_search("deals", id_floor_search(first.results[-1].id))

        changed = {i for i, stamp in modified_stamps(portal).items() if stamp != before[i]}
        assert len(changed) == 3
