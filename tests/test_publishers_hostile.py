"""Hostile CRM text through every format and channel arrives inert.

The fixture warehouse puts script tags, Slack control sequences, formula cells, right-to-left
overrides, emoji and a 1 MB note into account names, notes, plays and contacts.
"""

from __future__ import annotations

import csv
import email
import email.policy
import json

import pyarrow.parquet as pq
import pytest
from churnkb.publishers.alerts import publish_alerts
from churnkb.publishers.digests import publish_digests
from churnkb.publishers.reengagement import publish_reengagement
from fixtures.publishers import NOW, make_config

from churnkb.paths import DataPaths

ACTIVE_MARKUP = ("<script", "<img src=x", "onerror=alert(1)>", "<!channel>", "<@U123>",
                 "<https://evil", "\u202e")
MAX_OUTPUT_BYTES = 200_000  # a 1 MB note must never be carried whole


@pytest.fixture
def hostile_run(hostile_marts_dir, smtp, slack_receiver, teams_receiver, monkeypatch):
    port, state = smtp
    monkeypatch.setenv("TEST_SLACK", slack_receiver.url)
    monkeypatch.setenv("TEST_TEAMS", teams_receiver.url)
    everywhere = {"channels": ["file", "email", "slack", "teams"], "email": {"to": ["t@x.io"]},
                  "slack": {"webhook_env": "TEST_SLACK"}, "teams": {"webhook_env": "TEST_TEAMS"}}
    config = make_config(hostile_marts_dir, {
        "smtp": {"host": "127.0.0.1", "port": port},
        "departments": {name: everywhere for name in
                        ("product", "finance", "support", "customer_success", "sales")},
    })
    reports = [publish_digests(config, now=NOW), publish_alerts(config, now=NOW),
               publish_reengagement(config, now=NOW)]
    assert all(r.failed == 0 for r in reports), [r.rows() for r in reports]
    return hostile_marts_dir, state, slack_receiver, teams_receiver


# Teams renders neither HTML nor Slack's <...> sequences (literal text there); what it does act
# on is markdown links and <at> mentions.
TEAMS_ACTIVE = ("<script", "<img src=x", "<at>", "[click me](", "\u202e")


def _assert_inert(text: str, where: str, *, plain: bool = False) -> None:
    """Markup formats must hold no active sequence; plain text only no bidi override (nothing
    interprets '<@U123>' in a .txt file or a text/plain part)."""
    if where.endswith("teams.json") or where == "teams":
        needles = TEAMS_ACTIVE
    else:
        needles = ("\u202e",) if plain else ACTIVE_MARKUP
    for needle in needles:
        assert needle not in text, f"{needle!r} survived in {where}"


def test_digest_files_are_inert_and_small(hostile_run):
    data_dir = hostile_run[0]
    folder = DataPaths(data_dir).digests("2026-W47")
    files = [p for p in folder.iterdir() if p.suffix not in (".png", ".svg")]
    assert len(files) == 25
    for path in files:
        text = path.read_text(encoding="utf-8")
        _assert_inert(text, path.name, plain=path.suffix == ".txt")
        assert len(text.encode()) < MAX_OUTPUT_BYTES, path.name
    html = (folder / "product.html").read_text()
    assert "مرحبا بالعالم" in html and "👩‍💻" in html  # RTL and emoji text survive, escaped only
    assert "evil.example" not in (folder / "product.md").read_text().split("](")[0]


def test_email_parts_are_inert(hostile_run):
    _, state, _, _ = hostile_run
    assert len(state.messages) == 6  # five digests and one alert message
    for received in state.messages:
        assert len(received.data) < MAX_OUTPUT_BYTES * 2
        message = email.message_from_bytes(received.data, policy=email.policy.default)
        for kind in ("plain", "html"):
            body = message.get_body(preferencelist=(kind,)).get_content()
            _assert_inert(body, kind, plain=kind == "plain")
        assert "\n" not in message["Subject"]


def test_slack_and_teams_payloads_are_inert_and_within_limits(hostile_run):
    _, _, slack, teams = hostile_run
    assert slack.violations == [] and teams.violations == []
    assert len(slack.payloads) == 6 and len(teams.payloads) == 6
    for payload in slack.payloads:
        _assert_inert(json.dumps(payload, ensure_ascii=False), "slack")
    for payload in teams.payloads:
        text = json.dumps(payload, ensure_ascii=False)
        _assert_inert(text, "teams")


def test_reengagement_list_neutralises_formulas(hostile_run):
    folder = DataPaths(hostile_run[0]).reengagement
    with (folder / "2026-11-25.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows, "the hostile candidates must still be listed, not dropped"
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value
    assert any(row["contact"].startswith("'=HYPERLINK") for row in rows)
    assert any(row["contact"] == "'@Kim" for row in rows)
    table = pq.read_table(folder / "2026-11-25.parquet").to_pylist()
    assert len(table) == len(rows)
    for row in table:
        _assert_inert(json.dumps(row, default=str, ensure_ascii=False), "parquet")


def test_alert_files_are_inert(hostile_run):
    folder = DataPaths(hostile_run[0]).alerts
    for path in folder.iterdir():
        _assert_inert(path.read_text(encoding="utf-8"), path.name)
