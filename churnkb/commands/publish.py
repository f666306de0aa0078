"""`churnkb publish digests|alerts|reengagement`: run a publisher once, outside Prefect."""

from __future__ import annotations

import argparse
from datetime import date

from churnkb.commands.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_USAGE,
    CommandError,
    say,
)
from churnkb.config import Config, load_config
from churnkb.publishers.periods import parse_period, with_period_kind


def register(subparsers: argparse._SubParsersAction) -> None:
    publish = subparsers.add_parser(
        "publish", help="send departmental digests, offboarding alerts or re-engagement lists",
        description="Reads the marts and publishes to the channels in churnkb.yaml. Every send is "
                    "recorded in the publication ledger, so re-running skips what was sent (an "
                    "interrupted send goes again under the same id: README, 'What a send "
                    "guarantees').")
    publish.add_argument("what", choices=["digests", "alerts", "reengagement"])
    publish.add_argument("--period", help="digests: the period to publish, as 2026-W47, 2026-11 "
                                          "or a date inside it (default: the last complete one)")
    publish.add_argument("--write-back", action="store_true",
                         help="reengagement: also create a follow-up task in the CRM per account")
    publish.add_argument("--dry-run", action="store_true",
                         help="build everything, send and write nothing; show what would go out")
    publish.set_defaults(func=run_publish)


def _publish(args: argparse.Namespace, config, period_end: date | None):  # noqa: ANN001, ANN202
    if args.what == "digests":
        from churnkb.publishers.digests import publish_digests

        return publish_digests(config, period_end=period_end, dry_run=args.dry_run)
    if args.what == "alerts":
        from churnkb.publishers.alerts import publish_alerts

        return publish_alerts(config, dry_run=args.dry_run)
    from churnkb.publishers.reengagement import publish_reengagement

    return publish_reengagement(config, write_back=args.write_back, dry_run=args.dry_run)


def run_publish(args: argparse.Namespace) -> int:
    config = load_config(args.config, args.data_dir)
    try:
        period_end, kind = parse_period(args.period) if args.period else (None, None)
    except ValueError as exc:
        raise CommandError(str(exc), EXIT_USAGE) from exc
    config = with_period_kind(config, kind)
    if args.what == "digests":
        warn_unrouted_departments(config)
    from churnkb.publishers.marts import MartMissing
    from churnkb.warehouse import WarehouseError

    try:
        report = _publish(args, config, period_end)
    except (MartMissing, WarehouseError) as exc:
        raise CommandError(str(exc), EXIT_USAGE) from exc
    for row in report.rows():
        where = row["target"] or ""
        print(f"{row['status']:8} {row['kind']:12} {row['department'] or '-':17} "
              f"{row['period']:10} {row['channel'] or '-':10} {where} {row['detail']}".rstrip())
    print(f"{args.what}: {report.summary()}")
    return publish_exit_code(report.sent, report.failed)


def unrouted_departments(config: Config) -> list[str]:
    """Configured departments that no reason category routes to: their digest stays empty."""
    from churnkb.publishers.settings import Publishing

    publishing = Publishing.from_config(config)
    return [name for name in publishing.departments if not publishing.categories_for(name)]


def warn_unrouted_departments(config: Config) -> None:
    for name in unrouted_departments(config):
        say("publish", f"warning: no reason category routes to department '{name}', so its "
                       "digest will stay empty; add it to publishing.routing (category -> "
                       "departments) or remove it from publishing.departments")


def publish_exit_code(sent: int, failed: int) -> int:
    """0 nothing failed, 3 some sends failed (re-run retries only those), 1 every send failed."""
    if not failed:
        return EXIT_OK
    return EXIT_PARTIAL if sent else EXIT_FAILED
