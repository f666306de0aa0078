"""Runs a parsed SOQL query (``sandbox.soql``) against one sandbox object table.

Binding checks every field against the object's schema and every literal against the field's
type, raising ``SoqlError`` with the code Salesforce uses (INVALID_FIELD, INVALID_TYPE,
INVALID_QUERY_FILTER_OPERATOR). Evaluation scans the table's cached comparable columns
(epoch-microsecond datetimes, case-folded strings, ...) in one compiled list comprehension, so
a cursor query over a million rows takes about a second.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from churnkb.sandbox.ids import salesforce_18
from churnkb.sandbox.salesforce_schema import (
    ID_TYPES,
    NUMBER_TYPES,
    STRING_TYPES,
    UNFILTERABLE_TYPES,
    FieldDef,
    datetime_key,
)
from churnkb.sandbox.soql import (
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

SortKey = tuple[Callable[[int], Any], bool]  # key over row numbers, descending?


class Table(Protocol):
    """What a query needs from an object table (``sandbox.salesforce_store.ObjectTable``)."""

    name: str
    rows: list[dict[str, Any]]

    def field(self, name: str) -> FieldDef | None: ...

    def column(self, name: str) -> list[Any]: ...


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
    # objects without IsDeleted (User) have nothing in the Recycle Bin
    hides_deleted = not include_deleted and "IsDeleted" in table.schema
    conditions = [f"not {binder.column_arg('IsDeleted')}[i]"] if hides_deleted else []
    if query.where is not None:
        conditions.append(binder.condition(query.where))
    sort_plan = [binder.sort_key(item) for item in query.order_by]

    positions = binder.matching_rows(" and ".join(f"({c})" for c in conditions), len(table.rows))
    for key, descending in reversed(sort_plan):  # stable sorts, least significant key first
        positions.sort(key=key, reverse=descending)
    if query.limit is not None:
        positions = positions[: query.limit]
    rows = table.rows
    return QueryResult(table.name, selected, [rows[i] for i in positions], query.count_only)


# --------------------------------------------------------------------------------------------
# Binding


class _Binder:
    """Checks a query against the table and compiles its WHERE clause into one list
    comprehension over row numbers (no function call per row: a million rows in about a second).

    The generated source holds only names this class makes up (``a0``, ``a1``, ...) and
    operators from a fixed set; every value from the query travels as an argument, never as
    source text."""

    def __init__(self, query: Query, table: Table) -> None:
        self.query = query
        self.table = table
        self.args: list[Any] = []
        self._column_args: dict[str, str] = {}

    def error(self, code: str, ref: FieldRef | Literal, detail: str) -> SoqlError:
        return SoqlError(code, located_message(self.query.text, ref.position, detail))

    def arg(self, value: Any) -> str:
        self.args.append(value)
        return f"a{len(self.args) - 1}"

    def column_arg(self, field_name: str) -> str:
        if field_name not in self._column_args:
            self._column_args[field_name] = self.arg(self.table.column(field_name))
        return self._column_args[field_name]

    def matching_rows(self, condition: str, row_count: int) -> list[int]:
        if not condition:
            return list(range(row_count))
        params = ", ".join(["n", *(f"a{k}" for k in range(len(self.args)))])
        source = f"lambda {params}: [i for i in range(n) if {condition}]"
        scan = eval(compile(source, "<soql>", "eval"), {"__builtins__": {"range": range}})
        return scan(row_count, *self.args)

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

    def condition(self, node: Condition) -> str:
        """A Python expression over row number ``i`` that is true where ``node`` holds."""
        if isinstance(node, BoolOp):
            joiner = " and " if node.op == "AND" else " or "
            return "(" + joiner.join(self.condition(part) for part in node.operands) + ")"
        if isinstance(node, Not):
            return f"(not {self.condition(node.operand)})"
        if isinstance(node, Comparison):
            return self.comparison(node)
        if isinstance(node, InList):
            return self.in_list(node)
        if isinstance(node, Like):
            return self.like(node)
        raise TypeError(f"unknown condition {node!r}")  # the parser makes no other nodes

    def comparison(self, node: Comparison) -> str:
        field = self.filterable_field(node.field)
        value = self.literal(field, node.value)
        if value == "" and node.op in ("=", "!="):
            value = None  # Salesforce stores empty text as null: = '' means = null
        cell = f"{self.column_arg(field.name)}[i]"
        if value is None:
            if node.op in ("=", "!="):
                return f"{cell} is {'' if node.op == '=' else 'not '}None"
            raise self.error(INVALID_FILTER, node.value,
                             f"invalid operator on null value for field '{field.name}'")
        if node.op in ("=", "!="):  # SOQL's != keeps nulls (unlike SQL)
            return f"{cell} {'==' if node.op == '=' else '!='} {self.arg(value)}"
        if field.type == "boolean":
            raise self.error(INVALID_FILTER, node.field, "invalid operator on boolean field")
        op = _ORDERING_OPS[node.op]
        return f"({cell} is not None and {cell} {op} {self.arg(value)})"

    def in_list(self, node: InList) -> str:
        field = self.filterable_field(node.field)
        if field.type == "boolean":
            raise self.error(INVALID_FILTER, node.field, "invalid operator on boolean field")
        values = frozenset(self.literal(field, literal) or None for literal in node.values)
        cell = f"{self.column_arg(field.name)}[i]"
        return f"{cell} {'not in' if node.negated else 'in'} {self.arg(values)}"

    def like(self, node: Like) -> str:
        field = self.filterable_field(node.field)
        if field.type not in STRING_TYPES:
            raise self.error(INVALID_FILTER, node.field, f"invalid operator on {field.type} field")
        cell = f"{self.column_arg(field.name)}[i]"
        matcher = self.arg(_like_matcher(node.pattern.text))
        return f"({cell} is not None and {matcher}({cell}) is not None)"

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

    def sort_key(self, item: OrderItem) -> SortKey:
        field = self.field(item.field)
        if field.type in UNFILTERABLE_TYPES:
            raise self.error(INVALID_FIELD, item.field,
                             f"field '{field.name}' can not be sorted in a query call")
        column = self.table.column(field.name)
        if None not in column:  # the common case (stamps, ids): sort by the value itself
            return column.__getitem__, item.descending
        # Python sorts descending by reversing, so the null marker flips with the direction.
        null_marker = 0 if item.nulls_first != item.descending else 2

        def key(row: int) -> tuple:
            value = column[row]
            return (null_marker,) if value is None else (1, value)

        return key, item.descending


# Fixed operator spellings: the only operator text that reaches generated source.
_ORDERING_OPS = {"<": "<", "<=": "<=", ">": ">", ">=": ">="}


_LIKE_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f"}


def _like_matcher(raw_pattern: str) -> Callable[[str], re.Match[str] | None]:
    """SOQL LIKE as a regex: % any run, _ one character, backslash escapes (\\% and \\_ are
    literal); case-insensitive. Reads the pattern as written, so \\\\% is a backslash then %."""
    pieces: list[str] = []
    index = 0
    while index < len(raw_pattern):
        char = raw_pattern[index]
        if char == "\\" and index + 1 < len(raw_pattern):
            escaped = raw_pattern[index + 1]
            pieces.append(re.escape(_LIKE_ESCAPES.get(escaped, escaped).casefold()))
            index += 2
            continue
        pieces.append(".*" if char == "%" else "." if char == "_" else re.escape(char.casefold()))
        index += 1
    return re.compile("".join(pieces), re.DOTALL).fullmatch
