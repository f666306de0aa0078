"""The plain functions behind each flow: call one area's entry point and turn its report into a
small JSON-friendly summary (what the artifact shows and the demo prints).

No Prefect here, so every step is tested as a plain function; `flows/churn.py` wraps them in
coarse tasks. Imports of the other areas are local so a missing optional piece fails only the
step that needs it, with its own message.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from churnkb.config import Config, load_config
from churnkb.secrets import redact

SOURCES = ("salesforce", "hubspot")
SECRET_ENV_NAMES = ("SALESFORCE_ACCESS_TOKEN", "HUBSPOT_ACCESS_TOKEN")


class StepFailed(RuntimeError):
    """A step ended in a failed state; the message says which and why (secrets redacted)."""


class NotRetryable(StepFailed):
    """Retrying cannot help (missing credentials, bad config): fail at once with the reason."""


@dataclass(frozen=True)
class FlowInputs:
    """Parameters every flow takes: where the config is and which data directory to use."""

    config_path: str | None = None
    data_dir: str | None = None

    def config(self) -> Config:
        return load_config(self.config_path, self.data_dir)


def safe_text(text: object) -> str:
    """Text that may reach a log, artifact or notification, with known secret values removed."""
    return redact(str(text), [os.environ.get(name) for name in SECRET_ENV_NAMES])


def _jsonable_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Artifacts and results must serialise and must not leak a token: keep numbers, bools and
    None; every other value becomes redacted text."""
    plain = (int, float, bool, type(None))
    return [{str(k): (v if isinstance(v, plain) else safe_text(v)) for k, v in row.items()} for row in rows]


def run_sync(
    source: str, config: Config, *, streams: list[str] | None = None, full_refresh: bool = False
) -> dict[str, Any]:
    """Sync one CRM into the raw zone (Parquet only; never touches warehouse.duckdb)."""
    if source not in SOURCES:
        raise StepFailed(f"unknown source '{source}'; choose from {list(SOURCES)}")
    from churnkb.connectors.sync import sync_source

    report = sync_source(source, config, streams=streams, full_refresh=full_refresh)
    return {"source": source, "status": str(report.status), "message": safe_text(report.message or ""),
            "rows": _jsonable_rows(list(report.rows()))}


def check_sync(summary: dict[str, Any]) -> None:
    """Fail the flow (so retries and the failure channel kick in) when the run or any stream failed.

    A quota stop is `partial` with no failed stream: the next run resumes, so that is not a failure.
    """
    failed = [row for row in summary["rows"] if row.get("status") == "failed"]
    if summary["status"] != "failed" and not failed:
        return
    details = [summary.get("message")] + [f"{row.get('stream')}: {row.get('message')}" for row in failed]
    detail = "; ".join(safe_text(text) for text in details if text)
    message = f"{summary['source']} sync failed{': ' + detail if detail else ''}"
    # no stream ran at all: the source could not even be opened (credentials, config)
    raise (NotRetryable if summary["status"] == "failed" and not summary["rows"] else StepFailed)(message)


def run_build(config: Config, *, select: list[str] | None = None, full_refresh: bool = False) -> dict[str, Any]:
    """Build the warehouse with dbt; one build at a time and the swap are inside `warehouse.build`."""
    from churnkb.warehouse import build

    report = build(config, select=select, full_refresh=full_refresh)
    failures = [safe_text(failure) for failure in (report.failures or [])]
    if getattr(report, "error", None):
        failures.insert(0, safe_text(report.error))
    # replaced: readers now see this build; otherwise they keep the last complete warehouse
    return {"success": bool(report.success), "duration_s": round(float(report.duration_s), 2),
            "failures": failures, "replaced": bool(report.replaced)}


def check_build(summary: dict[str, Any]) -> None:
    if not summary["success"]:
        detail = "; ".join(summary["failures"]) or "see <data_dir>/dbt/logs/dbt.log"
        raise StepFailed(f"warehouse build failed: {detail}")


def run_publisher(name: str, config: Config, *, now: datetime | None = None,
                  period: str | None = None) -> dict[str, Any]:
    """Run one publisher (digests, alerts or reengagement); they only read marts.

    ``period`` (digests only) publishes that period, written as 2026-W47 or 2026-11."""
    if name == "digests":
        from churnkb.publishers.digests import publish_digests
        from churnkb.publishers.periods import parse_period, with_period_kind

        period_end, kind = parse_period(period) if period else (None, None)
        report = publish_digests(with_period_kind(config, kind), period_end=period_end, now=now)
    elif name == "alerts":
        from churnkb.publishers.alerts import publish_alerts

        report = publish_alerts(config, now=now)
    elif name == "reengagement":
        from churnkb.publishers.reengagement import publish_reengagement

        report = publish_reengagement(config, now=now)
    else:
        raise StepFailed(f"unknown publisher '{name}'")
    return {"publisher": name, "sent": int(report.sent), "failed": int(report.failed),
            "rows": _jsonable_rows(list(report.rows()))}


def richest_digest_month(config: Config, departments: list[str]) -> str | None:
    """The latest complete month in which every department has something to report (churned
    accounts or routed feedback), as 2026-08; None when no month has."""
    from churnkb.warehouse import read_connection

    with read_connection(config) as con:
        found = con.execute("""
            select strftime(period_start, '%Y-%m') from fct_digest_periods
            where period_kind = 'month' and period_start < date_trunc('month', current_date)
              and audience in (select unnest(?::varchar[]))
              and (coalesce(churned_events, 0) > 0 or coalesce(feedback_routed, 0) > 0)
            group by period_start having count(distinct audience) = ?
            order by period_start desc limit 1""", [departments, len(departments)]).fetchone()
    return found[0] if found else None


def check_publish(summary: dict[str, Any]) -> None:
    if summary["failed"]:
        raise StepFailed(f"{summary['publisher']}: {summary['failed']} send(s) failed (sent {summary['sent']}); "
                         "a retry skips what the ledger already records as sent")


def notify_failure(inputs: FlowInputs, flow_name: str, message: str) -> None:
    """Tell the failure channel; never raises, because it runs inside a failing flow's hook."""
    try:
        from churnkb.publishers.failures import notify_failure as send

        send(inputs.config(), flow_name, safe_text(message))
    except Exception as exc:  # the hook must not mask the original failure
        print(f"churnkb: could not notify the failure channel for {flow_name}: {safe_text(exc)}")


def publisher_schedules(config: Config) -> tuple[dict[str, str], str]:
    """Cron expressions from `publishing.schedules` (optional) and `publishing.timezone`."""
    publishing = config.section("publishing")
    schedules = publishing.get("schedules") or {}
    return {str(k): str(v) for k, v in schedules.items()}, str(publishing.get("timezone") or "UTC")
