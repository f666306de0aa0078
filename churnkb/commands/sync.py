"""``churnkb sync [salesforce|hubspot|all]`` and ``churnkb status``.

Exit codes for ``sync`` (churnkb/commands/common.py): 0 every stream succeeded, 3 partial (a
quota stop or some streams failed; state is kept and the next run resumes), 1 the run failed,
2 a configuration error.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any, TextIO

from churnkb.commands.common import EXIT_OK, EXIT_USAGE, status_exit_code
from churnkb.config import load_config

NOT_STARTED = "not started"  # the stream report message of streams a stop left out
SUMMARY_COLUMNS = ("stream", "status", "fetched", "landed", "quarantined", "deleted", "requests",
                   "duration_s", "rec/s")


def register(subparsers: argparse._SubParsersAction) -> None:
    sync = subparsers.add_parser("sync", help="pull CRM records into the raw zone (incremental)")
    sync.add_argument("source", nargs="?", default="all", choices=("salesforce", "hubspot", "all"))
    sync.add_argument("--streams", nargs="+", metavar="STREAM",
                      help="only these streams (names or comma-separated lists)")
    sync.add_argument("--full-refresh", action="store_true",
                      help="ignore the saved cursors and read everything again")
    sync.add_argument("--quiet", action="store_true", help="no live progress display")
    sync.set_defaults(func=run_sync)

    status = subparsers.add_parser("status", help="cursor, last run, row counts and drift per stream")
    status.add_argument("--json", action="store_true", help="print machine-readable JSON")
    status.set_defaults(func=run_status)


def split_streams(values: list[str] | None) -> list[str]:
    return [part.strip() for value in values or [] for part in value.split(",") if part.strip()]


def streams_for(source: str, requested: list[str], all_sources: bool) -> list[str] | None:
    """With ``all``, each source takes the requested streams it knows; None means configured."""
    if not requested:
        return None
    if not all_sources:
        return requested
    from churnkb.connectors.hubspot import OBJECT_STREAMS, SNAPSHOT_STREAMS
    from churnkb.connectors.salesforce import STREAM_OBJECTS

    known = set(STREAM_OBJECTS) if source == "salesforce" else {*OBJECT_STREAMS, *SNAPSHOT_STREAMS}
    return [s for s in requested if s in known] or []


class ProgressLine:
    """Live records and records/s per stream on stderr (redrawn in place on a terminal)."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.tty = out.isatty()
        self.last_draw = 0.0

    def __call__(self, p: Any) -> None:
        now = time.monotonic()
        if not p.done and now - self.last_draw < 0.25:
            return
        self.last_draw = now
        line = (f"{p.source}/{p.stream}: {p.fetched} records, {p.records_per_s:,.0f} rec/s"
                + (f", {p.quarantined} quarantined" if p.quarantined else ""))
        if self.tty:
            self.out.write("\r\033[K" + line + ("\n" if p.done else ""))
        elif p.done:
            self.out.write(line + "\n")
        self.out.flush()


def format_table(headers: tuple[str, ...], rows: list[list[Any]]) -> str:
    cells = [[str(h) for h in headers]] + [["" if v is None else str(v) for v in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
             for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def summary_text(report: Any) -> str:
    started = [s for s in report.streams if s.message != NOT_STARTED]
    if report.status == "failed" and not any(s.fetched for s in started) and report.message:
        # nothing was read (unreachable server, missing credentials): one line says it all
        return f"{report.source} sync {report.sync_id}: FAILED - {report.message}"
    rows = [[s.stream, s.status, s.fetched, s.landed, s.quarantined, s.deleted, s.requests,
             f"{s.duration_s:.2f}", f"{s.records_per_s:,.0f}"] for s in started]
    totals = report.totals()
    rows.append(["TOTAL", report.status, totals["fetched"], totals["landed"],
                 totals["quarantined"], totals["deleted"], totals["requests"],
                 f"{(report.finished_at - report.started_at).total_seconds():.2f}", ""])
    text = [f"{report.source} sync {report.sync_id}: {report.status.upper()}",
            format_table(SUMMARY_COLUMNS, rows)]
    notes = [f"  {s.stream}: {s.message}" for s in started if s.message]
    not_started = [s.stream for s in report.streams if s.message == NOT_STARTED]
    if report.message:
        text.append(report.message)
    if notes:
        text.append("notes:\n" + "\n".join(notes))
    if not_started:
        text.append(f"not started: {', '.join(not_started)}")
    return "\n".join(text)


def run_sync(args: argparse.Namespace) -> int:
    from churnkb.connectors.sync import sync_source

    config = load_config(args.config, args.data_dir)
    sources = ["salesforce", "hubspot"] if args.source == "all" else [args.source]
    requested = split_streams(args.streams)
    progress = None if args.quiet else ProgressLine(sys.stderr)
    statuses, configuration_error = [], False
    for source in sources:
        streams = streams_for(source, requested, args.source == "all")
        if streams == []:
            continue  # none of the requested streams belong to this source
        report = sync_source(source, config, streams=streams, full_refresh=args.full_refresh,
                             progress=progress)
        print(summary_text(report))
        statuses.append(report.status)
        configuration_error = configuration_error or report.configuration_error
    return EXIT_USAGE if configuration_error else status_exit_code(statuses)


def run_status(args: argparse.Namespace) -> int:
    from churnkb.connectors.status import stream_status

    config = load_config(args.config, args.data_dir)
    rows = stream_status(config)
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
        return EXIT_OK
    if not rows:
        print(f"no streams synced yet under {config.data_dir}; run `churnkb sync`")
        return EXIT_OK
    print(status_text(rows))
    return EXIT_OK


def status_text(rows: list[dict[str, Any]]) -> str:
    headers = ("source", "stream", "cursor", "last run", "status", "landed", "quarantined",
               "raw rows", "drift")
    table = [[r["source"], r["stream"], (r["cursor"] or "-") + (" (resume pending)"
              if r["resume_pending"] else ""), r["last_run_at"] or "-", r["last_status"] or "-",
              r["last_landed"], r["last_quarantined"], r["raw_rows"], len(r["drift"])]
             for r in rows]
    parts = [format_table(headers, table)]
    drift = [(r["source"], entry) for r in rows for entry in r["drift"]]
    if drift:
        parts.append("\nschema drift:")
        for source, e in drift:
            detail = e.get("detail") or " -> ".join(str(t) for t in (e.get("old_type"),
                                                                       e.get("new_type")) if t)
            parts.append(f"  {e.get('at', '')[:19]}  {source}/{e['stream']}: {e['change']} "
                         f"{e['field']} {detail}".rstrip())
    quarantined = [r for r in rows if r["last_quarantined"]]
    if quarantined:
        parts.append("\nquarantined in the last run:")
        parts += [f"  {r['source']}/{r['stream']}: {r['last_message']}" for r in quarantined]
    return "\n".join(parts)
