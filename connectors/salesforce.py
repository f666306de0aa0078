"""Salesforce: incremental ``queryAll`` per object into the raw zone (simple-salesforce).

Per stream: ``describe`` gives the field list (minus compound and base64 fields, which SOQL
cannot mix with the rest); the window is ``[bookmark - lookback, run_start)`` on
``SystemModstamp`` (else ``LastModifiedDate``/``CreatedDate``), ordered by cursor then ``Id``, so
the cursor can be checkpointed after every landed batch. ``queryAll`` brings deletions with
``IsDeleted = true``. The daily quota is read from ``Sforce-Limit-Info`` after every page.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import quote_plus

import requests
from churnkb.connectors.clients import http_retry, salesforce_client
from churnkb.connectors.landing import (
    AuthFailed,
    QuotaReached,
    RecordShape,
    RunContext,
    SourceError,
    StreamLanding,
)
from churnkb.connectors.records import DATE_TYPES, iso, parse_timestamp
from churnkb.connectors.refusal import StreamRefused
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
)

from churnkb.secrets import get_secret, redact

log = logging.getLogger(__name__)

STREAM_OBJECTS = {
    "account": "Account", "contact": "Contact", "opportunity": "Opportunity", "case": "Case",
    "task": "Task", "note": "Note", "user": "User", "event": "Event", "content_note": "ContentNote",
}
# A ContentNote's body is a base64 field (a blob URL in query results) and the records it hangs
# on are ContentDocumentLink rows, which can only be queried by ContentDocumentId/LinkedEntityId:
# the content_note stream lands the decoded body as `Content` and the linked ids as a JSON list.
CONTENT_COLUMN, LINKS_COLUMN = "Content", "LinkedEntityIds"
IDS_PER_LINK_QUERY = 200
CURSOR_CANDIDATES = ("SystemModstamp", "LastModifiedDate", "CreatedDate")
UNSELECTABLE_TYPES = {"address", "location", "base64"}  # compound and binary fields
MAX_LOCATOR_RESTARTS = 3
T = TypeVar("T")


def soql_datetime(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def selectable_fields(describe: dict[str, Any], settings: dict[str, Any], stream: str
                      ) -> dict[str, str]:
    """``name -> type`` of the fields to select: describe minus unselectable, per config."""
    per_stream = (settings.get("fields") or {}).get(stream) or {}
    include = set(per_stream.get("include_fields") or [])
    exclude = set(per_stream.get("exclude_fields") or [])
    # Identity, cursor and the configured churn fields survive any include list.
    required = {"Id", "IsDeleted", *CURSOR_CANDIDATES,
                *(settings.get(key) for key in ("loss_reason_field", "competitor_field"))}
    fields = {}
    for spec in describe.get("fields", []):
        name, ftype = spec["name"], spec.get("type", "string")
        if ftype in UNSELECTABLE_TYPES or name in exclude:
            continue
        if include and name not in include and name not in required:
            continue
        fields[name] = ftype
    return fields


def cursor_field_for(fields: dict[str, str]) -> str | None:
    return next((name for name in CURSOR_CANDIDATES if name in fields), None)


# Salesforce refuses request URLs over ~16k characters (414); SOQL travels in the query string.
MAX_SOQL_URL_CHARS = 14_000
IDS_PER_FILL_QUERY = 200


def soql_url_chars(soql: str) -> int:
    return len(quote_plus(soql)) + 64  # plus /services/data/vNN.N/queryAll/?q=


def field_groups(obj: str, fields: list[str], cursor: str,
                 budget: int = MAX_SOQL_URL_CHARS) -> list[list[str]]:
    """Split a field list so each query fits in a URL: the first group carries identity and cursor
    (it drives paging); the others are read by Id for each page and merged in."""
    required = [name for name in ("Id", "IsDeleted", cursor) if name in fields]
    rest = [name for name in fields if name not in required]
    # Room for the longer of: the cursor WHERE/ORDER BY, or an Id IN (...) of a page chunk.
    overhead = soql_url_chars(f"SELECT FROM {obj} WHERE ") + IDS_PER_FILL_QUERY * 30 + 200
    groups, current = [], list(required)
    for name in rest:
        if current and soql_url_chars(", ".join([*current, name])) + overhead > budget:
            groups.append(current)
            current = ["Id"]
        current.append(name)
    groups.append(current)
    return groups


def build_soql(obj: str, fields: list[str], cursor: str, start: datetime | None,
               end: datetime) -> str:
    where = [f"{cursor} < {soql_datetime(end)}"]
    if start is not None:
        where.insert(0, f"{cursor} >= {soql_datetime(start)}")
    return (f"SELECT {', '.join(fields)} FROM {obj} WHERE {' AND '.join(where)} "
            f"ORDER BY {cursor} ASC, Id ASC")


class SalesforceConnection:
    """The client plus what simple-salesforce lacks: re-login, quota watch, request counting."""

    def __init__(self, settings: dict[str, Any]) -> None:
        self.instance_url = get_secret("SALESFORCE_INSTANCE_URL", required=True) or ""
        self.token = get_secret("SALESFORCE_ACCESS_TOKEN", required=True) or ""
        retry = settings.get("retry") or {}
        self.sf: Salesforce = salesforce_client(
            self.instance_url, self.token, version=str(settings.get("api_version", "59.0")),
            retry=http_retry(int(retry.get("total", 6)), float(retry.get("backoff_factor", 0.5))),
        )
        self.stop_share = float(settings.get("stop_at_api_usage_share", 0.8))
        self.requests = 0
        self.relogins = 0

    def secrets(self) -> list[str | None]:
        return [self.token, self.sf.session_id, get_secret("SALESFORCE_CLIENT_SECRET"),
                get_secret("SALESFORCE_PASSWORD")]

    def call(self, fn: Callable[[], T]) -> T:
        """One API call: re-login once on an expired session, stop cleanly on the daily limit."""
        for attempt in range(2):
            self.requests += 1
            try:
                return fn()
            except SalesforceExpiredSession:
                if attempt or not self.relogin():
                    raise AuthFailed(
                        "Salesforce rejected the session (401 INVALID_SESSION_ID): set a fresh "
                        "SALESFORCE_ACCESS_TOKEN, or SALESFORCE_CLIENT_ID/SALESFORCE_CLIENT_SECRET "
                        "(or SALESFORCE_USERNAME/SALESFORCE_PASSWORD) so churnkb can log in again"
                    ) from None
            except SalesforceRefusedRequest as exc:
                if "REQUEST_LIMIT_EXCEEDED" in str(exc.content):
                    raise QuotaReached("Salesforce daily API request limit exceeded "
                                       "(403 REQUEST_LIMIT_EXCEEDED)") from None
                raise
        raise AssertionError("unreachable")

    def relogin(self) -> bool:
        """Get a new token from ``/services/oauth2/token`` when credentials allow it."""
        form = self._login_form()
        if form is None:
            return False
        url = f"https://{self.sf.sf_instance}/services/oauth2/token"
        response = self.sf.session.post(url, data=form, timeout=30)
        self.requests += 1
        if response.status_code != 200:
            raise AuthFailed(f"Salesforce re-login failed ({response.status_code}): check "
                              f"SALESFORCE_CLIENT_ID/SALESFORCE_CLIENT_SECRET or "
                              f"SALESFORCE_USERNAME/SALESFORCE_PASSWORD")
        self.sf.session_id = response.json()["access_token"]
        self.sf._generate_headers()  # simple-salesforce keeps the bearer in its headers
        self.relogins += 1
        log.info("Salesforce session renewed")
        return True

    def _login_form(self) -> dict[str, str] | None:
        client_id = get_secret("SALESFORCE_CLIENT_ID")
        client_secret = get_secret("SALESFORCE_CLIENT_SECRET")
        username = get_secret("SALESFORCE_USERNAME")
        password = get_secret("SALESFORCE_PASSWORD")
        if username and password:
            form = {"grant_type": "password", "username": username, "password": password}
            if client_id and client_secret:
                form |= {"client_id": client_id, "client_secret": client_secret}
            return form
        if client_id and client_secret:
            return {"grant_type": "client_credentials", "client_id": client_id,
                    "client_secret": client_secret}
        return None

    def check_quota(self) -> None:
        """Stop (after the current page is landed) once usage reaches the configured share."""
        usage = self.sf.api_usage.get("api-usage")
        if usage is not None and usage.total and usage.used / usage.total >= self.stop_share:
            raise QuotaReached(f"Salesforce API usage {usage.used}/{usage.total} reached the "
                               f"configured stop share {self.stop_share:.0%}")


class SalesforceStream:
    """One object, synced incrementally into ``raw/salesforce/<stream>/``."""

    def __init__(self, conn: SalesforceConnection, settings: dict[str, Any], stream: str) -> None:
        self.conn = conn
        self.settings = settings
        self.stream = stream
        self.obj = STREAM_OBJECTS[stream]
        self.lookback = timedelta(minutes=float(settings.get("lookback_minutes", 5)))
        self.page_size = max(200, min(2000, int(settings.get("page_size", 2000))))
        self.cursor = "SystemModstamp"

    def prepare(self, ctx: RunContext) -> StreamLanding:
        """Describe the object, log schema drift, and open the stream's landing."""
        describe = self._describe()
        fields = selectable_fields(describe or {}, self.settings, self.stream)
        self.cursor = cursor_field_for(fields)
        if self.cursor is None:
            raise SourceError(f"Salesforce {self.obj} has none of {', '.join(CURSOR_CANDIDATES)}"
                              f"; exclude the stream or include one of those fields")
        shape = RecordShape(
            id_field="Id", cursor_field=self.cursor,
            date_fields=tuple(name for name, ftype in fields.items() if ftype in DATE_TYPES),
            is_deleted=lambda r: r.get("IsDeleted") is True, columns=list(fields),
            lookback=self.lookback,
        )
        landing = StreamLanding(ctx, self.stream, shape)
        landing.record_schema(fields)
        return landing

    def extract(self, ctx: RunContext, landing: StreamLanding) -> None:
        self._extract(ctx, landing, list(landing.shape.columns or []), self.cursor)

    def _describe(self) -> dict[str, Any]:
        """The object's describe; an object this user cannot see is a refused stream."""
        try:
            return self.conn.call(lambda: self.conn.sf.restful(f"sobjects/{self.obj}/describe"))
        except SalesforceError as exc:
            content = str(exc.content)
            if exc.status in (403, 404) or "INSUFFICIENT_ACCESS" in content or "INVALID_TYPE" in content:
                raise StreamRefused(
                    f"object {self.obj}",
                    f"give the integration user read access to {self.obj} (profile or permission "
                    "set; for ContentNote, Lightning notes must be enabled)") from None
            raise

    def checkpoint(self, ctx: RunContext, landing: StreamLanding) -> None:
        self._land_and_checkpoint(landing, self.cursor, ctx.run_start)

    def _extract(self, ctx: RunContext, landing: StreamLanding, fields: list[str],
                 cursor: str) -> None:
        start = None
        if landing.state.cursor and not ctx.full_refresh:
            start = parse_timestamp(landing.state.cursor) - self.lookback
        for restart in range(MAX_LOCATOR_RESTARTS + 1):
            try:
                self._read_window(ctx, landing, fields, cursor, start)
                return
            except SalesforceMalformedRequest as exc:
                # An expired query locator (Salesforce keeps few cursors open) is not fatal:
                # land what we have and query again from the newest landed cursor.
                if "INVALID_QUERY_LOCATOR" not in str(exc.content) or \
                        restart == MAX_LOCATOR_RESTARTS:
                    raise
                self._land_and_checkpoint(landing, cursor, ctx.run_start)
                if landing.state.cursor:
                    start = parse_timestamp(landing.state.cursor)
                log.warning("Salesforce %s: query locator expired; re-querying from %s",
                            self.obj, start)

    def _read_window(self, ctx: RunContext, landing: StreamLanding, fields: list[str],
                     cursor: str, start: datetime | None) -> None:
        primary, *wide = field_groups(self.obj, fields, cursor)
        soql = build_soql(self.obj, primary, cursor, start, ctx.run_start)
        headers = {"Sforce-Query-Options": f"batchSize={self.page_size}"}
        sf = self.conn.sf
        page = self.conn.call(lambda: sf.query(soql, include_deleted=True, headers=headers))
        while True:
            records = page.get("records") or []
            for record in records:
                record.pop("attributes", None)
            if records and wide:
                self._fill_fields(records, wide)
            if records:
                self.enrich(records)
                landing.add_page(records)
            if landing.batch_full:
                self._land_and_checkpoint(landing, cursor, ctx.run_start)
            self.conn.check_quota()
            next_url = page.get("nextRecordsUrl")
            if page.get("done", True) or not next_url:
                break
            page = self.conn.call(lambda url=next_url: sf.query_more(
                url, identifier_is_url=True, headers=headers))
        self._land_and_checkpoint(landing, cursor, ctx.run_start)

    def enrich(self, records: list[dict[str, Any]]) -> None:
        """Add what the paging query cannot return (nothing, for most objects)."""

    def _fill_fields(self, records: list[dict[str, Any]], groups: list[list[str]]) -> None:
        """Read the fields that did not fit the paging query, by Id, into this page's records."""
        by_id = {record["Id"]: record for record in records if record.get("Id")}
        ids = list(by_id)
        sf = self.conn.sf
        for group in groups:
            for start in range(0, len(ids), IDS_PER_FILL_QUERY):
                chunk = ", ".join(f"'{record_id}'" for record_id in
                                  ids[start:start + IDS_PER_FILL_QUERY])
                soql = f"SELECT {', '.join(group)} FROM {self.obj} WHERE Id IN ({chunk})"
                result = self.conn.call(lambda q=soql: sf.query_all(q, include_deleted=True))
                for row in result.get("records") or []:
                    row.pop("attributes", None)
                    target = by_id.get(row.get("Id"))
                    if target is not None:
                        target.update(row)

    @staticmethod
    def _land_and_checkpoint(landing: StreamLanding, cursor: str, run_start: datetime) -> None:
        """Land the buffer and, durably with it, move the bookmark to the newest landed cursor
        (never past ``run_start``): rows are ordered by cursor, so everything before it is
        landed."""
        def advance(batch: list[dict[str, Any]]) -> None:
            newest = landing.flushed_newest or max(parse_timestamp(r[cursor]) for r in batch)
            landing.state.cursor = iso(min(newest, run_start))

        landing.flush(advance)


class ContentNoteStream(SalesforceStream):
    """Lightning notes: the body read from its blob URL and decoded, plus the linked records."""

    def prepare(self, ctx: RunContext) -> StreamLanding:
        landing = super().prepare(ctx)
        landing.shape.columns.extend([CONTENT_COLUMN, LINKS_COLUMN])  # landed, never queried
        return landing

    def extract(self, ctx: RunContext, landing: StreamLanding) -> None:
        queried = [c for c in landing.shape.columns or [] if c not in (CONTENT_COLUMN, LINKS_COLUMN)]
        self._extract(ctx, landing, queried, self.cursor)

    def enrich(self, records: list[dict[str, Any]]) -> None:
        links = self._links([r["Id"] for r in records if r.get("Id") and not r.get("IsDeleted")])
        for record in records:
            record[LINKS_COLUMN] = json.dumps(sorted(links.get(record.get("Id"), [])))
            record[CONTENT_COLUMN] = None if record.get("IsDeleted") else self._body(record["Id"])

    def _body(self, note_id: str) -> str | None:
        url = f"{self.conn.sf.base_url}sobjects/ContentNote/{note_id}/Content"
        response = self.conn.call(lambda: self.conn.sf._call_salesforce("GET", url))
        return decode_note_body(response.content)

    def _links(self, note_ids: list[str]) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        sf = self.conn.sf
        for start in range(0, len(note_ids), IDS_PER_LINK_QUERY):
            chunk = ", ".join(f"'{i}'" for i in note_ids[start:start + IDS_PER_LINK_QUERY])
            soql = ("SELECT ContentDocumentId, LinkedEntityId FROM ContentDocumentLink "
                    f"WHERE ContentDocumentId IN ({chunk})")
            for row in self.conn.call(lambda q=soql: sf.query_all(q)).get("records") or []:
                found.setdefault(row["ContentDocumentId"], []).append(row["LinkedEntityId"])
        return found


def decode_note_body(content: bytes) -> str | None:
    """A ContentNote body as text (its HTML; staging turns it into plain text)."""
    return content.decode("utf-8", "replace") if content else None


STREAM_CLASSES: dict[str, type[SalesforceStream]] = {"content_note": ContentNoteStream}


def salesforce_streams(settings: dict[str, Any]) -> list[str]:
    streams = [s for s in settings.get("streams", list(STREAM_OBJECTS))
               if s not in set(settings.get("exclude_streams") or [])]
    unknown = [s for s in streams if s not in STREAM_OBJECTS]
    if unknown:
        raise SourceError(f"unknown Salesforce stream(s) {', '.join(unknown)} in sources.salesforce"
                          f".streams; known: {', '.join(STREAM_OBJECTS)}")
    return streams


def describe_error(conn: SalesforceConnection | None, exc: Exception) -> str:
    """A one-line error without secrets (simple-salesforce errors carry the URL and body)."""
    if isinstance(exc, SalesforceError):
        text = f"Salesforce {exc.status} on {exc.resource_name}: {exc.content!r}"
    elif isinstance(exc, requests.RequestException):
        text = f"cannot reach Salesforce: {exc}"
    else:
        text = str(exc)
    return redact(text, conn.secrets() if conn else [])[:500]


class SalesforceSource:
    """The connected Salesforce source as ``sync_source`` drives it."""

    def __init__(self, settings: dict[str, Any]) -> None:
        self.settings = settings
        self.conn = SalesforceConnection(settings)

    @property
    def requests(self) -> int:
        return self.conn.requests

    def runners(self, streams: list[str]) -> list[SalesforceStream]:
        configured = salesforce_streams(self.settings)
        unknown = [s for s in streams if s not in STREAM_OBJECTS]
        if unknown:
            raise SourceError(f"unknown Salesforce stream(s) {', '.join(unknown)}; "
                              f"known: {', '.join(STREAM_OBJECTS)}")
        return [STREAM_CLASSES.get(name, SalesforceStream)(self.conn, self.settings, name)
                for name in streams or configured]

    def extra_reports(self) -> list:
        return []

    def error_text(self, exc: BaseException) -> str:
        return describe_error(self.conn, exc)  # type: ignore[arg-type]

    def configuration_problems(self) -> list:
        """Configured field names the org does not have: a typo must stop the sync, not land
        NULLs (the same check as `churnkb doctor`)."""
        from churnkb.connectors.doctor import salesforce_field_problems

        return salesforce_field_problems(self.settings, self._describe_or_none)

    def _describe_or_none(self, obj: str) -> dict[str, Any] | None:
        try:
            return self.conn.call(lambda: self.conn.sf.restful(f"sobjects/{obj}/describe"))
        except SalesforceError:
            return None  # an object we cannot read is reported by its stream
