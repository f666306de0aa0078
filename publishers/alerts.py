"""Daily offboarding alerts: checklist steps overdue or due soon, and big save opportunities.

Which step needs an alert, and in which state, is decided in dbt
(``fct_offboarding_checklist_steps.alert_state``): saved events and steps done (on time or not)
never carry one. An alert item is identified by (step, churn event), labelled by the step, and
goes to a channel again only when its state changes (due soon -> overdue); one message never
lists the same item twice.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from churnkb.publishers.channels import EmailContent
from churnkb.publishers.content import CATEGORY_TITLES
from churnkb.publishers.delivery import Rendered, deliver, failure_detail
from churnkb.publishers.ledger import Ledger
from churnkb.publishers.marts import MartReader, as_date, open_marts
from churnkb.publishers.render import (
    SLACK_MAX_BLOCKS,
    SLACK_SECTION_CHARS,
    TEAMS_MAX_BYTES,
    payload_bytes,
)
from churnkb.publishers.report import PublishReport
from churnkb.publishers.settings import Publishing
from churnkb.publishers.text import (
    clean_text,
    escape_html,
    escape_markdown,
    escape_slack,
    escape_teams,
    trim,
)

from churnkb.config import Config
from churnkb.paths import DataPaths

SAVE_TITLE = "Save opportunity above the threshold"
STATE_WORDS = {"overdue": "overdue", "due_soon": "due soon"}


@dataclass(frozen=True)
class AlertItem:
    alert_type: str
    item_id: str
    state: str
    account: str
    owner: str
    due_on: str
    detail: str
    title: str = SAVE_TITLE

    @property
    def key(self) -> str:
        return f"{self.alert_type}:{self.item_id}"

    def line(self) -> str:
        due = f", due {self.due_on}" if self.due_on else ""
        detail = f" {self.detail}" if self.detail else ""
        return f"{self.title} ({self.state}): {self.account}, owner {self.owner}{due}.{detail}"


def publish_alerts(config: Config, *, now: datetime | None = None,
                   dry_run: bool = False) -> PublishReport:
    settings = Publishing.from_config(config)
    now = now or datetime.now(UTC)
    today = settings.local_date(now)
    options = settings.get("alerts", {}) or {}
    with open_marts(config) as con:
        items = collect_alerts(MartReader(con), options, today)
    owner = options.get("department") or "customer_success"
    spec = options if options.get("channels") else settings.target(owner)
    report = PublishReport()
    ledger = Ledger.for_data_dir(config.data_dir)
    label = today.isoformat()
    if not items:
        report.add(kind="alert", department=owner, period=label, channel=None, status="empty",
                   detail="no open alert items")
        return report
    for channel in settings.channels_of(spec, owner):
        pending = [i for i in items if not ledger.was_sent("alert", i.key, channel, i.state)]
        if not pending:
            report.add(kind="alert", department=owner, period=label, channel=channel,
                       status="skipped", detail="every open item was already alerted")
            continue
        if dry_run:
            report.add(kind="alert", department=owner, period=label, channel=channel,
                       status="skipped", detail=f"dry run: would send {len(pending)} items")
            continue
        directory = DataPaths(config.data_dir).alerts
        rendered = rendered_alerts(pending, items, today, directory)
        try:
            done = deliver(settings, ledger, spec, owner, channel, rendered, kind="alert",
                           items=[(item.key, item.state) for item in pending])
        except Exception as exc:  # noqa: BLE001 - one failing channel never stops the others
            report.add(kind="alert", department=owner, period=label, channel=channel,
                       status="failed", detail=failure_detail(exc, settings, spec))
            continue
        detail = "; ".join(x for x in (f"{len(pending)} new or changed items", done.note) if x)
        report.add(kind="alert", department=owner, period=label, channel=channel,
                   status="sent", target=done.target, detail=detail)
    return report


def collect_alerts(reader: MartReader, options: dict[str, Any], today: date) -> list[AlertItem]:
    items: dict[str, AlertItem] = {}
    for step in reader.checklist_steps():
        if step["alert_state"]:
            item = _step_alert(step)
            items.setdefault(item.key, item)
    threshold = float(options.get("save_amount_threshold") or 0)
    for opp in reader.save_opportunities():
        amount = float(opp["amount_at_risk"] or 0)
        if amount >= threshold:
            item = AlertItem(
                "save", str(opp["item_id"] or opp["account_id"]), f"open at {amount:,.0f}",
                _name(opp), _owner(opp), "",
                f"Reason: {_reason_title(opp['reason'])}. Suggested play: "
                f"{clean_text(opp['suggested_play'], 200)}")
            items.setdefault(item.key, item)
    return sorted(items.values(), key=lambda i: (i.alert_type == "save", i.due_on, i.title,
                                                 i.item_id))


def _reason_title(reason: str | None) -> str:
    """The reason as the digests name it ("Onboarding and adoption", not success_process)."""
    return CATEGORY_TITLES.get(reason or "unknown") or clean_text(reason)


def _step_alert(step: dict[str, Any]) -> AlertItem:
    state = str(step["alert_state"])
    due = as_date(step["due_on"])
    return AlertItem(str(step["step_key"]), str(step["churn_event_id"]),
                     STATE_WORDS.get(state, state.replace("_", " ")), _name(step), _owner(step),
                     due.isoformat() if due else "", "", title=clean_text(step["step_label"]))


def _name(row: dict[str, Any]) -> str:
    return (clean_text(row.get("account_name") or row.get("account_id"), 80)
            or "(account not in the CRM)")


def _owner(row: dict[str, Any]) -> str:
    return clean_text(row.get("owner_name") or row.get("owner_email") or row.get("owner_id"),
                      80) or "unassigned"


# -- rendering -----------------------------------------------------------------------------------

def rendered_alerts(pending: list[AlertItem], open_items: list[AlertItem], today: date,
                    directory: Path) -> Rendered:
    title = f"churnkb alerts {today.isoformat()}: {len(pending)} new or changed"

    def write_files() -> str:
        directory.mkdir(parents=True, exist_ok=True)
        stem = directory / today.isoformat()
        record = {"date": today.isoformat(), "new_or_changed": [asdict(i) for i in pending],
                  "open": [asdict(i) for i in open_items]}
        _write(stem.with_suffix(".json"), json.dumps(record, ensure_ascii=False, indent=2))
        _write(stem.with_suffix(".md"), alerts_markdown(title, pending, open_items))
        return str(stem.with_suffix(".md"))

    def email() -> EmailContent:
        text = "\n".join([title, "", *(f"* {i.line()}" for i in pending)]) + "\n"
        rows = "".join(f"<tr><td style=\"padding:6px;border-bottom:1px solid #eee;\">"
                       f"{escape_html(i.line())}</td></tr>" for i in pending)
        html = (f"<!DOCTYPE html><html><body style=\"font-family:Arial,sans-serif;\">"
                f"<h1 style=\"font-size:18px;\">{escape_html(title)}</h1>"
                f"<table role=\"presentation\" cellpadding=\"0\" cellspacing=\"0\">{rows}</table>"
                f"</body></html>")
        return EmailContent(subject=f"[churnkb] {title}", text=text, html=html)

    return Rendered(write_files, email, lambda: alerts_slack(title, pending),
                    lambda: alerts_teams(title, pending))


def alerts_markdown(title: str, pending: list[AlertItem], open_items: list[AlertItem]) -> str:
    lines = [f"# {escape_markdown(title)}", ""]
    lines += [f"- {escape_markdown(i.line())}" for i in pending]
    already = [i for i in open_items if i not in pending]
    if already:
        lines += ["", "## Still open (alerted before)", ""]
        lines += [f"- {escape_markdown(i.line())}" for i in already]
    return "\n".join(lines) + "\n"


def alerts_slack(title: str, pending: list[AlertItem]) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": trim(title, 150)}}]
    room = SLACK_MAX_BLOCKS - 2
    for item in pending[:room]:
        blocks.append({"type": "section", "text": {
            "type": "mrkdwn", "text": trim(escape_slack(item.line()), SLACK_SECTION_CHARS)}})
    if len(pending) > room:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": escape_slack(
            f"{len(pending) - room} more in today's alert file")}]})
    return {"text": escape_slack(title), "blocks": blocks}


def alerts_teams(title: str, pending: list[AlertItem]) -> dict[str, Any]:
    body = [{"type": "TextBlock", "text": escape_teams(title), "weight": "Bolder", "wrap": True}]
    body += [{"type": "TextBlock", "text": escape_teams(i.line()), "wrap": True} for i in pending]

    def message(blocks: list[dict[str, Any]]) -> dict[str, Any]:
        card = {"type": "AdaptiveCard", "version": "1.4", "body": blocks,
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "fallbackText": escape_teams(title)}
        return {"type": "message", "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}]}

    notice = {"type": "TextBlock", "wrap": True, "isSubtle": True,
              "text": "Truncated to fit Teams: the full list is in today's alert file."}
    while len(body) > 1 and payload_bytes(message(body)) > TEAMS_MAX_BYTES:
        body.pop()
        if payload_bytes(message([*body, notice])) <= TEAMS_MAX_BYTES:
            return message([*body, notice])
    return message(body)


def _write(path: Path, text: str) -> None:
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(text, encoding="utf-8")
    os.replace(temp, path)
