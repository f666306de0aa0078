"""The ``churnkb`` command line: a thin front for the flows and the plain functions behind them."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from churnkb import __version__

# Each module registers its own subcommands, so areas never edit each other's CLI code.
COMMAND_MODULES = (
    "churnkb.commands.sandbox",
    "churnkb.commands.sync",
    "churnkb.commands.warehouse",
    "churnkb.commands.publish",
    "churnkb.commands.pipeline",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="churnkb",
        description="Churn knowledge base: sync CRMs, build the DuckDB warehouse, publish digests.",
    )
    parser.add_argument("--version", action="version", version=f"churnkb {__version__}")
    parser.add_argument("--config", help="path to churnkb.yaml (default: $CHURNKB_CONFIG or ./churnkb.yaml)")
    parser.add_argument("--data-dir", help="data directory (default: $CHURNKB_DATA_DIR or ./data)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue  # an area that has not shipped its commands yet
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
