"""Weekly re-engagement (win-back) lists as CSV and Parquet, with optional CRM write-back.

One row per person (mart_reengagement_people): the strongest trigger leads, the others are named.
A trigger is listed only between its eligible_from and expires_on dates (decided in dbt), and a
person listed in the last ``publishing.reengagement.contact_cooldown_days`` (the publication
ledger) is not listed again before the cool-down ends.
"""

from __future__ import annotations

import csv
import io
import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from churnkb.publishers.content import category_title
from churnkb.publishers.ledger import Ledger
from churnkb.publishers.marts import MartReader, as_date, open_marts
from churnkb.publishers.report import PublishReport
from churnkb.publishers.settings import Publishing
from churnkb.publishers.text import clean_text, neutralise_csv_cell
from churnkb.publishers.writeback import write_back_tasks

from churnkb.config import Config
from churnkb.paths import DataPaths

DEFAULT_OPENING_LINES = {
    "followup_30d": "It has been a month since {account} moved on: how is the transition going, "
                    "and what could we have done better?",
    "feature_shipped": "Good news for {account}: what you asked for has shipped ({detail}). "
                       "May we show you?",
    "cooldown_elapsed": "A lot has changed since {account} left; may we show you what is new, "
                        "with {reason} in mind?",
    "champion_moved": "Congratulations on joining {account}! We enjoyed working with you "
                      "before; could we help your new team too?",
}
# {reason} as a salesperson would say it to the customer ("with the support you got in mind")
REASON_PHRASES = {
    "product": "the product gaps you ran into", "pricing": "pricing and budget",
    "service": "the support you got", "success_process": "onboarding and training",
    "competitor": "the alternatives you looked at", "relationship": "how we work with your team",
    "company": "your company's plans", "needs": "what you need today",
    "involuntary": "billing and payments", "unknown": "what you told us",
}
# The list's trigger column as its reader says it; the keys stay in the marts and CRM task tags.
TRIGGER_TITLES = {
    "followup_30d": "30-day follow-up", "feature_shipped": "Requested feature shipped",
    "cooldown_elapsed": "Cool-down over", "champion_moved": "Champion joined a new company",
}
COLUMNS = ["account", "account_id", "contact", "contact_email", "owner", "owner_email", "trigger",
           "detail", "other_triggers", "reason", "priority", "eligible_from", "expires_on",
           "suggested_opening_line"]
DEFAULT_CONTACT_COOLDOWN_DAYS = 90
PERSON_KIND = "reengagement_person"


def publish_reengagement(config: Config, *, now: datetime | None = None,
                         write_back: bool = False, dry_run: bool = False) -> PublishReport:
    """Today's list of eligible candidates; ``write_back`` also creates one CRM task per
    (account, trigger), never twice."""
    settings = Publishing.from_config(config)
    now = now or datetime.now(UTC)
    today = settings.local_date(now)
    ledger = Ledger.for_data_dir(config.data_dir)
    with open_marts(config) as con:
        people = MartReader(con).reengagement_people()
    cooldown = int((settings.get("reengagement", {}) or {}).get(
        "contact_cooldown_days", DEFAULT_CONTACT_COOLDOWN_DAYS))
    candidates = [c for c in people if is_current(c, today)
                  and not contacted_recently(ledger, c["contact_email"], today, cooldown)]
    rows = [list_row(c, settings) for c in candidates]
    report = PublishReport()
    label = today.isoformat()
    if not rows:
        report.add(kind="reengagement", department="customer_success", period=label,
                   channel=None, status="empty", detail="no eligible candidates today")
    elif dry_run:
        report.add(kind="reengagement", department="customer_success", period=label,
                   channel="file", status="skipped", detail=f"dry run: would list {len(rows)} rows")
    elif ledger.was_sent("reengagement", label, "file"):
        report.add(kind="reengagement", department="customer_success", period=label,
                   channel="file", status="skipped", detail="already written (publication ledger)")
    else:
        path = write_list(rows, DataPaths(config.data_dir).reengagement, label)
        for candidate in candidates:
            ledger.record(PERSON_KIND, str(candidate["contact_email"]).lower(), "file",
                          state=label, target=str(path))
        ledger.record("reengagement", label, "file", target=str(path))
        report.add(kind="reengagement", department="customer_success", period=label,
                   channel="file", status="sent", target=str(path), detail=f"{len(rows)} rows")
    if not dry_run and (write_back or (settings.get("reengagement", {}) or {}).get("write_back")):
        report.extend(write_back_tasks(settings, ledger, candidates, rows, today,
                                       config.section("sources")))
    return report


def is_current(candidate: dict[str, Any], today: date) -> bool:
    """The trigger is news today: eligible and not expired."""
    eligible = as_date(candidate.get("eligible_from")) or today
    expires = as_date(candidate.get("expires_on"))
    return eligible <= today and (expires is None or today <= expires)


def contacted_recently(ledger: Ledger, email: object, today: date, cooldown_days: int) -> bool:
    """Listed in one of the last ``cooldown_days`` days before today (ledger: one entry per
    person and list date)."""
    key = str(email or "").lower()
    return any(ledger.was_sent(PERSON_KIND, key, "file", (today - timedelta(days=n)).isoformat())
               for n in range(1, cooldown_days + 1))


def list_row(candidate: dict[str, Any], settings: Publishing) -> dict[str, Any]:
    account = clean_text(candidate.get("account_name") or candidate["account_id"], 120)
    reason = clean_text(candidate.get("reason_category")) or "unknown"
    trigger = clean_text(candidate["trigger"])
    detail = clean_text(candidate.get("trigger_detail"), 200)
    return {
        "account": account,
        "account_id": clean_text(candidate["account_id"]),
        "contact": clean_text(candidate.get("contact_name"), 120),
        "contact_email": clean_text(candidate.get("contact_email"), 200),
        "owner": clean_text(candidate.get("owner_name") or candidate.get("owner_id"), 120),
        "owner_email": clean_text(candidate.get("owner_email"), 200),
        "trigger": trigger_title(trigger),
        "detail": detail,
        "other_triggers": ", ".join(trigger_title(clean_text(t)) for t in candidate.get("other_triggers") or []),
        "reason": category_title(reason),
        "priority": candidate.get("priority"),
        "eligible_from": as_date(candidate.get("eligible_from")),
        "expires_on": as_date(candidate.get("expires_on")),
        "suggested_opening_line": opening_line(settings, trigger, account, reason, detail),
    }


def trigger_title(trigger: str) -> str:
    return TRIGGER_TITLES.get(trigger, trigger.replace("_", " "))


def opening_line(settings: Publishing, trigger: str, account: str, reason: str,
                 detail: str) -> str:
    configured = (settings.get("reengagement", {}) or {}).get("opening_lines") or {}
    template = {**DEFAULT_OPENING_LINES, **configured}.get(trigger)
    if not template:
        return f"We would love to hear how {account} is doing."
    values = {"account": account, "reason": REASON_PHRASES.get(reason, reason.replace("_", " ")),
              "detail": detail or "details in the CRM"}
    return template.format_map(values)


def write_list(rows: list[dict[str, Any]], directory: Path, label: str) -> Path:
    """CSV (spreadsheet-safe: formula-like cells neutralised) and Parquet (values as they are)."""
    directory.mkdir(parents=True, exist_ok=True)
    csv_path = directory / f"{label}.csv"
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: neutralise_csv_cell(_csv_value(v)) for k, v in row.items()})
    _replace(csv_path, buffer.getvalue().encode("utf-8"))
    table = pa.Table.from_pylist(rows, schema=_arrow_schema(rows))
    temp = directory / f".{label}.parquet.tmp"
    pq.write_table(table, temp)
    os.replace(temp, directory / f"{label}.parquet")
    return csv_path


def _csv_value(value: object) -> object:
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else value


def _arrow_schema(rows: list[dict[str, Any]]) -> pa.Schema:
    fields = [(name, pa.string()) for name in COLUMNS]
    numeric = all(isinstance(r["priority"], int | None) for r in rows)
    if numeric:
        fields[COLUMNS.index("priority")] = ("priority", pa.int64())
    else:  # a mart with text priorities ("high") keeps them as text
        for row in rows:
            row["priority"] = None if row["priority"] is None else str(row["priority"])
    fields[COLUMNS.index("eligible_from")] = ("eligible_from", pa.date32())
    fields[COLUMNS.index("expires_on")] = ("expires_on", pa.date32())
    return pa.schema(fields)


def _replace(path: Path, data: bytes) -> None:
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_bytes(data)
    os.replace(temp, path)
