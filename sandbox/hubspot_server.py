"""A loopback HubSpot portal speaking CRM v3/v4 closely enough for hubspot-api-client 12.

Serves objects (list, get, create, batch read, search with the 10,000-result cap), v4
association batch reads, property definitions, owners, pipelines and daily usage. Every request
needs the bearer token; ``Faults`` inject 429s (SECONDLY and DAILY policies), 5xx, latency, a
token that stops working, and records modified while a client pages. ``store`` is the ground
truth (archived records included) and ``request_log`` lets tests count calls.
"""

from __future__ import annotations

import math
import random
import re
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from churnkb.sandbox.faults import Fault, FaultClock, Faults
from churnkb.sandbox.http import Request, Response, SandboxHTTPServer, SandboxLifecycle
from churnkb.sandbox.hubspot_catalog import (
    DEFAULT_PROPERTIES,
    OBJECT_TYPES,
    PROPERTY_TYPES,
    READ_ONLY_TYPES,
    READ_SCOPES,
    REQUIRED_ON_CREATE,
    association_label,
    canonical_type,
    property_definition,
    v3_association_name,
)
from churnkb.sandbox.hubspot_search import SearchError, SearchQuery, parse_search, run_search
from churnkb.sandbox.hubspot_store import (
    AssociationIndex,
    ObjectTable,
    as_property_value,
    modified_property,
    now_iso,
)

DEFAULT_TOKEN = "sandbox-hubspot-token"
DEFAULT_DAILY_QUOTA = 250_000  # Free/Starter private-app allocation
SECONDLY_LIMIT = 10
BURST_MAX, BURST_INTERVAL_MS = 100, 10_000
LIST_MAX_LIMIT, LIST_DEFAULT_LIMIT = 100, 10
OWNERS_MAX_LIMIT, OWNERS_DEFAULT_LIMIT = 500, 100
BATCH_READ_MAX = 100
V4_BATCH_MAX = 1_000
_SCOPES_MESSAGE = ("This app hasn't been granted all required scopes to make this call. Read more "
                   "about required scopes here: https://developers.hubspot.com/scopes.")
_AUTH_MESSAGE = ("Authentication credentials not found. This API supports OAuth 2.0 authentication and "
                 "you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview")

# Which objects an association type id links, for writes that name only the type id.
_TYPE_ID_OBJECTS = {
    214: ("notes", "deals"), 202: ("notes", "contacts"), 190: ("notes", "companies"),
    228: ("notes", "tickets"), 216: ("tasks", "deals"), 204: ("tasks", "contacts"),
    192: ("tasks", "companies"), 3: ("deals", "contacts"), 5: ("deals", "companies"),
    341: ("deals", "companies"), 1: ("contacts", "companies"), 279: ("contacts", "companies"),
    28: ("tickets", "deals"), 16: ("tickets", "contacts"), 339: ("tickets", "companies"),
    26: ("tickets", "companies"), 194: ("calls", "contacts"), 182: ("calls", "companies"),
    206: ("calls", "deals"), 200: ("meetings", "contacts"), 188: ("meetings", "companies"),
    212: ("meetings", "deals"), 198: ("emails", "contacts"), 186: ("emails", "companies"),
    210: ("emails", "deals"),
}


class ApiError(Exception):
    """An answer in HubSpot's error shape: ``{"status","message","correlationId","category"}``."""

    def __init__(self, status: int, message: str, category: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.message, self.category, self.extra = status, message, category, extra

    def response(self) -> Response:
        return Response(self.status, error_body(self.message, self.category, **self.extra))


def error_body(message: str, category: str, **extra: Any) -> dict[str, Any]:
    return {"status": "error", "message": message, "correlationId": str(uuid.uuid4()),
            "category": category, **extra}


def _bad_request(message: str) -> ApiError:
    return ApiError(400, message, "VALIDATION_ERROR")


def _not_found(message: str) -> ApiError:
    return ApiError(404, message, "OBJECT_NOT_FOUND")


class HubSpotSandbox(SandboxLifecycle):
    """The sandbox portal; ``start() -> base_url``, ``stop()``, or use it as a context manager."""

    def __init__(
        self,
        objects: Mapping[str, Iterable[Mapping[str, Any]]],
        associations: Iterable[tuple[str, str, str, str, int]] = (),
        owners: Iterable[Mapping[str, Any]] = (),
        pipelines: Mapping[str, list[Mapping[str, Any]]] | None = None,
        *,
        token: str = DEFAULT_TOKEN,
        scopes: Iterable[str] | None = None,
        faults: Faults | None = None,
        port: int = 0,
    ) -> None:
        unknown = set(objects) - set(OBJECT_TYPES)
        if unknown:
            raise ValueError(f"unknown HubSpot object types {sorted(unknown)}; known: {OBJECT_TYPES}")
        self.tables = {t: ObjectTable(t, objects.get(t, ())) for t in OBJECT_TYPES}
        self.associations = AssociationIndex(associations)
        self.owners = [_normalize_owner(o) for o in owners]
        given = pipelines or {}
        self.pipelines = {t: [_normalize_pipeline(p, t) for p in (given.get(t) or _default_pipelines(t))]
                          for t in ("deals", "tickets")}
        self.token = token
        # The token's granted scopes (None: every scope). A request on an object whose read scope
        # is missing gets HubSpot's 403 MISSING_SCOPES; tests may change this between runs.
        self.scopes: set[str] | None = set(scopes) if scopes is not None else None
        self.faults = faults or Faults()
        self.clock = FaultClock(self.faults)
        self.port = port
        self._rng = random.Random(0)
        self._rate_limits = 0
        self._server = SandboxHTTPServer(self, port=port, latency_ms=self.faults.latency_ms)
        # Requests are served one at a time: helpers and mutate-during-paging edit the tables.
        self._lock = threading.RLock()

    @classmethod
    def from_world(cls, world: Any, **kwargs: Any) -> HubSpotSandbox:
        """Built from ``sandbox.generator.World``'s ``hubspot_*`` parts."""
        return cls(world.hubspot_objects, world.hubspot_associations, world.hubspot_owners,
                   world.hubspot_pipelines, **kwargs)

    # -- ground truth and test helpers ---------------------------------------------------------

    @property
    def store(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Type -> id -> record, archived ones included. After editing a record in place call
        ``tables[type].changed([ids])`` (or use ``update``), so search sees the edit."""
        return {t: table.records for t, table in self.tables.items()}

    def update(self, object_type: str, object_id: str, properties: Mapping[str, Any]) -> dict:
        """Change properties as a user would: the modification timestamps move to now."""
        table = self._table(object_type)
        with self._lock:
            record = table.records[str(object_id)]
            record["properties"].update({k: as_property_value(v) for k, v in properties.items()})
            _stamp_modified(object_type, record, now_iso())
            table.changed([record["id"]])
        return record

    def touch(self, object_type: str, n: int, rng: random.Random | None = None) -> list[str]:
        """Modify ``n`` random live records now (hs_lastmodifieddate, updatedAt, one property)."""
        table = self._table(object_type)
        rng = rng or self._rng
        with self._lock:
            chosen = _pick_live(table, n, rng)
            stamp = now_iso()
            for object_id in chosen:
                record = table.records[object_id]
                record["properties"]["hs_updated_by_user_id"] = str(rng.randint(1_000_000, 9_999_999))
                _stamp_modified(object_type, record, stamp)
            table.changed(chosen)
        return chosen

    def archive(self, object_type: str, ids: Iterable[str]) -> None:
        """Archive as HubSpot does: archived/archivedAt set, hs_lastmodifieddate untouched."""
        table = self._table(object_type)
        stamp = now_iso()
        ids = [str(i) for i in ids]
        with self._lock:
            for object_id in ids:
                record = table.records[object_id]
                record["archived"], record["archivedAt"] = True, stamp
            table.changed(ids)

    def add_property(self, object_type: str, name: str, prop_type: str = "string",
                     values: Mapping[str, Any] | None = None) -> None:
        """Schema drift: a new property (optionally with values for some records, set silently)."""
        _check_property_type(prop_type)
        table = self._table(object_type)
        with self._lock:
            table.add_property(name, prop_type)
            for object_id, value in (values or {}).items():
                table.records[str(object_id)]["properties"][name] = as_property_value(value)
            table.changed()

    def remove_property(self, object_type: str, name: str) -> None:
        with self._lock:
            self._table(object_type).remove_property(name)

    def change_property_type(self, object_type: str, name: str, prop_type: str) -> None:
        _check_property_type(prop_type)
        with self._lock:
            self._table(object_type).change_property_type(name, prop_type)

    def bulk_insert(self, object_type: str, records: Iterable[Mapping[str, Any]]) -> list[str]:
        """Add many records at once (benchmarks: 25k+ deals sharing one hs_lastmodifieddate)."""
        with self._lock:
            return self._table(object_type).insert(records)

    def renew_session(self) -> None:
        """The token works again (a private-app token does not refresh by itself)."""
        self.clock.renew_session()

    def handle(self, request: Request) -> Response:
        try:
            self._authenticate(request)
            self._authorize(request)
            self._inject_fault()
            with self._lock:
                response = self._route(request)
        except ApiError as error:
            response = error.response()
        response.headers = {**self._rate_limit_headers(), **response.headers}
        return response

    def _authenticate(self, request: Request) -> None:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            raise ApiError(401, _AUTH_MESSAGE, "INVALID_AUTHENTICATION")

    def _authorize(self, request: Request) -> None:
        """HubSpot's 403 MISSING_SCOPES for an object the token has no read scope for."""
        if self.scopes is None:
            return
        for object_type in _objects_in_path(request.path):
            scope = READ_SCOPES.get(object_type)
            if scope and scope not in self.scopes:
                raise ApiError(403, _SCOPES_MESSAGE, "MISSING_SCOPES", errors=[{
                    "message": "One or more of the following scopes are required.",
                    "context": {"requiredGranularScopes": [scope]}}],
                    links={"scopes": "https://developers.hubspot.com/scopes"})

    def _inject_fault(self) -> None:
        fault = self.clock.next_fault()
        if fault is Fault.QUOTA_EXHAUSTED:
            raise ApiError(429, "You have reached your daily limit.", "RATE_LIMITS",
                           errorType="RATE_LIMIT", policyName="DAILY")
        if fault is Fault.SESSION_EXPIRED:
            raise ApiError(401, _AUTH_MESSAGE, "INVALID_AUTHENTICATION")
        if fault is Fault.RATE_LIMIT:
            # Real 429s do not always carry Retry-After: every other one here goes without.
            self._rate_limits += 1
            raise _SecondlyLimit(math.ceil(self.faults.retry_after_s) if self._rate_limits % 2 else None)
        if fault is Fault.SERVER_ERROR:
            status = self.clock.server_error_status()
            message = "internal error" if status == 500 else "Service Unavailable"
            raise ApiError(status, message, "INTERNAL_ERROR" if status == 500 else "SERVICE_UNAVAILABLE")

    def _rate_limit_headers(self) -> dict[str, str]:
        quota = self.faults.daily_quota or DEFAULT_DAILY_QUOTA
        return {
            "X-HubSpot-RateLimit-Daily": str(quota),
            "X-HubSpot-RateLimit-Daily-Remaining": str(max(quota - self.clock.quota_used, 0)),
            "X-HubSpot-RateLimit-Secondly": str(SECONDLY_LIMIT),
            "X-HubSpot-RateLimit-Secondly-Remaining": str(SECONDLY_LIMIT - 1),
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(BURST_INTERVAL_MS),
            "X-HubSpot-RateLimit-Max": str(BURST_MAX),
            "X-HubSpot-RateLimit-Remaining": str(BURST_MAX - 1),
        }

    def _route(self, request: Request) -> Response:
        for method, pattern, handler in self._routes():
            match = pattern.fullmatch(request.path)
            if match and request.method == method:
                return handler(request, *match.groups())
        if any(p.fullmatch(request.path) for _, p, _ in self._routes()):
            raise ApiError(405, f"Method {request.method} not allowed on {request.path}", "VALIDATION_ERROR")
        raise _not_found(f"No endpoint at {request.method} {request.path}")

    def _routes(self) -> list[tuple[str, re.Pattern[str], Callable[..., Response]]]:
        return [
            ("GET", _ROUTE_OBJECTS, self._list_objects),
            ("POST", _ROUTE_OBJECTS, self._create_object),
            ("POST", _ROUTE_SEARCH, self._search),
            ("POST", _ROUTE_BATCH_READ, self._batch_read),
            ("GET", _ROUTE_OBJECT, self._get_object),
            ("PATCH", _ROUTE_OBJECT, self._update_object),
            ("DELETE", _ROUTE_OBJECT, self._archive_object),
            ("POST", _ROUTE_BATCH_ARCHIVE, self._batch_archive),
            ("POST", _ROUTE_V4_BATCH, self._v4_batch_read),
            ("GET", _ROUTE_PROPERTIES, self._list_properties),
            ("GET", _ROUTE_PROPERTY, self._get_property),
            ("GET", _ROUTE_OWNERS, self._list_owners),
            ("GET", _ROUTE_OWNER, self._get_owner),
            ("GET", _ROUTE_PIPELINES, self._list_pipelines),
            ("GET", _ROUTE_PIPELINE, self._get_pipeline),
            ("GET", _ROUTE_USAGE, self._daily_usage),
        ]

    # -- objects -------------------------------------------------------------------------------

    def _list_objects(self, request: Request, type_name: str) -> Response:
        object_type = self._object_type(type_name)
        table = self.tables[object_type]
        limit = _limit(request.arg("limit"), LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT)
        after = request.arg("after")
        if after and self.faults.mutate_during_paging:
            self.touch(object_type, self.faults.mutate_during_paging)
        start = _cursor(after)
        archived = _flag(request.arg("archived"))
        page, next_after = table.page(start, limit, archived)
        properties = self._requested_properties(object_type, request)
        assoc_types = [self._object_type(t) for t in _multi(request, "associations")]
        results = [self._render(object_type, r, properties, assoc_types) for r in page]
        body: dict[str, Any] = {"results": results}
        if next_after:
            body["paging"] = {"next": {"after": next_after,
                                       "link": f"{self.base_url}/crm/v3/objects/{object_type}?after={next_after}"}}
        return Response(200, body)

    def _get_object(self, request: Request, type_name: str, object_id: str) -> Response:
        object_type = self._object_type(type_name)
        record = self.tables[object_type].records.get(object_id)
        if record is None or record["archived"] != _flag(request.arg("archived")):
            raise _not_found(f"resource not found: {object_type} {object_id}")
        properties = self._requested_properties(object_type, request)
        assoc_types = [self._object_type(t) for t in _multi(request, "associations")]
        return Response(200, self._render(object_type, record, properties, assoc_types))

    def _batch_read(self, request: Request, type_name: str) -> Response:
        object_type = self._object_type(type_name)
        body = _json_body(request)
        inputs = body.get("inputs") or []
        if len(inputs) > BATCH_READ_MAX:
            raise _bad_request(f"Batch read accepts at most {BATCH_READ_MAX} inputs, got {len(inputs)}")
        properties = self._known_properties(object_type, body.get("properties") or [])
        records = self.tables[object_type].records
        # The real API (and hubspot-api-client) sends ``archived`` in the query string; an older
        # body form is still accepted.
        archived = _flag(request.arg("archived")) or _flag(str(body.get("archived", "false")))
        found = [records[str(i.get("id"))] for i in inputs
                 if str(i.get("id")) in records and records[str(i.get("id"))]["archived"] == archived]
        return Response(200, _batch_envelope([self._render(object_type, r, properties, []) for r in found]))

    def _create_object(self, request: Request, type_name: str) -> Response:
        object_type = self._object_type(type_name)
        if object_type in READ_ONLY_TYPES:
            raise ApiError(403, f"{object_type} are read-only through the API", "MISSING_SCOPES")
        body = _json_body(request)
        properties = body.get("properties")
        if not isinstance(properties, dict):
            raise _bad_request("Invalid input JSON: 'properties' must be an object")
        self._validate_properties(object_type, properties, REQUIRED_ON_CREATE.get(object_type, ()))
        links = [self._parse_association(object_type, a) for a in body.get("associations") or []]
        table = self.tables[object_type]
        stamp = now_iso()
        object_id = table.next_id()
        values = {k: as_property_value(v) for k, v in properties.items()}
        values["hs_createdate"] = stamp
        table.insert([{"id": object_id, "properties": values, "createdAt": stamp, "updatedAt": stamp}])
        record = table.records[object_id]
        _stamp_modified(object_type, record, stamp)
        for to_type, to_id, type_id in links:
            self.associations.add(object_type, object_id, to_type, to_id, type_id)
        shown = tuple(dict.fromkeys(DEFAULT_PROPERTIES[object_type] + tuple(properties)))
        return Response(201, self._render(object_type, record, shown, []))

    def _update_object(self, request: Request, type_name: str, object_id: str) -> Response:
        object_type = self._object_type(type_name)
        if object_type in READ_ONLY_TYPES:
            raise ApiError(403, f"{object_type} are read-only through the API", "MISSING_SCOPES")
        record = self.tables[object_type].records.get(object_id)
        if record is None or record["archived"]:
            raise _not_found(f"resource not found: {object_type} {object_id}")
        properties = _json_body(request).get("properties")
        if not isinstance(properties, dict):
            raise _bad_request("Invalid input JSON: 'properties' must be an object")
        self._validate_properties(object_type, properties, required=())
        self.update(object_type, object_id, properties)
        shown = tuple(dict.fromkeys(DEFAULT_PROPERTIES[object_type] + tuple(properties)))
        return Response(200, self._render(object_type, record, shown, []))

    def _archive_object(self, request: Request, type_name: str, object_id: str) -> Response:
        """``DELETE /crm/v3/objects/{type}/{id}``: archive (204, no body); a second call is a no-op."""
        object_type = self._object_type(type_name)
        if object_type in READ_ONLY_TYPES:
            raise ApiError(403, f"{object_type} are read-only through the API", "MISSING_SCOPES")
        record = self.tables[object_type].records.get(object_id)
        if record is not None and not record["archived"]:
            self.archive(object_type, [object_id])
        return Response(204, None)

    def _batch_archive(self, request: Request, type_name: str) -> Response:
        object_type = self._object_type(type_name)
        inputs = _json_body(request).get("inputs") or []
        if len(inputs) > BATCH_READ_MAX:
            raise _bad_request(f"Batch archive accepts at most {BATCH_READ_MAX} inputs, got {len(inputs)}")
        records = self.tables[object_type].records
        ids = [str(i.get("id")) for i in inputs
               if str(i.get("id")) in records and not records[str(i.get("id"))]["archived"]]
        if ids:
            self.archive(object_type, ids)
        return Response(204, None)

    def _search(self, request: Request, type_name: str) -> Response:
        object_type = self._object_type(type_name)
        table = self.tables[object_type]
        body = _json_body(request)
        try:
            query = parse_search(body, table.property_types())
        except SearchError as error:
            raise _bad_request(str(error)) from None
        if self.faults.mutate_during_paging and _is_continuation(query):
            self.touch(object_type, self.faults.mutate_during_paging)
        ids = run_search(table, query)
        properties = self._known_properties(object_type, query.properties)
        page = ids[query.after:query.after + query.limit]
        body_out: dict[str, Any] = {
            "total": len(ids),
            "results": [self._render(object_type, table.records[i], properties, []) for i in page],
        }
        next_after = query.after + query.limit
        if next_after < len(ids):
            body_out["paging"] = {"next": {"after": str(next_after), "link": f"?after={next_after}"}}
        return Response(200, body_out)

    # -- associations, properties, owners, pipelines, usage ------------------------------------

    def _v4_batch_read(self, request: Request, from_name: str, to_name: str) -> Response:
        from_type, to_type = self._object_type(from_name), self._object_type(to_name)
        inputs = _json_body(request).get("inputs")
        if not isinstance(inputs, list):
            raise _bad_request("Invalid input JSON: 'inputs' must be a list")
        if len(inputs) > V4_BATCH_MAX:
            raise _bad_request(f"Batch read accepts at most {V4_BATCH_MAX} inputs, got {len(inputs)}")
        results, missing = [], []
        for item in inputs:
            from_id = str((item or {}).get("id"))
            targets = self.associations.targets(from_type, to_type, from_id)
            if not targets:  # HubSpot leaves the id out and names it in errors[] (HTTP 207)
                missing.append(from_id)
            else:
                results.append({"from": {"id": from_id}, "to": [
                    {"toObjectId": int(to_id), "associationTypes": [
                        {"category": "HUBSPOT_DEFINED", "typeId": t, "label": association_label(t)}
                        for t in type_ids]}
                    for to_id, type_ids in sorted(targets.items(), key=lambda kv: int(kv[0]))]})
        body = _batch_envelope(results)
        if not missing:
            return Response(200, body)
        body["numErrors"] = len(missing)
        body["errors"] = [{
            "status": "error", "category": "OBJECT_NOT_FOUND",
            "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
            "message": f"No {to_type} is associated with {from_type} {from_id}.",
            "context": {"fromObjectId": [from_id], "toObjectType": [to_type]}} for from_id in missing]
        return Response(207, body)

    def _list_properties(self, request: Request, type_name: str) -> Response:
        object_type = self._object_type(type_name)
        if _flag(request.arg("archived")):
            return Response(200, {"results": []})
        return Response(200, {"results": [self._definition(object_type, name)
                                          for name in self.tables[object_type].property_types()]})

    def _get_property(self, request: Request, type_name: str, name: str) -> Response:
        object_type = self._object_type(type_name)
        if name not in self.tables[object_type].property_types():
            raise _not_found(f"Unable to find property {name} for object type {object_type}")
        return Response(200, self._definition(object_type, name))

    def _list_owners(self, request: Request) -> Response:
        limit = _limit(request.arg("limit"), OWNERS_DEFAULT_LIMIT, OWNERS_MAX_LIMIT)
        archived = _flag(request.arg("archived"))
        email = request.arg("email")
        owners = [o for o in self.owners if o["archived"] == archived and (not email or o["email"] == email)]
        start = int(_cursor(request.arg("after")) or 0)
        body: dict[str, Any] = {"results": owners[start:start + limit]}
        if start + limit < len(owners):
            body["paging"] = {"next": {"after": str(start + limit),
                                       "link": f"{self.base_url}/crm/v3/owners/?after={start + limit}"}}
        return Response(200, body)

    def _get_owner(self, request: Request, owner_id: str) -> Response:
        for owner in self.owners:
            if owner["id"] == owner_id:
                return Response(200, owner)
        raise _not_found(f"Owner {owner_id} not found")

    def _list_pipelines(self, request: Request, type_name: str) -> Response:
        return Response(200, {"results": self._pipelines_of(type_name)})

    def _get_pipeline(self, request: Request, type_name: str, pipeline_id: str) -> Response:
        for pipeline in self._pipelines_of(type_name):
            if pipeline["id"] == pipeline_id:
                return Response(200, pipeline)
        raise _not_found(f"Pipeline {pipeline_id} not found")

    def _daily_usage(self, request: Request) -> Response:
        quota = self.faults.daily_quota or DEFAULT_DAILY_QUOTA
        return Response(200, {"results": [{
            "name": "api-calls-daily", "usageLimit": quota, "currentUsage": self.clock.quota_used,
            "collectedAt": now_iso(), "fetchStatus": "SUCCESS", "resetsAt": None}]})

    # -- helpers -------------------------------------------------------------------------------

    def _table(self, object_type: str) -> ObjectTable:
        canonical = canonical_type(object_type)
        if canonical is None:
            raise KeyError(f"unknown HubSpot object type {object_type!r}; known: {OBJECT_TYPES}")
        return self.tables[canonical]

    def _object_type(self, name: str) -> str:
        canonical = canonical_type(name)
        if canonical is None:
            raise _bad_request(f"Unable to infer object type from: {name}")
        return canonical

    def _pipelines_of(self, type_name: str) -> list[dict]:
        object_type = self._object_type(type_name)
        if object_type not in self.pipelines:
            raise _bad_request(f"Object type {object_type} has no pipelines")
        return self.pipelines[object_type]

    def _definition(self, object_type: str, name: str) -> dict:
        table = self.tables[object_type]
        prop_type = table.property_types()[name]
        options = table.enum_options(name) if prop_type == "enumeration" else []
        return property_definition(name, prop_type, options)

    def _requested_properties(self, object_type: str, request: Request) -> tuple[str, ...]:
        return self._known_properties(object_type, _multi(request, "properties"))

    def _known_properties(self, object_type: str, requested: Iterable[str]) -> tuple[str, ...]:
        """Requested properties the portal defines (unknown ones are silently left out);
        HubSpot's default set when none were asked for."""
        requested = tuple(requested)
        if not requested:
            return DEFAULT_PROPERTIES[object_type]
        defined = self.tables[object_type].property_types()
        return tuple(p for p in dict.fromkeys(requested) if p in defined)

    def _render(self, object_type: str, record: dict, properties: tuple[str, ...],
                assoc_types: list[str]) -> dict:
        values = record["properties"]
        out: dict[str, Any] = {
            "id": record["id"],
            "properties": {p: values.get(p) for p in properties},
            "createdAt": record["createdAt"],
            "updatedAt": record["updatedAt"],
            "archived": record["archived"],
        }
        if record["archived"]:
            out["archivedAt"] = record["archivedAt"]
        blocks = {t: self._v3_associations(object_type, record["id"], t) for t in assoc_types}
        if any(blocks.values()):
            out["associations"] = {t: {"results": b} for t, b in blocks.items() if b}
        return out

    def _v3_associations(self, object_type: str, object_id: str, to_type: str) -> list[dict]:
        targets = self.associations.targets(object_type, to_type, object_id)
        return [{"id": to_id, "type": v3_association_name(object_type, to_type, t)}
                for to_id, type_ids in sorted(targets.items(), key=lambda kv: int(kv[0]))
                for t in type_ids]

    def _validate_properties(self, object_type: str, properties: dict, required: Iterable[str]) -> None:
        """Writes name only defined properties and give every required one (HubSpot's 400)."""
        defined = self.tables[object_type].property_types()
        problems = [{"isValid": False, "message": f'Property "{name}" does not exist',
                     "error": "PROPERTY_DOESNT_EXIST", "name": name}
                    for name in properties if name not in defined]
        problems += [{"isValid": False, "message": f'Property "{name}" is required',
                      "error": "REQUIRED_PROPERTY", "name": name}
                     for name in required if properties.get(name) in (None, "")]
        if problems:
            raise _bad_request(f"Property values were not valid: {problems}")

    def _parse_association(self, object_type: str, raw: Any) -> tuple[str, str, int]:
        try:
            to_id = str(raw["to"]["id"])
            type_id = int(raw["types"][0]["associationTypeId"])
        except (KeyError, IndexError, TypeError, ValueError):
            raise _bad_request(f"Invalid association {raw!r}: expected to.id and types[].associationTypeId") from None
        pair = _TYPE_ID_OBJECTS.get(type_id)
        if pair is None or pair[0] != object_type:
            raise _bad_request(f"association type {type_id} is not valid from {object_type}")
        if to_id not in self.tables[pair[1]].records:
            raise _bad_request(f"{pair[1]} {to_id} does not exist, so it cannot be associated")
        return pair[1], to_id, type_id


class _SecondlyLimit(ApiError):
    """429 for the SECONDLY policy, with Retry-After (integer seconds, as urllib3 reads it)."""

    def __init__(self, retry_after: int | None) -> None:
        super().__init__(429, "You have reached your secondly limit.", "RATE_LIMITS",
                         errorType="RATE_LIMIT", policyName="SECONDLY")
        self.retry_after = retry_after

    def response(self) -> Response:
        response = super().response()
        response.headers["X-HubSpot-RateLimit-Secondly-Remaining"] = "0"
        if self.retry_after is not None:
            response.headers["Retry-After"] = str(self.retry_after)
        return response


_ROUTE_OBJECTS = re.compile(r"/crm/v3/objects/([^/]+)/?")
_ROUTE_OBJECT = re.compile(r"/crm/v3/objects/([^/]+)/([^/]+)")
_ROUTE_SEARCH = re.compile(r"/crm/v3/objects/([^/]+)/search")
_ROUTE_BATCH_READ = re.compile(r"/crm/v3/objects/([^/]+)/batch/read")
_ROUTE_BATCH_ARCHIVE = re.compile(r"/crm/v3/objects/([^/]+)/batch/archive")
_ROUTE_V4_BATCH = re.compile(r"/crm/v4/associations/([^/]+)/([^/]+)/batch/read")
_ROUTE_PROPERTIES = re.compile(r"/crm/v3/properties/([^/]+)/?")
_ROUTE_PROPERTY = re.compile(r"/crm/v3/properties/([^/]+)/([^/]+)")
_ROUTE_OWNERS = re.compile(r"/crm/v3/owners/?")
_ROUTE_OWNER = re.compile(r"/crm/v3/owners/([^/]+)")
_ROUTE_PIPELINES = re.compile(r"/crm/v3/pipelines/([^/]+)/?")
_ROUTE_PIPELINE = re.compile(r"/crm/v3/pipelines/([^/]+)/([^/]+)")
_ROUTE_USAGE = re.compile(r"/account-info/v3/api-usage/daily/private-apps/?")


_SCOPED_PATHS = (re.compile(r"/crm/v3/(?:objects|properties|pipelines)/([^/]+).*"),
                 re.compile(r"/crm/v4/associations/([^/]+)/([^/]+)/.*"),
                 re.compile(r"/crm/v3/(owners)(?:/.*)?"))


def _objects_in_path(path: str) -> list[str]:
    """The object types a request reads or writes, as far as its path names them."""
    for pattern in _SCOPED_PATHS:
        match = pattern.fullmatch(path)
        if match:
            return [t for t in (canonical_type(g) or g for g in match.groups()) if t]
    return []


def _stamp_modified(object_type: str, record: dict, stamp: str) -> None:
    properties = record["properties"]
    properties[modified_property(object_type)] = stamp
    if "hs_lastmodifieddate" in properties:  # a contact may carry both
        properties["hs_lastmodifieddate"] = stamp
    record["updatedAt"] = stamp


def _pick_live(table: ObjectTable, n: int, rng: random.Random) -> list[str]:
    """``n`` distinct random live ids, deterministic for the rng; cheap on 100k-record tables."""
    _, ids = table.sorted_ids()
    live_count = table.live_count()
    wanted = min(n, live_count)
    if wanted * 4 > live_count:  # a large share: sample the live list itself
        return rng.sample([i for i in ids if not table.records[i]["archived"]], wanted)
    chosen: dict[str, None] = {}
    while len(chosen) < wanted:  # a small share: random probes, skipping archived ones
        object_id = ids[rng.randrange(len(ids))]
        if not table.records[object_id]["archived"]:
            chosen[object_id] = None
    return list(chosen)


def _is_continuation(query: SearchQuery) -> bool:
    """A search past its first page: an offset (``after``), or ``after=0`` with an id floor
    (``hs_object_id GT/GTE n``, n > 0) as connectors page to stay clear of the result cap."""
    if query.after:
        return True
    return any(f.property_name == "hs_object_id" and f.operator in ("GT", "GTE")
               and str(f.value).strip().isdigit() and int(str(f.value).strip()) > 0
               for group in query.groups for f in group)


def _check_property_type(prop_type: str) -> None:
    if prop_type not in PROPERTY_TYPES:
        raise ValueError(f"property type must be one of {PROPERTY_TYPES}, got {prop_type!r}")


def _json_body(request: Request) -> dict:
    try:
        body = request.json()
    except ValueError as error:
        raise _bad_request(f"Invalid input JSON: {error}") from None
    if not isinstance(body, dict):
        raise _bad_request("Invalid input JSON: expected an object")
    return body


def _multi(request: Request, name: str) -> list[str]:
    """A query parameter given repeated or comma-joined (both are accepted by HubSpot)."""
    return [part.strip() for value in request.query.get(name, []) for part in value.split(",") if part.strip()]


def _flag(raw: str | None) -> bool:
    return (raw or "").strip().lower() == "true"


def _limit(raw: str | None, default: int, maximum: int) -> int:
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _bad_request(f"limit must be an integer, got {raw!r}") from None
    if not 0 < value <= maximum:
        raise _bad_request(f"limit must be between 1 and {maximum}, got {value}")
    return value


def _cursor(after: str | None) -> int | None:
    if not after:
        return None
    if not after.isdigit():
        raise _bad_request(f"Invalid paging cursor after={after!r}")
    return int(after)


def _batch_envelope(results: list[dict]) -> dict:
    stamp = now_iso()
    return {"status": "COMPLETE", "results": results, "startedAt": stamp, "completedAt": stamp}


def _normalize_owner(owner: Mapping[str, Any]) -> dict[str, Any]:
    stamp = "2020-01-01T00:00:00.000Z"
    out = {"type": "PERSON", "teams": [], "archived": False, "createdAt": stamp, "updatedAt": stamp,
           **owner}
    out["id"] = str(out["id"])
    out.setdefault("userId", int(out["id"]) if out["id"].isdigit() else None)
    out.setdefault("userIdIncludingInactive", out["userId"])
    return out


def _normalize_pipeline(pipeline: Mapping[str, Any], object_type: str) -> dict[str, Any]:
    stamp = "2020-01-01T00:00:00.000Z"
    stages = [{"archived": False, "createdAt": stamp, "updatedAt": stamp, "displayOrder": i,
               "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT", **stage,
               "metadata": {k: as_property_value(v) for k, v in (stage.get("metadata") or {}).items()}}
              for i, stage in enumerate(pipeline.get("stages") or [])]
    return {"archived": False, "createdAt": stamp, "updatedAt": stamp, "displayOrder": 0,
            **pipeline, "id": str(pipeline["id"]), "stages": stages}


def _default_pipelines(object_type: str) -> list[dict[str, Any]]:
    """HubSpot's default pipelines, used when the caller gives none."""
    if object_type == "deals":
        stages = [("appointmentscheduled", "Appointment Scheduled", "0.2", False),
                  ("qualifiedtobuy", "Qualified To Buy", "0.4", False),
                  ("presentationscheduled", "Presentation Scheduled", "0.6", False),
                  ("decisionmakerboughtin", "Decision Maker Bought-In", "0.8", False),
                  ("contractsent", "Contract Sent", "0.9", False),
                  ("closedwon", "Closed Won", "1.0", True),
                  ("closedlost", "Closed Lost", "0.0", True)]
        return [{"id": "default", "label": "Sales Pipeline", "stages": [
            {"id": sid, "label": label, "metadata": {"isClosed": closed, "probability": prob}}
            for sid, label, prob, closed in stages]}]
    stages = [("1", "New", "OPEN"), ("2", "Waiting on contact", "OPEN"),
              ("3", "Waiting on us", "OPEN"), ("4", "Closed", "CLOSED")]
    return [{"id": "0", "label": "Support Pipeline", "stages": [
        {"id": sid, "label": label, "metadata": {"ticketState": state}}
        for sid, label, state in stages]}]
