"""HTML to text with a real parser, applied only to text that is HTML.

CRM bodies written in a rich-text editor (HubSpot notes, calls, meetings, tasks, the HTML part of
logged e-mails) are HTML; everything else (Salesforce notes, descriptions, names, reasons) is plain
text in which ``<`` and ``>`` are just characters: "price went from <$100 to >$200" must stay whole.
So there is one converter, for text known to be HTML, and one test, ``looks_like_html``, for
readers that get text of either kind (the classifier's training notes).

The parser is the standard library's ``html.parser``: it is lenient like a browser (unclosed and
stray tags, ``<`` that opens no tag, broken entities are text, never an exception), decodes every
named and numeric entity, and needs no dependency. A tree builder (lxml, html5lib) would add
nothing here: only the text nodes and the block boundaries between them are kept.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

# Elements whose content is never visible text.
_SKIP = frozenset({"script", "style", "head", "title", "template", "noscript"})
# Elements that start a new line of text; everything else (b, span, a, ...) flows inline.
_BLOCKS = frozenset({
    "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption",
    "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav",
    "ol", "p", "pre", "section", "table", "td", "th", "tr", "ul",
})
_INLINE_BLANKS = re.compile(r"[ \t\r\f\v\u00a0]+")
# A known element's tag or a character reference: what an editor's output always contains and
# plain prose almost never does ("<$100", "a < b", "<Acme>" are not elements).
_HTML_SIGN = re.compile(
    r"</?(?:p|div|br|span|b|i|u|em|strong|ul|ol|li|a|table|tbody|thead|tr|td|th|h[1-6]|"
    r"blockquote|font|img|hr|pre|code|body|html|head|style|script|section|article)\b[^<>]*>"
    r"|&(?:nbsp|amp|lt|gt|quot|apos|#\d{1,7}|#x[0-9a-fA-F]{1,6});",
    re.I,
)


class _TextExtractor(HTMLParser):
    """Collects visible text nodes; block elements become line breaks."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self._skipping += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCKS:  # <br/>, <hr/>: a break, and nothing to skip
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    """The visible text of an HTML fragment: one line per block, blanks squeezed, entities
    decoded, script/style content dropped. Comments and doctype are not text."""
    parser = _TextExtractor()
    parser.feed(markup)
    parser.close()
    lines = (_INLINE_BLANKS.sub(" ", line).strip() for line in "".join(parser.parts).split("\n"))
    return "\n".join(line for line in lines if line)


def looks_like_html(text: str) -> bool:
    """True when ``text`` holds an HTML element or entity (not merely ``<`` or ``>``)."""
    return bool(_HTML_SIGN.search(text))


def text_of(value: str, *, is_html: bool | None = None) -> str:
    """``value`` as text: parsed when it is HTML (``is_html``, or when unknown, when it looks
    like HTML); plain text is returned unchanged."""
    html = looks_like_html(value) if is_html is None else is_html
    return html_to_text(value) if html else value
