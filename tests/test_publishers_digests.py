"""Digests end to end: marts -> files, real SMTP on loopback, Slack/Teams receivers, the ledger."""

from __future__ import annotations

import email
import email.policy
import json
from datetime import date, timedelta

import pytest
from churnkb.publishers.digests import publish_digests
from churnkb.publishers.ledger import Ledger
from fixtures.publishers import CURRENT_WEEK, NOW, make_config, smtp_server

from churnkb.cli import main as cli_main
from churnkb.paths import DataPaths

DEPARTMENTS = ("product", "finance", "support", "customer_success", "sales")


@pytest.fixture(params=["fixture-marts", "dbt-marts"])
def wired(request, smtp, slack_receiver, teams_receiver, monkeypatch):
    """Every department on every channel, over our fixture marts and over the marts dbt built
    from a generated world (so channel behaviour stays tested while the warehouse changes)."""
    if request.param == "dbt-marts":
        data_dir, now, week = request.getfixturevalue("real_marts")
    else:
        data_dir, now, week = request.getfixturevalue("marts_dir"), NOW, CURRENT_WEEK
    port, state = smtp
    monkeypatch.setenv("TEST_SLACK", slack_receiver.url)
    monkeypatch.setenv("TEST_TEAMS", teams_receiver.url)
    everywhere = {"channels": ["file", "email", "slack", "teams"],
                  "email": {"to": ["team@example.com"]},
                  "slack": {"webhook_env": "TEST_SLACK"}, "teams": {"webhook_env": "TEST_TEAMS"}}
    config = make_config(data_dir, {
        "smtp": {"host": "127.0.0.1", "port": port, "sender": "churnkb@example.com"},
        "link_base": {"salesforce": "https://acme.my.salesforce.com"},
        "departments": dict.fromkeys(DEPARTMENTS, everywhere),
    })
    return config, state, slack_receiver, teams_receiver, now, week


def _published(report) -> set[str]:
    return {i["department"] for i in report.items if i["channel"] == "file"
            and i["status"] == "sent"}


def test_every_department_gets_its_digest_files(marts_dir):
    report = publish_digests(make_config(marts_dir), now=NOW)
    assert _published(report) == set(DEPARTMENTS)
    folder = DataPaths(marts_dir).digests("2026-W47")
    product_md = (folder / "product.md").read_text()
    assert "Feature requests" in product_md and "SSO" in product_md
    assert "Revenue lost: 113,000" in product_md
    assert (folder / "product.png").read_bytes().startswith(b"\x89PNG")
    assert "Involuntary churn" in (folder / "finance.md").read_text()
    assert "Service complaints" in (folder / "support.txt").read_text()
    assert "Rival CRM" in (folder / "sales.html").read_text()
    cs = (folder / "customer_success.md").read_text()
    assert "Checklist breaches" in cs and "Follow-ups due" in cs


def test_email_arrives_with_both_parts_inline_chart_and_headers(wired):
    config, state, _, _, now, week = wired
    report = publish_digests(config, period_end=week, now=now)
    assert report.failed == 0
    departments = _published(report)
    assert departments and len(state.messages) == len(departments)
    received = state.messages[0]
    assert received.rcpt_to == ["team@example.com"]
    message = email.message_from_bytes(received.data, policy=email.policy.default)
    assert message.get_content_type() == "multipart/alternative"
    assert message["Subject"].startswith("[churnkb] ") and " churned company-wide (" in message[
        "Subject"]
    assert message["From"] == "churnkb@example.com" and message["Message-ID"]
    plain = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "Company-wide:" in plain and "Churned accounts:" in plain and "Routed to " in plain
    related = [p for p in message.walk() if p.get_content_type() == "multipart/related"]
    assert related, "the HTML part and its chart must be multipart/related"
    image = next(p for p in message.walk() if p.get_content_type() == "image/png")
    cid = image["Content-ID"].strip("<>")
    assert f'src="cid:{cid}"' in html
    assert image.get_content().startswith(b"\x89PNG")
    assert "<script" not in html and "https://acme.my.salesforce.com/" in html


def test_slack_and_teams_payloads_respect_limits(wired):
    config, _, slack, teams, now, week = wired
    departments = _published(publish_digests(config, period_end=week, now=now))
    assert slack.violations == [] and teams.violations == []
    assert len(slack.payloads) == len(teams.payloads) == len(departments)
    blocks = slack.payloads[0]["blocks"]
    assert blocks[0]["type"] == "header" and "Churn digest" in blocks[0]["text"]["text"]
    assert "Full digest:" in json.dumps(blocks[-1])
    card = teams.payloads[0]["attachments"][0]["content"]
    assert card["type"] == "AdaptiveCard" and card["fallbackText"].startswith("[churnkb] ")


def test_rerun_of_a_period_sends_nothing_new(wired):
    config, state, slack, teams, now, week = wired
    first = publish_digests(config, period_end=week, now=now)
    second = publish_digests(config, period_end=week + timedelta(days=3), now=now)
    assert first.sent == 4 * len(_published(first))
    assert second.sent == 0 and second.failed == 0
    assert {item["status"] for item in second.items} <= {"skipped", "empty"}
    assert len(state.messages) == len(slack.payloads) == len(teams.payloads) == len(
        _published(first))


def test_a_failing_channel_does_not_stop_the_others_and_a_retry_sends_only_it(wired):
    config, state, slack, teams, now, week = wired
    slack.fail_with = 500
    first = publish_digests(config, period_end=week, now=now)
    departments = _published(first)
    failed = [item for item in first.items if item["status"] == "failed"]
    assert {i["channel"] for i in failed} == {"slack"} and len(failed) == len(departments)
    assert "HTTP 500" in failed[0]["detail"] and "TEST_SLACK" in failed[0]["detail"]
    assert "SECRETPART" not in failed[0]["detail"]  # the webhook URL is a secret
    assert len(state.messages) == len(teams.payloads) == len(departments)
    slack.fail_with = None
    retry = publish_digests(config, period_end=week, now=now)
    assert {i["channel"] for i in retry.items if i["status"] == "sent"} == {"slack"}
    assert retry.sent == len(departments) == len(slack.payloads)
    assert len(state.messages) == len(teams.payloads) == len(departments)


def test_a_throttled_webhook_is_retried_after_retry_after(marts_dir, slack_receiver,
                                                         monkeypatch):
    monkeypatch.setenv("TEST_SLACK", slack_receiver.url)
    slack_receiver.throttle_first = 2
    config = make_config(marts_dir, {"departments": {"sales": {
        "channels": ["slack"], "slack": {"webhook_env": "TEST_SLACK"}}}})
    report = publish_digests(config, now=NOW)
    assert report.failed == 0 and len(slack_receiver.payloads) == 1
    assert slack_receiver.requests_seen == 3


def test_missing_webhook_secret_and_smtp_outage_are_reported_with_what_to_fix(marts_dir):
    with smtp_server() as (port, _):
        pass  # the server is gone: nothing listens on this port any more
    config = make_config(marts_dir, {
        "smtp": {"host": "127.0.0.1", "port": port},
        "departments": {"support": {"channels": ["email", "slack"], "email": {"to": ["s@x.io"]},
                                    "slack": {"webhook_env": "NOT_SET_ANYWHERE"}}},
    })
    report = publish_digests(config, now=NOW)
    details = {i["channel"]: i["detail"] for i in report.items
               if i["department"] == "support" and i["status"] == "failed"}
    assert "NOT_SET_ANYWHERE" in details["slack"]
    assert "publishing.smtp" in details["email"]
    assert any(i["department"] == "support" and i["channel"] == "file" and i["status"] == "sent"
               for i in report.items)


def test_no_empty_digests(marts_dir):
    report = publish_digests(make_config(marts_dir), period_end=date(2025, 1, 5), now=NOW)
    assert {item["status"] for item in report.items} == {"empty"}
    assert not DataPaths(marts_dir).digests("2025-W01").exists()


def test_starttls_and_login(marts_dir, tmp_path, monkeypatch):
    from fixtures.publishers_tls import loopback_tls

    server_context, ca_file = loopback_tls(tmp_path)
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "s3cret-pass")
    with smtp_server(server_context, ("churnkb", "s3cret-pass")) as (port, state):
        config = make_config(marts_dir, {
            "smtp": {"host": "127.0.0.1", "port": port, "starttls": True, "username": "churnkb",
                     "password_env": "TEST_SMTP_PASSWORD", "ca_file": str(ca_file)},
            "departments": {"finance": {"channels": ["email"], "email": {"to": "cfo@x.io"}}},
        })
        report = publish_digests(config, now=NOW)
    assert report.failed == 0
    assert [(m.tls, m.auth_user) for m in state.messages] == [(True, "churnkb")]


def test_cli_publish_digests_and_dry_run(marts_dir, capsys):
    args = ["--data-dir", str(marts_dir), "publish", "digests", "--period", "2026-W47"]
    assert cli_main([*args, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "dry run" in out
    # what would go out: channel, where to, subject, size and the first lines
    assert "by file into " in out and "subject: [churnkb] Finance 2026-W47:" in out
    assert " bytes; preview: " in out and "Company-wide" in out
    assert not Ledger.for_data_dir(marts_dir).path.exists()
    assert cli_main(args) == 0
    assert "5 sent" in capsys.readouterr().out
    assert cli_main(args) == 0
    assert "0 sent" in capsys.readouterr().out
    assert cli_main([*args[:-1], "2026-13-99"]) == 2


def test_cli_period_written_as_a_month_publishes_that_month(marts_dir, capsys):
    month = NOW.strftime("%Y-%m")
    assert cli_main(["--data-dir", str(marts_dir), "publish", "digests", "--period", month]) == 0
    out = capsys.readouterr().out
    assert f" {month} " in out and "-W" not in out
    assert list((marts_dir / "outputs" / "digests" / month).glob("*.md"))


def test_the_demo_summary_names_the_departments_with_nothing_to_report():
    from churnkb.flows.summary import nothing_to_report

    result = {"published": {"digests": {"rows": [
        {"department": "finance", "status": "sent", "channel": "file"},
        {"department": "sales", "status": "empty", "channel": None},
        {"department": "support", "status": "empty", "channel": None}]}}}
    assert nothing_to_report(result) == ["sales", "support"]
