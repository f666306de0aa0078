"""Schema drift: compare what a stream looks like now with what it looked like last run.

Drift never stops a sync (every field is landed as text, and files union by name); it is
recorded in ``state/<source>/drift.jsonl`` and shown by ``churnkb status`` so a person can decide
whether staging needs a change or the stream a full refresh.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from churnkb.connectors.raw_zone import append_jsonl, read_jsonl, utc_now

from churnkb.paths import DataPaths

MOSTLY_FILLED_SHARE = 0.9
MIN_RECORDS_FOR_ALL_NULL = 3


def json_kind(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "object" if isinstance(value, dict) else "array"


def schema_changes(previous: dict[str, str], current: dict[str, str]) -> list[dict[str, Any]]:
    """Fields added, removed or retyped between two ``field -> type`` maps (empty on first run)."""
    if not previous:
        return []
    changes: list[dict[str, Any]] = []
    for name in sorted(current.keys() - previous.keys()):
        changes.append({"change": "field_added", "field": name, "new_type": current[name]})
    for name in sorted(previous.keys() - current.keys()):
        changes.append({"change": "field_removed", "field": name, "old_type": previous[name]})
    for name in sorted(current.keys() & previous.keys()):
        if current[name] != previous[name]:
            changes.append({"change": "type_changed", "field": name,
                            "old_type": previous[name], "new_type": current[name]})
    return changes


@dataclass
class ValueObserver:
    """Watches the values of one run: which fields had values, and the JSON kind of each."""

    kinds: dict[str, str] = field(default_factory=dict)
    kind_changes: dict[str, tuple[str, str]] = field(default_factory=dict)
    with_values: set[str] = field(default_factory=set)
    filled: dict[str, int] = field(default_factory=dict)  # field -> records with a value
    records: int = 0

    def observe(self, record: dict[str, Any]) -> None:
        self.records += 1
        for name, value in record.items():
            kind = json_kind(value)
            if kind is None:
                continue
            self.with_values.add(name)
            self.filled[name] = self.filled.get(name, 0) + 1
            seen = self.kinds.get(name)
            if seen is None:
                self.kinds[name] = kind
            elif seen != kind and name not in self.kind_changes:
                self.kind_changes[name] = (seen, kind)
                self.kinds[name] = kind

    def observe_columns(self, kinds: dict[str, str | None], filled: dict[str, int],
                        records: int) -> None:
        """Observe a page at once: each field's single value kind and how many records had a
        value (the column-wise fast path; same outcome as ``observe`` per record)."""
        self.records += records
        for name, kind in kinds.items():
            count = filled.get(name, 0)
            if kind is None or count == 0:
                continue
            self.with_values.add(name)
            self.filled[name] = self.filled.get(name, 0) + count
            seen = self.kinds.get(name)
            if seen is None:
                self.kinds[name] = kind
            elif seen != kind and name not in self.kind_changes:
                self.kind_changes[name] = (seen, kind)
                self.kinds[name] = kind

    def mostly_filled(self) -> list[str]:
        """Fields with a value in at least 90% of this run's records."""
        return sorted(name for name, count in self.filled.items()
                      if count >= MOSTLY_FILLED_SHARE * self.records)

    def changes(self, previous_kinds: dict[str, str], previously_with_values: list[str],
                fields: list[str]) -> list[dict[str, Any]]:
        """Value-level drift of this run against the last one."""
        changes = []
        for name, (old, new) in sorted(self.kind_changes.items()):
            changes.append({"change": "value_type_changed", "field": name,
                            "old_type": old, "new_type": new})
        for name, kind in sorted(self.kinds.items()):
            old = previous_kinds.get(name)
            if old and old != kind and name not in self.kind_changes:
                changes.append({"change": "value_type_changed", "field": name,
                                "old_type": old, "new_type": kind})
        if self.records >= MIN_RECORDS_FOR_ALL_NULL:
            # Only fields that were (nearly) always filled: sparse fields are null often.
            for name in sorted(set(previously_with_values) & set(fields) - self.with_values):
                changes.append({"change": "all_null", "field": name,
                                "detail": f"null in all {self.records} records of this run"})
        return changes


class DriftLog:
    """Appends to and reads ``state/<source>/drift.jsonl``."""

    def __init__(self, data_paths: DataPaths, source: str) -> None:
        self.path = data_paths.drift_log(source)

    def record(self, stream: str, sync_id: str, changes: list[dict[str, Any]]) -> None:
        at = utc_now().isoformat()
        append_jsonl(self.path, [{"stream": stream, "sync_id": sync_id, "at": at, **change}
                                 for change in changes])

    def entries(self, stream: str | None = None) -> list[dict[str, Any]]:
        rows = read_jsonl(self.path)
        return [row for row in rows if stream is None or row.get("stream") == stream]
