"""The column-wise fast path for landing a page of records.

Checking and converting records one value at a time in Python dominated landing time (timestamp
parsing per value, value kinds per value, text per value). Here a whole page becomes one Arrow
table, and the same checks run per column. The fast path only ever says "every record of this
page is fine" or "not sure": on any doubt (a check fails, a value Arrow cannot hold as-is, a
timestamp form it does not know) it raises ``FastPathUnavailable`` and the caller lands that page
through the per-record path, so quarantine decisions and messages stay exactly the same.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from churnkb.connectors.raw_zone import as_text

# Forms the per-record parser (records.parse_timestamp) accepts for sure; anything else falls back.
_DATE_ONLY = r"^\d{4}-\d{2}-\d{2}$"
_DATETIME = (r"^\d{4}-\d{2}-\d{2}T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,6})?"
             r"(Z|[+-]([01]\d|2[0-3]):?[0-5]\d)?$")
_HAS_OFFSET = r"(Z|[+-]\d{2}:?\d{2})$"
_TEXT_BY_CAST = (pa.types.is_string, pa.types.is_large_string, pa.types.is_boolean,
                 pa.types.is_integer, pa.types.is_null)


class FastPathUnavailable(Exception):
    """This page needs the per-record path; the message says why (for debugging only)."""


def page_table(records: list[dict[str, Any]]) -> pa.Table:
    """The page as an Arrow table with inferred column types (one type per column)."""
    keys = records[0].keys()
    try:
        if all(record.keys() == keys for record in records):
            return pa.Table.from_pylist(records)
        names = list(dict.fromkeys(key for record in records for key in record))
        return pa.Table.from_arrays([pa.array([r.get(n) for r in records]) for n in names],
                                    names=names)
    except (pa.ArrowException, UnicodeEncodeError, OverflowError, TypeError, ValueError) as exc:
        # mixed types in one field, undecodable text, huge integers: the per-record path decides
        raise FastPathUnavailable(f"page does not fit typed columns: {exc}") from exc


def _present(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Values that are neither null nor empty text (what ``record.get(name)`` treats as set)."""
    if pa.types.is_null(column.type):
        return pc.is_valid(column)
    if not pa.types.is_string(column.type):
        raise FastPathUnavailable(f"{column.type} where text is expected")
    return pc.and_kleene(pc.is_valid(column), pc.not_equal(column, ""))


def parse_timestamps(column: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray:
    """ISO dates/timestamps as UTC timestamps (date-only and offset-less values read as UTC).

    Nulls and empty strings stay null. Raises FastPathUnavailable for any other form, including
    epoch milliseconds (rare; the per-record parser handles them)."""
    if pa.types.is_null(column.type):
        return pc.cast(column, pa.timestamp("us", tz="UTC"))
    if not pa.types.is_string(column.type):
        raise FastPathUnavailable(f"timestamps of type {column.type}")
    text = pc.if_else(pc.equal(column, ""), pa.scalar(None, pa.string()), column)
    is_date = pc.match_substring_regex(text, _DATE_ONLY)
    known = pc.or_kleene(is_date, pc.match_substring_regex(text, _DATETIME))
    if pc.sum(pc.invert(known)).as_py():  # null-safe: nulls stay null and are not counted
        raise FastPathUnavailable("a timestamp in a form the fast path does not know")
    text = pc.if_else(is_date, pc.binary_join_element_wise(text, "T00:00:00Z", ""), text)
    text = pc.if_else(pc.match_substring_regex(text, _HAS_OFFSET), text,
                      pc.binary_join_element_wise(text, "Z", ""))
    try:
        return pc.cast(text, pa.timestamp("us", tz="UTC"))
    except pa.ArrowException as exc:  # e.g. 2023-02-29: not a date
        raise FastPathUnavailable(f"timestamp out of range: {exc}") from exc


def check_page(table: pa.Table, *, id_field: str, cursor_field: str | None,
               date_fields: tuple[str, ...], max_field_chars: int) -> None:
    """Pass silently when every record passes ``records.check_record``; else FastPathUnavailable.

    Columns are checked together (one kernel call for all text, one for all dates): which
    field failed does not matter here, the per-record path names it."""
    names = set(table.column_names)
    if id_field not in names or not pa.types.is_string(table[id_field].type) \
            or not pc.all(_present(table[id_field])).as_py():
        raise FastPathUnavailable(f"a record without {id_field}")
    if cursor_field and (cursor_field not in names
                         or not pc.all(_present(table[cursor_field])).as_py()):
        raise FastPathUnavailable(f"a record without {cursor_field}")
    text = _together([table[n] for n in table.column_names if pa.types.is_string(table[n].type)])
    if text is not None:
        longest = pc.max(pc.utf8_length(text)).as_py()
        if longest is not None and longest > max_field_chars:
            raise FastPathUnavailable("an oversized value")
    dates = _together([table[n] for n in date_fields if n in names])
    if dates is not None:
        parse_timestamps(dates)


def _together(columns: list[pa.ChunkedArray]) -> pa.ChunkedArray | None:
    """Columns of one type as one column (one kernel call checks them all)."""
    columns = [c for c in columns if not pa.types.is_null(c.type)]
    if not columns:
        return None
    if any(c.type != columns[0].type for c in columns):
        raise FastPathUnavailable("date fields of different types")
    return pa.chunked_array([chunk for c in columns for chunk in c.chunks], type=columns[0].type)


def value_kind(data_type: pa.DataType) -> str | None:
    """The JSON kind (drift.json_kind) of every non-null value of a column of this type."""
    if pa.types.is_null(data_type):
        return None
    if pa.types.is_boolean(data_type):
        return "boolean"
    if pa.types.is_integer(data_type) or pa.types.is_floating(data_type):
        return "number"
    if pa.types.is_string(data_type) or pa.types.is_large_string(data_type):
        return "string"
    if pa.types.is_struct(data_type) or pa.types.is_map(data_type):
        return "object"
    return "array"


def _text(value: Any) -> str | None:
    """``as_text``, with a shortcut for finite floats (json.dumps writes them as repr does)."""
    if value.__class__ is float and value - value == 0.0:
        return float.__repr__(value)
    return as_text(value)


def text_table(table: pa.Table, records: list[dict[str, Any]],
               columns: list[str] | None) -> pa.Table:
    """The all-VARCHAR table ``raw_zone.records_to_table`` would build, column by column.

    Strings pass through; booleans and integers cast (Arrow writes them as JSON does); floats and
    nested values go through ``as_text`` per value so their text is exactly the per-record one."""
    names = columns if columns is not None else table.column_names
    arrays = []
    for name in names:
        if name not in table.column_names:
            arrays.append(pa.nulls(table.num_rows, pa.string()))
            continue
        column = table[name]
        if any(is_type(column.type) for is_type in _TEXT_BY_CAST):
            arrays.append(pc.cast(column, pa.string()))
        else:
            arrays.append(pa.array([_text(r.get(name)) for r in records], type=pa.string()))
    return pa.Table.from_arrays(arrays, names=list(names))
