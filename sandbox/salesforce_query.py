"""Runs a parsed SOQL query (``sandbox.soql``) against one sandbox object table.

Binding checks every field against the object's schema and every literal against the field's
type, raising ``SoqlError`` with the code Salesforce uses (INVALID_FIELD, INVALID_TYPE,
INVALID_QUERY_FILTER_OPERATOR). Evaluation works on the table's cached comparable columns
(parsed datetimes, case-folded strings), so a cursor query over a million rows stays fast.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sandbox.ids import salesforce_18
from sandbox.salesforce_schema import (
    ID_TYPES,
    NUMBER_TYPES,
    STRING_TYPES,
    UNFILTERABLE_TYPES,
    FieldDef,
    datetime_key,
)
from sandbox.soql import (
    BoolOp,
    Comparison,
    Condition,
    FieldRef,
    InList,
    Like,
    Literal,
    Not,
    OrderItem,
    Query,
    SoqlError,
    located_message,
)

INVALID_FIELD = "INVALID_FIELD"
INVALID_TYPE = "INVALID_TYPE"
INVALID_FILTER = "INVALID_QUERY_FILTER_OPERATOR"

Predicate = Callable[[str], bool]


class Table(Protocol):
    """What a query needs from an object table (``sandbox.salesforce_store.ObjectTable``)."""

    name: str
    records: dict[str, dict[str, Any]]

    def field(self, name: str) -> FieldDef | None: ...

    def column(self, name: str) -> dict[str, Any]: ...


@dataclass(frozen=True)
class QueryResult:
    sobject: str
    fields: tuple[str, ...]  # API names, in the order selected
    rows: Sequence[dict[str, Any]]  # the matching records (stable snapshot: never mutated)
    count_only: bool

    @property
    def total_size(self) -> int:
        return len(self.rows)


def unknown_object_error(query: Query) -> SoqlError:
    detail = (f"sObject type '{query.sobject}' is not supported. If you are attempting to use a "
              "custom object, be sure to append the '__c' after the entity name. Please "
              "reference your WSDL or the describe call for the appropriate names.")
    return SoqlError(INVALID_TYPE, located_message(query.text, query.sobject_position, detail))


def run_query(query: Query, table: Table, *, include_deleted: bool) -> QueryResult:
    """Filter, sort and limit ``table`` as ``query`` says; deleted rows only with ``include_deleted``."""
    binder = _Binder(query, table)
    selected = tuple(binder.field(ref).name for ref in query.fields)
    predicate = binder.condition(query.where) if query.where is not None else None
    sort_plan = [binder.sort_key(item) for item in query.order_by]

    ids = list(table.records)
    if not include_deleted:
        deleted = table.column("IsDeleted")
        ids = [rid for rid in ids if not deleted.get(rid)]
    if predicate is not None:
        ids = [rid for rid in ids if predicate(rid)]
    _sort(ids, sort_plan)
    if query.limit is not None:
        ids = ids[: query.limit]
    records = table.records
    return QueryResult(table.name, selected, [records[rid] for rid in ids], query.count_only)


# --------------------------------------------------------------------------------------------
# Binding


class _Binder:
    def __init__(self, query: Query, table: Table) -> None:
        self.query = query
        self.table = table

    def error(self, code: str, ref: FieldRef | Literal, detail: str) -> SoqlError:
        return SoqlError(code, located_message(self.query.text, ref.position, detail))

    def field(self, ref: FieldRef) -> FieldDef:
        found = self.table.field(ref.name)
        if found is None:
            raise self.error(
                INVALID_FIELD, ref,
                f"No such column '{ref.name}' on entity '{self.table.name}'. If you are "
                "attempting to use a custom field, be sure to append the '__c' after the custom "
                "field name. Please reference your WSDL or the describe call for the "
                "appropriate names.")
        return found

    def filterable_field(self, ref: FieldRef) -> FieldDef:
        found = self.field(ref)
        if found.type in UNFILTERABLE_TYPES:
            raise self.error(INVALID_FIELD, ref,
                             f"field '{found.name}' can not be filtered in a query call")
        return found

    def condition(self, node: Condition) -> Predicate:
        if isinstance(node, BoolOp):
            parts = [self.condition(operand) for operand in node.operands]
            return _all_of(parts) if node.op == "AND" else _any_of(parts)
        if isinstance(node, Not):
            inner = self.condition(node.operand)
            return lambda rid: not inner(rid)
        if isinstance(node, Comparison):
            return self.comparison(node)
        if isinstance(node, InList):
            return self.in_list(node)
        if isinstance(node, Like):
            return self.like(node)
        raise TypeError(f"unknown condition {node!r}")  # the parser makes no other nodes

    def comparison(self, node: Comparison) -> Predicate:
        field = self.filterable_field(node.field)
        column = self.table.column(field.name)
        value = self.literal(field, node.value)
        if value == "" and node.op in ("=", "!="):
            value = None  # Salesforce stores empty text as null: = '' means = null
        if value is None:
            if node.op == "=":
                return lambda rid: column.get(rid) is None
            if node.op == "!=":
                return lambda rid: column.get(rid) is not None
            raise self.error(INVALID_FILTER, node.value,
                             f"invalid operator on null value for field '{field.name}'")
        if node.op == "=":
            return lambda rid: column.get(rid) == value
        if node.op == "!=":  # SOQL's != keeps nulls (unlike SQL)
            return lambda rid: column.get(rid) != value
        if field.type == "boolean":
            raise self.error(INVALID_FILTER, node.field, "invalid operator on boolean field")
        compare = _ORDERING_OPS[node.op]

        def ordered(rid: str) -> bool:
            current = column.get(rid)
            return current is not None and compare(current, value)

        return ordered

    def in_list(self, node: InList) -> Predicate:
        field = self.filterable_field(node.field)
        if field.type == "boolean":
            raise self.error(INVALID_FILTER, node.field, "invalid operator on boolean field")
        column = self.table.column(field.name)
        values = frozenset(self.literal(field, literal) or None for literal in node.values)
        if node.negated:
            return lambda rid: column.get(rid) not in values
        return lambda rid: column.get(rid) in values

    def like(self, node: Like) -> Predicate:
        field = self.filterable_field(node.field)
        if field.type not in STRING_TYPES:
            raise self.error(INVALID_FILTER, node.field, f"invalid operator on {field.type} field")
        column = self.table.column(field.name)
        matches = _like_matcher(node.pattern.value)

        def like(rid: str) -> bool:
            current = column.get(rid)
            return current is not None and matches(current) is not None

        return like

    def literal(self, field: FieldDef, literal: Literal) -> Any:
        """The literal as the field's column holds values, or the error Salesforce gives."""
        if literal.kind == "null":
            return None
        kind, type_ = literal.kind, field.type
        if type_ == "datetime" and kind == "datetime":
            return datetime_key(literal.value)
        if type_ == "date" and kind == "date":
            return literal.value.toordinal()
        if type_ == "boolean" and kind == "boolean":
            return literal.value
        if type_ in NUMBER_TYPES and kind == "number":
            return float(literal.value)
        if type_ in ID_TYPES and kind == "string":
            return self.id_literal(literal)
        if type_ in STRING_TYPES and kind == "string":
            return literal.value.casefold()
        raise self.type_mismatch(field, literal)

    def id_literal(self, literal: Literal) -> str:
        text = literal.value
        if text == "":
            return ""  # sorts before every id: a cursor's starting point
        if len(text) not in (15, 18) or not text.isalnum():
            raise self.error(INVALID_FILTER, literal, f"invalid ID field: {text}")
        return salesforce_18(text) if len(text) == 15 else text

    def type_mismatch(self, field: FieldDef, literal: Literal) -> SoqlError:
        expected = {"datetime": "dateTime"}.get(field.type, field.type)
        if field.type in ID_TYPES or field.type in STRING_TYPES:
            detail = (f"value of filter criterion for field '{field.name}' must be of type "
                      f"{'id' if field.type in ID_TYPES else 'string'} and should be enclosed "
                      "in quotes")
        else:
            detail = (f"value of filter criterion for field '{field.name}' must be of type "
                      f"{expected} and should not be enclosed in quotes")
        return self.error(INVALID_FIELD, literal, detail)

    def sort_key(self, item: OrderItem) -> tuple[Callable[[str], tuple], bool, int]:
        field = self.field(item.field)
        if field.type in UNFILTERABLE_TYPES:
            raise self.error(INVALID_FIELD, item.field,
                             f"field '{field.name}' can not be sorted in a query call")
        column = self.table.column(field.name)
        # Python sorts descending by reversing, so the null marker flips with the direction.
        null_marker = 0 if item.nulls_first != item.descending else 2
        if None not in column.values():  # the common case (stamps, ids): sort by the value itself
            return column.__getitem__, item.descending, null_marker

        def key(rid: str) -> tuple:
            value = column.get(rid)
            return (null_marker,) if value is None else (1, value)

        return key, item.descending, null_marker


_ORDERING_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}


def _all_of(parts: list[Predicate]) -> Predicate:
    if len(parts) == 2:
        first, second = parts
        return lambda rid: first(rid) and second(rid)
    return lambda rid: all(part(rid) for part in parts)


def _any_of(parts: list[Predicate]) -> Predicate:
    if len(parts) == 2:
        first, second = parts
        return lambda rid: first(rid) or second(rid)
    return lambda rid: any(part(rid) for part in parts)


def _like_matcher(pattern: str) -> Callable[[str], re.Match[str] | None]:
    """SOQL LIKE (% any run, _ one character, \\% and \\_ literal; case-insensitive) as a regex."""
    pieces: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and pattern[index + 1 : index + 2] in ("%", "_"):
            pieces.append(re.escape(pattern[index + 1]))
            index += 2
            continue
        pieces.append(".*" if char == "%" else "." if char == "_" else re.escape(char.casefold()))
        index += 1
    return re.compile("".join(pieces), re.DOTALL).fullmatch


def _sort(ids: list[str], plan: list[tuple[Callable[[str], tuple], bool, int]]) -> None:
    """Sort in place by several keys; one pass when every key shares direction and null placement."""
    if not plan:
        return
    if len({(descending, marker) for _, descending, marker in plan}) == 1:
        keys = [key for key, _, _ in plan]
        descending = plan[0][1]
        if len(keys) == 1:
            ids.sort(key=keys[0], reverse=descending)
        elif len(keys) == 2:
            first, second = keys
            ids.sort(key=lambda rid: (first(rid), second(rid)), reverse=descending)
        else:
            ids.sort(key=lambda rid: tuple(key(rid) for key in keys), reverse=descending)
        return
    for key, descending, _ in reversed(plan):  # stable sorts, least significant key first
        ids.sort(key=key, reverse=descending)
