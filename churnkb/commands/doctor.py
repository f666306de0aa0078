"""``churnkb doctor``: check the CRM connections and configuration before the first sync."""

from __future__ import annotations

import argparse
import os

from churnkb.commands.common import EXIT_FAILED, EXIT_OK, EXIT_PARTIAL, EXIT_USAGE
from churnkb.config import load_config

UNMAPPED = "unmapped: add it to dbt_project/seeds/stated_reason_map.csv"


def register(subparsers: argparse._SubParsersAction) -> None:
    doctor = subparsers.add_parser(
        "doctor", help="check credentials, readable objects, configured fields and sync cost",
        description="Connects to each CRM with the configured credentials and prints what it can "
                    "read, every configured field or property that does not exist (with the "
                    "closest real names), how the loss-reason and cancellation values map, and "
                    "the records, requests and share of the daily API quota of a full and an "
                    "hourly sync. Exit 0 all good, 2 a configured name is wrong, 3 some objects "
                    "cannot be read, 1 a CRM cannot be reached.")
    doctor.add_argument("source", nargs="?", default="all", choices=("salesforce", "hubspot", "all"))
    doctor.set_defaults(func=run_doctor)


def run_doctor(args: argparse.Namespace) -> int:
    from churnkb.connectors.doctor import diagnose_hubspot, diagnose_salesforce

    config = load_config(args.config, args.data_dir)
    sources = config.section("sources")
    diagnose = {"salesforce": diagnose_salesforce, "hubspot": diagnose_hubspot}
    codes = []
    for source in (["salesforce", "hubspot"] if args.source == "all" else [args.source]):
        diagnosis = diagnose[source](sources.get(source) or {})
        print(render(diagnosis))
        codes.append(exit_code(diagnosis))
    return max(codes, key=lambda code: (EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, EXIT_FAILED).index(code))


def exit_code(diagnosis) -> int:  # noqa: ANN001
    if diagnosis.fatal:
        return EXIT_FAILED
    if diagnosis.field_problems:
        return EXIT_USAGE
    return EXIT_PARTIAL if diagnosis.unreadable else EXIT_OK


def render(diagnosis) -> str:  # noqa: ANN001
    url_variable = {"salesforce": "SALESFORCE_INSTANCE_URL", "hubspot": "HUBSPOT_BASE_URL"}
    where = os.environ.get(url_variable[diagnosis.source], "https://api.hubapi.com")
    lines = [f"{diagnosis.source} ({where})"]
    if diagnosis.fatal:
        return "\n".join(lines + [f"  FAILED: {diagnosis.fatal}", ""])
    lines.append(f"  can read: {', '.join(diagnosis.readable) or 'nothing'}")
    lines += [f"  cannot read: {problem}" for problem in diagnosis.unreadable]
    if diagnosis.field_problems:
        lines += [f"  ERROR {problem}" for problem in diagnosis.field_problems]
    else:
        lines.append("  configured fields: all exist")
    lines += _mapping_lines(diagnosis.value_mappings)
    lines += _cost_lines(diagnosis)
    return "\n".join(lines + [""])


def _mapping_lines(mappings: list[tuple[str, str, str | None]]) -> list[str]:
    lines: list[str] = []
    for field in dict.fromkeys(name for name, _, _ in mappings):
        lines.append(f"  values of {field}:")
        values = [(value, category) for name, value, category in mappings if name == field]
        width = max(len(value) for value, _ in values)
        for value, category in values:
            shown = category or (UNMAPPED if "Case" not in field and "ticket" not in field
                                 else "not a cancellation")
            lines.append(f"    {value:<{width}}  -> {shown}")
    return lines


def _cost_lines(diagnosis) -> list[str]:  # noqa: ANN001
    if not diagnosis.estimates:
        return []
    rows = [(e.stream, e.records, e.full_requests, e.hourly_requests) for e in diagnosis.estimates]
    totals = ("total", *(sum(row[i] for row in rows) for i in (1, 2, 3)))
    header = ("stream", "records", "full sync requests", "hourly sync requests")
    table = [header, *[tuple(map(str, row)) for row in rows], tuple(map(str, totals))]
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    lines = ["  sync cost (estimate):"]
    lines += ["    " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
              for row in table]
    if diagnosis.daily_limit:
        full, hourly = diagnosis.share_of_daily(totals[2]), diagnosis.share_of_daily(totals[3])
        lines.append(f"  daily API limit {diagnosis.daily_limit:,} ({diagnosis.daily_used:,} used "
                     f"today): a full sync takes {full:.1%}, an hourly sync {hourly:.2%} "
                     f"({24 * hourly:.1%} a day)")
    else:
        lines.append("  daily API limit: not reported by the API")
    return lines
