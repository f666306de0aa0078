"""The ``churnkb`` command line: a thin front for the flows and the plain functions behind them."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import traceback
from collections.abc import Sequence

from churnkb import __version__
from churnkb.commands.common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    CommandError,
    add_global_options,
    say,
)
from churnkb.config import ConfigError
from churnkb.secrets import install_log_redaction, redact

# Each module registers its own subcommands, so areas never edit each other's CLI code.
COMMAND_MODULES = (
    "churnkb.commands.sandbox",
    "churnkb.commands.sync",
    "churnkb.commands.warehouse",
    "churnkb.commands.publish",
    "churnkb.commands.pipeline",
    "churnkb.commands.doctor",
    "churnkb.commands.docs",
    "churnkb.commands.review",
)

EXAMPLES = {
    "sandbox": "churnkb sandbox --accounts 50 --seed 3",
    "sync": "churnkb sync all\n  churnkb sync hubspot --streams deals,tickets --full-refresh",
    "status": "churnkb status\n  churnkb status --json | jq '.[0]'",
    "build": "churnkb build\n  churnkb build --select +fct_feedback_items",
    "query": "churnkb query \"select category, count(*) from fct_feedback_items group by 1\"\n"
             "  churnkb query --file report.sql --format csv > report.csv",
    "classify": "echo '{\"id\": \"1\", \"text\": \"Too expensive after the renewal\"}' | churnkb classify",
    "publish": "churnkb publish digests --period 2026-11 --dry-run\n  churnkb publish alerts",
    "demo": "churnkb demo\n  churnkb demo --accounts 100 --data-dir demo-data",
    "serve": "PREFECT_API_URL=http://127.0.0.1:4200/api churnkb serve",
    "run": "churnkb run churn-pipeline\n  churnkb run build-warehouse --data-dir /srv/churnkb",
    "doctor": "churnkb doctor\n  churnkb doctor hubspot",
    "docs": "churnkb docs\n  churnkb docs --serve --port 8580",
    "review": "churnkb review export --out review.csv\n  churnkb review import review.csv",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="churnkb",
        description="Churn knowledge base: sync CRMs, build the DuckDB warehouse, publish digests.",
        epilog="Exit codes: 0 done, 1 failed, 2 usage or configuration error, 3 partial, "
               "130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"churnkb {__version__}")
    add_global_options(parser, top_level=True)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue  # an area that has not shipped its commands yet
        module.register(subparsers)
    for name, subparser in subparsers.choices.items():
        _finish_subparser(name, subparser, _help_of(subparsers, name))
    return parser


def _help_of(subparsers: argparse._SubParsersAction, name: str) -> str | None:
    return next((action.help for action in subparsers._choices_actions if action.dest == name), None)


def _finish_subparser(name: str, parser: argparse.ArgumentParser, help_text: str | None) -> None:
    """Every command: global options after it too, a description and an example in --help."""
    add_global_options(parser, top_level=False)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    if not parser.description and help_text:
        parser.description = help_text[0].upper() + help_text[1:] + "."
    if name in EXAMPLES and not parser.epilog:
        parser.epilog = "example:\n  " + EXAMPLES[name]
    for action in parser._actions:  # nested subcommands (e.g. review export|import)
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                _finish_subparser(f"{name} {sub_name}", sub, _help_of(action, sub_name))


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_OK
    command = args.command
    install_log_redaction()  # before anything logs: no secret reaches stderr or a log file
    if args.debug:  # tracebacks of expected failures are logged at debug level
        logging.basicConfig(level=logging.DEBUG, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args) or EXIT_OK)
    except KeyboardInterrupt:
        say(command, "interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return _closed_pipe()
    except (CommandError, ConfigError) as exc:
        if args.debug:
            print(redact(traceback.format_exc()), end="", file=sys.stderr)
        say(command, str(exc))
        return exc.exit_code if isinstance(exc, CommandError) else EXIT_USAGE
    except Exception as exc:  # an unexpected failure: one line, the traceback with --debug
        if args.debug:
            print(redact(traceback.format_exc()), end="", file=sys.stderr)
        from churnkb.flows.steps import safe_text

        say(command, f"failed: {safe_text(exc)} (run with --debug for the traceback)")
        return EXIT_FAILED


def _closed_pipe() -> int:
    """The reader went away (``churnkb status --json | head``): stop quietly, like other tools."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())  # Python flushes stdout at exit; that must not fail
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
