"""Making untrusted CRM text safe for every output format.

CRM text (notes, exit interviews, account names) is written by people outside our control, so it
is cleaned once (HTML stripped, control and bidi-override characters removed, trimmed) and then
escaped for the format it lands in: HTML, Markdown, Slack mrkdwn, Teams markdown or CSV.
"""

from __future__ import annotations

import html
import re
import unicodedata

from churnkb.html_text import html_to_text

QUOTE_CHARS = 280
# Characters that make a spreadsheet treat a cell as a formula (OWASP "CSV injection").
CSV_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# Bidi embedding/override/isolate controls can visually reorder the text around them
# (Trojan-source style spoofing); RTL letters themselves are kept.
_BIDI_CONTROLS = dict.fromkeys(
    [0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069, 0x200E, 0x200F]
)
_WHITESPACE = re.compile(r"\s+")
# What can start emphasis, code, links or block syntax; '(' is harmless once '[' is escaped.
_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]#|~])")
# Stripping a 1 MB note needs no more than this much of it.
_MAX_INPUT_CHARS = 20_000


def strip_html(text: str) -> str:
    """Visible text of whatever might be markup. Renderers treat every value as possibly HTML
    (a tag-like ``<at>`` or ``<script>`` means something to some channel), with the one parser
    the connectors use; a ``<`` that opens no tag ("<$100") stays, as a browser would show it."""
    if "<" not in text and "&" not in text:
        return text
    return html_to_text(text)


def _drop_controls(text: str) -> str:
    text = text.translate(_BIDI_CONTROLS)
    # A lone surrogate cannot be written as UTF-8 (every file and message would fail): shown as
    # U+FFFD, as landing stores it.
    return "".join("\ufffd" if "\ud800" <= ch <= "\udfff" else ch for ch in text
                   if ch in "\n\t" or unicodedata.category(ch) not in {"Cc", "Cf"}
                   or _is_emoji_joiner(ch))


def _is_emoji_joiner(ch: str) -> bool:
    # ZWJ and variation selectors are format characters that emoji sequences need.
    return ch in {"\u200d", "\ufe0f", "\ufe0e"}


def clean_text(value: object, limit: int | None = None) -> str:
    """Plain, single-line, control-free text from any CRM value, optionally trimmed to ``limit``."""
    if value is None:
        return ""
    text = str(value)[:_MAX_INPUT_CHARS]
    text = _drop_controls(strip_html(text))
    text = _WHITESPACE.sub(" ", text).strip()
    return trim(text, limit) if limit else text


def trim(text: str, limit: int) -> str:
    """Cut at a word boundary near ``limit`` characters and mark the cut with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit * 0.6:
        cut = cut[:space]
    return cut.rstrip() + "…"


def quote_text(value: object) -> str:
    """A verbatim quote: HTML stripped, cleaned, trimmed."""
    return clean_text(value, QUOTE_CHARS)


def escape_html(text: object) -> str:
    return html.escape("" if text is None else str(text), quote=True)


def escape_markdown(text: object) -> str:
    """Markdown with raw HTML disabled by escaping: punctuation backslashed, ``&<>`` as entities."""
    escaped = _MARKDOWN_SPECIALS.sub(r"\\\1", "" if text is None else str(text))
    return escaped.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape_slack(text: object) -> str:
    """Slack mrkdwn: ``&<>`` are the control characters (``<!channel>``, ``<@U123>``, links)."""
    value = "" if text is None else str(text)
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape_teams(text: object) -> str:
    """Teams TextBlock markdown: backslash the characters that would start a link or emphasis."""
    return _MARKDOWN_SPECIALS.sub(r"\\\1", "" if text is None else str(text))


def neutralise_csv_cell(value: object) -> object:
    """Prefix a quote to text a spreadsheet would run as a formula; other values pass unchanged."""
    if isinstance(value, str) and value.startswith(CSV_FORMULA_PREFIXES):
        return "'" + value
    return value
