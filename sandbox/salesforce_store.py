"""The sandbox Salesforce org's records: the ground truth every test reconciles against.

``SalesforceStore`` maps object name -> ``{Id: record}`` (deleted records included, with
``IsDeleted: true``). Records are copy-on-write: a change puts a *new* dict in place, so a query
snapshot (a list of the dicts that matched) never changes under a client paging through it.
All mutations go through the store (never edit a record dict in place): it keeps the cached
comparable columns and the deleted-record log in step.
"""

from __future__ import annotations

import itertools
import random
import threading
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from churnkb.sandbox.ids import SALESFORCE_PREFIXES, salesforce_18
from churnkb.sandbox.salesforce_schema import (
    ID_TYPES,
    NUMBER_TYPES,
    STRING_TYPES,
    FieldDef,
    comparable_for,
    convert_value,
    datetime_key,
    field_def,
    format_datetime,
    infer_schema,
    parse_date_value,
    parse_datetime_value,
    retyped,
)

SYSTEM_FIELDS = ("Id", "IsDeleted", "CreatedDate", "CreatedById", "LastModifiedDate",
                 "LastModifiedById", "SystemModstamp")
_TOUCHED_FIELDS = ("Description", "Subject", "Title", "NextStep")
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_DEFAULT_USER_ID = salesforce_18("0055s0000000001")


class ApiError(Exception):
    """A request Salesforce would refuse, in its error shape."""

    def __init__(self, status: int, error_code: str, message: str,
                 fields: list[str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message
        self.fields = fields

    def body(self) -> list[dict[str, Any]]:
        error: dict[str, Any] = {"message": self.message, "errorCode": self.error_code}
        if self.fields is not None:
            error["fields"] = self.fields
        return [error]


def utc_now() -> datetime:
    return datetime.now(UTC)


class RecordsView(Mapping[str, dict[str, Any]]):
    """``{Id: record}`` over a table's rows, without a second copy of a million-row index."""

    def __init__(self, table: ObjectTable) -> None:
        self._table = table

    def __getitem__(self, record_id: str) -> dict[str, Any]:
        return self._table.rows[self._table.index[record_id]]

    def __contains__(self, record_id: object) -> bool:
        return record_id in self._table.index

    def __iter__(self) -> Iterator[str]:
        return iter(self._table.index)

    def __len__(self) -> int:
        return len(self._table.index)


class ObjectTable:
    """One object's records in insertion order, its schema, and lazily built comparable columns.

    Columns are lists aligned with ``rows`` (position = row number), so a query scans them with
    list indexing instead of a dict lookup per record and field."""

    def __init__(self, name: str, records: Iterable[dict[str, Any]],
                 schema: dict[str, FieldDef] | None = None) -> None:
        self.name = name
        self.rows: list[dict[str, Any]] = []
        self.index: dict[str, int] = {}
        self._place(records)
        self.records = RecordsView(self)
        self.schema: dict[str, FieldDef] = schema or infer_schema(self.rows, name)
        self.deleted_dates: dict[str, str] = {}  # Id -> deletedDate, for sobjects/<Obj>/deleted
        self._by_lower = {name.lower(): f for name, f in self.schema.items()}
        self._columns: dict[str, list[Any]] = {}

    def _place(self, records: Iterable[dict[str, Any]]) -> list[int]:
        """Insert or replace records; returns the row number of each."""
        rows, index, placed = self.rows, self.index, []
        for record in records:
            rid = record["Id"]
            position = index.get(rid)
            if position is None:
                position = index[rid] = len(rows)
                rows.append(record)
            else:
                rows[position] = record
            placed.append(position)
        return placed

    def field(self, name: str) -> FieldDef | None:
        """Case-insensitive, as SOQL and the REST API treat field names."""
        return self._by_lower.get(name.lower())

    def column(self, name: str) -> list[Any]:
        """Comparable values of a field, one per row; built on first use and kept up to date."""
        column = self._columns.get(name)
        if column is None:
            convert = comparable_for(self.schema[name].type)
            column = [convert(record.get(name)) for record in self.rows]
            self._columns[name] = column
        return column

    def put(self, record: dict[str, Any]) -> None:
        """Insert or replace one record (always a new dict: snapshots keep the old one)."""
        position = self._place([record])[0]
        for name, column in self._columns.items():
            value = comparable_for(self.schema[name].type)(record.get(name))
            if position == len(column):
                column.append(value)
            else:
                column[position] = value

    def put_many(self, records: list[dict[str, Any]]) -> None:
        self._place(records)
        self._columns.clear()  # cheaper to rebuild on the next query than to patch row by row

    def set_field(self, field: FieldDef) -> None:
        self.schema[field.name] = field
        self._by_lower[field.name.lower()] = field
        self._columns.pop(field.name, None)

    def drop_field(self, name: str) -> None:
        del self.schema[name]
        del self._by_lower[name.lower()]
        self._columns.pop(name, None)

    def learn_fields(self, records: list[dict[str, Any]]) -> None:
        """Add schema entries for keys the records bring that the schema lacks."""
        sample = records[:1000]
        new_keys = {key for record in sample for key in record} - self.schema.keys()
        if new_keys:
            inferred = infer_schema({k: r.get(k) for k in new_keys} for r in sample)
            for key in sorted(new_keys):
                self.set_field(inferred[key])


class SalesforceStore(Mapping[str, Mapping[str, dict[str, Any]]]):
    """Object name -> ``{Id: record}``; a read-only mapping view plus the mutation helpers."""

    def __init__(self, records: Mapping[str, list[dict[str, Any]]]) -> None:
        self.lock = threading.RLock()
        # Shallow copies (values are scalars): the caller's dicts stay the caller's, so two
        # stores from one World are independent. About a microsecond per record.
        self.tables: dict[str, ObjectTable] = {
            name: ObjectTable(name, map(dict, rows)) for name, rows in records.items()
        }
        self._new_ids = itertools.count(1)
        self._rng = random.Random(20240101)

    # -- read access
    def __getitem__(self, object_name: str) -> Mapping[str, dict[str, Any]]:
        return self.tables[object_name].records

    def __iter__(self) -> Iterator[str]:
        return iter(self.tables)

    def __len__(self) -> int:
        return len(self.tables)

    def table(self, object_name: str) -> ObjectTable | None:
        """Case-insensitive lookup, as the REST API resolves object names."""
        table = self.tables.get(object_name)
        if table is None:
            lowered = object_name.lower()
            table = next((t for n, t in self.tables.items() if n.lower() == lowered), None)
        return table

    def require_table(self, object_name: str) -> ObjectTable:
        table = self.table(object_name)
        if table is None:
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        return table

    def schema_table(self, object_name: str) -> ObjectTable:
        """For the schema helpers: a missing object is a programming error in the test."""
        table = self.table(object_name)
        if table is None:
            raise KeyError(f"no Salesforce object '{object_name}' in the sandbox; "
                           f"known: {', '.join(self.tables)}")
        return table

    def find(self, record_id: str) -> dict[str, Any] | None:
        """A record of any object by its 15- or 18-character id."""
        full = salesforce_18(record_id) if len(record_id) == 15 else record_id
        for table in self.tables.values():
            if full in table.records:
                return table.records[full]
        return None

    # -- writes through the API
    def create(self, object_name: str, fields: dict[str, Any]) -> str:
        """Validate and insert a record as ``POST sobjects/<Obj>/`` does; returns its Id."""
        with self.lock:
            table = self.require_table(object_name)
            values = self._validated(table, fields)
            stamp = format_datetime(utc_now())
            record: dict[str, Any] = dict.fromkeys(table.schema)
            record.update(values)
            record.update({
                "Id": self._new_id(table.name),
                "IsDeleted": False,
                "CreatedDate": stamp,
                "LastModifiedDate": stamp,
                "SystemModstamp": stamp,
                "CreatedById": self.default_user_id(),
                "LastModifiedById": self.default_user_id(),
            })
            _apply_defaults(table, record, self.default_user_id())
            table.put({key: value for key, value in record.items() if key in table.schema})
            return record["Id"]

    def update(self, object_name: str, record_id: str, fields: dict[str, Any]) -> None:
        """Change fields of a live record (as ``PATCH``), bumping its modification stamps."""
        with self.lock:
            table = self.require_table(object_name)
            current = self.live_record(table, record_id)
            values = self._validated(table, fields)
            stamp = format_datetime(utc_now())
            changed = {**current, **values, "LastModifiedDate": stamp, "SystemModstamp": stamp}
            if table.name == "Task" and "Status" in values and "IsClosed" in table.schema:
                changed["IsClosed"] = values["Status"] == "Completed"  # derived, as in an org
            table.put({key: value for key, value in changed.items() if key in table.schema
                       or key in current})

    def live_record(self, table: ObjectTable, record_id: str) -> dict[str, Any]:
        full = salesforce_18(record_id) if len(record_id) == 15 else record_id
        record = table.records.get(full)
        if record is None:
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        if record.get("IsDeleted") is True:
            raise ApiError(404, "ENTITY_IS_DELETED", "entity is deleted")
        return record

    def _validated(self, table: ObjectTable, fields: Any) -> dict[str, Any]:
        if not isinstance(fields, dict):
            raise ApiError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
        values: dict[str, Any] = {}
        for key, value in fields.items():
            field = table.field(key)
            if field is None:
                raise ApiError(400, "INVALID_FIELD",
                               f"No such column '{key}' on sobject of type {table.name}")
            if field.name in SYSTEM_FIELDS:
                raise ApiError(400, "INVALID_FIELD_FOR_INSERT_UPDATE",
                               f"Unable to create/update fields: {field.name}. Please check the "
                               "security settings of this field and verify that it is read/write "
                               "for your profile or permission set.", [field.name])
            values[field.name] = self._checked_value(field, value)
        return values

    def _checked_value(self, field: FieldDef, value: Any) -> Any:
        if value is None:
            return None
        if not _value_fits(field.type, value):
            raise ApiError(400, "JSON_PARSER_ERROR",
                           f"Cannot deserialize instance of {field.type} from value {value!r} "
                           f"for field {field.name}", [field.name])
        if field.type in ID_TYPES:
            return self._checked_reference(field, value)
        return value

    def _checked_reference(self, field: FieldDef, value: str) -> str:
        if len(value) not in (15, 18) or not value.isalnum():
            raise ApiError(400, "MALFORMED_ID",
                           f"{field.label}: id value of incorrect type: {value}", [field.name])
        full = salesforce_18(value) if len(value) == 15 else value
        target = next((name for name, prefix in SALESFORCE_PREFIXES.items()
                       if full.startswith(prefix) and name in self.tables), None)
        if target is not None and full not in self.tables[target].records:
            raise ApiError(400, "INVALID_CROSS_REFERENCE_KEY",
                           f"invalid cross reference id: {value}", [field.name])
        return full

    def _new_id(self, object_name: str) -> str:
        prefix = SALESFORCE_PREFIXES.get(object_name, "a00")
        while True:
            number = next(self._new_ids)
            digits = "".join(_BASE62[(number // 62**i) % 62] for i in reversed(range(9)))
            candidate = salesforce_18(f"{prefix}5s0{digits}")
            if self.find(candidate) is None:
                return candidate

    def default_user_id(self) -> str:
        users = self.tables.get("User")
        return next(iter(users.records), _DEFAULT_USER_ID) if users else _DEFAULT_USER_ID

    # -- test and benchmark helpers
    def touch(self, object_name: str, n: int, rng: random.Random | None = None) -> list[str]:
        """Modify ``n`` live records now: bump LastModifiedDate/SystemModstamp, edit a text field."""
        with self.lock:
            table = self.schema_table(object_name)
            chosen = _pick_live(table, n, rng or self._rng)
            stamp = format_datetime(utc_now())
            text_field = next((f for f in _TOUCHED_FIELDS if f in table.schema
                               and table.schema[f].type in STRING_TYPES), None)
            for rid in chosen:
                record = {**table.records[rid], "LastModifiedDate": stamp, "SystemModstamp": stamp}
                if text_field:
                    record[text_field] = _edited(record.get(text_field))
                table.put(record)
            return chosen

    def set_fields(self, object_name: str, record_id: str, fields: dict[str, Any]) -> None:
        """Overwrite fields of one record as they are, system fields included and no stamp
        bumped (e.g. to make a record look old); unknown fields are added to the schema."""
        with self.lock:
            table = self.schema_table(object_name)
            if record_id not in table.records:
                raise KeyError(f"no {table.name} record with Id '{record_id}' in the sandbox")
            changed = {**table.records[record_id], **fields}
            table.learn_fields([changed])
            table.put(changed)

    def delete(self, object_name: str, ids: Iterable[str]) -> None:
        """Soft delete (to the Recycle Bin): ``IsDeleted`` true and a new SystemModstamp."""
        with self.lock:
            table = self.schema_table(object_name)
            stamp = format_datetime(utc_now())
            for rid in ids:
                if rid not in table.records:
                    raise KeyError(f"no {table.name} record with Id '{rid}' in the sandbox")
                record = table.records[rid]
                table.put({**record, "IsDeleted": True, "SystemModstamp": stamp})
                table.deleted_dates[rid] = stamp

    def add_field(self, object_name: str, field: str, type_: str, custom: bool = True) -> None:
        with self.lock:
            table = self.schema_table(object_name)
            table.set_field(field_def(field, type_, custom=custom))

    def remove_field(self, object_name: str, field: str) -> None:
        with self.lock:
            table = self.schema_table(object_name)
            found = table.field(field)
            if found is None:
                raise KeyError(f"no field '{field}' on {table.name}")
            table.drop_field(found.name)
            table.put_many([{k: v for k, v in r.items() if k != found.name}
                            for r in table.rows])

    def change_field_type(self, object_name: str, field: str, type_: str) -> None:
        """Retype a field and convert every stored value (unconvertible values become null)."""
        with self.lock:
            table = self.schema_table(object_name)
            found = table.field(field)
            if found is None:
                raise KeyError(f"no field '{field}' on {table.name}")
            table.set_field(retyped(found, type_))
            name = found.name
            table.put_many([{**r, name: convert_value(r.get(name), type_)}
                            for r in table.rows])

    def set_records(self, object_name: str, records: list[dict[str, Any]]) -> None:
        """Replace an object's records with copies (and infer its schema afresh)."""
        with self.lock:
            self.tables[object_name] = ObjectTable(object_name, map(dict, records))

    def bulk_insert(self, object_name: str, records: list[dict[str, Any]]) -> None:
        """Append many records fast (benchmarks): the dicts are taken over, not copied."""
        with self.lock:
            table = self.tables.get(object_name)
            if table is None:
                self.tables[object_name] = ObjectTable(object_name, records)
                return
            table.learn_fields(records)
            table.put_many(records)

    def deleted_between(self, table: ObjectTable, start: datetime,
                        end: datetime) -> list[dict[str, str]]:
        found = []
        for record in table.rows:
            if record.get("IsDeleted") is not True:
                continue
            rid = record["Id"]
            stamp = table.deleted_dates.get(rid) or record.get("SystemModstamp")
            moment = parse_datetime_value(stamp)
            if moment is not None and start <= moment <= end:
                found.append({"id": rid, "deletedDate": stamp})
        return found

    def updated_between(self, table: ObjectTable, start: datetime, end: datetime) -> list[str]:
        if "SystemModstamp" not in table.schema:
            return []
        low, high = datetime_key(start), datetime_key(end)
        stamps, deleted = table.column("SystemModstamp"), table.column("IsDeleted")
        return [table.rows[row]["Id"] for row, moment in enumerate(stamps)
                if moment is not None and not deleted[row] and low <= moment <= high]


def _pick_live(table: ObjectTable, n: int, rng: random.Random) -> list[str]:
    """``n`` distinct random live record ids; samples positions first so that touching a few
    records of a million-row table (once per page served) stays cheap."""
    rows = table.rows
    if n * 4 < len(rows):
        positions = rng.sample(range(len(rows)), min(len(rows), n * 2 + 10))
        live = [rows[p]["Id"] for p in positions if rows[p].get("IsDeleted") is not True]
        if len(live) >= n:
            return live[:n]
    live = [r["Id"] for r in rows if r.get("IsDeleted") is not True]
    return rng.sample(live, min(n, len(live)))


def _edited(value: Any) -> str:
    text = value if isinstance(value, str) else ""
    return text if text.endswith(" (edited)") else f"{text} (edited)".strip()


def _value_fits(type_: str, value: Any) -> bool:
    if type_ == "boolean":
        return isinstance(value, bool)
    if type_ in NUMBER_TYPES:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if type_ == "date":
        return parse_date_value(value) is not None
    if type_ == "datetime":
        return parse_datetime_value(value) is not None
    return isinstance(value, str)


def _apply_defaults(table: ObjectTable, record: dict[str, Any], user_id: str) -> None:
    """Defaults a real org fills on insert."""
    if "OwnerId" in table.schema and record.get("OwnerId") is None:
        record["OwnerId"] = user_id
    if table.name == "Task":
        record["Status"] = record.get("Status") or "Not Started"
        record["Priority"] = record.get("Priority") or "Normal"
        if "IsClosed" in table.schema:
            record["IsClosed"] = record["Status"] == "Completed"
