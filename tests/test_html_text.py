"""HTML to text: a real parser for text that is HTML, and plain text never touched (issue 12)."""

from __future__ import annotations

import html
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from churnkb.classification.text import prepare
from churnkb.html_text import html_to_text, looks_like_html, text_of

PRICE = "price went from <$100 to >$200"
_BLANKS = re.compile(r"[ \t\r\f\v\u00a0]+")


def lines_of(text: str) -> str:
    """What the converter promises about the text of one paragraph: blanks squeezed per line."""
    lines = (_BLANKS.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def test_an_editor_body_becomes_lines_of_text():
    body = ('<div style="" dir="auto" data-top-level="true"><p style="margin:0;">Moving to '
            'Gainsight&nbsp;&amp; ending in Q3.</p><ul><li>SSO missing</li><li>price &lt;$100'
            '</li></ul><script>alert(1)</script><p>Regards,<br>Kim</p><!-- tracking --></div>')
    assert html_to_text(body) == ("Moving to Gainsight & ending in Q3.\nSSO missing\n"
                                  "price <$100\nRegards,\nKim")


def test_plain_text_with_angle_brackets_is_kept_whole():
    for plain in (PRICE, "a < b and c > d", "We love <Acme> widgets", "<3 the team", "x<y>z"):
        assert not looks_like_html(plain)
        assert text_of(plain) == plain
    assert prepare(PRICE) == PRICE  # the classifier reads the numbers too


def test_html_escaped_prose_round_trips_through_the_parser():
    assert html_to_text(f"<p>{html.escape(PRICE)}</p>") == PRICE
    assert text_of(f"<p>{html.escape(PRICE)}</p>") == PRICE


@settings(max_examples=150, deadline=None)
@given(st.text())
def test_any_text_escaped_into_a_paragraph_comes_back(text):
    assert html_to_text(f"<div><p>{html.escape(text)}</p></div>") == lines_of(text)


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_characters="&")))
def test_text_that_is_not_html_is_returned_unchanged(text):
    if not looks_like_html(text):
        assert text_of(text) == text


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("<>/&;!-ab p=\"'\n")), max_size=80))
def test_broken_markup_never_raises(markup):
    assert isinstance(html_to_text(markup), str)
