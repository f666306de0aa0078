"""``churnkb doctor``: what the configured credentials can read, whether every configured field
exists, how the loss-reason and cancellation values map, and what a sync will cost.

Plain functions over the same connections the sync uses; the command renders the result.
"""

from __future__ import annotations

import csv
import difflib
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from churnkb.connectors.clients import connection_failure, unreachable_message
from churnkb.connectors.landing import SourceError

REASON_MAP = Path(__file__).resolve().parents[1] / "dbt_project" / "seeds" / "stated_reason_map.csv"


@dataclass
class Problem:
    """A configured name that does not exist, or something that cannot be read."""

    subject: str  # e.g. "Opportunity.Loss_Reasn__c" or "stream feedback_submissions"
    message: str

    def __str__(self) -> str:
        return f"{self.subject}: {self.message}"


@dataclass
class StreamEstimate:
    stream: str
    records: int
    full_requests: int
    hourly_requests: int


@dataclass
class Diagnosis:
    source: str
    readable: list[str] = field(default_factory=list)
    unreadable: list[Problem] = field(default_factory=list)
    field_problems: list[Problem] = field(default_factory=list)
    # (field, value, category it maps to or None)
    value_mappings: list[tuple[str, str, str | None]] = field(default_factory=list)
    estimates: list[StreamEstimate] = field(default_factory=list)
    daily_limit: int | None = None
    daily_used: int | None = None
    fatal: str = ""  # cannot connect or authenticate at all

    @property
    def ok(self) -> bool:
        return not (self.fatal or self.field_problems)

    def share_of_daily(self, requests: int) -> float | None:
        return requests / self.daily_limit if self.daily_limit else None


def unknown_names(configured: Iterable[str], available: Iterable[str], where: str) -> list[Problem]:
    """Configured field or property names missing from ``available``, with the closest real ones."""
    names = list(available)
    lowered = {name.lower(): name for name in names}
    problems = []
    for name in configured:
        if name in names:
            continue
        if name.lower() in lowered:
            hint = f"did you mean {lowered[name.lower()]} (names are case-sensitive)?"
        else:
            close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
            hint = f"closest: {', '.join(close)}" if close else "no similar name exists"
        problems.append(Problem(f"{where}.{name}", f"no such field on {where}; {hint}"))
    return problems


def mapped_category(value: str, rules: list[tuple[str, str, str]] | None = None) -> str | None:
    """The category a stated reason maps to through the seed ``stated_reason_map`` (as dbt does:
    exact match first, else the longest matching regex)."""
    rules = rules if rules is not None else reason_map_rules()
    text = value.strip().lower()
    for raw, match_type, category in rules:
        if match_type == "exact" and raw == text:
            return category
    regexes = sorted((r for r in rules if r[1] == "regex"), key=lambda r: (-len(r[0]), r[0]))
    return next((cat for raw, _, cat in regexes if re.search(raw, text)), None)


def reason_map_rules() -> list[tuple[str, str, str]]:
    with REASON_MAP.open(encoding="utf-8") as handle:
        return [(row["raw_value"].strip().lower(), row["match_type"], row["category"])
                for row in csv.DictReader(handle)]


def _guard(diagnosis: Diagnosis, source: str, step: Callable[[], None]) -> None:
    """Run one check; an unreachable server or rejected credentials ends the diagnosis."""
    try:
        step()
    except SourceError as exc:
        diagnosis.fatal = str(exc)
    except Exception as exc:  # noqa: BLE001 - doctor reports, it never crashes
        reason = connection_failure(exc)
        if reason is None:
            raise
        diagnosis.fatal = unreachable_message(source, reason)


# --- Salesforce ----------------------------------------------------------------------------


def salesforce_configured_fields(settings: dict[str, Any]) -> dict[str, list[str]]:
    """Object -> field names the config names (loss reason, competitor, extra text, includes)."""
    from churnkb.connectors.salesforce import STREAM_OBJECTS

    wanted: dict[str, list[str]] = {}
    for key in ("loss_reason_field", "competitor_field"):
        if settings.get(key):
            wanted.setdefault("Opportunity", []).append(str(settings[key]))
    for obj, names in (settings.get("extra_text_fields") or {}).items():
        wanted.setdefault(str(obj), []).extend(str(n) for n in names or [])
    for stream, spec in (settings.get("fields") or {}).items():
        obj = STREAM_OBJECTS.get(stream, stream)
        wanted.setdefault(obj, []).extend(str(n) for n in (spec or {}).get("include_fields") or [])
    return wanted


def salesforce_field_problems(settings: dict[str, Any],
                              describe: Callable[[str], dict[str, Any] | None]) -> list[Problem]:
    """Configured Salesforce field names that the org's describe does not have (sync and doctor
    both ask this; ``describe(obj)`` returns None for an object that cannot be read)."""
    problems: list[Problem] = []
    for obj, names in salesforce_configured_fields(settings).items():
        described = describe(obj)
        if described is not None:
            problems += unknown_names(names, [f["name"] for f in described.get("fields", [])], obj)
    return problems


def hubspot_property_problems(settings: dict[str, Any],
                              properties: Callable[[str], list[dict[str, Any]] | None]) -> list[Problem]:
    """Configured HubSpot property names the portal does not have (sync and doctor)."""
    problems: list[Problem] = []
    for obj, names in hubspot_configured_properties(settings).items():
        found = properties(obj)
        if found is not None:
            problems += unknown_names(names, [p["name"] for p in found], obj)
    return problems


def diagnose_salesforce(settings: dict[str, Any], *, now: datetime | None = None) -> Diagnosis:
    from churnkb.connectors.salesforce import STREAM_OBJECTS, SalesforceConnection

    diagnosis = Diagnosis("salesforce")
    now = now or datetime.now(UTC)
    conn: list[SalesforceConnection] = []

    def connect() -> None:
        conn.append(SalesforceConnection(settings))
        limits = conn[0].call(lambda: conn[0].sf.restful("limits"))
        daily = limits.get("DailyApiRequests") or {}
        if daily.get("Max"):
            diagnosis.daily_limit = int(daily["Max"])
            diagnosis.daily_used = int(daily["Max"]) - int(daily.get("Remaining", daily["Max"]))

    _guard(diagnosis, "salesforce", connect)
    if diagnosis.fatal:
        return diagnosis
    sf = conn[0]
    streams = [s for s in settings.get("streams") or STREAM_OBJECTS
               if s not in (settings.get("exclude_streams") or [])]
    describes: dict[str, dict[str, Any]] = {}
    for stream in streams:
        obj = STREAM_OBJECTS.get(stream, stream)

        def read(obj: str = obj, stream: str = stream) -> None:
            try:
                describes[obj] = sf.call(lambda: sf.sf.restful(f"sobjects/{obj}/describe"))
                diagnosis.readable.append(stream)
            except Exception as exc:  # noqa: BLE001 - a refused object is a finding
                if connection_failure(exc):
                    raise
                diagnosis.unreadable.append(Problem(
                    f"stream {stream}", f"cannot describe {obj}: {_first_line(exc)}; grant the "
                    f"user read access to {obj} or add {stream} to sources.salesforce.exclude_streams"))

        _guard(diagnosis, "salesforce", read)
    diagnosis.field_problems += salesforce_field_problems(settings, describes.get)
    _salesforce_picklists(diagnosis, describes, settings)
    page = int(settings.get("page_size", 2000))
    for stream in diagnosis.readable:
        obj = STREAM_OBJECTS.get(stream, stream)
        _guard(diagnosis, "salesforce", lambda obj=obj, stream=stream: diagnosis.estimates.append(
            _salesforce_estimate(sf, stream, obj, describes[obj], page, now)))
    return diagnosis


def _salesforce_picklists(diagnosis: Diagnosis, describes: dict[str, dict[str, Any]],
                          settings: dict[str, Any]) -> None:
    rules = reason_map_rules()
    fields = {f["name"]: f for f in describes.get("Opportunity", {}).get("fields", [])}
    reason = fields.get(str(settings.get("loss_reason_field") or ""))
    for value in (reason or {}).get("picklistValues") or []:
        if value.get("active", True):
            name = f"Opportunity.{reason['name']}"
            diagnosis.value_mappings.append((name, value["value"], mapped_category(value["value"], rules)))
    case_types = {f["name"]: f for f in describes.get("Case", {}).get("fields", [])}.get("Type")
    cancellation = {str(t).lower() for t in settings.get("cancellation_case_types") or []}
    for value in (case_types or {}).get("picklistValues") or []:
        if value.get("active", True):
            counted = "cancellation" if value["value"].lower() in cancellation else None
            diagnosis.value_mappings.append(("Case.Type", value["value"], counted))


def _salesforce_estimate(sf: Any, stream: str, obj: str, describe: dict[str, Any], page: int,
                         now: datetime) -> StreamEstimate:
    names = {f["name"] for f in describe.get("fields", [])}
    cursor = next((c for c in ("SystemModstamp", "LastModifiedDate", "CreatedDate") if c in names), None)
    total = int(sf.call(lambda: sf.sf.query(f"SELECT COUNT() FROM {obj}"))["totalSize"])
    changed = total
    if cursor:
        since = (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        changed = int(sf.call(lambda: sf.sf.query(
            f"SELECT COUNT() FROM {obj} WHERE {cursor} >= {since}"))["totalSize"])
    # a describe, the pages, and one queryAll page for deletions
    return StreamEstimate(stream, total, 2 + max(1, math.ceil(total / page)),
                          2 + max(1, math.ceil(changed / page)))


# --- HubSpot -------------------------------------------------------------------------------


def hubspot_configured_properties(settings: dict[str, Any]) -> dict[str, list[str]]:
    wanted: dict[str, list[str]] = {}
    if settings.get("loss_reason_property"):
        wanted.setdefault("deals", []).append(str(settings["loss_reason_property"]))
    for obj, names in (settings.get("extra_text_properties") or {}).items():
        wanted.setdefault(str(obj), []).extend(str(n) for n in names or [])
    for obj, spec in (settings.get("properties") or {}).items():
        wanted.setdefault(str(obj), []).extend(str(n) for n in (spec or {}).get("include") or [])
    return wanted


def diagnose_hubspot(settings: dict[str, Any], *, now: datetime | None = None) -> Diagnosis:
    from churnkb.connectors.hubspot import OBJECT_STREAMS, HubSpotConnection

    diagnosis = Diagnosis("hubspot")
    now = now or datetime.now(UTC)
    conn: list[HubSpotConnection] = []
    _guard(diagnosis, "hubspot", lambda: conn.append(HubSpotConnection(settings)))
    if diagnosis.fatal:
        return diagnosis
    hs = conn[0]
    streams = [s for s in settings.get("streams") or OBJECT_STREAMS
               if s in OBJECT_STREAMS and s not in (settings.get("exclude_streams") or [])]
    properties: dict[str, list[dict[str, Any]]] = {}
    for stream in streams:
        def read(stream: str = stream) -> None:
            try:
                body = hs.call(hs.properties.get_all, stream)
            except SourceError as exc:
                if "401" in str(exc):
                    raise
                diagnosis.unreadable.append(Problem(f"stream {stream}", _scope_hint(stream, exc)))
                return
            properties[stream] = body.get("results", [])
            diagnosis.readable.append(stream)

        _guard(diagnosis, "hubspot", read)
        if diagnosis.fatal:
            return diagnosis
    diagnosis.field_problems += hubspot_property_problems(settings, properties.get)
    _hubspot_enumerations(diagnosis, properties, settings)
    page = max(1, min(200, int(settings.get("search_page_size", 200))))
    for stream in diagnosis.readable:
        _guard(diagnosis, "hubspot", lambda stream=stream: diagnosis.estimates.append(
            _hubspot_estimate(hs, stream, page, now, settings)))
    if hs.daily:
        diagnosis.daily_limit, diagnosis.daily_used = hs.daily
    return diagnosis


def _scope_hint(stream: str, exc: Exception) -> str:
    text = str(exc)
    scopes = re.findall(r"crm\.[a-z_.]+|[a-z_]+\.read", text)
    needed = f" (needs scope {', '.join(dict.fromkeys(scopes))})" if scopes else ""
    return (f"the token cannot read {stream}{needed}; grant the scope to the private app or add "
            f"{stream} to sources.hubspot.exclude_streams")


def _hubspot_enumerations(diagnosis: Diagnosis, properties: dict[str, list[dict[str, Any]]],
                          settings: dict[str, Any]) -> None:
    rules = reason_map_rules()
    deal_props = {p["name"]: p for p in properties.get("deals", [])}
    reason = deal_props.get(str(settings.get("loss_reason_property") or ""))
    for option in (reason or {}).get("options") or []:
        label = option.get("label") or option.get("value")
        diagnosis.value_mappings.append((f"deals.{reason['name']}", label, mapped_category(label, rules)))
    if reason and not reason.get("options"):
        diagnosis.value_mappings.append((f"deals.{reason['name']}", "(free text)",
                                         "classified from the text"))
    category = {p["name"]: p for p in properties.get("tickets", [])}.get("hs_ticket_category")
    cancellation = {str(c).upper() for c in settings.get("cancellation_ticket_categories") or []}
    for option in (category or {}).get("options") or []:
        counted = "cancellation" if str(option.get("value")).upper() in cancellation else None
        diagnosis.value_mappings.append(("tickets.hs_ticket_category", option.get("value"), counted))


def _hubspot_estimate(hs: Any, stream: str, page: int, now: datetime,
                      settings: dict[str, Any]) -> StreamEstimate:
    from churnkb.connectors.hubspot import cursor_property, epoch_ms

    total = int(hs.search(stream, {"limit": 1, "filterGroups": []}).get("total", 0))
    since = epoch_ms(now - timedelta(hours=1))
    changed = int(hs.search(stream, {"limit": 1, "filterGroups": [{"filters": [{
        "propertyName": cursor_property(stream), "operator": "GTE", "value": since}]}]}).get("total", 0))
    associations = len((settings.get("associations") or {}).get(stream) or [])
    full = 1 + math.ceil(total / page) * (1 + associations) + max(1, math.ceil(total / 100))
    hourly = 1 + max(1, math.ceil(changed / page)) * (1 + (associations if changed else 0))
    return StreamEstimate(stream, total, full, hourly)


def _first_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200]
