"""The sandbox HubSpot portal's data: one ``ObjectTable`` per object type plus the association index.

Tables keep what paging and search need to stay fast on 100k+ records: ids sorted numerically,
typed property columns parsed once per data version, and a small cache of search results.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from churnkb.sandbox.hubspot_catalog import BASE_PROPERTIES, REVERSE_TYPE_ID, infer_property_type

_TYPE_SAMPLE = 200  # values looked at per property to infer its type
_MAX_ENUM_OPTIONS = 200
_SEARCH_CACHE_SIZE = 32


def now_iso() -> str:
    """Real current UTC time as HubSpot writes it: ``2024-04-01T17:04:12.553Z``."""
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def as_property_value(value: Any) -> str | None:
    """Every HubSpot property value is a string (or null)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


_EPOCH_MS = re.compile(r"-?\d+(\.\d+)?")


def to_epoch_ms(text: str) -> float | None:
    """ISO datetime, ISO date or epoch-ms string -> epoch ms (UTC); None if unparseable."""
    if _EPOCH_MS.fullmatch(text):
        return float(text)
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp() * 1000


def _to_number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


_PARSERS = {
    "number": _to_number,
    "datetime": to_epoch_ms,
    "date": to_epoch_ms,
    "bool": lambda text: text.strip().lower() == "true",
}


def parse_typed(prop_type: str, text: str) -> Any:
    """A property value as the type search compares it by (strings case-insensitively)."""
    return _PARSERS.get(prop_type, str.casefold)(text)


def modified_property(object_type: str) -> str:
    """The property holding the last-modified time (contacts use their own, as in HubSpot)."""
    return "lastmodifieddate" if object_type == "contacts" else "hs_lastmodifieddate"


def normalize_record(record: Mapping[str, Any], object_type: str) -> dict[str, Any]:
    """A copy in the API's shape: string id and property values, the envelope fields filled."""
    object_id = str(record["id"])
    if not object_id.isdigit():
        raise ValueError(f"HubSpot record ids are numeric strings, got {object_id!r}")
    properties = {name: as_property_value(v) for name, v in (record.get("properties") or {}).items()}
    created = as_property_value(record.get("createdAt")) or properties.get("createdate") or now_iso()
    updated = (as_property_value(record.get("updatedAt"))
               or properties.get(modified_property(object_type)) or created)
    properties["hs_object_id"] = object_id
    properties.setdefault("createdate", created)
    properties.setdefault(modified_property(object_type), updated)
    archived = bool(record.get("archived"))
    return {
        "id": object_id,
        "properties": properties,
        "createdAt": created,
        "updatedAt": updated,
        "archived": archived,
        "archivedAt": as_property_value(record.get("archivedAt")) if archived else None,
    }


class ObjectTable:
    """The records of one object type (archived ones included: the ground truth)."""

    def __init__(self, object_type: str, records: Iterable[Mapping[str, Any]] = ()) -> None:
        self.object_type = object_type
        self.records: dict[str, dict[str, Any]] = {}
        self.version = 0  # bumped on every data change; search caches key on it
        self._ids_int: list[int] = []
        self._ids_str: list[str] = []
        self._ids_dirty = False
        self._property_names: set[str] = set(BASE_PROPERTIES.get(object_type, ()))
        self._type_overrides: dict[str, str] = {}
        self._removed: set[str] = set()
        self._types: dict[str, str] | None = None
        self._columns: dict[tuple[str, str], dict[str, Any]] = {}  # always current (patched on change)
        self._live: set[str] | None = None
        self._search_cache: dict[str, tuple[int, list[str]]] = {}
        self.insert(records)

    # -- changes -------------------------------------------------------------------------------

    def insert(self, records: Iterable[Mapping[str, Any]]) -> list[str]:
        """Add (or replace) records; cheap enough for 25k+ at once (one re-sort, lazily)."""
        ids = []
        names_before = len(self._property_names)
        for raw in records:
            record = normalize_record(raw, self.object_type)
            self.records[record["id"]] = record
            self._property_names.update(record["properties"])
            ids.append(record["id"])
        self._ids_dirty = True
        if len(self._property_names) != names_before or not self._types:
            self._types = None  # new properties: infer the types again
        self.changed(ids)
        return ids

    def changed(self, ids: Iterable[str] | None = None) -> None:
        """Call after editing records in place, so search sees the edit. Given the changed ids,
        the parsed columns are patched instead of rebuilt (paging over 100k records stays fast)."""
        self.version += 1
        if ids is None:
            self._columns.clear()
            self._live = None
            return
        ids = list(ids)
        for (name, prop_type), column in self._columns.items():
            for object_id in ids:
                self._set_cell(column, object_id, name, prop_type)
        if self._live is not None:
            for object_id in ids:
                record = self.records.get(object_id)
                if record is None or record["archived"]:
                    self._live.discard(object_id)
                else:
                    self._live.add(object_id)

    def add_property(self, name: str, prop_type: str) -> None:
        self._removed.discard(name)
        self._property_names.add(name)
        self._type_overrides[name] = prop_type
        self._types = None
        self.changed()

    def remove_property(self, name: str) -> None:
        """The portal deletes the property: gone from definitions and from every record."""
        self._removed.add(name)
        self._property_names.discard(name)
        self._type_overrides.pop(name, None)
        for record in self.records.values():
            record["properties"].pop(name, None)
        self._types = None
        self.changed()

    def change_property_type(self, name: str, prop_type: str) -> None:
        if name not in self.property_types():
            raise KeyError(f"{self.object_type} has no property {name!r}")
        self.add_property(name, prop_type)

    # -- reads ---------------------------------------------------------------------------------

    def property_types(self) -> dict[str, str]:
        """Name -> HubSpot type for every defined property (known names, then sampled values)."""
        if self._types is None:
            samples = self._sample_values()
            self._types = {
                name: self._type_overrides.get(name) or infer_property_type(name, samples.get(name, []))
                for name in sorted(self._property_names - self._removed)
            }
        return self._types

    def enum_options(self, name: str) -> list[str]:
        # a multiple-checkbox value "A;B" holds two options
        values = {part for v in self.column(name, "string_raw").values() for part in v.split(";") if part}
        return sorted(values)[:_MAX_ENUM_OPTIONS]

    def sorted_ids(self) -> tuple[list[int], list[str]]:
        """All ids in numeric order, as ints (for bisect) and as the strings the API returns."""
        if self._ids_dirty:
            self._ids_int = sorted(int(i) for i in self.records)
            self._ids_str = [str(i) for i in self._ids_int]
            self._ids_dirty = False
        return self._ids_int, self._ids_str

    def page(self, start_after: int | None, limit: int, archived: bool) -> tuple[list[dict], str | None]:
        """One list page in id order from id ``start_after`` (inclusive) and the next cursor."""
        ids_int, ids_str = self.sorted_ids()
        position = bisect.bisect_left(ids_int, start_after) if start_after is not None else 0
        page: list[dict] = []
        while position < len(ids_str):
            record = self.records[ids_str[position]]
            if record["archived"] == archived:
                if len(page) == limit:
                    return page, ids_str[position]
                page.append(record)
            position += 1
        return page, None

    def live_ids(self) -> set[str]:
        """Ids of the records that are not archived (a copy: callers may change it)."""
        if self._live is None:
            self._live = {i for i, r in self.records.items() if not r["archived"]}
        return set(self._live)

    def live_count(self) -> int:
        if self._live is None:
            self.live_ids()
        return len(self._live or ())

    def column(self, name: str, prop_type: str) -> dict[str, Any]:
        """Id -> parsed value for records with a non-empty value (built once, then patched)."""
        key = (name, prop_type)
        if key in self._columns:
            return self._columns[key]
        memo: dict[str, Any] = {}  # many records share a value (25k deals, one timestamp)
        column: dict[str, Any] = {}
        for object_id, record in self.records.items():
            raw = record["properties"].get(name)
            if raw is None or raw == "":
                continue
            if raw not in memo:
                memo[raw] = raw if prop_type == "string_raw" else parse_typed(prop_type, raw)
            if memo[raw] is not None:
                column[object_id] = memo[raw]
        self._columns[key] = column
        return column

    def _set_cell(self, column: dict[str, Any], object_id: str, name: str, prop_type: str) -> None:
        record = self.records.get(object_id)
        raw = record["properties"].get(name) if record else None
        value = None if raw in (None, "") else (raw if prop_type == "string_raw" else parse_typed(prop_type, raw))
        if value is None:
            column.pop(object_id, None)
        else:
            column[object_id] = value

    def cached_search(self, key: str) -> list[str] | None:
        cached = self._search_cache.get(key)
        return cached[1] if cached and cached[0] == self.version else None

    def remember_search(self, key: str, ids: list[str]) -> None:
        if len(self._search_cache) >= _SEARCH_CACHE_SIZE:
            self._search_cache.clear()
        self._search_cache[key] = (self.version, ids)

    def next_id(self) -> str:
        ids_int, _ = self.sorted_ids()
        return str((ids_int[-1] if ids_int else 1000) + 1)

    def _sample_values(self) -> dict[str, list[str]]:
        samples: dict[str, list[str]] = {}
        for record in self.records.values():
            for name, value in record["properties"].items():
                bucket = samples.setdefault(name, [])
                if value not in (None, "") and len(bucket) < _TYPE_SAMPLE:
                    bucket.append(value)
        return samples


class AssociationIndex:
    """Associations stored in both directions, so either side can be asked (v3 block and v4 read)."""

    def __init__(self, rows: Iterable[tuple[str, str, str, str, int]] = ()) -> None:
        # (from_type, to_type) -> from_id -> to_id -> [type ids]
        self._edges: dict[tuple[str, str], dict[str, dict[str, list[int]]]] = {}
        for row in rows:
            self.add(*row)

    def add(self, from_type: str, from_id: str, to_type: str, to_id: str, type_id: int) -> None:
        self._link(from_type, str(from_id), to_type, str(to_id), int(type_id))
        self._link(to_type, str(to_id), from_type, str(from_id),
                   REVERSE_TYPE_ID.get(int(type_id), int(type_id)))

    def targets(self, from_type: str, to_type: str, from_id: str) -> dict[str, list[int]]:
        return self._edges.get((from_type, to_type), {}).get(from_id, {})

    def rows(self) -> list[tuple[str, str, str, str, int]]:
        """Every stored direction as ``(from_type, from_id, to_type, to_id, type_id)``."""
        return [(f, fid, t, tid, type_id)
                for (f, t), by_from in self._edges.items()
                for fid, by_to in by_from.items()
                for tid, type_ids in by_to.items()
                for type_id in type_ids]

    def _link(self, from_type: str, from_id: str, to_type: str, to_id: str, type_id: int) -> None:
        type_ids = self._edges.setdefault((from_type, to_type), {}).setdefault(from_id, {}).setdefault(to_id, [])
        if type_id not in type_ids:
            type_ids.append(type_id)
