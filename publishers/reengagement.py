"""Weekly re-engagement (win-back) lists as CSV and Parquet, with optional CRM write-back."""

from __future__ import annotations

import csv
import io
import os
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
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
    "cooldown_elapsed": "A lot has changed since {account} left; may we show you what is new "
                        "and what we fixed about {reason}?",
    "champion_moved": "Congratulations on joining {account}! We enjoyed working with you "
                      "before; could we help your new team too?",
}
COLUMNS = ["account", "account_id", "contact", "contact_email", "owner", "owner_email", "trigger",
           "detail", "reason", "priority", "eligible_from", "suggested_opening_line"]


def publish_reengagement(config: Config, *, now: datetime | None = None,
                         write_back: bool = False, dry_run: bool = False) -> PublishReport:
    """Today's list of eligible candidates; ``write_back`` also creates one CRM task per
    (account, trigger), never twice."""
    settings = Publishing.from_config(config)
    now = now or datetime.now(UTC)
    today = settings.local_date(now)
    with open_marts(config) as con:
        candidates = [c for c in MartReader(con).reengagement_candidates()
                      if (as_date(c["eligible_from"]) or today) <= today]
    rows = [list_row(c, settings) for c in candidates]
    report = PublishReport()
    label = today.isoformat()
    ledger = Ledger.for_data_dir(config.data_dir)
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
        ledger.record("reengagement", label, "file", target=str(path))
        report.add(kind="reengagement", department="customer_success", period=label,
                   channel="file", status="sent", target=str(path), detail=f"{len(rows)} rows")
    if not dry_run and (write_back or (settings.get("reengagement", {}) or {}).get("write_back")):
        report.extend(write_back_tasks(settings, ledger, candidates, rows, today))
    return report


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
        "trigger": trigger,
        "detail": detail,
        "reason": reason,
        "priority": candidate.get("priority"),
        "eligible_from": as_date(candidate.get("eligible_from")),
        "suggested_opening_line": opening_line(settings, trigger, account, reason, detail),
    }


def opening_line(settings: Publishing, trigger: str, account: str, reason: str,
                 detail: str) -> str:
    configured = (settings.get("reengagement", {}) or {}).get("opening_lines") or {}
    template = {**DEFAULT_OPENING_LINES, **configured}.get(trigger)
    if not template:
        return f"We would love to hear how {account} is doing."
    values = {"account": account, "reason": reason.replace("_", " "),
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
    return pa.schema(fields)


def _replace(path: Path, data: bytes) -> None:
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_bytes(data)
    os.replace(temp, path)
