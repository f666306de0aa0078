"""Daily alerts: what triggers them, once per item and state, and failure notices."""

from __future__ import annotations

import json
from datetime import timedelta

import duckdb
import pytest
from churnkb.publishers.alerts import publish_alerts
from churnkb.publishers.failures import notify_failure
from fixtures.publishers import NOW, make_config

from churnkb.paths import DataPaths


@pytest.fixture
def alert_config(marts_dir, slack_receiver, monkeypatch):
    monkeypatch.setenv("TEST_SLACK_CS", slack_receiver.url)
    return make_config(marts_dir, {"departments": {"customer_success": {
        "channels": ["file", "slack"], "slack": {"webhook_env": "TEST_SLACK_CS"}}}})


def _alerted(receiver, index: int) -> list[str]:
    return [b["text"]["text"] for b in receiver.payloads[index]["blocks"] if b["type"] == "section"]


def test_alerts_are_labelled_by_their_step_and_never_list_an_item_twice(alert_config,
                                                                        slack_receiver):
    report = publish_alerts(alert_config, now=NOW)
    assert report.sent == 2 and report.failed == 0
    record = json.loads((DataPaths(alert_config.data_dir).alerts / "2026-11-25.json").read_text())
    items = record["new_or_changed"]
    kinds = sorted({(i["alert_type"], i["title"], i["state"]) for i in items})
    assert kinds == [
        ("acknowledge", "Acknowledge the cancellation notice", "overdue"),
        ("data_handover", "Data hand-over", "due soon"),
        ("followup", "30-day follow-up", "due soon"),
        ("save", "Save opportunity above the threshold", "open at 52,000"),
    ]
    keys = [(i["alert_type"], i["item_id"]) for i in items]
    assert len(keys) == len(set(keys)) == 6 * 3 + 1
    saves = [i for i in items if i["alert_type"] == "save"]
    assert [s["account"] for s in saves] == ["Account 02 Ltd"]  # 5,000 is under the threshold
    assert saves[0]["detail"].startswith("Reason: Pricing and budget. Suggested play: ")  # not 'pricing'
    assert slack_receiver.violations == []
    lines = _alerted(slack_receiver, 0)
    assert len(lines) == 19 and len(set(lines)) == 19
    assert not any("feedback" in line.lower() and "acknowledge" in line.lower() for line in lines)


def test_an_alert_is_repeated_only_when_its_state_changes(alert_config, slack_receiver):
    publish_alerts(alert_config, now=NOW)
    rerun = publish_alerts(alert_config, now=NOW + timedelta(hours=2))
    assert rerun.sent == 0 and {i["status"] for i in rerun.items} == {"skipped"}
    # A later build: the hand-overs are now overdue, two acknowledgements were done since.
    con = duckdb.connect(str(DataPaths(alert_config.data_dir).warehouse))
    con.execute("update fct_offboarding_checklist_steps set alert_state = 'overdue', "
                "status = 'missing' where step_key = 'data_handover'")
    con.execute("update fct_offboarding_checklist_steps set alert_state = null, status = 'late', "
                "done_at = timestamp '2026-11-26 10:00' where step_key = 'acknowledge' "
                "and churn_event_id in ('cur-0', 'cur-1')")
    con.close()
    later = publish_alerts(alert_config, now=NOW + timedelta(days=3))
    assert later.sent == 2
    changed = _alerted(slack_receiver, 1)
    assert len(changed) == 6 and all("Data hand-over (overdue)" in line for line in changed)
    assert len(slack_receiver.payloads) == 2


def test_failure_notice_reaches_the_failure_channels_without_secrets(marts_dir, slack_receiver,
                                                                     monkeypatch):
    monkeypatch.setenv("TEST_SLACK_OPS", slack_receiver.url)
    monkeypatch.setenv("SALESFORCE_ACCESS_TOKEN", "sf-very-secret-token")
    config = make_config(marts_dir, {"failures": {"channels": ["file", "slack"],
                                                  "slack": {"webhook_env": "TEST_SLACK_OPS"}}})
    notify_failure(config, "sync-salesforce", "401 for token sf-very-secret-token\n<!channel>")
    text = json.dumps(slack_receiver.payloads[0])
    assert "sync-salesforce" in text and "sf-very-secret-token" not in text
    assert "<!channel>" not in text
    log = (DataPaths(marts_dir).failures / "failures.jsonl").read_text()
    assert "sync-salesforce" in log and "sf-very-secret-token" not in log


def test_failure_notice_never_raises_when_a_channel_is_down(marts_dir):
    config = make_config(marts_dir, {"failures": {"channels": ["slack"],
                                                  "slack": {"webhook_env": "UNSET_WEBHOOK"}}})
    notify_failure(config, "build-warehouse", "boom")  # logged, not raised
    assert (DataPaths(marts_dir).failures / "failures.jsonl").exists()
