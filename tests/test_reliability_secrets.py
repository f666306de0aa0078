"""No secret value anywhere: runs whose every channel fails with an error body that echoes the
request (its path, query and headers), then a scan of stdout, stderr, the logs, the Prefect
database and the data directory for each secret and each meaningful part of it."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
import yaml
from fixtures.loopback import loopback_http_server, serving
from fixtures.publishers import smtp_server

from churnkb.secrets import redact

SLACK_TOKEN = "xoxbEchoedWebhookToken42"
TEAMS_SIG = "SIGvalueTopSecret123%2Bx"
SECRETS = {
    "SALESFORCE_ACCESS_TOKEN": "00Dsandbox!sf-session-should-never-appear",
    "HUBSPOT_ACCESS_TOKEN": "pat-na1-hubspot-secret-token-77",
    "SMTP_PASSWORD": "wrong-but-secret-smtp-pw",
}
# Parts of the platforms' own URL shapes (Slack /services/, Teams /webhookb2/.../IncomingWebhook/):
# public words, the same in everyone's URL.
PUBLIC_PARTS = {"services", "webhookb2", "IncomingWebhook"}
MEANINGFUL = 8


def telling_parts(value: str) -> set[str]:
    """The value, and for a URL its path, each path segment and query value of 8+ characters."""
    parts = {value}
    if "://" in value:
        split = urlsplit(value)
        parts |= {split.path, unquote(split.path)}
        parts |= {s for s in split.path.split("/") if len(s) >= MEANINGFUL}
        for pair in split.query.split("&"):
            raw = pair.partition("=")[2]
            parts |= {v for v in (raw, unquote(raw)) if len(v) >= MEANINGFUL}
    return {p for p in parts if p and p not in PUBLIC_PARTS}


class EchoServer:
    """Answers every request with ``status`` and a body that quotes the request back: method,
    path with query (raw and percent-encoded), and every header (Authorization included)."""

    def __init__(self, status: int) -> None:
        from http.server import BaseHTTPRequestHandler

        echo = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
                from urllib.parse import quote

                body = json.dumps({
                    "error": "no_such_hook", "padding": "x" * 150,
                    "request": f"{self.command} {self.path}", "encoded": quote(self.path, safe=""),
                    "headers": dict(self.headers)}).encode()
                self.send_response(echo.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PATCH = _answer  # noqa: N815

            def log_message(self, *args: Any) -> None:
                pass

        self.status = status
        self.server = loopback_http_server(Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    @contextmanager
    def running(self) -> Iterator[EchoServer]:
        with serving(self.server):
            yield self


@pytest.fixture
def hostile_world(marts_dir, monkeypatch) -> Iterator[tuple[Path, dict[str, str], dict]]:
    """Every channel and both CRMs answer with an error that echoes the request."""
    with EchoServer(500).running() as hooks, EchoServer(400).running() as crm, smtp_server(
            credentials=("churnkb", "the-right-password")) as (port, mail):
        secrets = {
            **SECRETS,
            "ECHO_SLACK": f"{hooks.base}/services/T0SECRET1/B0SECRET2/{SLACK_TOKEN}",
            "ECHO_TEAMS": (f"{hooks.base}/webhookb2/3f2a9c1e-5b7d-4e8a-9c0f-1a2b3c4d5e6f@"
                           f"7a8b9c0d-1e2f-4a5b-8c7d-6e5f4a3b2c1d/IncomingWebhook/"
                           f"0123456789abcdef0123456789abcdef/9e8d7c6b-5a4f-4e3d-2c1b-0a9f8e7d6c5b"
                           f"?api=1&sig={TEAMS_SIG}"),
        }
        env = {**secrets, "SALESFORCE_INSTANCE_URL": crm.base, "HUBSPOT_BASE_URL": crm.base}
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        everywhere = {"channels": ["file", "email", "slack", "teams"],
                      "email": {"to": ["team@example.com"]},
                      "slack": {"webhook_env": "ECHO_SLACK"}, "teams": {"webhook_env": "ECHO_TEAMS"}}
        publishing = {
            "smtp": {"host": "127.0.0.1", "port": port, "username": "churnkb",
                     "sender": "churnkb@example.com"},
            "departments": dict.fromkeys(
                ("product", "finance", "support", "customer_success", "sales"), everywhere),
            "failures": {"channels": ["file", "slack"], "slack": {"webhook_env": "ECHO_SLACK"}},
            "reengagement": {"write_back": True},
        }
        yield marts_dir, secrets, publishing
        assert not mail.messages  # the password is wrong: nothing could go out


def _scan(texts: dict[str, str], secrets: dict[str, str]) -> list[str]:
    found = []
    for name, value in secrets.items():
        for part in telling_parts(value):
            found += [f"{name} part {part!r} in {where}" for where, text in texts.items()
                      if part in text]
    return found


def _files(root: Path) -> dict[str, str]:
    return {str(p): p.read_bytes().decode("utf-8", "replace")
            for p in root.rglob("*") if p.is_file()}


def test_failing_channels_that_echo_the_request_leak_no_secret_anywhere(
        hostile_world, prefect_harness, tmp_path, monkeypatch, capfd, caplog):
    from churnkb.flows import churn
    from prefect.settings import (
        PREFECT_LOGGING_TO_API_ENABLED,
        PREFECT_SERVER_DATABASE_CONNECTION_URL,
        temporary_settings,
    )

    data_dir, secrets, publishing = hostile_world
    texts: dict[str, str] = {}

    # 1. The CLI, with --debug (every library's log lines on stderr, tracebacks included).
    config_file = tmp_path / "churnkb.yaml"
    config_file.write_text(yaml.safe_dump({"publishing": publishing}))
    for what in ("digests", "alerts", "reengagement"):
        period = ["--period", "2026-W47"] if what == "digests" else []
        run = subprocess.run(
            [sys.executable, "-m", "churnkb", "--debug", "--config", str(config_file),
             "--data-dir", str(data_dir), "publish", what, *period],
            env=os.environ.copy(), capture_output=True, text=True, timeout=300)
        assert run.returncode in (1, 3), run.stderr[-2000:]
        assert "failed" in run.stdout
        texts[f"cli {what} stdout"], texts[f"cli {what} stderr"] = run.stdout, run.stderr

    # 2. The Prefect flows (retries and the failure notice included), logging to the API.
    monkeypatch.setattr(churn, "publish_task",
                        churn.publish_task.with_options(retry_delay_seconds=0))
    caplog.set_level(logging.DEBUG)
    with temporary_settings(updates={PREFECT_LOGGING_TO_API_ENABLED: True}):
        states = [churn.publish_digests(str(config_file), str(data_dir), "2026-W47",
                                        return_state=True),
                  churn.publish_alerts(str(config_file), str(data_dir), return_state=True),
                  churn.publish_reengagement(str(config_file), str(data_dir), return_state=True)]
        database = Path(PREFECT_SERVER_DATABASE_CONNECTION_URL.value().split(":///", 1)[1])
    assert all(state.is_failed() for state in states)
    notices = (data_dir / "outputs" / "failures" / "failures.jsonl").read_text()
    assert "publish-digests" in notices
    captured = capfd.readouterr()
    texts["flows stdout"], texts["flows stderr"] = captured.out, captured.err
    formatter = logging.Formatter("%(name)s %(message)s")
    texts["log records"] = "\n".join(formatter.format(r) for r in caplog.records)
    texts |= _files(database.parent)                      # the Prefect database (and its WAL)
    texts |= _files(Path(os.environ["PREFECT_HOME"]))
    texts |= _files(data_dir)                             # ledger, outputs, failure notices

    # The runs did meet the echoes: the failures are reported with the status and the body.
    assert "HTTP 500" in texts["cli digests stdout"] and "no_such_hook" in texts["cli digests stdout"]
    assert "salesforce task write-back failed" in texts["cli reengagement stdout"]
    prefect_db = "\n".join(text for where, text in texts.items() if "prefect-test.db" in where)
    assert "no_such_hook" in prefect_db  # the publish artifacts, echoed bodies and all
    assert _scan(texts, secrets) == []


def test_redaction_masks_a_webhook_by_its_parts_and_leaves_plain_words():
    url = "https://hooks.slack.com/services/T01ABCDEF/B02GHIJKL/abcdefghijklmnopqrstuvwx"
    text = (f"POST {urlsplit(url).path} failed; token abcdefghijklmnopqrstuvwx; "
            f"team T01ABCDEF; see the services page")
    clean = redact(text, [url])
    assert "abcdefghijklmnopqrstuvwx" not in clean and "T01ABCDEF" not in clean
    assert "B02GHIJKL" not in clean and "the services page" in clean and "POST " in clean


def test_an_escaping_exception_keeps_its_type_and_loses_the_secret(monkeypatch):
    from churnkb.secrets import redacting_exceptions

    secret = "q7-escaping-secret-5e6f"
    monkeypatch.setenv("SOME_SERVICE_API_KEY", secret)

    @redacting_exceptions
    def fails(kind: str) -> None:
        if kind == "os":
            raise FileNotFoundError(2, f"no file for {secret}", f"/tmp/{secret}")
        try:
            raise KeyError(secret)
        except KeyError as inner:
            raise RuntimeError("lookup failed") from inner

    with pytest.raises(FileNotFoundError) as raised:  # the type decides retries: it stays
        fails("os")
    assert secret not in str(raised.value) and "***" in str(raised.value)
    with pytest.raises(RuntimeError) as raised:
        fails("chain")
    assert secret not in str(raised.value.__cause__)
