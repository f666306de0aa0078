"""``churnkb build`` and ``churnkb query`` (plus ``churnkb classify`` from churnkb/classify.py)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import polars as pl

from churnkb.commands.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, CommandError, say
from churnkb.config import load_config
from churnkb.warehouse import WarehouseError, build, query
from churnkb.warehouse_lock import WarehouseBusy

FORMATS = ("table", "csv", "json")


def register(subparsers: argparse._SubParsersAction) -> None:
    build_parser = subparsers.add_parser(
        "build", help="run dbt build: raw zone -> DuckDB warehouse marts",
        description="Runs dbt build in-process (models, seeds, tests) from the raw zone into "
                    "<data dir>/warehouse.duckdb; dbt's log goes to <data dir>/dbt/logs/dbt.log.")
    build_parser.add_argument("--select", nargs="+", help="dbt node selection (default: everything)")
    build_parser.add_argument("--full-refresh", action="store_true", help="rebuild incremental models")
    build_parser.set_defaults(func=run_build)

    query_parser = subparsers.add_parser(
        "query", help="run SQL against the warehouse (read-only)",
        description="Runs one SQL statement on a read-only connection to the warehouse and prints "
                    "the rows as a table, CSV or JSON.")
    source = query_parser.add_mutually_exclusive_group(required=True)
    source.add_argument("sql", nargs="?", help="the SQL statement")
    source.add_argument("--file", type=Path, help="read the SQL from this file")
    query_parser.add_argument("--format", choices=FORMATS, default="table", help="output format")
    query_parser.set_defaults(func=run_query)

    _register_classify(subparsers)


def _register_classify(subparsers: argparse._SubParsersAction) -> None:
    """Hook for part B: ``churnkb/classify.py`` provides ``register_classify(subparsers)``."""
    try:
        from churnkb import classify
    except ModuleNotFoundError as exc:
        if exc.name != "churnkb.classify":
            raise
        return
    classify.register_classify(subparsers)


def run_build(args: argparse.Namespace) -> int:
    config = load_config(args.config, args.data_dir)
    warn_if_nothing_synced(config)
    try:
        report = build(config, select=args.select, full_refresh=args.full_refresh)
    except WarehouseBusy as exc:
        raise CommandError(str(exc)) from exc
    if report.interrupted:
        print(report.summary(), file=sys.stderr)
        raise KeyboardInterrupt
    print(report.summary(), file=sys.stdout if report.success else sys.stderr)
    return EXIT_OK if report.success else EXIT_FAILED


def warn_if_nothing_synced(config) -> None:  # noqa: ANN001
    """A build on an empty raw zone succeeds with empty marts; say why they will be empty."""
    raw = config.data_dir / "raw"
    if not raw.exists() or not any(raw.rglob("*.parquet")):
        say("build", f"warning: nothing synced yet under {raw}; the marts will be empty. "
                     "Run `churnkb sync all` first.")


def run_query(args: argparse.Namespace) -> int:
    try:
        sql = args.file.read_text(encoding="utf-8") if args.file else args.sql
    except OSError as exc:
        raise CommandError(f"cannot read {args.file}: {exc.strerror}", EXIT_USAGE) from exc
    config = load_config(args.config, args.data_dir)
    try:
        frame = query(config, sql)
    except WarehouseBusy as exc:
        raise CommandError(str(exc)) from exc
    except WarehouseError as exc:
        raise CommandError(str(exc), EXIT_USAGE) from exc
    sys.stdout.write(format_frame(frame, args.format))
    return EXIT_OK


def format_frame(frame: pl.DataFrame, output_format: str) -> str:
    """Render query rows as an aligned table, CSV or JSON (a list of objects)."""
    if output_format == "csv":
        return frame.write_csv()
    if output_format == "json":
        return json.dumps(frame.to_dicts(), default=str, indent=2) + "\n"
    return _table(frame)


def _table(frame: pl.DataFrame) -> str:
    headers = frame.columns
    rows = [["" if value is None else str(value) for value in row] for row in frame.iter_rows()]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    lines = [
        "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)),
        "  ".join("-" * w for w in widths),
    ]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in rows]
    lines.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(lines) + "\n"
