"""A small SOQL tokenizer and recursive-descent parser for the sandbox Salesforce server.

Only the SOQL our connectors send is understood: a plain field list (or ``COUNT()``), ``FROM`` one
object, ``WHERE`` with AND/OR/NOT and parentheses, ``= != <> < <= > >= LIKE IN NOT IN``, ``ORDER
BY`` several fields and ``LIMIT``. Everything else raises ``SoqlError`` with Salesforce's
``MALFORMED_QUERY`` code, so an unsupported query fails loudly instead of answering wrongly.

The parser knows nothing about objects or fields; ``sandbox.salesforce_query`` binds the tree to
an object's schema (field names, types) and evaluates it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

MALFORMED_QUERY = "MALFORMED_QUERY"


class SoqlError(Exception):
    """A query Salesforce would refuse: ``error_code`` and ``message`` as the REST API sends them."""

    def __init__(self, error_code: str, message: str) -> None:
        super().__init__(message)
        self.error_code = error_code
        self.message = message


def located_message(text: str, position: int, detail: str) -> str:
    """Salesforce's error layout: the query, a caret under the culprit, row/column, the detail."""
    line_start = text.rfind("\n", 0, position) + 1
    line_end = text.find("\n", position)
    line = text[line_start : line_end if line_end >= 0 else len(text)]
    row = text.count("\n", 0, position) + 1
    column = position - line_start
    return f"\n{line}\n{' ' * column}^\nERROR at Row:{row}:Column:{column + 1}\n{detail}"


# --------------------------------------------------------------------------------------------
# Tokens

WORD, STRING, NUMBER, DATE, DATETIME, PUNCT, END = (
    "word", "string", "number", "date", "datetime", "punct", "end"
)
_OPERATORS = ("!=", "<>", "<=", ">=", "=", "<", ">")
_PUNCTUATION = "(),.:"
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}


@dataclass(frozen=True)
class Token:
    kind: str
    text: str  # source text (for STRING: between the quotes, escapes as written)
    position: int
    value: Any = None

    def is_word(self, *words: str) -> bool:
        return self.kind == WORD and self.text.upper() in words


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.tokens: list[Token] = []

    def fail(self, position: int, detail: str) -> SoqlError:
        return SoqlError(MALFORMED_QUERY, located_message(self.text, position, detail))

    def scan(self) -> list[Token]:
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            if char.isspace():
                self.pos += 1
            elif char.isalpha() or char == "_":
                self._word()
            elif char == "'":
                self._string()
            elif char.isdigit() or (char in "+-" and self._number_allowed()):
                self._number_or_temporal()
            elif text.startswith(_OPERATORS, self.pos):
                op = next(o for o in _OPERATORS if text.startswith(o, self.pos))
                self.tokens.append(Token(PUNCT, op, self.pos))
                self.pos += len(op)
            elif char in _PUNCTUATION:
                self.tokens.append(Token(PUNCT, char, self.pos))
                self.pos += 1
            else:
                raise self.fail(self.pos, f"unexpected token: '{char}'")
        self.tokens.append(Token(END, "<EOF>", len(text)))
        return self.tokens

    def _number_allowed(self) -> bool:
        # A sign starts a number only where a value may stand and a digit follows it.
        nxt = self.text[self.pos + 1 : self.pos + 2]
        previous = self.tokens[-1] if self.tokens else None
        return nxt.isdigit() and previous is not None and previous.kind == PUNCT

    def _word(self) -> None:
        start = self.pos
        while self.pos < len(self.text) and (self.text[self.pos].isalnum() or self.text[self.pos] == "_"):
            self.pos += 1
        self.tokens.append(Token(WORD, self.text[start : self.pos], start))

    def _string(self) -> None:
        start = self.pos
        self.pos += 1
        chars: list[str] = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "\\":
                escaped = self.text[self.pos + 1 : self.pos + 2]
                if escaped in _ESCAPES:
                    chars.append(_ESCAPES[escaped])
                elif escaped in ("%", "_"):  # kept escaped: they mean literal % and _ in LIKE
                    chars.append("\\" + escaped)
                else:
                    raise self.fail(self.pos, "Invalid string literal: bad escape sequence")
                self.pos += 2
            elif char == "'":
                self.pos += 1
                raw = self.text[start + 1 : self.pos - 1]  # LIKE reads its escapes from this
                self.tokens.append(Token(STRING, raw, start, "".join(chars)))
                return
            else:
                chars.append(char)
                self.pos += 1
        raise self.fail(start, "unterminated string literal")

    def _number_or_temporal(self) -> None:
        start = self.pos
        end = start + 1
        while end < len(self.text) and (self.text[end].isalnum() or self.text[end] in ".:+-"):
            end += 1
        raw = self.text[start:end]
        if _looks_like_date(raw):
            self._temporal(raw, start)
        else:
            self._number(start)

    def _number(self, start: int) -> None:
        end = start + 1
        while end < len(self.text) and (self.text[end].isdigit() or self.text[end] == "."):
            end += 1
        raw = self.text[start:end]
        try:
            value: int | float = float(raw) if "." in raw else int(raw)
        except ValueError:
            raise self.fail(start, f"unexpected token: '{raw}'") from None
        self.pos = end
        self.tokens.append(Token(NUMBER, raw, start, value))

    def _temporal(self, raw: str, start: int) -> None:
        if len(raw) == 10:
            kind, value = DATE, parse_date_literal(raw)
        else:
            kind, value = DATETIME, parse_datetime_literal(raw)
        if value is None:
            raise self.fail(start, f"line 1:{start} no viable alternative at character '{raw}'")
        self.pos = start + len(raw)
        self.tokens.append(Token(kind, raw, start, value))


def _looks_like_date(raw: str) -> bool:
    return len(raw) >= 10 and raw[4] == "-" and raw[7] == "-" and raw[:4].isdigit()


def parse_date_literal(raw: str) -> date | None:
    """``2024-01-31`` -> date; anything else -> None."""
    if len(raw) != 10:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return None


def parse_datetime_literal(raw: str) -> datetime | None:
    """SOQL dateTime literal -> aware UTC datetime; SOQL requires ``Z`` or an offset.

    Accepts ``2024-01-01T00:00:00Z``, ``2024-01-01T00:00:00.000+0000``, ``...+05:30``."""
    if len(raw) < 20 or raw[10] != "T":
        return None
    body, zone = _split_zone(raw[11:])
    if zone is None:
        return None
    clock = body.split(".")
    if len(clock) > 2 or len(clock[0]) != 8 or (len(clock) == 2 and not clock[1].isdigit()):
        return None
    try:
        parsed = datetime.fromisoformat(f"{raw[:10]}T{clock[0]}")
    except ValueError:
        return None
    micros = int((clock[1] + "000000")[:6]) if len(clock) == 2 else 0
    return parsed.replace(microsecond=micros, tzinfo=zone).astimezone(UTC)


def _split_zone(rest: str) -> tuple[str, timezone | None]:
    if rest.endswith("Z"):
        return rest[:-1], UTC
    for index in (len(rest) - 6, len(rest) - 5):  # +HH:MM or +HHMM
        if index > 0 and rest[index] in "+-":
            digits = rest[index + 1 :].replace(":", "")
            if len(digits) != 4 or not digits.isdigit():
                continue
            sign = 1 if rest[index] == "+" else -1
            offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
            return rest[:index], timezone(sign * offset)
    return rest, None


# --------------------------------------------------------------------------------------------
# Syntax tree


@dataclass(frozen=True)
class FieldRef:
    name: str
    position: int


@dataclass(frozen=True)
class Literal:
    kind: str  # string, number, boolean, null, date, datetime
    value: Any
    text: str
    position: int


@dataclass(frozen=True)
class Comparison:
    field: FieldRef
    op: str  # = != < <= > >= (<> is normalised to !=)
    value: Literal


@dataclass(frozen=True)
class InList:
    field: FieldRef
    values: tuple[Literal, ...]
    negated: bool


@dataclass(frozen=True)
class Like:
    field: FieldRef
    pattern: Literal


@dataclass(frozen=True)
class BoolOp:
    op: str  # AND / OR
    operands: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    operand: Condition


Condition = Comparison | InList | Like | BoolOp | Not


@dataclass(frozen=True)
class OrderItem:
    field: FieldRef
    descending: bool
    nulls_first: bool


@dataclass(frozen=True)
class Query:
    text: str
    fields: tuple[FieldRef, ...]  # empty for COUNT()
    count_only: bool
    sobject: str
    sobject_position: int
    where: Condition | None
    order_by: tuple[OrderItem, ...]
    limit: int | None


# --------------------------------------------------------------------------------------------
# Parser


_CLAUSE_WORDS = ("FROM", "WHERE", "ORDER", "LIMIT", "GROUP", "HAVING", "OFFSET", "WITH", "FOR",
                 "USING", "UPDATE", "ALL")
_COMPARISON_OPS = ("=", "!=", "<>", "<", "<=", ">", ">=")


def parse(text: str) -> Query:
    """Parse one SOQL statement; raises ``SoqlError`` (MALFORMED_QUERY) on anything unsupported."""
    if not text or not text.strip():
        raise SoqlError(MALFORMED_QUERY, "A query string has to be specified")
    return _Parser(text, _Scanner(text).scan()).query()


class _Parser:
    def __init__(self, text: str, tokens: list[Token]) -> None:
        self.text = text
        self.tokens = tokens
        self.index = 0

    # -- helpers
    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def fail(self, token: Token | None = None, detail: str | None = None) -> SoqlError:
        token = token or self.current
        detail = detail or f"unexpected token: '{token.text}'"
        return SoqlError(MALFORMED_QUERY, located_message(self.text, token.position, detail))

    def expect_word(self, word: str) -> Token:
        if not self.current.is_word(word):
            raise self.fail()
        return self.advance()

    def expect_punct(self, text: str) -> Token:
        if self.current.kind != PUNCT or self.current.text != text:
            raise self.fail()
        return self.advance()

    def at_punct(self, text: str) -> bool:
        return self.current.kind == PUNCT and self.current.text == text

    # -- grammar
    def query(self) -> Query:
        self.expect_word("SELECT")
        fields, count_only = self.select_list()
        self.expect_word("FROM")
        sobject_token = self.identifier()
        where = None
        if self.current.is_word("WHERE"):
            self.advance()
            where = self.condition()
        order_by: tuple[OrderItem, ...] = ()
        if self.current.is_word("ORDER"):
            self.advance()
            self.expect_word("BY")
            order_by = self.order_list()
        limit = None
        if self.current.is_word("LIMIT"):
            self.advance()
            limit = self.limit_value()
        if self.current.kind != END:
            raise self.fail()
        return Query(self.text, fields, count_only, sobject_token.text, sobject_token.position,
                     where, order_by, limit)

    def identifier(self) -> Token:
        token = self.current
        if token.kind != WORD or token.text.upper() in _CLAUSE_WORDS:
            raise self.fail()
        self.advance()
        if self.at_punct("."):
            raise self.fail(token, "relationship paths are not supported by the sandbox: "
                                   f"'{token.text}.{self.tokens[self.index + 1].text}'")
        if self.at_punct("("):
            raise self.fail(token, f"functions are not supported by the sandbox: '{token.text}'")
        return token

    def field(self) -> FieldRef:
        token = self.identifier()
        return FieldRef(token.text, token.position)

    def select_list(self) -> tuple[tuple[FieldRef, ...], bool]:
        if self.current.is_word("COUNT") and self.tokens[self.index + 1].text == "(":
            self.advance()
            self.expect_punct("(")
            if not self.at_punct(")"):
                raise self.fail(detail="only COUNT() is supported by the sandbox")
            self.advance()
            return (), True
        if self.at_punct("("):
            raise self.fail(detail="subqueries are not supported by the sandbox")
        fields = [self.field()]
        while self.at_punct(","):
            self.advance()
            fields.append(self.field())
        seen: set[str] = set()
        for ref in fields:
            if ref.name.lower() in seen:
                raise self.fail(self.tokens[0], f"duplicate field selected: {ref.name}")
            seen.add(ref.name.lower())
        return tuple(fields), False

    def condition(self) -> Condition:
        # SOQL refuses AND and OR side by side without parentheses, so one level holds one kind.
        first = self.unary()
        if not self.current.is_word("AND", "OR"):
            return first
        op = self.current.text.upper()
        operands = [first]
        while self.current.is_word("AND", "OR"):
            if self.current.text.upper() != op:
                raise self.fail(detail=f"unexpected token: '{self.current.text}' "
                                       "(use parentheses to mix AND and OR)")
            self.advance()
            operands.append(self.unary())
        return BoolOp(op, tuple(operands))

    def unary(self) -> Condition:
        if self.current.is_word("NOT"):
            self.advance()
            return Not(self.unary())
        if self.at_punct("("):
            self.advance()
            inner = self.condition()
            self.expect_punct(")")
            return inner
        return self.predicate()

    def predicate(self) -> Condition:
        ref = self.field()
        token = self.current
        if token.is_word("LIKE"):
            self.advance()
            pattern = self.literal()
            if pattern.kind != "string":
                raise self.fail(self.tokens[self.index - 1])
            return Like(ref, pattern)
        if token.is_word("IN"):
            self.advance()
            return InList(ref, self.literal_list(), negated=False)
        if token.is_word("NOT"):
            self.advance()
            self.expect_word("IN")
            return InList(ref, self.literal_list(), negated=True)
        if token.kind == PUNCT and token.text in _COMPARISON_OPS:
            self.advance()
            op = "!=" if token.text == "<>" else token.text
            return Comparison(ref, op, self.literal())
        raise self.fail()

    def literal_list(self) -> tuple[Literal, ...]:
        self.expect_punct("(")
        if self.current.is_word("SELECT"):
            raise self.fail(detail="semi-join subqueries are not supported by the sandbox")
        values = [self.literal()]
        while self.at_punct(","):
            self.advance()
            values.append(self.literal())
        self.expect_punct(")")
        return tuple(values)

    def literal(self) -> Literal:
        token = self.current
        if token.kind in (STRING, NUMBER, DATE, DATETIME):
            self.advance()
            return Literal(token.kind, token.value, token.text, token.position)
        if token.is_word("TRUE", "FALSE"):
            self.advance()
            return Literal("boolean", token.text.upper() == "TRUE", token.text, token.position)
        if token.is_word("NULL"):
            self.advance()
            return Literal("null", None, token.text, token.position)
        if token.kind == WORD:  # date literals such as TODAY or LAST_N_DAYS:7, bind variables
            raise self.fail(detail=f"unsupported value: '{token.text}' (date literals like TODAY "
                                   "and bind variables are not supported by the sandbox)")
        raise self.fail()

    def order_list(self) -> tuple[OrderItem, ...]:
        items = [self.order_item()]
        while self.at_punct(","):
            self.advance()
            items.append(self.order_item())
        return tuple(items)

    def order_item(self) -> OrderItem:
        ref = self.field()
        descending = False
        if self.current.is_word("ASC", "DESC"):
            descending = self.advance().text.upper() == "DESC"
        nulls_first = not descending  # Salesforce's default: nulls first ascending, last descending
        if self.current.is_word("NULLS"):
            self.advance()
            if not self.current.is_word("FIRST", "LAST"):
                raise self.fail()
            nulls_first = self.advance().text.upper() == "FIRST"
        return OrderItem(ref, descending, nulls_first)

    def limit_value(self) -> int:
        token = self.current
        if token.kind != NUMBER or not isinstance(token.value, int) or token.value < 0:
            raise self.fail()
        self.advance()
        return token.value
