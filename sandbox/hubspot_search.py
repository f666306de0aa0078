"""``POST /crm/v3/objects/{type}/search``: validate the body as HubSpot does, then filter and sort.

Values compare by the property's type (numbers numerically, dates as epoch ms, ``hs_object_id``
as a number, strings case-insensitively); archived records are never returned.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from churnkb.sandbox.hubspot_store import ObjectTable, parse_typed

MAX_LIMIT = 200
DEFAULT_LIMIT = 10
RESULT_CAP = 10_000
MAX_GROUPS = 5
MAX_FILTERS_PER_GROUP = 6
OPERATORS = ("EQ", "NEQ", "LT", "LTE", "GT", "GTE", "BETWEEN", "IN", "NOT_IN", "HAS_PROPERTY",
             "NOT_HAS_PROPERTY", "CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN")


class SearchError(ValueError):
    """A search HubSpot would answer with 400 VALIDATION_ERROR."""


@dataclass(frozen=True)
class Filter:
    property_name: str
    operator: str
    value: Any = None
    high_value: Any = None
    values: tuple[Any, ...] = ()


@dataclass(frozen=True)
class SearchQuery:
    groups: tuple[tuple[Filter, ...], ...]
    sort_property: str
    descending: bool
    properties: tuple[str, ...]
    limit: int
    after: int
    text: str | None

    def cache_key(self) -> str:
        return json.dumps([self.groups, self.sort_property, self.descending, self.text], default=repr)


def parse_search(body: Any, property_types: dict[str, str]) -> SearchQuery:
    """The request body -> SearchQuery, raising SearchError with HubSpot-like messages."""
    if not isinstance(body, dict):
        raise SearchError("Invalid input JSON: expected an object")
    limit = _int_field(body, "limit", DEFAULT_LIMIT)
    after = _int_field(body, "after", 0)
    if not 0 < limit <= MAX_LIMIT:
        raise SearchError(f"limit must be between 1 and {MAX_LIMIT}, got {limit}")
    if after < 0:
        raise SearchError(f"after must not be negative, got {after}")
    if after + limit > RESULT_CAP:
        raise SearchError(
            f"The maximum number of results for a search is {RESULT_CAP}: after={after} + "
            f"limit={limit} pages past it. Narrow the filters and start again from after=0."
        )
    groups = _parse_groups(body.get("filterGroups") or [], property_types)
    sort_property, descending = _parse_sorts(body.get("sorts") or [], property_types)
    properties = tuple(p for p in body.get("properties") or [] if isinstance(p, str))
    text = body.get("query") or None
    return SearchQuery(groups, sort_property, descending, properties, limit, after, text)


def run_search(table: ObjectTable, query: SearchQuery) -> list[str]:
    """Ids of every live record matching the query, in the query's order (cached per data version)."""
    key = query.cache_key()
    cached = table.cached_search(key)
    if cached is not None:
        return cached
    types = table.property_types()
    live = table.live_ids()
    matches = set(live)
    if query.groups:
        matches = set().union(*(_match_group(table, types, group, live) for group in query.groups))
    if query.text:
        matches &= _match_text(table, query.text)
    ordered = _sort(table, types, matches, query.sort_property, query.descending)
    table.remember_search(key, ordered)
    return ordered


def _int_field(body: dict, name: str, default: int) -> int:
    raw = body.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise SearchError(f"{name} must be an integer, got {raw!r}") from None


def _parse_groups(raw_groups: Any, property_types: dict[str, str]) -> tuple[tuple[Filter, ...], ...]:
    if not isinstance(raw_groups, list):
        raise SearchError("filterGroups must be a list")
    if len(raw_groups) > MAX_GROUPS:
        raise SearchError(f"Too many filter groups: {len(raw_groups)} (at most {MAX_GROUPS})")
    groups = []
    for raw_group in raw_groups:
        raw_filters = (raw_group or {}).get("filters") or []
        if len(raw_filters) > MAX_FILTERS_PER_GROUP:
            raise SearchError(
                f"Too many filters in a group: {len(raw_filters)} (at most {MAX_FILTERS_PER_GROUP})")
        groups.append(tuple(_parse_filter(f, property_types) for f in raw_filters))
    return tuple(g for g in groups if g)


def _parse_filter(raw: Any, property_types: dict[str, str]) -> Filter:
    if not isinstance(raw, dict):
        raise SearchError(f"a filter must be an object, got {raw!r}")
    name = raw.get("propertyName")
    operator = str(raw.get("operator") or "EQ").upper()
    if operator not in OPERATORS:
        raise SearchError(f"Unknown filter operator {operator!r}; expected one of {', '.join(OPERATORS)}")
    if name not in property_types:
        raise SearchError(f"Property {name!r} in a filter does not exist")
    needs_value = operator not in ("HAS_PROPERTY", "NOT_HAS_PROPERTY", "IN", "NOT_IN")
    if needs_value and raw.get("value") in (None, ""):
        raise SearchError(f"Filter on {name!r} with operator {operator} needs a value")
    if operator in ("IN", "NOT_IN") and not raw.get("values"):
        raise SearchError(f"Filter on {name!r} with operator {operator} needs values")
    if operator == "BETWEEN" and raw.get("highValue") in (None, ""):
        raise SearchError(f"Filter on {name!r} with operator BETWEEN needs a highValue")
    return Filter(name, operator, raw.get("value"), raw.get("highValue"), tuple(raw.get("values") or ()))


def _parse_sorts(raw_sorts: Any, property_types: dict[str, str]) -> tuple[str, bool]:
    if not isinstance(raw_sorts, list):
        raise SearchError("sorts must be a list")
    if len(raw_sorts) > 1:
        raise SearchError("Only one sort is supported")
    if not raw_sorts:
        return "hs_object_id", False
    sort = raw_sorts[0]
    if isinstance(sort, str):  # the legacy form: "-createdate" / "createdate"
        sort = {"propertyName": sort.lstrip("-"), "direction": "DESCENDING" if sort.startswith("-") else "ASCENDING"}
    name = sort.get("propertyName")
    if name not in property_types:
        raise SearchError(f"Property {name!r} in sorts does not exist")
    direction = str(sort.get("direction") or "ASCENDING").upper()
    if direction not in ("ASCENDING", "DESCENDING"):
        raise SearchError(f"Sort direction must be ASCENDING or DESCENDING, got {direction!r}")
    return name, direction == "DESCENDING"


def _typed(prop_type: str, raw: Any) -> Any:
    value = parse_typed(prop_type, str(raw))
    if value is None:
        raise SearchError(f"Filter value {raw!r} is not a valid {prop_type}")
    return value


def _comparison(flt: Filter, prop_type: str) -> Callable[[Any], bool]:
    op = flt.operator
    if op in ("IN", "NOT_IN"):
        wanted = {_typed(prop_type, v) for v in flt.values}
        return wanted.__contains__
    if op == "BETWEEN":
        low, high = _typed(prop_type, flt.value), _typed(prop_type, flt.high_value)
        return lambda v: low <= v <= high
    if op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        pattern = str(flt.value).casefold()
        return lambda v: any(fnmatch.fnmatchcase(t, pattern) for t in re.findall(r"\w+", str(v)))
    target = _typed(prop_type, flt.value)
    return {
        "EQ": lambda v: v == target, "NEQ": lambda v: v == target,
        "LT": lambda v: v < target, "LTE": lambda v: v <= target,
        "GT": lambda v: v > target, "GTE": lambda v: v >= target,
    }[op]


def _match_filter(table: ObjectTable, types: dict[str, str], flt: Filter, candidates: set[str]) -> set[str]:
    """The candidates that pass ``flt`` (a group narrows its candidates filter by filter)."""
    prop_type = types[flt.property_name]
    column = table.column(flt.property_name, prop_type)
    if flt.operator == "HAS_PROPERTY":
        return candidates & column.keys()
    if flt.operator == "NOT_HAS_PROPERTY":
        return candidates - column.keys()
    test = _comparison(flt, prop_type)
    if len(candidates) < len(column):
        hits = {i for i in candidates if i in column and test(column[i])}
    else:
        hits = {i for i, value in column.items() if test(value)} & candidates
    # The negated operators also match records without a value.
    return candidates - hits if flt.operator in ("NEQ", "NOT_IN", "NOT_CONTAINS_TOKEN") else hits


def _match_group(table: ObjectTable, types: dict[str, str], group: tuple[Filter, ...],
                 live: set[str]) -> set[str]:
    result = live
    for flt in group:
        result = _match_filter(table, types, flt, result)
        if not result:
            break
    return result


def _match_text(table: ObjectTable, text: str) -> set[str]:
    needle = text.casefold()
    return {object_id for object_id, record in table.records.items()
            if any(needle in v.casefold() for v in record["properties"].values() if v)}


def _sort(table: ObjectTable, types: dict[str, str], ids: set[str], prop: str, descending: bool) -> list[str]:
    by_id = sorted(ids, key=int)
    if prop == "hs_object_id":
        return by_id[::-1] if descending else by_id
    column = table.column(prop, types[prop])
    with_value = [i for i in by_id if i in column]
    without_value = [i for i in by_id if i not in column]
    with_value.sort(key=column.__getitem__, reverse=descending)  # stable: ties stay in id order
    return with_value + without_value
