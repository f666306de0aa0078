"""The sandbox Salesforce org, driven through the real simple-salesforce client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests
from churnkb.connectors.clients import PlainHTTPAdapter, salesforce_client, salesforce_session
from churnkb.sandbox.faults import Faults
from churnkb.sandbox.generator import generate_world
from churnkb.sandbox.ids import salesforce_18
from churnkb.sandbox.salesforce_server import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_PASSWORD,
    DEFAULT_USERNAME,
    SalesforceSandbox,
)
from churnkb.sandbox.soql import parse, parse_datetime_literal
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)
from urllib3.util.retry import Retry

# --------------------------------------------------------------------------------------------
# A small org whose answers are easy to reason about


def _id(prefix: str, n: int) -> str:
    return salesforce_18(f"{prefix}5g00000{n:05d}")


ACME, GLOBEX, INITECH = _id("001", 1), _id("001", 2), _id("001", 3)
OWNER = _id("005", 1)


def _stamp(day: int, hour: int = 12) -> str:
    return f"2024-03-{day:02d}T{hour:02d}:00:00.000+0000"


def small_org() -> dict[str, list[dict]]:
    accounts = [
        {"Id": ACME, "Name": "Acme", "Industry": "Retail", "IsDeleted": False, "OwnerId": OWNER,
         "CreatedDate": _stamp(1), "LastModifiedDate": _stamp(1), "SystemModstamp": _stamp(1)},
        {"Id": GLOBEX, "Name": "Globex", "Industry": None, "IsDeleted": False, "OwnerId": OWNER,
         "CreatedDate": _stamp(2), "LastModifiedDate": _stamp(2), "SystemModstamp": _stamp(2)},
        {"Id": INITECH, "Name": "Initech", "Industry": "Software", "IsDeleted": True,
         "OwnerId": OWNER, "CreatedDate": _stamp(3), "LastModifiedDate": _stamp(3),
         "SystemModstamp": _stamp(3)},
    ]
    opportunities = []
    for n in range(1, 11):
        opportunities.append({
            "Id": _id("006", n),
            "Name": f"Deal {n:02d}",
            "AccountId": ACME if n % 2 else GLOBEX,
            "StageName": "Closed Lost" if n <= 4 else "Closed Won" if n <= 7 else "Prospecting",
            "Amount": float(n * 1000) if n != 10 else None,
            "CloseDate": f"2024-02-{n:02d}",
            "IsClosed": n <= 7,
            "IsWon": 5 <= n <= 7,
            "IsDeleted": n == 9,
            "Loss_Reason__c": "Price" if n <= 2 else "Competitor" if n <= 4 else None,
            "Description": f"Long notes about deal {n}",
            "CreatedDate": _stamp(n),
            "LastModifiedDate": _stamp(n),
            "SystemModstamp": _stamp((n + 1) // 2),  # pairs share a stamp: cursors need Id
        })
    users = [{"Id": OWNER, "Name": "Olive Owner", "Email": "olive@example.com", "IsActive": True,
              "IsDeleted": False, "CreatedDate": _stamp(1), "LastModifiedDate": _stamp(1),
              "SystemModstamp": _stamp(1)}]
    return {"Account": accounts, "Opportunity": opportunities, "User": users, "Task": []}


def opp(n: int) -> str:
    return _id("006", n)


@pytest.fixture
def org() -> Iterator[SalesforceSandbox]:
    with SalesforceSandbox(small_org(), page_size=3) as sandbox:
        yield sandbox


@pytest.fixture
def sf(org: SalesforceSandbox) -> Salesforce:
    return salesforce_client(org.base_url, org.token)


def ids(sf: Salesforce, soql: str, include_deleted: bool = False) -> list[str]:
    return [r["Id"] for r in sf.query_all_iter(soql, include_deleted=include_deleted)]


def error_code(excinfo: pytest.ExceptionInfo) -> str:
    return excinfo.value.content[0]["errorCode"]


# --------------------------------------------------------------------------------------------
# Query and paging


def test_query_pages_through_next_records_url_to_the_end(org, sf):
    first = sf.query("SELECT Id, Name FROM Opportunity ORDER BY Name")
    assert first["totalSize"] == 9 and first["done"] is False
    assert len(first["records"]) == 3
    assert first["nextRecordsUrl"].startswith("/services/data/v59.0/query/01g")

    names = [r["Name"] for r in sf.query_all_iter("SELECT Id, Name FROM Opportunity ORDER BY Name")]
    assert names == [f"Deal {n:02d}" for n in range(1, 11) if n != 9]
    assert org.requests_for("query") == 1 + 3  # one page from the first query, three more pages


def test_query_more_by_locator_and_by_url_give_the_same_page(sf):
    first = sf.query("SELECT Id FROM Opportunity ORDER BY Id")
    by_url = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    by_locator = sf.query_more(first["nextRecordsUrl"].rsplit("/", 1)[1])
    assert by_url["records"] == by_locator["records"]
    assert [r["Id"] for r in by_url["records"]] == [opp(4), opp(5), opp(6)]


def test_query_excludes_deleted_rows_and_query_all_includes_them(sf):
    assert opp(9) not in ids(sf, "SELECT Id FROM Opportunity")
    rows = list(sf.query_all_iter("SELECT Id, IsDeleted FROM Opportunity", include_deleted=True))
    assert len(rows) == 10
    assert {r["Id"] for r in rows if r["IsDeleted"]} == {opp(9)}


def test_query_all_pages_answer_a_query_locator_as_a_real_org_does(org, sf):
    first = sf.query_all("SELECT Id FROM Opportunity ORDER BY Id", include_deleted=True)
    assert len(first["records"]) == 10
    page = sf.query("SELECT Id FROM Opportunity ORDER BY Id", include_deleted=True)
    assert page["nextRecordsUrl"].startswith("/services/data/v59.0/query/01g")
    assert page["nextRecordsUrl"].rsplit("-", 1)[1] == "3"


def test_describes_hold_compound_fields_and_user_has_no_is_deleted():
    with SalesforceSandbox(generate_world(accounts=10, seed=1).salesforce) as org:
        sf = salesforce_client(org.base_url, org.token)
        account = {f["name"]: f for f in sf.Account.describe()["fields"]}
        assert account["BillingAddress"]["type"] == "address"
        assert account["BillingCity"]["compoundFieldName"] == "BillingAddress"
        assert account["Name"]["compoundFieldName"] is None
        event_types = {f["type"] for f in sf.Event.describe()["fields"]}
        assert "location" in event_types
        assert "base64" in {f["type"] for f in sf.ContentNote.describe()["fields"]}
        user_fields = {f["name"] for f in sf.User.describe()["fields"]}
        assert "IsDeleted" not in user_fields and "IsActive" in user_fields
        with pytest.raises(SalesforceMalformedRequest) as excinfo:
            sf.query("SELECT Id, IsDeleted FROM User")
        assert error_code(excinfo) == "INVALID_FIELD"
        assert len(sf.query_all("SELECT Id, Name FROM User")["records"]) > 0


def test_records_hold_exactly_the_selected_fields_plus_attributes(sf):
    record = sf.query(f"SELECT name, AMOUNT, Id FROM opportunity WHERE Id = '{opp(3)}'")["records"][0]
    assert record == {
        "attributes": {"type": "Opportunity",
                       "url": f"/services/data/v59.0/sobjects/Opportunity/{opp(3)}"},
        "Name": "Deal 03", "Amount": 3000.0, "Id": opp(3),
    }


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("StageName = 'Closed Lost' AND Amount > 1500", [2, 3, 4]),
        ("StageName = 'closed lost' AND (Loss_Reason__c = 'Price' OR Amount >= 4000)", [1, 2, 4]),
        ("NOT (IsClosed = true) OR IsWon = true", [5, 6, 7, 8, 10]),
        ("Loss_Reason__c IN ('Price', 'Competitor') AND Amount <= 3000", [1, 2, 3]),
        ("Loss_Reason__c NOT IN ('Price', 'Competitor')", [5, 6, 7, 8, 10]),
        ("Loss_Reason__c != 'Price'", [3, 4, 5, 6, 7, 8, 10]),  # SOQL's != keeps nulls
        ("Amount = null", [10]),
        ("Loss_Reason__c != null AND Name LIKE 'deal 0_'", [1, 2, 3, 4]),
        ("Name LIKE '%1%'", [1, 10]),
        ("Name LIKE 'Deal 1_'", [10]),
        ("Name LIKE 'Deal 1\\_'", []),  # an escaped _ is a literal underscore
        ("CloseDate >= 2024-02-08", [8, 10]),
        ("CloseDate < 2024-02-03 OR CloseDate = 2024-02-10", [1, 2, 10]),
        ("SystemModstamp > 2024-03-03T12:00:00Z", [7, 8, 10]),
        ("SystemModstamp > 2024-03-03T13:00:00+01:00", [7, 8, 10]),  # same instant, offset form
        ("SystemModstamp >= 2024-03-03T12:00:00.000+0000", [5, 6, 7, 8, 10]),
        (f"AccountId = '{GLOBEX}' AND IsWon = false", [2, 4, 8, 10]),
        (f"AccountId = '{GLOBEX[:15]}' AND IsWon = false", [2, 4, 8, 10]),  # 15-char id
        (f"Id > '{opp(7)}'", [8, 10]),
    ],
)
def test_where_clauses_filter_by_field_type(sf, where, expected):
    found = ids(sf, f"SELECT Id FROM Opportunity WHERE {where} ORDER BY Name")
    assert found == [opp(n) for n in expected]


def test_cursor_query_resumes_after_a_shared_timestamp(sf):
    # The connectors' incremental pattern: (stamp, Id) strictly after the last row seen.
    soql = ("SELECT Id, SystemModstamp FROM Opportunity WHERE SystemModstamp > {stamp} OR "
            "(SystemModstamp = {stamp} AND Id > '{last}') ORDER BY SystemModstamp, Id LIMIT 3")
    seen, stamp, last = [], "2000-01-01T00:00:00Z", ""
    while True:
        page = sf.query(soql.format(stamp=stamp, last=last))["records"]
        if not page:
            break
        seen += [r["Id"] for r in page]
        stamp, last = page[-1]["SystemModstamp"], page[-1]["Id"]
    assert seen == [opp(n) for n in range(1, 11) if n != 9]


def test_order_by_several_fields_directions_and_nulls(sf):
    assert ids(sf, "SELECT Id FROM Opportunity ORDER BY IsWon DESC, Amount DESC") == [
        opp(n) for n in (7, 6, 5, 8, 4, 3, 2, 1, 10)]  # DESC puts nulls last by default
    assert ids(sf, "SELECT Id FROM Opportunity ORDER BY Amount ASC NULLS LAST LIMIT 2") == [
        opp(1), opp(2)]
    assert ids(sf, "SELECT Id FROM Opportunity ORDER BY Amount LIMIT 2") == [opp(10), opp(1)]
    assert ids(sf, "SELECT Id FROM Opportunity ORDER BY AccountId, Name DESC NULLS FIRST") == [
        opp(n) for n in (7, 5, 3, 1, 10, 8, 6, 4, 2)]


def test_limit_and_count(sf):
    assert sf.query("SELECT Id FROM Opportunity LIMIT 4")["totalSize"] == 4
    assert sf.query("SELECT COUNT() FROM Opportunity WHERE IsClosed = true")["totalSize"] == 7
    assert sf.query("SELECT COUNT() FROM Account", include_deleted=True)["totalSize"] == 3


def test_batch_size_header_sets_the_page_size():
    records = {"Account": [{"Id": _id("001", n), "Name": f"A{n}", "IsDeleted": False}
                           for n in range(2500)]}
    with SalesforceSandbox(records) as org:
        sf = salesforce_client(org.base_url, org.token)
        assert len(sf.query("SELECT Id FROM Account")["records"]) == 2000  # default page size
        first = sf.query("SELECT Id FROM Account", headers={"Sforce-Query-Options": "batchSize=500"})
        assert len(first["records"]) == 500 and first["nextRecordsUrl"].endswith("-500")
        assert len(list(sf.query_all_iter("SELECT Id FROM Account"))) == 2500


def test_paging_is_stable_while_records_change():
    with SalesforceSandbox(small_org(), page_size=2, faults=Faults(mutate_during_paging=2)) as org:
        sf = salesforce_client(org.base_url, org.token)
        soql = "SELECT Id, SystemModstamp FROM Opportunity ORDER BY SystemModstamp, Id"
        rows = list(sf.query_all_iter(soql))
        assert [r["Id"] for r in rows] == [opp(n) for n in range(1, 11) if n != 9]
        assert max(r["SystemModstamp"] for r in rows) == _stamp(5)  # the snapshot, not live data

        changed = ids(sf, "SELECT Id FROM Opportunity WHERE SystemModstamp > 2024-03-05T12:00:00Z")
        assert changed and set(changed) <= {opp(n) for n in range(1, 11) if n != 9}
        assert len(changed) <= 2 * 4  # two records changed per page served after the first


# --------------------------------------------------------------------------------------------
# Query errors in Salesforce's shape


@pytest.mark.parametrize(
    "soql",
    [
        "SELECT Id FRM Opportunity",
        "SELECT Account.Name FROM Opportunity",
        "SELECT COUNT(Id) FROM Opportunity",
        "SELECT MAX(Amount) FROM Opportunity",
        "SELECT Id, (SELECT Id FROM Tasks) FROM Opportunity",
        "SELECT FIELDS(ALL) FROM Opportunity LIMIT 200",
        "SELECT Id FROM Opportunity WHERE CloseDate = TODAY",
        "SELECT Id FROM Opportunity WHERE CloseDate = LAST_N_DAYS:7",
        "SELECT Id FROM Opportunity WHERE IsWon = true AND IsClosed = true OR Amount > 5",
        "SELECT Id FROM Opportunity WHERE AccountId IN (SELECT Id FROM Account)",
        "SELECT StageName FROM Opportunity GROUP BY StageName",
        "SELECT Id FROM Opportunity LIMIT 5 OFFSET 5",
        "SELECT Id FROM Opportunity WHERE Name = 'unterminated",
        "SELECT Id FROM Opportunity WHERE SystemModstamp > 2024-01-01T00:00:00",  # no zone
        "SELECT Id, Id FROM Opportunity",
        "DELETE FROM Opportunity",
    ],
)
def test_unsupported_soql_is_malformed_query(sf, soql):
    with pytest.raises(SalesforceMalformedRequest) as excinfo:
        sf.query(soql)
    assert excinfo.value.status == 400
    assert error_code(excinfo) == "MALFORMED_QUERY"


@pytest.mark.parametrize(
    ("soql", "code", "text"),
    [
        ("SELECT Id, Nope__c FROM Opportunity", "INVALID_FIELD",
         "No such column 'Nope__c' on entity 'Opportunity'"),
        ("SELECT Id FROM Opportunity WHERE Nope = 1", "INVALID_FIELD", "No such column 'Nope'"),
        ("SELECT Id FROM Opportunity ORDER BY Nope", "INVALID_FIELD", "No such column 'Nope'"),
        ("SELECT Id FROM Widget__c", "INVALID_TYPE", "sObject type 'Widget__c' is not supported"),
        ("SELECT Id FROM Opportunity WHERE SystemModstamp > '2024-01-01T00:00:00Z'",
         "INVALID_FIELD", "must be of type dateTime and should not be enclosed in quotes"),
        ("SELECT Id FROM Opportunity WHERE CloseDate > 2024-01-01T00:00:00Z", "INVALID_FIELD",
         "must be of type date"),
        ("SELECT Id FROM Opportunity WHERE IsWon = 'true'", "INVALID_FIELD",
         "must be of type boolean"),
        ("SELECT Id FROM Opportunity WHERE Name = 5", "INVALID_FIELD",
         "should be enclosed in quotes"),
        ("SELECT Id FROM Opportunity WHERE AccountId = 'not-an-id'",
         "INVALID_QUERY_FILTER_OPERATOR", "invalid ID field: not-an-id"),
        ("SELECT Id FROM Opportunity WHERE IsWon > false", "INVALID_QUERY_FILTER_OPERATOR",
         "invalid operator on boolean field"),
        ("SELECT Id FROM Opportunity WHERE Description = 'x'", "INVALID_FIELD",
         "can not be filtered"),
    ],
)
def test_bad_fields_objects_and_values_get_salesforce_errors(sf, soql, code, text):
    with pytest.raises(SalesforceMalformedRequest) as excinfo:
        sf.query(soql)
    assert error_code(excinfo) == code
    assert text in excinfo.value.content[0]["message"]


def test_opening_an_eleventh_cursor_closes_the_oldest(sf):
    firsts = [sf.query(f"SELECT Id FROM Opportunity LIMIT {4 + n}") for n in range(11)]
    with pytest.raises(SalesforceMalformedRequest) as excinfo:
        sf.query_more(firsts[0]["nextRecordsUrl"], identifier_is_url=True)
    assert error_code(excinfo) == "INVALID_QUERY_LOCATOR"
    assert len(sf.query_more(firsts[1]["nextRecordsUrl"], identifier_is_url=True)["records"]) == 2


def test_stale_or_unknown_locator_is_invalid_query_locator(org, sf):
    first = sf.query("SELECT Id FROM Opportunity")
    org.expire_query_locators()
    with pytest.raises(SalesforceMalformedRequest) as excinfo:
        sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert error_code(excinfo) == "INVALID_QUERY_LOCATOR"
    with pytest.raises(SalesforceMalformedRequest) as excinfo:
        sf.query_more("01gNOTALOCATOR0000-2000")
    assert error_code(excinfo) == "INVALID_QUERY_LOCATOR"


# --------------------------------------------------------------------------------------------
# sObject resources


def test_describe_reports_types_and_custom_flags(sf):
    described = sf.Opportunity.describe()
    assert described["name"] == "Opportunity" and described["queryable"] is True
    fields = {f["name"]: f for f in described["fields"]}
    assert {n: fields[n]["type"] for n in ("Id", "AccountId", "IsWon", "CloseDate",
                                           "SystemModstamp", "Amount", "StageName",
                                           "Loss_Reason__c")} == {
        "Id": "id", "AccountId": "reference", "IsWon": "boolean", "CloseDate": "date",
        "SystemModstamp": "datetime", "Amount": "currency", "StageName": "picklist",
        "Loss_Reason__c": "string"}
    assert fields["Loss_Reason__c"]["custom"] is True and fields["Name"]["custom"] is False
    assert all({"name", "type", "custom", "label", "nillable"} <= f.keys() for f in fields.values())


def test_schema_drift_helpers_change_describe_and_queries(org, sf):
    org.add_field("Opportunity", "Churn_Risk__c", "double")
    assert "Churn_Risk__c" in {f["name"] for f in sf.Opportunity.describe()["fields"]}
    assert sf.query(f"SELECT Churn_Risk__c FROM Opportunity WHERE Id = '{opp(1)}'")[
        "records"][0]["Churn_Risk__c"] is None

    org.remove_field("Opportunity", "Loss_Reason__c")
    with pytest.raises(SalesforceMalformedRequest) as excinfo:
        sf.query("SELECT Loss_Reason__c FROM Opportunity")
    assert error_code(excinfo) == "INVALID_FIELD"
    assert all("Loss_Reason__c" not in r for r in org.store["Opportunity"].values())

    org.change_field_type("Opportunity", "Amount", "string")
    fields = {f["name"]: f["type"] for f in sf.Opportunity.describe()["fields"]}
    assert fields["Amount"] == "string"
    assert sf.query(f"SELECT Amount FROM Opportunity WHERE Id = '{opp(2)}'")[
        "records"][0]["Amount"] == "2000.0"
    with pytest.raises(SalesforceMalformedRequest):
        sf.query("SELECT Id FROM Opportunity WHERE Amount > 100")


def test_create_task_lands_in_the_store_and_in_queries(org, sf):
    created = sf.Task.create({"Subject": "Win-back call", "WhatId": opp(3),
                              "ActivityDate": "2024-04-01", "Description": "from churnkb"})
    assert created["success"] is True
    task_id = created["id"]
    assert len(task_id) == 18 and task_id.startswith("00T")
    stored = org.store["Task"][task_id]
    assert stored["Subject"] == "Win-back call" and stored["Status"] == "Not Started"
    assert stored["IsDeleted"] is False and stored["OwnerId"] == OWNER
    assert ids(sf, "SELECT Id FROM Task WHERE Subject = 'Win-back call'") == [task_id]
    assert sf.Task.get(task_id)["WhatId"] == opp(3)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"Subject": "x", "Nope__c": 1}, "INVALID_FIELD"),
        ({"Subject": "x", "WhatId": _id("006", 99)}, "INVALID_CROSS_REFERENCE_KEY"),
        ({"Subject": "x", "WhatId": "garbage"}, "MALFORMED_ID"),
        ({"Subject": "x", "IsClosed": "yes"}, "JSON_PARSER_ERROR"),
        ({"Subject": "x", "SystemModstamp": "2024-01-01T00:00:00.000+0000"},
         "INVALID_FIELD_FOR_INSERT_UPDATE"),
    ],
)
def test_create_refuses_bad_records(org, sf, body, code):
    with pytest.raises(SalesforceMalformedRequest) as excinfo:
        sf.Task.create(body)
    assert error_code(excinfo) == code
    assert org.store["Task"] == {}


def test_get_record_and_not_found(sf):
    record = sf.Account.get(ACME)
    assert record["Name"] == "Acme" and record["attributes"]["type"] == "Account"
    assert sf.Account.get(ACME[:15])["Id"] == ACME
    with pytest.raises(SalesforceResourceNotFound):
        sf.Account.get(_id("001", 99))
    with pytest.raises(SalesforceResourceNotFound):
        sf.Account.get(INITECH)  # deleted
    with pytest.raises(SalesforceResourceNotFound) as excinfo:
        sf.Widget__c.describe()
    assert error_code(excinfo) == "NOT_FOUND"


def test_update_and_delete_records(org, sf):
    sf.Opportunity.update(opp(1), {"StageName": "Closed Won"})
    assert org.store["Opportunity"][opp(1)]["StageName"] == "Closed Won"
    assert org.store["Opportunity"][opp(1)]["SystemModstamp"] > _stamp(31)
    sf.Opportunity.delete(opp(2))
    assert org.store["Opportunity"][opp(2)]["IsDeleted"] is True
    assert opp(2) not in ids(sf, "SELECT Id FROM Opportunity")


def test_deleted_and_updated_resources(org, sf):
    start = datetime.now(UTC) - timedelta(minutes=1)
    org.delete("Opportunity", [opp(1), opp(2)])
    touched = org.touch("Opportunity", 2)
    end = datetime.now(UTC) + timedelta(minutes=1)
    deleted = sf.Opportunity.deleted(start, end)["deletedRecords"]
    assert {d["id"] for d in deleted} == {opp(1), opp(2)}
    assert set(sf.Opportunity.updated(start, end)["ids"]) == set(touched)


def test_touch_bumps_stamps_and_edits_a_field(org, sf):
    before = datetime.now(UTC).replace(microsecond=0)
    touched = org.touch("Opportunity", 3)
    assert len(set(touched)) == 3
    stamp = before.strftime("%Y-%m-%dT%H:%M:%SZ")
    rows = list(sf.query_all_iter(
        f"SELECT Id, Description, LastModifiedDate FROM Opportunity WHERE SystemModstamp >= {stamp}"))
    assert {r["Id"] for r in rows} == set(touched)
    assert all(r["Description"].endswith("(edited)") for r in rows)


def test_set_fields_rewrites_a_record_as_given(org, sf):
    org.set_fields("Opportunity", opp(1), {"SystemModstamp": "2020-01-01T00:00:00.000+0000",
                                           "Region__c": "EMEA"})
    assert ids(sf, "SELECT Id FROM Opportunity WHERE SystemModstamp < 2021-01-01T00:00:00Z "
                   "AND Region__c = 'emea'") == [opp(1)]


def test_limits_versions_and_sobject_list(org, sf):
    assert sf.limits()["DailyApiRequests"] == {"Max": 100000, "Remaining": 100000 - 1}
    assert sf.api_usage["api-usage"].used == 1 and sf.api_usage["api-usage"].total == 100000
    listed = {o["name"] for o in sf.describe()["sobjects"]}
    assert listed == {"Account", "Opportunity", "User", "Task"}
    assert sf.Account.metadata()["objectDescribe"]["keyPrefix"] == "001"
    versions = sf.session.get(f"{org.base_url}/services/data/").json()
    assert versions[0]["version"] == "59.0"
    assert org.requests_for("/services/data/v59.0/sobjects") == 2
    assert org.requests_for("limits") == 1


# --------------------------------------------------------------------------------------------
# Auth and faults


def test_wrong_token_is_refused_and_not_counted(org):
    sf = salesforce_client(org.base_url, "not-the-token")
    with pytest.raises(SalesforceExpiredSession) as excinfo:
        sf.query("SELECT Id FROM Account")
    assert excinfo.value.content == [{"message": "Session expired or invalid",
                                      "errorCode": "INVALID_SESSION_ID"}]
    assert org.clock.quota_used == 0


def _login(org: SalesforceSandbox, **form: str) -> requests.Response:
    return requests.post(f"{org.base_url}/services/oauth2/token", data=form, timeout=5)


def test_session_expires_until_a_new_token_is_obtained():
    with SalesforceSandbox(small_org(), faults=Faults(expire_session_after=2)) as org:
        sf = salesforce_client(org.base_url, org.token)
        sf.query("SELECT Id FROM Account")
        sf.query("SELECT Id FROM Account")
        with pytest.raises(SalesforceExpiredSession):
            sf.query("SELECT Id FROM Account")

        login = _login(org, grant_type="client_credentials", client_id=DEFAULT_CLIENT_ID,
                       client_secret=DEFAULT_CLIENT_SECRET)
        assert login.status_code == 200 and login.json()["token_type"] == "Bearer"
        assert login.json()["instance_url"] == org.base_url
        renewed = salesforce_client(org.base_url, login.json()["access_token"])
        assert renewed.query("SELECT COUNT() FROM Account")["totalSize"] == 2
        with pytest.raises(SalesforceExpiredSession):
            sf.query("SELECT Id FROM Account")  # the old session stays dead


def test_token_endpoint_checks_credentials(org):
    ok = _login(org, grant_type="password", client_id=DEFAULT_CLIENT_ID,
                client_secret=DEFAULT_CLIENT_SECRET, username=DEFAULT_USERNAME,
                password=DEFAULT_PASSWORD)
    assert ok.status_code == 200
    bad_password = _login(org, grant_type="password", client_id=DEFAULT_CLIENT_ID,
                          client_secret=DEFAULT_CLIENT_SECRET, username=DEFAULT_USERNAME,
                          password="wrong")
    assert (bad_password.status_code, bad_password.json()["error"]) == (400, "invalid_grant")
    bad_client = _login(org, grant_type="client_credentials", client_id="who",
                        client_secret="x")
    assert (bad_client.status_code, bad_client.json()["error"]) == (400, "invalid_client_id")
    assert DEFAULT_PASSWORD not in bad_password.text


def test_rate_limit_fault_answers_503_with_retry_after():
    with SalesforceSandbox(small_org(), faults=Faults(rate_limit_every=2, retry_after_s=0)) as org:
        sf = salesforce_client(org.base_url, org.token)
        sf.query("SELECT Id FROM Account")
        with pytest.raises(SalesforceGeneralError) as excinfo:
            sf.query("SELECT Id FROM Account")
        assert excinfo.value.status == 503
        assert error_code(excinfo) == "SERVER_UNAVAILABLE"


def test_client_honouring_retry_after_gets_every_page():
    faults = Faults(rate_limit_every=3, error_every=4, retry_after_s=0)
    with SalesforceSandbox(small_org(), page_size=2, faults=faults) as org:
        session, https_url = salesforce_session(org.base_url)
        retry = Retry(total=5, status_forcelist=(500, 503), allowed_methods=None,
                      backoff_factor=0, respect_retry_after_header=True, raise_on_status=False)
        session.mount(https_url, PlainHTTPAdapter(max_retries=retry))
        sf = salesforce_client(org.base_url, org.token, session=session)
        rows = ids(sf, "SELECT Id FROM Opportunity ORDER BY Id", include_deleted=True)
        assert rows == [opp(n) for n in range(1, 11)]
        statuses = [r.status for r in org.request_log]
        assert 503 in statuses and 500 in statuses and statuses[-1] == 200
        assert statuses.count(200) == 5  # one answered request per page


def test_transient_server_errors_alternate_500_and_503():
    with SalesforceSandbox(small_org(), faults=Faults(error_every=2)) as org:
        sf = salesforce_client(org.base_url, org.token)
        statuses = []
        for _ in range(4):
            try:
                sf.query("SELECT Id FROM Account")
                statuses.append(200)
            except SalesforceGeneralError as error:
                statuses.append(error.status)
        assert statuses == [200, 503, 200, 500]


def test_daily_quota_exhaustion_is_refused_until_reset():
    with SalesforceSandbox(small_org(), faults=Faults(daily_quota=3)) as org:
        sf = salesforce_client(org.base_url, org.token)
        for _ in range(3):
            sf.query("SELECT Id FROM Account")
        assert sf.api_usage["api-usage"].used == 3 and sf.api_usage["api-usage"].total == 3
        with pytest.raises(SalesforceRefusedRequest) as excinfo:
            sf.query("SELECT Id FROM Account")
        assert excinfo.value.content == [{"message": "TotalRequests Limit exceeded.",
                                          "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
        org.reset_quota()
        assert sf.limits()["DailyApiRequests"] == {"Max": 3, "Remaining": 2}


def test_latency_fault_still_answers():
    with SalesforceSandbox(small_org(), faults=Faults(latency_ms=5)) as org:
        sf = salesforce_client(org.base_url, org.token)
        assert sf.query("SELECT COUNT() FROM Opportunity")["totalSize"] == 9


# --------------------------------------------------------------------------------------------
# The generated world


def _answers(records: dict[str, list[dict]]) -> str:
    with SalesforceSandbox(records, page_size=500) as org:
        sf = salesforce_client(org.base_url, org.token)
        rows = list(sf.query_all_iter(
            "SELECT Id, Name, SystemModstamp, IsDeleted FROM Account "
            "WHERE SystemModstamp > 2000-01-01T00:00:00Z ORDER BY SystemModstamp, Id",
            include_deleted=True))
    return json.dumps(rows)


def test_same_seed_gives_the_same_answers():
    first = _answers(generate_world(accounts=30, seed=3).salesforce)
    assert first == _answers(generate_world(accounts=30, seed=3).salesforce)
    assert len(json.loads(first)) > 5


def test_shared_fixture_serves_the_whole_world(salesforce_sandbox):
    sf = salesforce_client(salesforce_sandbox.base_url, salesforce_sandbox.token)
    for name, records in salesforce_sandbox.store.items():
        # a real org refuses ContentDocumentLink without an Id filter: ask by the notes' ids
        where = "" if name != "ContentDocumentLink" else " WHERE ContentDocumentId IN ({})".format(
            ", ".join(f"'{i}'" for i in salesforce_sandbox.store["ContentNote"]) or "''")
        flag = "" if name == "User" else ", IsDeleted"  # User has no IsDeleted in a real org
        served = list(sf.query_all_iter(f"SELECT Id{flag} FROM {name}{where}", include_deleted=True))
        assert sorted(r["Id"] for r in served) == sorted(records)
        assert all(len(r["Id"]) == 18 for r in served)


def test_bulk_insert_serves_a_cursor_query_over_many_records():
    records = {"Opportunity": small_org()["Opportunity"]}
    with SalesforceSandbox(records) as org:
        org.bulk_insert("Opportunity", [
            {"Id": _id("006", 1000 + n), "Name": f"Bulk {n}", "IsDeleted": False,
             "SystemModstamp": _stamp(10 + n % 10), "Region__c": "EMEA"} for n in range(20_000)])
        sf = salesforce_client(org.base_url, org.token)
        rows = list(sf.query_all_iter(
            "SELECT Id, Region__c FROM Opportunity WHERE SystemModstamp >= 2024-03-15T00:00:00Z "
            "ORDER BY SystemModstamp, Id"))
        assert len(rows) == 10_000 and {r["Region__c"] for r in rows} == {"EMEA"}


# --------------------------------------------------------------------------------------------
# Parser details


def test_datetime_literals_normalise_to_utc():
    expected = datetime(2024, 1, 1, 10, 0, tzinfo=UTC)
    assert parse_datetime_literal("2024-01-01T10:00:00Z") == expected
    assert parse_datetime_literal("2024-01-01T10:00:00.000+0000") == expected
    assert parse_datetime_literal("2024-01-01T12:30:00+02:30") == expected
    assert parse_datetime_literal("2024-01-01T10:00:00") is None


def test_parser_keeps_escapes_and_order_defaults():
    query = parse(r"select Id from Case where Subject = 'It\'s \\ here' "
                  "order by ClosedDate desc, Id")
    assert query.where.value.value == "It's \\ here"
    assert [(o.descending, o.nulls_first) for o in query.order_by] == [(True, False),
                                                                       (False, True)]
