"""The sandbox Salesforce org: a loopback HTTP server speaking the Salesforce REST API (v59.0).

Serves SOQL ``query``/``queryAll`` with ``nextRecordsUrl`` paging over stable snapshots, sObject
describe/get/create/update/delete, ``deleted``/``updated``, ``limits``, the OAuth token endpoint,
bearer-token auth, Salesforce's error shapes and fault injection (``sandbox.faults``). The
records live in ``store`` (``sandbox.salesforce_store``): that is the ground truth tests
reconcile a warehouse against.
"""

from __future__ import annotations

import base64
import math
import random
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from churnkb.sandbox.faults import Fault, FaultClock, Faults
from churnkb.sandbox.http import Request, Response, SandboxHTTPServer, SandboxLifecycle
from churnkb.sandbox.ids import SALESFORCE_PREFIXES, salesforce_18
from churnkb.sandbox.salesforce_query import QueryResult, run_query, unknown_object_error
from churnkb.sandbox.salesforce_schema import CONTENT_LINK_FILTERS, format_datetime
from churnkb.sandbox.salesforce_store import ApiError, ObjectTable, SalesforceStore, utc_now
from churnkb.sandbox.soql import MALFORMED_QUERY, SoqlError, parse

DEFAULT_TOKEN = "sandbox-salesforce-token"
DEFAULT_CLIENT_ID = "sandbox-salesforce-client-id"
DEFAULT_CLIENT_SECRET = "sandbox-salesforce-client-secret"
DEFAULT_USERNAME = "integration@churnkb.sandbox"
DEFAULT_PASSWORD = "sandbox-salesforce-password"
DEFAULT_DAILY_QUOTA = 100_000
MIN_BATCH_SIZE, MAX_BATCH_SIZE = 200, 2000
MAX_OPEN_CURSORS = 10  # as in Salesforce: opening an 11th query cursor closes the oldest
ORG_ID = salesforce_18("00D5s0000000001")


def _session_expired() -> ApiError:
    return ApiError(401, "INVALID_SESSION_ID", "Session expired or invalid")


@dataclass
class _Cursor:
    """A query answer held under a locator, so paging is stable while records change."""

    locator: str
    result: QueryResult
    page_size: int
    endpoint: str  # "query" or "queryAll"


class SalesforceSandbox(SandboxLifecycle):
    """A Salesforce org on 127.0.0.1; ``start()`` returns its instance URL.

    ``records`` maps object API names to records as the REST API returns them (no
    ``attributes``); deleted ones carry ``IsDeleted: true``. The records are copied, so several
    sandboxes built from one World (or a test editing the World) never see each other's changes.
    """

    def __init__(
        self,
        records: dict[str, list[dict[str, Any]]],
        *,
        token: str = DEFAULT_TOKEN,
        faults: Faults = Faults(),  # noqa: B008 - frozen dataclass, safe as a default
        page_size: int = 2000,
        api_version: str = "59.0",
        port: int = 0,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        username: str = DEFAULT_USERNAME,
        password: str = DEFAULT_PASSWORD,
        hidden_objects: tuple[str, ...] = (),
    ) -> None:
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        self.store = SalesforceStore(records)
        # objects this user's profile cannot see: describe answers 404, SOQL INVALID_TYPE
        self.hidden_objects = {name.lower() for name in hidden_objects}
        self.token = token
        self.faults = faults
        self.page_size = page_size
        self.api_version = api_version
        self.clock = FaultClock(faults)
        self.client_id, self.client_secret = client_id, client_secret
        self.username, self.password = username, password
        self._data_prefix = f"/services/data/v{api_version}"
        self._tokens = {token}
        self._issued_tokens = 0
        self._cursors: OrderedDict[str, _Cursor] = OrderedDict()
        self._cursor_numbers = 0
        self._lock = threading.Lock()
        self._mutation_rng = random.Random(4242)
        self._server = SandboxHTTPServer(self, port=port, latency_ms=faults.latency_ms)

    # -- test and benchmark helpers (see SalesforceStore for the record helpers' details)
    def touch(self, object_name: str, n: int, rng: random.Random | None = None) -> list[str]:
        return self.store.touch(object_name, n, rng)

    def set_fields(self, object_name: str, record_id: str, fields: dict[str, Any]) -> None:
        self.store.set_fields(object_name, record_id, fields)

    def delete(self, object_name: str, ids: list[str]) -> None:
        self.store.delete(object_name, ids)

    def add_field(self, object_name: str, field: str, type: str, custom: bool = True) -> None:
        self.store.add_field(object_name, field, type, custom)

    def remove_field(self, object_name: str, field: str) -> None:
        self.store.remove_field(object_name, field)

    def change_field_type(self, object_name: str, field: str, type: str) -> None:
        self.store.change_field_type(object_name, field, type)

    def set_records(self, object_name: str, records: list[dict[str, Any]]) -> None:
        self.store.set_records(object_name, records)

    def bulk_insert(self, object_name: str, records: list[dict[str, Any]]) -> None:
        self.store.bulk_insert(object_name, records)

    def expire_query_locators(self) -> None:
        """Every open ``nextRecordsUrl`` now answers 400 INVALID_QUERY_LOCATOR."""
        with self._lock:
            self._cursors.clear()

    def requests_for(self, path_prefix: str) -> int:
        """Requests served whose path starts with ``path_prefix``; a relative prefix such as
        ``"query"`` or ``"sobjects/Task"`` is taken under ``/services/data/vXX.X/``."""
        if not path_prefix.startswith("/"):
            path_prefix = f"{self._data_prefix}/{path_prefix}"
        return super().requests_for(path_prefix)

    @property
    def daily_quota(self) -> int:
        return self.faults.daily_quota or DEFAULT_DAILY_QUOTA

    # -- HTTP
    def handle(self, request: Request) -> Response:
        try:
            response = self._route(request)
        except ApiError as error:
            response = Response(error.status, error.body())
            if isinstance(error, _RetryLater):
                response.headers["Retry-After"] = str(error.retry_after_s)
        except SoqlError as error:
            response = Response(400, [{"message": error.message, "errorCode": error.error_code}])
        except Exception as error:  # a sandbox bug: still answer in Salesforce's shape, visibly
            response = Response(500, [{"message": f"sandbox error: {error!r}",
                                       "errorCode": "UNKNOWN_EXCEPTION"}])
        used = min(self.clock.quota_used, self.daily_quota)
        response.headers["Sforce-Limit-Info"] = f"api-usage={used}/{self.daily_quota}"
        return response

    def _route(self, request: Request) -> Response:
        path = request.path.rstrip("/")
        if path == "/services/oauth2/token":
            return self._token(request)
        if path == "/services/data":
            return Response(200, [{"label": "Winter '24", "url": self._data_prefix,
                                   "version": self.api_version}])
        self._authenticate(request)
        self._inject_fault()
        if not (path + "/").startswith(self._data_prefix + "/"):
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        parts = [p for p in path[len(self._data_prefix):].split("/") if p]
        return self._api(request, parts)

    def _authenticate(self, request: Request) -> None:
        scheme, _, presented = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() not in ("bearer", "oauth") or presented.strip() not in self._tokens:
            raise _session_expired()

    def _inject_fault(self) -> None:
        fault = self.clock.next_fault()
        if fault is None:
            return
        if fault is Fault.QUOTA_EXHAUSTED:
            raise ApiError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        if fault is Fault.SESSION_EXPIRED:
            with self._lock:
                self._tokens.clear()  # the session is dead until someone logs in again
            raise _session_expired()
        if fault is Fault.RATE_LIMIT:  # Salesforce has no 429: a busy org answers 503
            raise _RetryLater(math.ceil(max(self.faults.retry_after_s, 0)))
        if self.clock.server_error_status() == 503:
            raise ApiError(503, "SERVER_UNAVAILABLE", "Server temporarily unavailable")
        raise ApiError(500, "UNKNOWN_EXCEPTION", "An unexpected error occurred. Please include "
                       "this ErrorId if you contact support: 1730955361-49812 (-1430497483)")

    def _api(self, request: Request, parts: list[str]) -> Response:
        if not parts:
            return _only(request, "GET", lambda: Response(200, self._resources()))
        head, rest = parts[0], parts[1:]
        if head in ("query", "queryAll"):
            return _only(request, "GET", lambda: self._query(request, head, rest))
        if head == "limits" and not rest:
            return _only(request, "GET", lambda: Response(200, self._limits()))
        if head == "sobjects":
            return self._sobjects(request, rest)
        raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")

    # -- auth
    def _token(self, request: Request) -> Response:
        if request.method != "POST":
            raise _method_not_allowed(request, "POST")
        form = {k: v[0] for k, v in parse_qs(request.body.decode(errors="replace")).items()}
        form.update({k: v[0] for k, v in request.query.items() if k not in form})
        grant = form.get("grant_type")
        if grant not in ("password", "client_credentials"):
            return Response(400, {"error": "unsupported_grant_type",
                                  "error_description": "grant type not supported"})
        if form.get("client_id") != self.client_id:
            return Response(400, {"error": "invalid_client_id",
                                  "error_description": "client identifier invalid"})
        if form.get("client_secret") != self.client_secret:
            return Response(400, {"error": "invalid_client",
                                  "error_description": "invalid client credentials"})
        if grant == "password" and (form.get("username") != self.username
                                    or form.get("password") != self.password):
            return Response(400, {"error": "invalid_grant",
                                  "error_description": "authentication failure"})
        return Response(200, self._issue_token())

    def _issue_token(self) -> dict[str, Any]:
        with self._lock:
            self._issued_tokens += 1
            access_token = f"{ORG_ID[:15]}!sandbox-session-{self._issued_tokens:06d}"
            self._tokens.add(access_token)
        self.clock.renew_session()
        user_id = self.store.default_user_id()
        return {
            "access_token": access_token,
            "instance_url": self.base_url,
            "id": f"{self.base_url}/id/{ORG_ID}/{user_id}",
            "token_type": "Bearer",
            "issued_at": str(int(utc_now().timestamp() * 1000)),
            "signature": "c2FuZGJveA==",
        }

    # -- query
    def _query(self, request: Request, endpoint: str, rest: list[str]) -> Response:
        if rest:
            return self._next_page(request, endpoint, rest)
        soql = request.arg("q")
        if not soql:
            raise SoqlError(MALFORMED_QUERY, "A query string has to be specified")
        query = parse(soql)
        _check_content_link_filter(query.sobject, soql)
        if query.sobject.lower() in self.hidden_objects:
            raise unknown_object_error(query)
        with self.store.lock:
            table = self.store.table(query.sobject)
            if table is None:
                raise unknown_object_error(query)
            result = run_query(query, table, include_deleted=endpoint == "queryAll")
        if result.count_only:
            return Response(200, {"totalSize": result.total_size, "done": True, "records": []})
        page_size = self._batch_size(request) or self.page_size
        cursor = self._open_cursor(result, page_size, endpoint)
        return Response(200, self._page(cursor, 0, page_size))

    def _next_page(self, request: Request, endpoint: str, rest: list[str]) -> Response:
        locator, _, offset_text = rest[0].rpartition("-")
        with self._lock:
            cursor = self._cursors.get(locator)
            if cursor is not None:
                self._cursors.move_to_end(locator)
        if cursor is None or len(rest) != 1 or not offset_text.isdigit() \
                or int(offset_text) > cursor.result.total_size:
            raise ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        if self.faults.mutate_during_paging:
            self.store.touch(cursor.result.sobject, self.faults.mutate_during_paging,
                             self._mutation_rng)
        page_size = self._batch_size(request) or cursor.page_size
        return Response(200, self._page(cursor, int(offset_text), page_size))

    def _batch_size(self, request: Request) -> int | None:
        options = request.headers.get("sforce-query-options", "")
        for option in options.split(","):
            name, _, value = option.strip().partition("=")
            if name.strip().lower() == "batchsize" and value.strip().isdigit():
                return min(max(int(value), MIN_BATCH_SIZE), MAX_BATCH_SIZE)
        return None

    def _open_cursor(self, result: QueryResult, page_size: int, endpoint: str) -> _Cursor:
        with self._lock:
            self._cursor_numbers += 1
            digits = f"{self._cursor_numbers:09d}"
            locator = salesforce_18(f"01g5s0{digits}")
            cursor = _Cursor(locator, result, page_size, endpoint)
            if result.total_size <= page_size:
                return cursor  # one page answers it all: nothing to hold open
            self._cursors[locator] = cursor
            while len(self._cursors) > MAX_OPEN_CURSORS:
                self._cursors.popitem(last=False)
            return cursor

    def _page(self, cursor: _Cursor, offset: int, page_size: int) -> dict[str, Any]:
        result = cursor.result
        rows = result.rows[offset : offset + page_size]
        sobject_url = f"{self._data_prefix}/sobjects/{result.sobject}/"
        fields = result.fields
        blobs = self._base64_fields(result.sobject)
        records = []
        for record in rows:
            out: dict[str, Any] = {"attributes": {"type": result.sobject,
                                                  "url": sobject_url + record["Id"]}}
            for name in fields:
                out[name] = record.get(name)
                if name in blobs and out[name] is not None:  # the API answers a blob URL
                    out[name] = f"{sobject_url}{record['Id']}/{name}"
            records.append(out)
        body: dict[str, Any] = {"totalSize": result.total_size, "done": True, "records": records}
        next_offset = offset + len(rows)
        if next_offset < result.total_size:
            body["done"] = False
            # a real org answers queryAll pages with a /query/ locator too (Salesforce REST queryAll docs)
            body["nextRecordsUrl"] = f"{self._data_prefix}/query/{cursor.locator}-{next_offset}"
        return body

    # -- sobjects
    def _sobjects(self, request: Request, rest: list[str]) -> Response:
        if not rest:
            return _only(request, "GET", lambda: Response(200, self._sobject_list()))
        if rest[0].lower() in self.hidden_objects:
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        table = self.store.require_table(rest[0])
        if len(rest) == 1:
            if request.method == "POST":
                record_id = self.store.create(table.name, _json_body(request))
                return Response(201, {"id": record_id, "success": True, "errors": []})
            return _only(request, "GET", lambda: Response(200, {
                "objectDescribe": self._summary(table), "recentItems": []}))
        action = rest[1]
        if len(rest) == 2 and action == "describe":
            return _only(request, "GET", lambda: Response(200, self._describe(table)))
        if len(rest) == 2 and action in ("deleted", "updated"):
            return _only(request, "GET", lambda: self._replication(request, table, action))
        if len(rest) == 2:
            return self._record(request, table, action)
        if len(rest) == 3 and rest[2] in self._base64_fields(table.name):
            return _only(request, "GET", lambda: self._blob(table, rest[1], rest[2]))
        raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")

    def _base64_fields(self, sobject: str) -> set[str]:
        table = self.store.table(sobject)
        return {f.name for f in table.schema.values() if f.type == "base64"} if table else set()

    def _blob(self, table: ObjectTable, record_id: str, field_name: str) -> Response:
        """The body of a base64 field (e.g. ContentNote.Content), as raw bytes."""
        with self.store.lock:
            record = self.store.live_record(table, record_id)
        encoded = record.get(field_name) or ""
        return Response(200, base64.b64decode(encoded), {"Content-Type": "application/octet-stream"})

    def _record(self, request: Request, table: ObjectTable, record_id: str) -> Response:
        if request.method == "PATCH":
            self.store.update(table.name, record_id, _json_body(request))
            return Response(204)
        if request.method == "DELETE":
            with self.store.lock:
                record = self.store.live_record(table, record_id)
                self.store.delete(table.name, [record["Id"]])
            return Response(204)
        if request.method != "GET":
            raise _method_not_allowed(request, "GET, PATCH, DELETE")
        with self.store.lock:
            record = self.store.live_record(table, record_id)
        wanted = request.arg("fields")
        names = [table.field(n.strip()) for n in wanted.split(",")] if wanted else None
        if names is not None and None in names:
            raise ApiError(400, "INVALID_FIELD", f"No such column on entity '{table.name}'")
        fields = [f.name for f in names] if names else list(table.schema)  # type: ignore[union-attr]
        body = {"attributes": {"type": table.name,
                               "url": f"{self._data_prefix}/sobjects/{table.name}/{record['Id']}"}}
        body.update({name: record.get(name) for name in fields})
        return Response(200, body)

    def _replication(self, request: Request, table: ObjectTable, action: str) -> Response:
        start, end = _window(request)
        with self.store.lock:
            if action == "deleted":
                deleted = self.store.deleted_between(table, start, end)
                earliest = min((d["deletedDate"] for d in deleted), default=format_datetime(start))
                return Response(200, {"deletedRecords": deleted, "earliestDateAvailable": earliest,
                                      "latestDateCovered": format_datetime(end)})
            ids = self.store.updated_between(table, start, end)
        return Response(200, {"ids": ids, "latestDateCovered": format_datetime(end)})

    # -- metadata
    def _resources(self) -> dict[str, str]:
        names = ("sobjects", "query", "queryAll", "limits")
        return {name: f"{self._data_prefix}/{name}" for name in names}

    def _limits(self) -> dict[str, dict[str, int]]:
        remaining = max(self.daily_quota - self.clock.quota_used, 0)
        return {
            "DailyApiRequests": {"Max": self.daily_quota, "Remaining": remaining},
            "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
            "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
            "DailyBulkV2QueryFileStorageMB": {"Max": 976562, "Remaining": 976562},
        }

    def _summary(self, table: ObjectTable) -> dict[str, Any]:
        base = f"{self._data_prefix}/sobjects/{table.name}"
        return {
            "name": table.name,
            "label": table.name,
            "labelPlural": f"{table.name}s",
            "keyPrefix": SALESFORCE_PREFIXES.get(table.name),
            "custom": table.name.endswith("__c"),
            "queryable": True,
            "retrieveable": True,
            "createable": True,
            "updateable": True,
            "deletable": True,
            "urls": {"sobject": base, "describe": f"{base}/describe",
                     "rowTemplate": f"{base}/{{ID}}"},
        }

    def _describe(self, table: ObjectTable) -> dict[str, Any]:
        with self.store.lock:
            fields = [field.describe() for field in table.schema.values()]
        return {**self._summary(table), "fields": fields}

    def _sobject_list(self) -> dict[str, Any]:
        return {"encoding": "UTF-8", "maxBatchSize": 200,
                "sobjects": [self._summary(t) for t in list(self.store.tables.values())]}


class _RetryLater(ApiError):
    def __init__(self, retry_after_s: int) -> None:
        super().__init__(503, "SERVER_UNAVAILABLE", "Server temporarily unavailable; retry later")
        self.retry_after_s = retry_after_s


def _check_content_link_filter(sobject: str, soql: str) -> None:
    """A real org refuses ContentDocumentLink queries without an Id filter."""
    if sobject.lower() != "contentdocumentlink":
        return
    where = soql.lower().partition(" where ")[2]
    if not any(re.search(rf"\b{name.lower()}\s*(=|in\b)", where) for name in CONTENT_LINK_FILTERS):
        raise SoqlError(MALFORMED_QUERY, "Implementation restriction: ContentDocumentLink requires "
                        "a filter by a single Id on ContentDocumentId or LinkedEntityId using the "
                        "equals operator or multiple Id's using the IN operator.")


def _only(request: Request, method: str, answer: Any) -> Response:
    if request.method != method:
        raise _method_not_allowed(request, method)
    return answer()


def _method_not_allowed(request: Request, allowed: str) -> ApiError:
    return ApiError(405, "METHOD_NOT_ALLOWED",
                    f"HTTP Method '{request.method}' not allowed. Allowed are {allowed}")


def _json_body(request: Request) -> Any:
    try:
        return request.json()
    except ValueError:
        raise ApiError(400, "JSON_PARSER_ERROR", "The request body is not valid JSON") from None


def _window(request: Request) -> tuple[datetime, datetime]:
    """``?start=&end=`` of the replication resources as aware datetimes."""
    bounds = []
    for name in ("start", "end"):
        raw = request.arg(name)
        try:
            moment = datetime.fromisoformat(raw) if raw else None
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is None:
            raise ApiError(400, "INVALID_REPLICATION_DATE",
                           f"'{name}' must be an ISO 8601 date-time with a time zone offset")
        bounds.append(moment)
    if bounds[0] >= bounds[1]:
        raise ApiError(400, "INVALID_REPLICATION_DATE",
                       "startDate must chronologically precede endDate")
    return bounds[0], bounds[1]
