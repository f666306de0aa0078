"""Sends after crashes: a torn ledger line, a publish killed mid-send, and what a re-run does.

Mail is counted in the real loopback SMTP server and posts at loopback webhook receivers; the
ledger is the file a power loss or a SIGKILL leaves behind.
"""

from __future__ import annotations

import email
import email.policy
import json
import logging
import os
import signal
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from churnkb.publishers.digests import publish_digests
from churnkb.publishers.ledger import Ledger
from fixtures.publishers import CURRENT_WEEK, NOW, keyed_receiver, make_config

from churnkb.paths import DataPaths

WEEK_BEFORE = CURRENT_WEEK - timedelta(weeks=1)  # 2026-W46: the fixture marts have churn in it


def _publishing(port: int, channels: list[str], department: str = "product") -> dict[str, Any]:
    """``department`` on ``channels``; the others keep the default (files only)."""
    spec = {"channels": channels, "email": {"to": ["team@example.com"]},
            "slack": {"webhook_env": "TEST_SLACK"}}
    return {"smtp": {"host": "127.0.0.1", "port": port, "sender": "churnkb@example.com"},
            "departments": {department: spec}}


def _sent(report, department: str) -> list[dict[str, Any]]:
    return [i for i in report.items if i["department"] == department and i["status"] == "sent"]


def _message_ids(state) -> list[str]:
    return [email.message_from_bytes(m.data, policy=email.policy.default)["Message-ID"]
            for m in state.messages]


def _ledger_lines(data_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in DataPaths(data_dir).ledger.read_bytes().splitlines()]


def _tear_last_line(path: Path, keep: int) -> bytes:
    """Power loss mid-write: only the first ``keep`` bytes of the last line reached the disk."""
    data = path.read_bytes()
    start = data.rstrip(b"\n").rfind(b"\n") + 1
    path.write_bytes(data[:start + keep])
    return data[start:start + keep]


def _torn_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.levelno == logging.WARNING and "torn" in r.getMessage()]


@pytest.mark.parametrize("torn", ["result-of-a-send", "intent-of-a-send-never-made"])
def test_a_torn_ledger_line_is_reported_once_and_the_next_two_publishes_send_nothing_twice(
        torn, marts_dir, smtp, slack_receiver, monkeypatch, caplog):
    port, mail = smtp
    monkeypatch.setenv("TEST_SLACK", slack_receiver.url)
    config = make_config(marts_dir, _publishing(port, ["file", "email", "slack"]))
    assert len(_sent(publish_digests(config, now=NOW), "product")) == 3     # 2026-W47
    ledger = DataPaths(marts_dir).ledger
    whole = ledger.read_bytes()
    if torn == "result-of-a-send":  # the slack result, torn after its attempt id
        fragment = _tear_last_line(ledger, 90)
    else:  # the intent of a W46 send: the power went before the send started
        intent = {"event": "intent", "attempt": "0" * 32, "send_id": "x", "kind": "digest",
                  "channel": "email", "items": [["product|2026-W46", ""]]}
        fragment = json.dumps(intent).encode()[:57]
        ledger.write_bytes(whole + fragment)
    offset = len(ledger.read_bytes()) - len(fragment)

    caplog.set_level(logging.WARNING, logger="churnkb.publishers.ledger")
    second = publish_digests(config, period_end=WEEK_BEFORE, now=NOW)     # 2026-W46: new
    third = publish_digests(config, period_end=WEEK_BEFORE, now=NOW)      # a re-run
    again = publish_digests(config, now=NOW)                               # W47 again

    assert second.failed == 0 and len(_sent(second, "product")) == 3, second.rows()
    assert third.failed == 0 and third.sent == 0 and again.failed == 0 and again.sent == 0
    # Each message once: two digests (W47, W46), each by mail and by Slack.
    assert len(mail.messages) == 2 and len(set(_message_ids(mail))) == 2
    assert len(slack_receiver.payloads) == 2 and slack_receiver.requests_seen == 2
    warnings = _torn_warnings(caplog)
    assert len(warnings) == 1, warnings
    assert str(ledger) in warnings[0] and f"byte offset {offset}" in warnings[0]
    aside = json.loads(ledger.with_name("ledger.jsonl.torn").read_text())
    assert aside["offset"] == offset and aside["fragment"] == fragment.decode()
    assert ledger.read_bytes().endswith(b"\n")
    assert len(_ledger_lines(marts_dir)) > 0  # every line whole JSON


@pytest.mark.parametrize("channel", ["email", "slack"])
def test_a_send_whose_result_is_lost_is_sent_again_under_the_same_id(channel, marts_dir, smtp,
                                                                     monkeypatch):
    """Torn before its attempt id, a result is unknowable: the send may have happened. Mail
    goes again with the same Message-ID, a webhook post with the same Idempotency-Key."""
    port, mail = smtp
    with keyed_receiver() as hook:
        monkeypatch.setenv("TEST_SLACK", hook.url)
        # sales is the last department, so its send is the ledger's last line
        config = make_config(marts_dir, _publishing(port, [channel], "sales"))
        assert [i["channel"] for i in _sent(publish_digests(config, now=NOW), "sales")] == [
            "file", channel]
        _tear_last_line(DataPaths(marts_dir).ledger, 20)
        rerun = publish_digests(config, now=NOW)
        assert rerun.sent == 1 and rerun.failed == 0
        resent = _sent(rerun, "sales")[0]
        assert resent["channel"] == channel and "re-sent" in resent["detail"]
        assert publish_digests(config, now=NOW).sent == 0
    send_id = resent["detail"].rsplit(" ", 1)[1].rstrip(")")
    if channel == "email":
        assert len(mail.messages) == 2 and len(set(_message_ids(mail))) == 1
        assert send_id in _message_ids(mail)[0]
    else:
        assert len(hook.posts) == 2 and hook.unique_posts() == 1
        assert hook.posts[0][0] == send_id


def test_publish_killed_while_a_slow_webhook_answers_reposts_only_under_the_same_key(
        marts_dir, smtp, tmp_path):
    """At least once (README, "What a send guarantees"): the killed run's post may have landed,
    so the re-run posts again, with the same Idempotency-Key; mail sent before it is not resent."""
    port, mail = smtp
    config_file = tmp_path / "churnkb.yaml"
    config_file.write_text(yaml.safe_dump({"publishing": _publishing(port,
                                                                     ["file", "email", "slack"])}))
    with keyed_receiver() as hook:
        hook.hold = threading.Event()
        env = {**os.environ, "TEST_SLACK": hook.url}
        command = [sys.executable, "-m", "churnkb", "--config", str(config_file), "--data-dir",
                   str(marts_dir), "publish", "digests", "--period", "2026-W47"]
        killed = subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)
        try:
            assert hook.arrived.wait(120), killed.communicate(timeout=5)
        finally:
            killed.send_signal(signal.SIGKILL)
            killed.wait(30)
        hook.hold.set()  # the receiver posts it after all, as Slack would
        assert killed.returncode == -signal.SIGKILL
        assert len(mail.messages) == 1  # mail went before the webhook

        rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        assert rerun.returncode == 0, rerun.stderr
        assert "re-sent" in rerun.stdout and "Idempotency-Key" in rerun.stdout
        last = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        assert last.returncode == 0 and "digests: 0 sent" in last.stdout, last.stdout

    assert len(mail.messages) == 1
    assert len(hook.posts) == 2 and hook.posts[0][0] == hook.posts[1][0] is not None
    assert hook.unique_posts() == 1
    ledger = Ledger.for_data_dir(marts_dir)
    assert ledger.was_sent("digest", "product|2026-W47", "slack")
    assert ledger.unconfirmed("digest", "slack", [("product|2026-W47", "")]) is None


# -- write-back after the Salesforce session expires ----------------------------------------------

WRITE_BACK_TASKS = 15


def _many_candidates(warehouse: Path) -> None:
    """Fifteen (account, trigger) pairs, each with its own contact, all eligible today."""
    import duckdb

    today = NOW.date()
    con = duckdb.connect(str(warehouse))
    try:
        con.execute("delete from mart_reengagement_people")
        con.executemany(
            "insert into mart_reengagement_people values (?,?,?,?,?,?,?,?,?,?,?)",
            [(f"acc-{i % 10 + 1:02d}", f"person{i}@account{i % 10 + 1}.example", f"Person {i}",
              ("followup_30d", "cooldown_elapsed")[i // 10], "why now", "product", 2,
              today - timedelta(days=1), today + timedelta(days=30), [], None)
             for i in range(WRITE_BACK_TASKS)])
    finally:
        con.close()


def test_write_back_logs_in_again_when_the_session_expires_and_every_task_lands(tmp_path,
                                                                                monkeypatch):
    from churnkb.publishers.reengagement import publish_reengagement
    from churnkb.sandbox.faults import Faults
    from churnkb.sandbox.generator import generate_world
    from churnkb.sandbox.salesforce_server import (
        DEFAULT_CLIENT_ID,
        DEFAULT_CLIENT_SECRET,
        SalesforceSandbox,
    )
    from fixtures.publishers import build_marts

    world = generate_world(accounts=20, seed=11)
    accounts = [r for r in world.salesforce["Account"] if not r.get("IsDeleted")][:10]
    assert len(accounts) == 10
    crm_ids = {f"acc-{i + 1:02d}": (a["Id"], a["OwnerId"], None, None)
               for i, a in enumerate(accounts)}
    data_dir = tmp_path / "data"
    build_marts(DataPaths(data_dir).warehouse, crm_ids=crm_ids)
    _many_candidates(DataPaths(data_dir).warehouse)
    # The session dies after every 5 requests (each task costs a look-up and a create).
    org = SalesforceSandbox(world.salesforce, faults=Faults(expire_session_after=5))
    monkeypatch.setenv("SALESFORCE_INSTANCE_URL", org.start())
    try:
        monkeypatch.setenv("SALESFORCE_ACCESS_TOKEN", org.token)
        monkeypatch.setenv("SALESFORCE_CLIENT_ID", DEFAULT_CLIENT_ID)
        monkeypatch.setenv("SALESFORCE_CLIENT_SECRET", DEFAULT_CLIENT_SECRET)
        config = make_config(data_dir)
        first = publish_reengagement(config, now=NOW, write_back=True)
        again = publish_reengagement(config, now=NOW, write_back=True)
        statuses = [r.status for r in org.request_log]
        logins = org.requests_for("/services/oauth2/token")
    finally:
        org.stop()

    written = [i for i in first.items if i["kind"] == "writeback"]
    assert [i["status"] for i in written] == ["sent"] * WRITE_BACK_TASKS, [i["detail"] for i in written if i["status"] != "sent"]
    tasks = [t for t in org.store["Task"].values() if "[churnkb " in (t.get("Subject") or "")]
    assert len(tasks) == WRITE_BACK_TASKS == len({(t["WhatId"], t["Subject"]) for t in tasks})
    assert statuses.count(401) >= 5 and logins >= 5  # it did expire, and it did log in again
    assert [i["status"] for i in again.items if i["kind"] == "writeback"] == [
        "skipped"] * WRITE_BACK_TASKS
