"""Escaping, trimming and the PNG chart: the building blocks every format relies on."""

from __future__ import annotations

import struct
from datetime import date

from churnkb.publishers.chart import (
    CATEGORY_COLOURS,
    CHART_HEIGHT,
    CHART_WIDTH,
    ChartData,
    render_chart,
    render_chart_svg,
)
from churnkb.publishers.periods import last_complete_period, period_containing
from churnkb.publishers.text import (
    clean_text,
    escape_markdown,
    escape_slack,
    neutralise_csv_cell,
    quote_text,
)


def test_clean_text_strips_html_scripts_and_bidi_overrides_but_keeps_rtl_and_emoji():
    raw = "<p>Hi <b>there</b></p><script>alert(1)</script>\u202eevil\u202c שלום 👩‍💻"
    assert clean_text(raw) == "Hi there evil שלום 👩‍💻"


def test_quotes_are_trimmed_at_a_word_boundary():
    quote = quote_text("word " * 100_000)
    assert len(quote) <= 280 and quote.endswith("…") and not quote.endswith(" …")


def test_slack_control_sequences_are_escaped():
    assert escape_slack("<!channel> & <@U123>") == "&lt;!channel&gt; &amp; &lt;@U123&gt;"


def test_markdown_cannot_open_links_or_raw_html():
    assert escape_markdown("[x](http://e) <b>") == "\\[x\\](http://e) &lt;b&gt;"


def test_csv_formula_prefixes_are_neutralised():
    cells = ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "ok", 5]
    assert [neutralise_csv_cell(c) for c in cells] == [
        "'=1+1", "'+1", "'-1", "'@SUM(A1)", "'\tx", "'\rx", "ok", 5]


def test_chart_renders_png_and_svg_with_year_labelled_periods_and_the_okabe_ito_palette():
    data = ChartData(["2026-W46", "2026-W47"], ["46", "47"], {"product": [1, 2], "pricing": [3, 0]},
                     title="Churned accounts routed to Product, by reason")
    png = render_chart(data)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (CHART_WIDTH * 2, CHART_HEIGHT * 2)  # drawn at 2x for sharp screens
    svg = render_chart_svg(data).decode()
    assert svg.lstrip().startswith(("<?xml", "<svg"))
    for text in ("2026 W46", "2026 W47", "Churned accounts routed to Product", "product", "pricing"):
        assert text in svg, text
    assert CATEGORY_COLOURS["product"].lower() in svg.lower()
    assert render_chart_svg(data) == render_chart_svg(data)  # deterministic output


def test_monthly_chart_labels_name_the_month_and_year():
    data = ChartData(["2026-10", "2026-11"], ["10", "11"], {"pricing": [1000.0, 2500.0]},
                     measure="revenue")
    svg = render_chart_svg(data).decode()
    assert "Oct 2026" in svg and "Nov 2026" in svg and "2k" in svg



def test_periods():
    week = period_containing(date(2026, 11, 18), "weekly")
    assert (week.label, week.start, week.end) == ("2026-W47", date(2026, 11, 16),
                                                  date(2026, 11, 23))
    assert last_complete_period(date(2026, 11, 25), "weekly") == week
    month = last_complete_period(date(2026, 1, 10), "monthly")
    assert (month.label, month.last_day) == ("2025-12", date(2025, 12, 31))
    assert [p.label for p in week.history(3)] == ["2026-W45", "2026-W46", "2026-W47"]


def _huge_digest():
    from churnkb.publishers.chart import ChartData
    from churnkb.publishers.content import Digest, Link, Metric, Quote, Table, Theme
    from churnkb.publishers.periods import period_containing

    rows = [[Link(f"Account {i} " + "x" * 60, f"https://crm.example/{i}"), "Owner <@U1>",
             "product", "1,000", "2026-11-18"] for i in range(600)]
    quotes = [Quote("q" * 280, "SSO", f"Account {i}", "Owner", None, None) for i in range(10)]
    return Digest("product", period_containing(date(2026, 11, 18), "weekly"),
                  [Metric("Churned accounts", 600, 1), Metric("Revenue lost", 6e5, 0, True),
                   Metric("Feedback items", 10, 0)],
                  [Theme(f"theme {i}", 1, 0, 1.0) for i in range(5)], quotes,
                  [Table("Accounts behind it", ["Account", "Owner", "Reason", "Amount", "Date"],
                         rows)],
                  ChartData(["a"], ["01"], {"product": [1]}),
                  full_digest_url="https://intranet.example/digests/2026-W47/product.html")


def test_oversized_digests_are_trimmed_for_slack_and_teams_with_a_pointer():
    import json

    from churnkb.publishers.render import to_slack, to_teams
    from fixtures.publishers import slack_violations, teams_violations

    digest = _huge_digest()
    slack = to_slack(digest)
    assert slack_violations(slack) == []
    assert "Trimmed to fit Slack" in slack["blocks"][-1]["elements"][0]["text"]
    assert "intranet.example/digests/2026-W47/product.html" in json.dumps(slack)
    teams = to_teams(digest)
    raw = json.dumps(teams, ensure_ascii=False).encode()
    assert teams_violations(teams, raw) == []
    body = teams["attachments"][0]["content"]["body"]
    assert body[-1]["text"].startswith("Truncated to fit Teams")
    assert teams["attachments"][0]["content"]["actions"][0]["url"].startswith("https://intranet")


def test_a_theme_new_this_period_reads_new_not_up_from_nothing():
    from churnkb.publishers.content import Digest, Metric, Theme
    from churnkb.publishers.render import to_html, to_markdown, to_text

    themes = [Theme("SSO", 2, 0, 10.0, 1), Theme("Pricing", 5, 3, 20.0, 4), Theme("Support", 2, 2, 0.0, 2)]
    digest = Digest("product", period_containing(date(2026, 11, 18), "weekly"),
                    [Metric("Churned accounts", 3, 1)], themes, [], [], ChartData([], [], {}))
    html, markdown, text = to_html(digest, None), to_markdown(digest), to_text(digest)
    assert "▲ 0" not in html + markdown + text
    assert "| SSO | 2 | 1 | new |" in markdown and "| Pricing | 5 | 4 | 3 |" in markdown
    assert ">new</td>" in html
    assert "SSO: 2 mentions from 1 account (new this period)" in text
    assert "Pricing: 5 mentions from 4 accounts (▲ from 3 the period before)" in text
