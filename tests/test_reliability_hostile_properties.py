"""Issue 12 item 10, hostile text as properties (Hypothesis): whatever text a CRM holds (HTML,
Slack mentions, formula cells, NUL, U+FFFD, lone surrogates, bidi overrides, template syntax,
1 MB), landing keeps it (repaired and counted only where it cannot be stored) and every renderer
turns it into inert output: HTML with no tag or attribute of the text's own, Slack and Teams
payloads that are valid JSON with mentions and markup defused, spreadsheet-safe CSV cells,
template syntax shown as written, oversized text cut with a marker.

tests/test_publishers_hostile.py sends one fixed hostile warehouse through the real channels;
here the text varies and the outputs are rendered (no network), from the fixture marts through
the publishers' own reader, content builders and renderers."""

from __future__ import annotations

import csv
import email
import email.policy
import json
import re
import tempfile
import unicodedata
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import duckdb
import pytest
from churnkb.connectors.drift import DriftLog
from churnkb.connectors.landing import RecordShape, RunContext, StreamLanding
from churnkb.connectors.raw_zone import read_stream, utc_now
from churnkb.connectors.records import TRUNCATION_MARKER
from churnkb.connectors.state import StateStore
from churnkb.publishers.alerts import collect_alerts, rendered_alerts
from churnkb.publishers.channels import EmailContent, build_email
from churnkb.publishers.content import Digest, Link, build_digest
from churnkb.publishers.digests import write_digest_files
from churnkb.publishers.marts import MartReader
from churnkb.publishers.periods import period_containing
from churnkb.publishers.reengagement import is_current, list_row, write_list
from churnkb.publishers.render import TEAMS_MAX_BYTES, to_html, to_slack, to_teams, to_text
from churnkb.publishers.settings import Publishing
from churnkb.publishers.text import QUOTE_CHARS, clean_text
from fixtures.publishers import (
    CURRENT_WEEK,
    NOW,
    build_marts,
    make_config,
    slack_violations,
    teams_violations,
)
from hypothesis import example, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from churnkb.paths import DataPaths

# -- hostile text --------------------------------------------------------------------------------

FRAGMENTS = [
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", '"><svg onload=alert(1)>',
    "<a href=\"javascript:alert(1)\">x</a>", "&lt;script&gt;alert(2)&lt;/script&gt;", "&amp;",
    "<b>bold</b>", "<at>Everyone</at>", "<!channel>", "<!here|here>", "<@U123>", "<#C42|general>",
    "<https://evil.example|click me>", "[click me](https://evil.example)", "*bold*", "_it_",
    "`code`", "~strike~", "# heading", "| a | b |", "> quoted", '=HYPERLINK("http://evil","x")',
    "=1+1", "+1", "-2+3", "@SUM(A1)", "\t=1", "\x00", "\ufffd", "\u202e", "\u202d", "\u2067",
    "\u200f", "{{ 7*7 }}", "{% for x in y %}{{ x }}{% endfor %}", "{account}", "{0}", "${jndi}",
    "%s%n", "\\", "'", '"', "\r\n", "\n\n", "مرحبا بالعالم", "שלום", "👩‍💻", "❤️", "Zalgo̴̢",
]
text_piece = st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=12))
# A megabyte now and then, with hostile text on both sides of it.
padding = st.sampled_from([0, 0, 0, 0, 1_000_000])


@st.composite
def hostile_text(draw: st.DrawFn, pieces: st.SearchStrategy[str] = text_piece,
                 big: bool = True) -> str:
    head = "".join(draw(st.lists(pieces, min_size=1, max_size=6)))
    tail = "".join(draw(st.lists(pieces, max_size=3)))
    size = draw(padding) if big else 0
    return head + ("word " * (size // 5)) + tail if size else head + tail


SURROGATES = st.sampled_from(["\ud800", "\udfff", "\udc80", "\udcff", "\ud83d"])
storable_or_not = st.one_of(text_piece, SURROGATES)

PROFILE = settings(max_examples=60, deadline=None)
RENDER_PROFILE = settings(max_examples=50, deadline=None)  # ~0.5 s an example: the suite stays fast


# -- landing -------------------------------------------------------------------------------------

MAX_FIELD_CHARS = 65_536


def land(directory: Path, records: list[dict[str, Any]], one_by_one: bool) -> StreamLanding:
    paths = DataPaths(directory).ensure()
    ctx = RunContext(source="hubspot", sync_id="prop", data_paths=paths,
                     state_store=StateStore(paths, "hubspot"), drift_log=DriftLog(paths, "hubspot"),
                     batch_records=1000, max_field_chars=MAX_FIELD_CHARS, full_refresh=False,
                     run_start=utc_now())
    shape = RecordShape(id_field="id", cursor_field="updatedAt", date_fields=(),
                        is_deleted=lambda record: False)
    landing = StreamLanding(ctx, "notes", shape)
    if one_by_one:
        for record in records:
            landing.add(record)
    else:
        landing.add_page(records)
    landing.flush()
    return landing


def expected_landed(value: str) -> tuple[str, bool, bool]:
    """What landing must store for ``value``: (text, surrogates replaced, truncated)."""
    replaced = any("\ud800" <= ch <= "\udfff" for ch in value)
    if replaced:
        value = "".join("\ufffd" if "\ud800" <= ch <= "\udfff" else ch for ch in value)
    truncated = len(value) > MAX_FIELD_CHARS
    return value, replaced, truncated


@PROFILE
@given(bodies=st.lists(hostile_text(storable_or_not), min_size=1, max_size=4),
       one_by_one=st.booleans())
def test_landing_keeps_any_text_repairs_only_what_cannot_be_stored_and_counts_it(
        bodies, one_by_one):
    stamp = "2026-11-20T10:00:00.000Z"
    records = [{"id": str(n + 1), "updatedAt": stamp, "body": body, "name": body[:200]}
               for n, body in enumerate(bodies)]
    with tempfile.TemporaryDirectory() as folder:
        landing = land(Path(folder), records, one_by_one)
        table = read_stream(DataPaths(Path(folder)), "hubspot", "notes")
    assert landing.report.quarantined == 0  # every record has a key: none is quarantined
    assert landing.report.fetched == landing.report.landed == len(records)
    rows = {row["id"]: row for row in table.to_pylist()}
    replaced = truncated = 0
    for record in records:
        for name in ("body", "name"):
            want, was_replaced, was_cut = expected_landed(record[name])
            got = rows[record["id"]][name]
            replaced += was_replaced
            truncated += was_cut
            if was_cut:  # cut to the limit, ending with a marker that says how long it was
                marker = TRUNCATION_MARKER.format(n=len(want))
                assert len(got) == MAX_FIELD_CHARS and got.endswith(marker)
                assert want.startswith(got[:-len(marker)])
            else:
                assert got == want  # HTML, NUL, U+FFFD, RTL, {{ }} kept exactly as written
    assert landing.report.surrogates_replaced == replaced
    assert landing.report.truncated == truncated


# -- the publishers' text cleaning ---------------------------------------------------------------

@PROFILE
@given(text=hostile_text(storable_or_not), limit=st.sampled_from([None, 80, QUOTE_CHARS]))
def test_clean_text_is_storable_single_line_control_free_and_marked_when_cut(text, limit):
    cleaned = clean_text(text, limit)
    cleaned.encode("utf-8")  # a lone surrogate would make every file and message write fail
    assert "\n" not in cleaned and cleaned == cleaned.strip()
    assert not [ch for ch in cleaned if unicodedata.category(ch) == "Cc"]
    assert not set(cleaned) & set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
    if limit:
        assert len(cleaned) <= limit
        if len(clean_text(text)) > limit:
            assert cleaned.endswith("…")


# -- renderers, from the fixture marts -----------------------------------------------------------

FIELDS = ("account", "owner", "body", "theme", "feature", "competitor", "reason", "play", "step",
          "contact", "detail")
# Notes and plays run to a megabyte in real orgs; names and picklist values are short (a CRM caps
# them at a few hundred characters), which keeps each example fast.
BIG_FIELDS = ("body", "play", "detail")
LINK_BASE = {"salesforce": "https://crm.example/sf", "hubspot": "https://crm.example/hs"}
DIGEST_URL = "https://intranet.example/digests"
MAX_OUTPUT_BYTES = 200_000


def poison(con: duckdb.DuckDBPyConnection, t: dict[str, str]) -> None:
    """Put the texts where CRM text reaches the marts (both the marts and the fixture's derived
    tables, which are tables, not views)."""
    con.execute("update dim_accounts set account_name = ?, owner_name = ?", [t["account"], t["owner"]])
    con.execute("update fct_feedback_items set body_text = ?, theme = ?, feature_requests = [?], "
                "competitors_switched_to = [?]", [t["body"], t["theme"], t["feature"], t["competitor"]])
    for table in ("fct_churn_events", "fct_churn_event_departments"):
        con.execute(f"update {table} set stated_reason_raw = ?, competitor_name = ?",
                    [t["reason"], t["competitor"]])
    con.execute("update mart_save_opportunities set suggested_play = ?", [t["play"]])
    con.execute("update fct_offboarding_checklist_steps set step_label = ?", [t["step"]])
    con.execute("update mart_reengagement_people set contact_name = ?, trigger_detail = ?",
                [t["contact"], t["detail"]])


@dataclass
class Outputs:
    digests: list[Digest] = field(default_factory=list)
    html: dict[str, str] = field(default_factory=dict)
    text: dict[str, str] = field(default_factory=dict)
    markdown: dict[str, str] = field(default_factory=dict)
    slack: dict[str, bytes] = field(default_factory=dict)
    teams: dict[str, bytes] = field(default_factory=dict)
    emails: dict[str, bytes] = field(default_factory=dict)
    csv_rows: list[dict[str, str]] = field(default_factory=list)
    list_rows: list[dict[str, Any]] = field(default_factory=list)
    alert_json: dict[str, Any] = field(default_factory=dict)


DEPARTMENTS = ("product", "finance", "support", "customer_success", "sales")


def render_everything(con: duckdb.DuckDBPyConnection, config: Any, folder: Path,
                      departments: tuple[str, ...] = DEPARTMENTS) -> Outputs:
    """Every format every publisher produces, as the publishers produce them (files on disk,
    MIME messages as bytes, webhook payloads as the JSON that would be posted)."""
    publishing = Publishing.from_config(config)
    reader, today, out = MartReader(con), NOW.date(), Outputs()
    period = period_containing(CURRENT_WEEK, "weekly")
    for department in departments:
        digest = build_digest(reader, publishing, department, period, today)
        digest.full_digest_url = f"{DIGEST_URL}/{period.label}/{department}.html"
        out.digests.append(digest)
        write_digest_files(digest, folder, b"png", None)
        for suffix, kind in ((".html", out.html), (".txt", out.text), (".md", out.markdown)):
            kind[f"{department}{suffix}"] = (folder / f"{department}{suffix}").read_text("utf-8")
        out.slack[department] = json.dumps(to_slack(digest), ensure_ascii=False).encode()
        out.teams[department] = json.dumps(to_teams(digest), ensure_ascii=False).encode()
        message = build_email(publishing, ["team@example.com"], EmailContent(
            subject=digest.subject, text=to_text(digest), html=to_html(digest, "cid:chart")))
        out.emails[department] = message.as_bytes()
    items = collect_alerts(reader, publishing.get("alerts", {}), today)
    alerts = rendered_alerts(items, items, today, folder / "alerts")
    alerts.write_files()
    out.markdown["alerts.md"] = (folder / "alerts" / f"{today}.md").read_text("utf-8")
    out.alert_json = json.loads((folder / "alerts" / f"{today}.json").read_text("utf-8"))
    out.slack["alerts"] = json.dumps(alerts.slack(), ensure_ascii=False).encode()
    out.teams["alerts"] = json.dumps(alerts.teams(), ensure_ascii=False).encode()
    out.emails["alerts"] = build_email(publishing, ["cs@example.com"], alerts.email()).as_bytes()
    out.list_rows = [list_row(c, publishing) for c in reader.reengagement_people()
                     if is_current(c, today)]
    path = write_list([dict(row) for row in out.list_rows], folder / "lists", today.isoformat())
    with path.open(encoding="utf-8", newline="") as handle:
        out.csv_rows = list(csv.DictReader(handle))
    return out


class TagCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.attributes: set[str] = set()
        self.urls: set[str] = set()
        self.data: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes |= {name for name, _ in attrs}
        self.urls |= {value or "" for name, value in attrs if name in ("href", "src")}

    def handle_data(self, data: str) -> None:
        self.data.append(data)


def parsed(html: str) -> TagCollector:
    collector = TagCollector()
    collector.feed(html)
    collector.close()
    return collector


def markdown_html(text: str) -> str:
    """How a Markdown viewer shows the file (raw HTML allowed, as GitHub-flavoured viewers do)."""
    return MarkdownIt("commonmark", {"html": True}).enable("table").render(text)


def our_url(url: str) -> bool:
    """CRM record links, the full digest, the chart (a file beside the digest, or inline)."""
    return (url.startswith(("https://crm.example/", DIGEST_URL)) or url == "cid:chart"
            or url in {f"{department}.png" for department in DEPARTMENTS})


@dataclass(repr=False)
class Marts:
    """The fixture warehouse (benign), its config, and the tags and attributes a benign render
    uses: the only ones a hostile render may use."""

    con: duckdb.DuckDBPyConnection
    config: Any
    data_dir: Path
    tags: set[str]
    attributes: set[str]
    md_tags: set[str]

    def __repr__(self) -> str:  # Hypothesis prints its arguments: not the whole config
        return f"Marts({self.data_dir})"


@pytest.fixture(scope="module")
def marts(tmp_path_factory: pytest.TempPathFactory):
    data_dir = tmp_path_factory.mktemp("hostile-properties")
    build_marts(DataPaths(data_dir).warehouse, huge_note_chars=0)
    config = make_config(data_dir, {"link_base": LINK_BASE})
    con = duckdb.connect(str(DataPaths(data_dir).warehouse))
    benign = render_everything(con, config, data_dir / "benign")
    tags, attributes = set(), set()
    for html in [*benign.html.values(), *(html_part(raw) for raw in benign.emails.values())]:
        found = parsed(html)
        tags, attributes = tags | found.tags, attributes | found.attributes
    md_tags = set()
    for text in benign.markdown.values():
        md_tags |= parsed(markdown_html(text)).tags
    yield Marts(con, config, data_dir, tags, attributes, md_tags)
    con.close()


def html_part(raw: bytes) -> str:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    return message.get_body(preferencelist=("html",)).get_content()


def shown_texts(digest: Digest) -> list[str]:
    """Every CRM-derived text a digest shows, as the renderers receive it (cleaned, unescaped)."""
    texts = [q.text for q in digest.quotes] + [q.account for q in digest.quotes]
    texts += [t.name for t in digest.themes]
    for table in digest.tables:
        texts += [cell.text if isinstance(cell, Link) else cell for row in table.rows for cell in row]
    return [t for t in texts if t]


def normalised(text: str) -> str:
    return re.sub(r"\s+", " ", text)


_SLACK_OUR_LINK = re.compile(r"<https://(?:crm|intranet)\.example/[^|<>\s]*(?:\|[^<>]*)?>")
_TEAMS_OUR_LINK = re.compile(r"(?<!\\)\[((?:\\.|[^\\\[\]])*)\]\(https://crm\.example/[^)\s]*\)")
_UNESCAPED_MARKDOWN = re.compile(r"(?<!\\)(?:\\\\)*[\[\]*_`~]")


def mrkdwn_texts(payload: Any) -> list[str]:
    """Every string value of a Slack or Teams payload that the client formats (Teams'
    fallbackText is plain text: notifications show it as it is)."""
    if isinstance(payload, dict):
        found = []
        for key, value in payload.items():
            if key in ("text", "title", "value") and isinstance(value, str):
                found.append(value)
            else:
                found += mrkdwn_texts(value)
        return found
    if isinstance(payload, list):
        return [text for item in payload for text in mrkdwn_texts(item)]
    return []


def check_html(html: str, tags: set[str], attributes: set[str], where: str) -> TagCollector:
    found = parsed(html)
    assert found.tags <= tags, f"{where}: tags of the text's own: {found.tags - tags}"
    assert found.attributes <= attributes, f"{where}: {found.attributes - attributes}"
    assert all(our_url(url) for url in found.urls), f"{where}: {found.urls}"
    return found


# Everything the issue names at once, in every field, with a 1 MB note.
EVERYTHING = ("<script>alert(1)</script><img src=x onerror=alert(1)> <!channel> <@U123> "
              '=HYPERLINK("http://evil","x") \x00 Caf\ufffd \u202eevil\u202c {{ 7*7 }} '
              "{% if true %}x{% endif %} [click me](https://evil.example)")


@RENDER_PROFILE
@given(texts=st.fixed_dictionaries({name: hostile_text(big=name in BIG_FIELDS) for name in FIELDS}),
       department=st.sampled_from(DEPARTMENTS))
@example(texts={name: EVERYTHING + (" word" * 200_000 if name == "body" else "")
                for name in FIELDS}, department="product")
@example(texts={name: "@" + EVERYTHING for name in FIELDS}, department="support")
def test_every_renderer_turns_hostile_mart_text_into_inert_output(marts, texts, department):
    """One department's digest per example (each has tables of its own), alerts and the list."""
    con, config, data_dir = marts.con, marts.config, marts.data_dir
    tags, attributes, md_tags = marts.tags, marts.attributes, marts.md_tags
    poison(con, texts)
    with tempfile.TemporaryDirectory(dir=data_dir) as folder:
        out = render_everything(con, config, Path(folder), (department,))

    for digest in out.digests:
        name = digest.department
        # HTML: no tag, attribute or URL of the text's own; every shown text displayed as written
        found = check_html(out.html[f"{name}.html"], tags, attributes, f"{name}.html")
        shown = normalised("".join(found.data))
        for text in shown_texts(digest):
            assert text in shown, f"{name}.html does not show {text!r} as written"
            assert text in out.text[f"{name}.txt"]  # plain text: as written, template syntax too
        assert not set(out.text[f"{name}.txt"]) & {"\u202e", "\x00"}
        for quote in digest.quotes:  # oversized text is cut and marked
            assert len(quote.text) <= QUOTE_CHARS
            if len(clean_text(texts["body"])) > QUOTE_CHARS:
                assert quote.text.endswith("…")
        # e-mail: a parseable MIME message, one-line subject, both parts inert
        message = email.message_from_bytes(out.emails[name], policy=email.policy.default)
        assert "\n" not in str(message["Subject"])
        check_html(html_part(out.emails[name]), tags, attributes, f"{name} e-mail")
        plain = message.get_body(preferencelist=("plain",)).get_content()
        assert "\u202e" not in plain and "\x00" not in plain
    check_html(html_part(out.emails["alerts"]), tags, attributes, "alerts e-mail")

    for where, text in out.markdown.items():  # Markdown: as a viewer shows it
        check_html(markdown_html(text), md_tags, attributes | {"alt"}, where)
    for where, size in {**{f"{k}.txt": len(v.encode()) for k, v in out.text.items()},
                        **{k: len(v.encode()) for k, v in out.html.items()},
                        **{k: len(v) for k, v in out.emails.items()}}.items():
        assert size < MAX_OUTPUT_BYTES, f"{where}: {size} bytes; a 1 MB note is never carried whole"

    for where, raw in out.slack.items():  # valid JSON within limits, no mention, link or markup
        payload = json.loads(raw)
        assert slack_violations(payload) == [], where
        for text in mrkdwn_texts(payload):
            rest = _SLACK_OUR_LINK.sub("", re.sub(r"(?m)^> ", "", text))  # our links, quotes
            assert "<" not in rest and ">" not in rest, f"slack {where}: {text[:300]!r}"
            assert not re.search(r"&(?!amp;|lt;|gt;)", rest), f"slack {where}: {text[:300]!r}"
    for where, raw in out.teams.items():
        payload = json.loads(raw)
        assert teams_violations(payload, raw) == [] and len(raw) <= TEAMS_MAX_BYTES, where
        card = payload["attachments"][0]["content"]
        assert "msteams" not in card  # no mention entities: "<at>" in a text stays literal
        for text in mrkdwn_texts(payload):
            rest = _TEAMS_OUR_LINK.sub(r"\1", text)
            assert not _UNESCAPED_MARKDOWN.search(rest), f"teams {where}: {text[:300]!r}"

    assert out.alert_json["new_or_changed"], "the alerts must still be listed, not dropped"
    assert out.csv_rows and len(out.csv_rows) == len(out.list_rows)
    for row, listed in zip(out.csv_rows, out.list_rows, strict=True):
        for column, value in row.items():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), (column, value)
            plain = "" if listed[column] is None else str(listed[column])
            if column not in ("eligible_from", "expires_on"):  # the text itself, quoted if need be
                assert value in (plain, "'" + plain), (column, value, plain)
        # the account's name goes into the opening line as written, template syntax and all
        assert listed["account"] in listed["suggested_opening_line"]
