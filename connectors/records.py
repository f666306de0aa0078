"""Record checks shared by both sources: timestamps, and the reasons a record is quarantined.

A bad record never stops a stream and is never dropped silently: ``check_record`` names what is
wrong, the caller writes the record to the quarantine with that reason and counts it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from churnkb.connectors.raw_zone import append_jsonl, stamp, utc_now

DATE_TYPES = {"date", "datetime"}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_EPOCH_MS = re.compile(r"^-?\d{10,14}$")
_SF_OFFSET = re.compile(r"([+-]\d{2})(\d{2})$")  # Salesforce writes +0000, fromisoformat wants +00:00


def parse_timestamp(value: str) -> datetime:
    """Parse the timestamp forms both CRMs emit (ISO variants, epoch ms) as aware UTC datetimes."""
    text = value.strip()
    if _EPOCH_MS.match(text):
        return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
    text = _SF_OFFSET.sub(r"\1:\2", text.replace("Z", "+00:00"))
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_date_or_timestamp(value: str) -> date | datetime:
    if _DATE.match(value):
        return date.fromisoformat(value)
    return parse_timestamp(value)


def iso(moment: datetime) -> str:
    """UTC ISO text with milliseconds and Z, the form stored in state files."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


TRUNCATION_MARKER = " [truncated by churnkb: {n} characters in all]"


def has_invalid_text(value: str) -> bool:
    """Lone surrogates (from undecodable bytes, surrogateescape) cannot be stored as UTF-8.
    U+FFFD is a valid character like any other and is kept."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


@dataclass
class TextRepairs:
    """What landing changed in text values so they can be stored, counted per stream."""

    surrogates_replaced: int = 0  # values with lone surrogates, each replaced by U+FFFD
    truncated: int = 0  # values over max_field_chars, cut with TRUNCATION_MARKER


def repair_text(record: dict[str, Any], max_field_chars: int, repairs: TextRepairs
                ) -> dict[str, Any]:
    """The record with every text value storable: lone surrogates become U+FFFD, oversized text
    is cut and marked. Valid Unicode (U+FFFD, RTL marks, NUL, emoji) is kept as it is."""
    fixed: dict[str, Any] | None = None
    for name, value in record.items():
        if not isinstance(value, str):
            continue
        new = value
        if has_invalid_text(new):
            if _only_escapes(new):  # undecodable bytes: decode them as a reader would
                new = new.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            new = "".join("\ufffd" if "\ud800" <= ch <= "\udfff" else ch for ch in new)
            repairs.surrogates_replaced += 1
        if len(new) > max_field_chars:
            marker = TRUNCATION_MARKER.format(n=len(new))
            new = new[:max(max_field_chars - len(marker), 0)] + marker
            repairs.truncated += 1
        if new is not value:
            fixed = dict(record) if fixed is None else fixed
            fixed[name] = new
    return record if fixed is None else fixed


def _only_escapes(value: str) -> bool:
    """Surrogates from surrogateescape (U+DC80..U+DCFF) stand for bytes: decode them again."""
    return all(not ("\ud800" <= ch <= "\udfff") or "\udc80" <= ch <= "\udcff" for ch in value)


def check_record(
    record: dict[str, Any],
    *,
    id_field: str,
    cursor_field: str | None,
    date_fields: Iterable[str],
    max_field_chars: int,
) -> str | None:
    """The reason ``record`` must be quarantined, or None when it can be landed. Text is not a
    reason (``repair_text`` makes it storable first); a record that cannot be keyed is."""
    if not record.get(id_field):
        return f"missing id ({id_field})"
    if cursor_field:
        date_fields = [cursor_field, *(n for n in date_fields if n != cursor_field)]
        if not record.get(cursor_field):
            return f"missing cursor {cursor_field}"
    for name in date_fields:
        value = record.get(name)
        if value in (None, ""):
            continue
        try:
            parse_date_or_timestamp(str(value))
        except ValueError:
            return f"unparseable date in {name}: {str(value)[:40]!r}"
    return None


def safe_for_json(value: Any) -> Any:
    """Make a quarantined record writable: undecodable text becomes visible escapes."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {key: safe_for_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [safe_for_json(item) for item in value]
    return value


def truncate_for_quarantine(record: dict[str, Any], limit: int = 2000) -> dict[str, Any]:
    """Keep quarantine files small: an oversized body is cut, its length noted by the reason."""
    return {
        key: (value[:limit] + "...[truncated]" if isinstance(value, str) and len(value) > limit
              else value)
        for key, value in record.items()
    }


class Quarantine:
    """Bad records of one stream in one run, with their reasons, in ``quarantine/...jsonl``."""

    def __init__(self, directory: Path, sync_id: str) -> None:
        self.path = directory / f"{stamp(utc_now())}-{sync_id}.jsonl"
        self.count = 0
        self.reasons: dict[str, int] = {}

    def add(self, record: dict[str, Any], reason: str, *, record_id: str | None) -> None:
        append_jsonl(self.path, [{
            "reason": reason,
            "record_id": record_id,
            "quarantined_at": utc_now().isoformat(),
            "record": safe_for_json(truncate_for_quarantine(record)),
        }])
        self.count += 1
        kind = reason.split(" in ")[0].split(":")[0]
        self.reasons[kind] = self.reasons.get(kind, 0) + 1

    def summary(self) -> str:
        return ", ".join(f"{count} {kind}" for kind, count in sorted(self.reasons.items()))
