"""What every command shares: exit codes, the message format and the global options.

Exit codes (README, "Exit codes"): 0 done, 1 failed, 2 usage or configuration error, 3 partial
(some streams or sends failed; the next run resumes), 130 interrupted (Ctrl-C). Messages about a
command go to stderr as ``churnkb <command>: ...``.
"""

from __future__ import annotations

import argparse
import sys

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_PARTIAL = 3
EXIT_INTERRUPTED = 130


class CommandError(Exception):
    """An expected failure: its message is printed as one line, with no traceback."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def say(command: str, message: str) -> None:
    """One line on stderr in the shared ``churnkb <command>: ...`` form."""
    print(f"churnkb {command}: {message}", file=sys.stderr, flush=True)


def add_global_options(parser: argparse.ArgumentParser, *, top_level: bool) -> None:
    """--config, --data-dir and --debug, accepted before or after the subcommand.

    On subcommands the defaults are SUPPRESS, so an option given before the subcommand is not
    overwritten by the subcommand's unset one.
    """
    default = None if top_level else argparse.SUPPRESS
    parser.add_argument("--config", default=default, metavar="FILE",
                        help="path to churnkb.yaml (default: $CHURNKB_CONFIG or ./churnkb.yaml)")
    parser.add_argument("--data-dir", default=default, metavar="DIR",
                        help="data directory (default: $CHURNKB_DATA_DIR or ./data)")
    parser.add_argument("--debug", action="store_true",
                        default=False if top_level else argparse.SUPPRESS,
                        help="show tracebacks for failures")


def status_exit_code(statuses: list[str]) -> int:
    """The exit code of a run made of parts (streams, sources, sends) with these statuses."""
    if not statuses:
        return EXIT_OK
    if all(status == "failed" for status in statuses):
        return EXIT_FAILED
    if any(status in ("failed", "partial") for status in statuses):
        return EXIT_PARTIAL
    return EXIT_OK
