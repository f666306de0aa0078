"""Flow-failure notices (Prefect on_failure hooks) to the ``publishing.failures`` channels."""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime
from typing import Any

from churnkb.publishers.channels import EmailContent
from churnkb.publishers.delivery import Rendered, failure_detail, known_secrets, send
from churnkb.publishers.settings import Publishing
from churnkb.publishers.text import clean_text, escape_html, escape_slack, escape_teams, trim

from churnkb.config import Config
from churnkb.paths import DataPaths
from churnkb.secrets import redact

log = logging.getLogger(__name__)
MESSAGE_CHARS = 2000


def notify_failure(config: Config, flow_name: str, message: str) -> None:
    """Tell the failure channels that ``flow_name`` failed. Never raises: a hook must not mask
    the flow's own error, so channel problems are logged instead."""
    settings = Publishing.from_config(config)
    spec = settings.target("failures")
    now = datetime.now(UTC)
    # Line by line, so a traceback keeps its shape.
    cleaned = "\n".join(clean_text(line) for line in str(message).splitlines())
    text = trim(redact(cleaned, known_secrets(settings, spec) + _source_secrets()), MESSAGE_CHARS)
    title = f"churnkb flow {clean_text(flow_name, 100)} failed at {now:%Y-%m-%d %H:%M} UTC"
    rendered = _rendered(config, title, text, now)
    for channel in settings.channels_of(spec, "failures"):
        try:
            send(settings, spec, "failures", channel, rendered)
        except Exception as exc:  # noqa: BLE001 - reported in the log, the flow error stands
            log.warning("could not report the failure of %s to %s: %s", flow_name, channel,
                        failure_detail(exc, settings, spec))


def _source_secrets() -> list[str | None]:
    names = ("SALESFORCE_ACCESS_TOKEN", "HUBSPOT_ACCESS_TOKEN", "SALESFORCE_PASSWORD",
             "SALESFORCE_SECURITY_TOKEN", "SALESFORCE_CONSUMER_SECRET")
    return [os.environ.get(name) for name in names]


def _rendered(config: Config, title: str, text: str, now: datetime) -> Rendered:
    def write_files() -> str:
        directory = DataPaths(config.data_dir).failures
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "failures.jsonl"
        with path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps({"at": now.isoformat(timespec="seconds"), "title": title,
                                     "message": text}, ensure_ascii=False) + "\n")
        return str(path)

    def email() -> EmailContent:
        html = (f"<!DOCTYPE html><html><body style=\"font-family:Arial,sans-serif;\">"
                f"<h1 style=\"font-size:18px;\">{escape_html(title)}</h1>"
                f"<pre style=\"white-space:pre-wrap;\">{escape_html(text)}</pre></body></html>")
        return EmailContent(subject=f"[churnkb] {title}", text=f"{title}\n\n{text}\n", html=html)

    def slack() -> dict[str, Any]:
        return {"text": escape_slack(title), "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": trim(title, 150)}},
            {"type": "section", "text": {"type": "mrkdwn", "text": escape_slack(text)}}]}

    def teams() -> dict[str, Any]:
        card = {"type": "AdaptiveCard", "version": "1.4",
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "fallbackText": escape_teams(title),
                "body": [{"type": "TextBlock", "text": escape_teams(title), "weight": "Bolder",
                          "wrap": True},
                         {"type": "TextBlock", "text": escape_teams(text), "wrap": True}]}
        return {"type": "message", "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}]}

    return Rendered(write_files, email, slack, teams)
