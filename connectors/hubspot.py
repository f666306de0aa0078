"""HubSpot: incremental search per object type, archived pass, v4 associations (hubspot-api-client).

Per object stream:
- search ``[bookmark - lookback, run_start)`` on ``hs_lastmodifieddate`` (``lastmodifieddate`` for
  contacts), sorted by ``hs_object_id`` and paged by an **id floor** (``hs_object_id GT last``,
  ``after`` always 0) instead of offsets. No request ever approaches the 10,000-result cap, ten
  thousand records sharing one timestamp cannot loop, and records that change mid-pass cannot
  shift later pages. The floor is checkpointed with every landed batch, so a stopped pass resumes.
- a separate ``archived=true`` list pass lands deletions (search never returns them).
- associations of each landed batch through the v4 batch read, up to 1,000 ids per call.
The client's model deserialisation is slow, so every call uses its raw-response path
(``_preload_content=False``) and parses the JSON here; the ``*_api`` objects are built once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from churnkb.connectors.clients import hubspot_client, hubspot_retry
from churnkb.connectors.landing import (
    AuthFailed,
    QuotaReached,
    RecordShape,
    RunContext,
    SourceError,
    StreamLanding,
)
from churnkb.connectors.raw_zone import RawZoneWriter
from churnkb.connectors.records import DATE_TYPES, iso, parse_timestamp
from churnkb.connectors.refusal import StreamRefused
from churnkb.connectors.report import SKIPPED, StreamReport

from churnkb.secrets import get_secret, redact

log = logging.getLogger(__name__)

OBJECT_STREAMS = ("companies", "contacts", "deals", "tickets", "notes", "tasks",
                  "feedback_submissions", "calls", "meetings", "emails")
SNAPSHOT_STREAMS = ("owners", "deal_pipelines", "ticket_pipelines")
CURSOR_PROPERTY = {"contacts": "lastmodifieddate"}
DEFAULT_CURSOR = "hs_lastmodifieddate"
ENVELOPE = ["id", "archived", "archived_at", "created_at", "updated_at"]
ASSOCIATION_COLUMNS = ["from_id", "to_id", "association_type_id", "association_category",
                       "association_label"]
OWNER_COLUMNS = ["id", "email", "first_name", "last_name", "user_id", "archived", "created_at",
                 "updated_at"]
PIPELINE_COLUMNS = ["pipeline_id", "pipeline_label", "stage_id", "stage_label", "is_closed",
                    "probability", "display_order", "ticket_state"]
DEFAULT_ARCHIVED_EVERY_HOURS = 24.0
MAX_ASSOCIATION_INPUTS = 1000
LIST_PAGE_SIZE = 100
URL_PROPERTY_BUDGET = 6000  # characters of ?properties=... a GET may carry (414 at about 16k)


def cursor_property(object_type: str) -> str:
    return CURSOR_PROPERTY.get(object_type, DEFAULT_CURSOR)


def epoch_ms(moment: datetime) -> str:
    return str(int(moment.timestamp() * 1000))


def flatten_object(obj: dict[str, Any]) -> dict[str, Any]:
    """A v3 object as one flat row: the envelope plus one column per property."""
    row = {"id": obj.get("id"), "archived": bool(obj.get("archived", False)),
           "archived_at": obj.get("archivedAt"), "created_at": obj.get("createdAt"),
           "updated_at": obj.get("updatedAt")}
    for name, value in (obj.get("properties") or {}).items():
        row.setdefault(name, value)
    return row


def property_chunks(properties: list[str], budget: int = URL_PROPERTY_BUDGET) -> list[list[str]]:
    """Split a property list so each chunk fits in a GET query string."""
    chunks: list[list[str]] = [[]]
    used = 0
    for name in properties:
        cost = len(name) + len("&properties=")
        if chunks[-1] and used + cost > budget:
            chunks.append([])
            used = 0
        chunks[-1].append(name)
        used += cost
    return chunks


def association_rows(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for result in results:
        from_id = str((result.get("from") or {}).get("id"))
        for target in result.get("to") or []:
            for kind in target.get("associationTypes") or [{}]:
                rows.append({"from_id": from_id, "to_id": str(target.get("toObjectId")),
                             "association_type_id": kind.get("typeId"),
                             "association_category": kind.get("category"),
                             "association_label": kind.get("label")})
    return rows


NO_ASSOCIATIONS = "crm.associations.NO_ASSOCIATIONS_FOUND"


def check_association_errors(page: dict[str, Any], from_type: str, to_type: str) -> None:
    """A v4 batch read answers 207 when some ids failed. Ids without associations are normal
    (NO_ASSOCIATIONS_FOUND); any other error would silently drop links, so the stream fails
    (what was landed stays, and the next run reads the batch again)."""
    others = [e for e in page.get("errors") or [] if e.get("subCategory") != NO_ASSOCIATIONS]
    if others:
        first = others[0]
        raise RuntimeError(f"HubSpot {from_type}->{to_type} associations: {len(others)} error(s), "
                           f"first {first.get('category')} {first.get('subCategory') or ''}: "
                           f"{str(first.get('message'))[:200]}")


def pipeline_rows(pipelines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for pipeline in pipelines:
        for stage in pipeline.get("stages") or []:
            metadata = stage.get("metadata") or {}
            rows.append({"pipeline_id": pipeline.get("id"), "pipeline_label": pipeline.get("label"),
                         "stage_id": stage.get("id"), "stage_label": stage.get("label"),
                         "is_closed": metadata.get("isClosed"),
                         "probability": metadata.get("probability"),
                         "display_order": stage.get("displayOrder"),
                         # ticket stages carry only ticketState (OPEN/CLOSED), no isClosed
                         "ticket_state": metadata.get("ticketState")})
    return rows


def owner_row(owner: dict[str, Any]) -> dict[str, Any]:
    return {"id": owner.get("id"), "email": owner.get("email"),
            "first_name": owner.get("firstName"), "last_name": owner.get("lastName"),
            "user_id": owner.get("userId"), "archived": bool(owner.get("archived", False)),
            "created_at": owner.get("createdAt"), "updated_at": owner.get("updatedAt")}


GRANT_SCOPE = ("grant it to the private app behind HUBSPOT_ACCESS_TOKEN (HubSpot: Settings > "
               "Integrations > Private Apps > the app > Scopes; the token stays the same)")


def refusal(body: str) -> StreamRefused:
    """HubSpot's 403 as a refusal of one object: the missing scopes when it names them
    (``category: MISSING_SCOPES``, ``errors[].context.requiredGranularScopes``/``requiredScopes``),
    else its message (objects of a paid tier answer 403 in portals without it)."""
    try:
        error = json.loads(body)
    except ValueError:
        error = {}
    error = error if isinstance(error, dict) else {}
    scopes: list[str] = []
    for item in error.get("errors") or []:
        context = (item or {}).get("context") or {}
        for key in ("requiredGranularScopes", "requiredScopes"):
            scopes += [s for s in context.get(key) or [] if s not in scopes]
    if scopes:
        noun = "scope" if len(scopes) == 1 else "one of the scopes"
        return StreamRefused(f"{noun} {', '.join(scopes)}", GRANT_SCOPE)
    detail = error.get("message") or body[:200] or "no reason given"
    return StreamRefused(f"access to this object (HubSpot 403 {error.get('category') or ''}: "
                         f"{detail})".replace(" :", ":"),
                         "check the private app's scopes and the portal's subscription tier")


class HubSpotConnection:
    """Cached API objects, raw JSON calls, the search throttle, and the daily-limit watch."""

    def __init__(self, settings: dict[str, Any]) -> None:
        self.base_url = get_secret("HUBSPOT_BASE_URL") or "https://api.hubapi.com"
        self.token = get_secret("HUBSPOT_ACCESS_TOKEN", required=True) or ""
        retry = settings.get("retry") or {}
        client = hubspot_client(self.base_url, self.token, retry=hubspot_retry(
            int(retry.get("total", 6)), float(retry.get("backoff_factor", 0.5))))
        # Each property access builds a new ApiClient and pool: build each API once.
        self.objects_basic = client.crm.objects.basic_api
        self.objects_search = client.crm.objects.search_api
        self.objects_batch = client.crm.objects.batch_api
        self.associations = client.crm.associations.v4.batch_api
        self.owners = client.crm.owners.owners_api
        self.pipelines = client.crm.pipelines.pipelines_api
        self.properties = client.crm.properties.core_api
        self.min_search_interval = 1.0 / float(settings.get("max_searches_per_second", 4))
        self.stop_share = float(settings.get("stop_at_daily_share", 0.8))
        self.last_search = 0.0
        self.requests = 0
        self.over_share = ""
        self.daily: tuple[int, int] | None = None  # (limit, used) from the last response headers

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Call an API method on its raw path and return the parsed JSON body."""
        if self.over_share:  # stop before the next request; the last page was still used
            raise QuotaReached(self.over_share)
        self.requests += 1
        try:
            response = fn(*args, _preload_content=False, **kwargs)
        except Exception as exc:
            raise self._translate(exc) from None
        self._watch_daily(response.headers)
        # surrogateescape: an invalid UTF-8 byte reaches the record checks instead of failing
        # the whole page; that one record is quarantined.
        return json.loads(response.data.decode("utf-8", "surrogateescape") or "{}")

    def search(self, object_type: str, body: dict[str, Any]) -> dict[str, Any]:
        wait = self.last_search + self.min_search_interval - time.monotonic()
        if wait > 0:
            time.sleep(wait)  # HubSpot allows about 4-5 searches per second per account
        self.last_search = time.monotonic()
        return self.call(self.objects_search.do_search, object_type, body)

    def _watch_daily(self, headers: Any) -> None:
        limit = headers.get("X-HubSpot-RateLimit-Daily")
        remaining = headers.get("X-HubSpot-RateLimit-Daily-Remaining")
        if not (limit and remaining) or not limit.isdigit() or not remaining.isdigit():
            return
        used, total = int(limit) - int(remaining), int(limit)
        self.daily = (total, used)
        if total and used / total >= self.stop_share:
            self.over_share = (f"HubSpot daily usage {used}/{total} reached the configured stop "
                               f"share {self.stop_share:.0%}")

    def _translate(self, exc: Exception) -> Exception:
        status = getattr(exc, "status", None)
        body = getattr(exc, "body", b"") or b""
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
        if status == 401:
            return AuthFailed("HubSpot rejected the token (401): set a valid HUBSPOT_ACCESS_TOKEN")
        if status == 403:
            return refusal(self.redact(text))
        if status == 429 and "DAILY" in text:
            return QuotaReached("HubSpot DAILY API limit reached (429)")
        if status is not None:
            return RuntimeError(f"HubSpot {status}: {self.redact(text)[:300]}")
        return RuntimeError(self.redact(f"cannot reach HubSpot: {exc}")[:300])

    def redact(self, text: str) -> str:
        return redact(text, [self.token])


class HubSpotObjectStream:
    """One CRM object type, incremental by search, plus archived records and associations."""

    def __init__(self, conn: HubSpotConnection, settings: dict[str, Any], object_type: str,
                 association_reports: dict[str, StreamReport]) -> None:
        self.conn = conn
        self.settings = settings
        self.stream = object_type
        self.object_type = object_type
        self.cursor = cursor_property(object_type)
        self.lookback = timedelta(minutes=float(settings.get("lookback_minutes", 10)))
        self.page_size = max(1, min(200, int(settings.get("search_page_size", 200))))
        self.to_types = list((settings.get("associations") or {}).get(object_type) or [])
        self.association_reports = association_reports
        self.properties: list[str] = []
        self.association_writers: dict[str, RawZoneWriter] = {}
        # How the pass now running records the position a landed batch reaches (see flush).
        self.advance: Callable[[list[dict[str, Any]]], None] | None = None

    # -- StreamRunner ----------------------------------------------------------------------
    def prepare(self, ctx: RunContext) -> StreamLanding:
        schema = self._property_schema()
        self.properties = list(schema)
        shape = RecordShape(
            id_field="id", cursor_field=self.cursor,
            date_fields=tuple(n for n, t in schema.items() if t in DATE_TYPES),
            is_deleted=lambda r: r.get("archived") is True,
            columns=ENVELOPE + [p for p in self.properties if p not in ENVELOPE],
            lookback=self.lookback,
        )
        landing = StreamLanding(ctx, self.stream, shape)
        landing.record_schema(schema)
        return landing

    def extract(self, ctx: RunContext, landing: StreamLanding) -> None:
        state = landing.state
        if ctx.full_refresh:
            state.resume = None
            state.extra.pop("archived_resume", None)
        self._land_pending_associations(ctx, landing)  # owed by a run that stopped early
        if state.resume:  # finish the pass an earlier run was stopped in
            resume = state.resume
            self._search_pass(landing, parse_timestamp(resume["window_start"])
                              if resume.get("window_start") else None,
                              parse_timestamp(resume["window_end"]), str(resume["id_floor"]))
        start = None
        if state.cursor and not ctx.full_refresh:
            start = parse_timestamp(state.cursor) - self.lookback
        self._search_pass(landing, start, ctx.run_start, "0")
        if self._archived_pass_due(ctx, landing):
            self._archived_pass(ctx, landing)

    def checkpoint(self, ctx: RunContext, landing: StreamLanding) -> None:
        """Land the buffer with its position; no API call here, so it cannot fail on a quota
        stop or a 401 (associations it owes stay in the state for the next run)."""
        landing.flush(self.advance)
        landing.commit()

    # -- passes ----------------------------------------------------------------------------
    def _search_pass(self, landing: StreamLanding, start: datetime | None, end: datetime,
                     floor: str) -> None:
        """Every live record modified in ``[start, end)`` with id above ``floor``, id order."""
        state = landing.state
        # The newest cursor seen so far travels with the floor: a pass resumed over several
        # runs must end with the bookmark of the whole pass, not of its last part.
        resumed = parse_timestamp(state.resume["newest"]) if (
            state.resume and state.resume.get("newest")) else None
        state.resume = {"window_start": iso(start) if start else None, "window_end": iso(end),
                        "id_floor": floor, "newest": iso(resumed) if resumed else None}
        self.advance = self._advance_floor(landing)
        newest: datetime | None = resumed
        for record in self._search_pages(start, end, floor):
            # Seen counts, landed or not: a pass that re-reads only the known lookback overlap
            # must still move the bookmark, or the overlap slides out of the remembered tail.
            landing.add(record)
            if record.get(self.cursor):
                moment = parse_timestamp(record[self.cursor])
                newest = moment if newest is None or moment > newest else newest
                state.resume["newest"] = iso(newest)  # committed with the next landed batch
            if landing.batch_full:
                self.checkpoint_floor(landing)
        self.checkpoint_floor(landing)
        # The whole window is landed: the bookmark moves to min(newest seen, end).
        state.resume = None
        self.advance = None
        if newest is not None:
            state.cursor = iso(min(newest, end))
        landing.commit()

    def checkpoint_floor(self, landing: StreamLanding) -> None:
        """Land the buffer with the id floor it reaches, then fetch its associations."""
        landing.flush(self.advance)
        self._land_pending_associations(landing.ctx, landing)

    def _advance_floor(self, landing: StreamLanding) -> Callable[[list[dict[str, Any]]], None]:
        """Committed with each landed batch: the id floor it reaches (ids arrive in order) and
        the associations it still owes, so a stop before they are read loses none of them."""
        def advance(batch: list[dict[str, Any]]) -> None:
            state = landing.state
            if state.resume is not None:
                state.resume["id_floor"] = max((r["id"] for r in batch), key=int)
            live = [str(r["id"]) for r in batch if r.get("archived") is not True]
            if live and self.to_types:
                owed = state.extra.setdefault("pending_associations", {})
                for to_type in self.to_types:
                    owed[to_type] = list(dict.fromkeys([*owed.get(to_type, []), *live]))
        return advance

    def _search_pages(self, start: datetime | None, end: datetime, floor: str
                      ) -> Iterator[dict[str, Any]]:
        while True:
            filters = [{"propertyName": self.cursor, "operator": "LT", "value": epoch_ms(end)},
                       {"propertyName": "hs_object_id", "operator": "GT", "value": floor}]
            if start is not None:
                filters.insert(0, {"propertyName": self.cursor, "operator": "GTE",
                                   "value": epoch_ms(start)})
            body = {"filterGroups": [{"filters": filters}],
                    "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
                    "properties": self.properties, "limit": self.page_size, "after": "0"}
            page = self.conn.search(self.object_type, body)
            results = page.get("results") or []
            for obj in results:
                yield flatten_object(obj)
            # Stop only when HubSpot says there is nothing more, never on a short page.
            if not results or not (page.get("paging") or {}).get("next"):
                return
            floor = str(max(int(obj["id"]) for obj in results))

    def _archived_pass_due(self, ctx: RunContext, landing: StreamLanding) -> bool:
        """The archived list cannot be filtered by archivedAt, so each pass pages through every
        archived record: run it on its own cadence (``archived_every_hours``, default daily), not
        every hourly run. Deletes then reach the warehouse within that interval."""
        last = landing.state.extra.get("archived_cursor")
        if ctx.full_refresh or not last or landing.state.extra.get("archived_resume"):
            return True  # first pass, or one a stop interrupted: finish it now
        every = float(self.settings.get("archived_every_hours", DEFAULT_ARCHIVED_EVERY_HOURS))
        return ctx.run_start - parse_timestamp(last) >= timedelta(hours=every)

    def _archived_pass(self, ctx: RunContext, landing: StreamLanding) -> None:
        """Archived records (deletions) since the last pass; search never returns them.

        Landed page by page with the paging token of the next page, so a pass stopped early
        resumes after the last landed page instead of landing its records again."""
        extra = landing.state.extra
        resume = extra.get("archived_resume") or {}
        since_text = resume.get("since") if resume else (
            None if ctx.full_refresh else extra.get("archived_cursor"))
        since = parse_timestamp(since_text) - self.lookback if since_text else None
        position = {"since": since_text, "after": resume.get("after")}
        # Deletions landed within the lookback last time are re-read, not re-landed.
        seen: dict[str, str] = dict(extra.get("archived_tail") or {})

        def advance(batch: list[dict[str, Any]]) -> None:
            extra["archived_resume"] = dict(position)
            seen.update({str(r["id"]): str(r.get("archived_at")) for r in batch})
            extra["archived_tail"] = seen
        self.advance = advance
        for records, next_after in self._archived_pages(position["after"]):
            for record in records:
                archived_at = record.get("archived_at")
                if since and archived_at and parse_timestamp(archived_at) < since:
                    continue
                if seen.get(str(record.get("id"))) == str(archived_at):
                    continue
                landing.add(record)
            position["after"] = next_after
            if landing.batch_full:
                landing.flush(advance)
        landing.flush(advance)
        self.advance = None
        extra.pop("archived_resume", None)
        extra["archived_cursor"] = iso(ctx.run_start)
        horizon = ctx.run_start - self.lookback
        extra["archived_tail"] = {key: at for key, at in seen.items()
                                  if at != "None" and parse_timestamp(at) >= horizon}
        landing.commit()

    def _archived_pages(self, after: str | None = None
                        ) -> Iterator[tuple[list[dict[str, Any]], str | None]]:
        """(records of one page, the paging token of the next page or None)."""
        chunks = property_chunks(self.properties)
        while True:
            page = self.conn.call(self.conn.objects_basic.get_page, self.object_type,
                                  limit=LIST_PAGE_SIZE, after=after, properties=chunks[0],
                                  archived=True)
            objects = page.get("results") or []
            if len(chunks) > 1 and objects:
                objects = self._with_other_chunks(objects, chunks[1:])
            after = ((page.get("paging") or {}).get("next") or {}).get("after")
            yield [flatten_object(obj) for obj in objects], after
            if not after:
                return

    def _with_other_chunks(self, objects: list[dict[str, Any]], chunks: list[list[str]]
                           ) -> list[dict[str, Any]]:
        """Too many properties for one URL: read the rest by id in POST bodies."""
        by_id = {obj["id"]: obj for obj in objects}
        for chunk in chunks:
            body = {"inputs": [{"id": i} for i in by_id], "properties": chunk}
            page = self.conn.call(self.conn.objects_batch.read, self.object_type, body,
                                  archived=True)
            for extra in page.get("results") or []:
                target = by_id.get(str(extra.get("id")))
                if target is not None:
                    target.setdefault("properties", {}).update(extra.get("properties") or {})
        return objects

    # -- associations ----------------------------------------------------------------------
    def _land_pending_associations(self, ctx: RunContext, landing: StreamLanding) -> None:
        """Read and land the associations landed batches still owe, one target type at a time,
        each removed from the state once its rows are durable."""
        owed = landing.state.extra.get("pending_associations") or {}
        for to_type in list(owed):
            if to_type in self.to_types:
                try:
                    self._land_association_batch(ctx, to_type, owed[to_type])
                except StreamRefused as exc:  # e.g. no contacts scope: skip only these links
                    self._skip_associations(ctx, to_type, exc)
            del owed[to_type]
            landing.commit()

    def _skip_associations(self, ctx: RunContext, to_type: str, exc: StreamRefused) -> None:
        name = f"associations_{self.object_type}_{to_type}"
        report = self.association_reports.setdefault(name, StreamReport(stream=name))
        report.status = SKIPPED
        report.message = (f"{name} skipped: {exc.missing} is not granted; {exc.grant}, or remove "
                          f"{to_type} from sources.hubspot.associations.{self.object_type}")
        log.warning("%s: %s", ctx.source, report.message)
        self.to_types.remove(to_type)

    def _land_association_batch(self, ctx: RunContext, to_type: str, ids: list[str]) -> None:
        name = f"associations_{self.object_type}_{to_type}"
        report = self.association_reports.setdefault(name, StreamReport(stream=name))
        started, before = time.monotonic(), self.conn.requests
        rows: list[dict[str, Any]] = []
        for offset in range(0, len(ids), MAX_ASSOCIATION_INPUTS):
            inputs = [{"id": i} for i in ids[offset:offset + MAX_ASSOCIATION_INPUTS]]
            while inputs:
                page = self.conn.call(self.conn.associations.get_page, self.object_type,
                                      to_type, {"inputs": inputs})
                check_association_errors(page, self.object_type, to_type)
                results = page.get("results") or []
                rows += association_rows(results)
                # A record with more associations than one page holds says where to go on.
                inputs = [{"id": str(r["from"]["id"]), "after": r["paging"]["next"]["after"]}
                          for r in results if (r.get("paging") or {}).get("next")]
        if rows:
            writer = self.association_writers.get(name)
            if writer is None:
                writer = self.association_writers[name] = RawZoneWriter(
                    ctx.data_paths, ctx.source, name, ctx.sync_id)
            writer.write_batch(rows, ASSOCIATION_COLUMNS)
        report.fetched += len(rows)
        report.landed += len(rows)
        report.requests += self.conn.requests - before
        report.duration_s += time.monotonic() - started

    # -- schema ----------------------------------------------------------------------------
    def _property_schema(self) -> dict[str, str]:
        """``property -> type`` from the properties API, filtered by config include/exclude."""
        page = self.conn.call(self.conn.properties.get_all, self.object_type, archived=False)
        per_stream = (self.settings.get("properties") or {}).get(self.object_type) or {}
        include = set(per_stream.get("include") or [])
        exclude = set(per_stream.get("exclude") or [])
        # an include list never drops what the warehouse reads: cursor, loss reason, texts
        extra_texts = (self.settings.get("extra_text_properties") or {}).get(self.object_type) or []
        required = {self.cursor, "hs_object_id", self.settings.get("loss_reason_property"),
                    "description", *extra_texts}
        schema = {}
        for spec in page.get("results") or []:
            name = spec.get("name")
            if not name or name in exclude:
                continue
            if include and name not in include and name not in required:
                continue
            schema[name] = spec.get("type") or "string"
        return schema


class HubSpotSnapshotStream:
    """Small reference streams read in full each run (owners, pipelines): landed on change."""

    def __init__(self, conn: HubSpotConnection, stream: str) -> None:
        self.conn = conn
        self.stream = stream
        self.rows: list[dict[str, Any]] = []

    def prepare(self, ctx: RunContext) -> StreamLanding:
        owners = self.stream == "owners"
        shape = RecordShape(id_field="id" if owners else "stage_id", cursor_field=None,
                            date_fields=(), is_deleted=lambda r: r.get("archived") is True,
                            columns=OWNER_COLUMNS if owners else PIPELINE_COLUMNS)
        return StreamLanding(ctx, self.stream, shape)

    def extract(self, ctx: RunContext, landing: StreamLanding) -> None:
        rows = self._owners() if self.stream == "owners" else self._pipeline_stages()
        digest = hashlib.sha256(json.dumps(rows, sort_keys=True, default=str).encode()).hexdigest()
        if digest == landing.state.extra.get("digest") and not ctx.full_refresh:
            landing.report.fetched = len(rows)  # unchanged since the last run: nothing to land
            return
        for row in rows:
            landing.add(row)
        landing.flush()
        landing.state.extra["digest"] = digest

    def checkpoint(self, ctx: RunContext, landing: StreamLanding) -> None:
        landing.flush()
        landing.commit()

    def _owners(self) -> list[dict[str, Any]]:
        rows = []
        for archived in (False, True):
            after = None
            while True:
                page = self.conn.call(self.conn.owners.get_page, limit=LIST_PAGE_SIZE,
                                      after=after, archived=archived)
                rows += [owner_row(o) for o in page.get("results") or []]
                after = ((page.get("paging") or {}).get("next") or {}).get("after")
                if not after:
                    break
        return rows

    def _pipeline_stages(self) -> list[dict[str, Any]]:
        object_type = "deals" if self.stream == "deal_pipelines" else "tickets"
        page = self.conn.call(self.conn.pipelines.get_all, object_type)
        return pipeline_rows(page.get("results") or [])


class HubSpotSource:
    """The connected HubSpot source as ``sync_source`` drives it."""

    def __init__(self, settings: dict[str, Any]) -> None:
        self.settings = settings
        self.conn = HubSpotConnection(settings)
        self.association_reports: dict[str, StreamReport] = {}

    @property
    def requests(self) -> int:
        """Requests outside the association reads, which report under their own streams: so a
        stream's count is its own and the run's total counts every request once."""
        return self.conn.requests - sum(r.requests for r in self.association_reports.values())

    def runners(self, streams: list[str]) -> list[Any]:
        known = OBJECT_STREAMS + SNAPSHOT_STREAMS
        configured = [s for s in self.settings.get("streams", list(known))
                      if s not in set(self.settings.get("exclude_streams") or [])]
        selected = streams or configured
        unknown = [s for s in selected if s not in known]
        if unknown:
            raise SourceError(f"unknown HubSpot stream(s) {', '.join(unknown)}; "
                              f"known: {', '.join(known)}")
        return [HubSpotObjectStream(self.conn, self.settings, s, self.association_reports)
                if s in OBJECT_STREAMS else HubSpotSnapshotStream(self.conn, s)
                for s in selected]

    def extra_reports(self) -> list[StreamReport]:
        return list(self.association_reports.values())

    def error_text(self, exc: BaseException) -> str:
        return self.conn.redact(str(exc))[:500]

    def configuration_problems(self) -> list:
        """Configured property names the portal does not have (the same check as doctor)."""
        from churnkb.connectors.doctor import hubspot_property_problems

        return hubspot_property_problems(self.settings, self._properties_or_none)

    def _properties_or_none(self, object_type: str) -> list[dict[str, Any]] | None:
        try:
            return self.conn.call(self.conn.properties.get_all, object_type).get("results", [])
        except StreamRefused:
            return None  # an object the token cannot read is reported by its stream
        except SourceError as exc:
            if "401" in str(exc):
                raise
            return None
