"""``churnkb build`` and ``churnkb query`` (plus ``churnkb classify`` from churnkb/classify.py)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import polars as pl

from churnkb.config import ConfigError, load_config
from churnkb.warehouse import WarehouseError, build, generate_docs, query
from churnkb.warehouse_lock import WarehouseBusy

FORMATS = ("table", "csv", "json")


def register(subparsers: argparse._SubParsersAction) -> None:
    build_parser = subparsers.add_parser("build", help="run dbt build: raw zone -> DuckDB warehouse marts")
    build_parser.add_argument("--select", nargs="+", help="dbt node selection (default: everything)")
    build_parser.add_argument("--full-refresh", action="store_true", help="rebuild incremental models")
    build_parser.add_argument("--docs", action="store_true", help="then generate the dbt docs site (glossary)")
    build_parser.set_defaults(func=run_build)

    query_parser = subparsers.add_parser("query", help="run SQL against the warehouse (read-only)")
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
    try:
        config = load_config(args.config, args.data_dir)
        report = build(config, select=args.select, full_refresh=args.full_refresh)
    except (ConfigError, WarehouseBusy) as exc:
        print(f"churnkb build: {exc}", file=sys.stderr)
        return 2
    print(report.summary(), file=sys.stdout if report.success else sys.stderr)
    if not report.success:
        return 1
    if args.docs:
        try:
            print(f"docs: {generate_docs(config)}")
        except WarehouseError as exc:
            print(f"churnkb build: {exc}", file=sys.stderr)
            return 1
    return 0


def run_query(args: argparse.Namespace) -> int:
    try:
        sql = args.file.read_text(encoding="utf-8") if args.file else args.sql
    except OSError as exc:
        print(f"churnkb query: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    try:
        config = load_config(args.config, args.data_dir)
        frame = query(config, sql)
    except (ConfigError, WarehouseError, WarehouseBusy) as exc:
        print(f"churnkb query: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(format_frame(frame, args.format))
    return 0


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
