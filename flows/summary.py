"""The short text `churnkb demo` prints after a pipeline run (plain functions, no Prefect)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

from churnkb.config import Config
from churnkb.paths import DataPaths


def synced_lines(result: dict[str, Any]) -> list[str]:
    lines = ["Records synced (landed in the raw zone):"]
    for source, summary in result.get("syncs", {}).items():
        for row in summary["rows"]:
            extra = f", {row['quarantined']} quarantined" if row.get("quarantined") else ""
            lines.append(f"  {source:<10} {row.get('stream', '-'):<32} {row.get('landed', 0):>7}{extra}")
    return lines


def churn_overview(config: Config, top: int = 5) -> tuple[int, list[tuple[str, int]]]:
    """How many churn events the warehouse holds and the most common primary reasons."""
    from churnkb.warehouse import read_connection

    with read_connection(config) as con:
        events = con.execute("select count(*) from fct_churn_events").fetchone()[0]
        reasons = con.execute(
            "select coalesce(primary_reason_category, 'unknown'), count(*) from fct_churn_events "
            "group by 1 order by 2 desc, 1 limit ?", [top]
        ).fetchall()
    return int(events), [(str(name), int(count)) for name, count in reasons]


def published_targets(result: dict[str, Any], publisher: str) -> list[str]:
    """Where a publisher put what it sent (file paths, channels), from its report rows."""
    rows = result.get("published", {}).get(publisher, {}).get("rows", [])
    return [str(row.get("target") or row.get("channel")) for row in rows if row.get("status") == "sent"]


def nothing_to_report(result: dict[str, Any]) -> list[str]:
    """Departments whose digest had nothing of their own for the period (not sent)."""
    rows = result.get("published", {}).get("digests", {}).get("rows", [])
    return list(dict.fromkeys(str(row.get("department")) for row in rows
                              if row.get("status") == "empty"))


def readable_digest(path: str) -> str:
    """Digests are written in several formats side by side; point people at the Markdown one."""
    markdown = Path(path).with_suffix(".md")
    return str(markdown) if markdown.exists() else path


def _relative(path: str, base: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(base))
    except ValueError:
        return path


def demo_summary(result: dict[str, Any], config: Config) -> str:
    data_dir = config.data_dir
    cwd = Path.cwd()
    lines = synced_lines(result)
    events, reasons = churn_overview(config)
    lines += ["", f"Churn events in the warehouse: {events}", "Top reasons (primary):"]
    lines += [f"  {name:<18} {count:>5}" for name, count in reasons]
    digests = list(dict.fromkeys(readable_digest(p) for p in published_targets(result, "digests")))
    period = result.get("digest_period")
    heading = f"Digests written: {len(digests)}" + (
        f" (for {period}, the latest month in which every department has something to report)"
        if period and period[0].isdigit() else "")
    lines += ["", heading] + [f"  {_relative(p, cwd)}" for p in digests]
    quiet = nothing_to_report(result)
    if quiet:
        lines.append(f"  Nothing to report this period: {', '.join(quiet)}")
    alerts = result.get("published", {}).get("alerts", {})
    alert_targets = published_targets(result, "alerts")
    lines += ["", f"Alerts: {alerts.get('sent', 0)} sent"] + [f"  {_relative(p, cwd)}" for p in alert_targets]
    lists = published_targets(result, "reengagement")
    lines += ["", "Re-engagement list:"] + [f"  {_relative(p, cwd)}" for p in lists or ["(none)"]]
    warehouse = _relative(str(DataPaths(data_dir).warehouse), cwd)
    data_flag = "" if data_dir == (cwd / "data").resolve() else f" --data-dir {_relative(str(data_dir), cwd)}"
    churnkb = churnkb_command(cwd)
    lines += [
        "",
        f"Open the warehouse ({warehouse}, DuckDB):",
        f"  {churnkb}{data_flag} query \"select * from fct_churn_events limit 10\"",
        f"  {churnkb}{data_flag} query --file sql/revenue_lost_by_reason_last_quarter.sql",
    ]
    return "\n".join(lines)


def run_summary(flow_name: str, result: dict[str, Any], config: Config) -> str:
    """What `churnkb run <flow>` prints: the demo's summary for the pipeline, its part otherwise."""
    if flow_name == "churn-pipeline":
        return demo_summary(result, config)
    if flow_name.startswith("sync-"):
        return "\n".join(synced_lines({"syncs": {flow_name.removeprefix("sync-"): result}}))
    if flow_name == "build-warehouse":
        warehouse = _relative(str(DataPaths(config.data_dir).warehouse), Path.cwd())
        logs = _relative(str(DataPaths(config.data_dir).dbt_logs / "dbt.log"), Path.cwd())
        return f"Warehouse built in {result['duration_s']:.0f} s: {warehouse}\ndbt's log: {logs}"
    targets = [readable_digest(t) if flow_name == "publish-digests" else t
               for t in published_targets({"published": {"x": result}}, "x")]
    lines = [f"{result['publisher']}: {result['sent']} sent, {result['failed']} failed"]
    return "\n".join(lines + [f"  {_relative(t, Path.cwd())}" for t in dict.fromkeys(targets)])


def churnkb_command(cwd: Path) -> str:
    """How the user can call churnkb again: `.venv/bin/churnkb` after `make demo`, else `churnkb`."""
    launched = Path(sys.argv[0])
    if launched.name == "churnkb" and launched.exists() and not shutil.which("churnkb"):
        return _relative(str(launched), cwd)
    return "churnkb"
