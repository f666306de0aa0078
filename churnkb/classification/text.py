"""Text preparation shared by the model, the rules and the extractors.

CRM text arrives as HTML, forwarded e-mails and template forms. Before anything reads it we
unescape HTML, drop tags, and remove template fields that carry no reason ("Competitor on file: -",
"Pricing tier: Growth"): the labelling convention says such fields are not reasons, and their
labels ("Pricing", "Competitor") would otherwise look like evidence to every reader.
"""

from __future__ import annotations

import re
import unicodedata

from churnkb.html_text import text_of

# "Field label: value" lines of a CRM template. The label is a few words; the value is empty,
# a dash or a short picklist-like value. Only the label is dropped: a value such as
# "Loss reason: Price" still reaches the model (which learns when a picklist is contradicted).
_FIELD_LINE = re.compile(
    r"^(?P<indent>[ \t>*\-\u2022]*)(?P<label>[A-Za-z][A-Za-z0-9 /()#&'._-]{1,40}?)\s*:\s*(?P<value>.*)$",
    re.M,
)
_EMPTY_VALUE = re.compile(r"^\s*(-+|\u2013|\u2014|n/?a|none|null|tbd|\?|\.|—|)\s*$", re.I)
_BLANKS = re.compile(r"[ \t\u00a0]+")


def strip_html(text: str) -> str:
    """Text of an HTML note (one line per block, entities decoded); plain text unchanged, so a
    note saying "from <$100 to >$200" keeps its numbers."""
    return text_of(text)


def strip_template_fields(text: str) -> str:
    """Drop template-field labels and fields without a value; keep free text untouched.

    A line counts as a field when its label is at most five words and its value at most six
    words: "Competitor on file: -" disappears, "Reason: Price" becomes "Price", and a sentence
    such as "Main reason: they moved to Gainsight after the merger" stays whole.
    """

    def replace(match: re.Match[str]) -> str:
        label, value = match.group("label"), match.group("value")
        if len(label.split()) > 5 or len(value.split()) > 6 or _is_emphasis(label):
            return match.group(0)
        if _EMPTY_VALUE.match(value):
            return ""
        return match.group("indent") + value

    return _FIELD_LINE.sub(replace, text)


def _is_emphasis(label: str) -> bool:
    # "Main reason: price" marks the main reason; keep the label, the rules read it as emphasis
    return bool(re.search(r"\b(main|primary|key|real|biggest|top|reason|why|summary|notes?|"
                          r"motivo|grund|raison|razao|context|comment)", label, re.I))


def prepare(text: str | None) -> str:
    """The text every reader sees: HTML stripped, template fields removed, blanks collapsed."""
    text = strip_template_fields(strip_html(text or ""))
    return _BLANKS.sub(" ", text).strip()


def normalize(text: str) -> str:
    """Lower case, accents stripped, curly quotes straightened, CRM "w/" spelled out.

    The same normalisation the rule patterns were written for (plain ASCII for en/es/de/fr/pt).
    """
    text = text.replace("\u2019", "'").replace("\u00df", "ss").lower()
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    text = re.sub(r"\bw/o\b", "without", text)
    text = re.sub(r"\bw/ ?", "with ", text)
    return _BLANKS.sub(" ", text)
