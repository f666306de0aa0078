"""``churnkb sandbox``: run both sandbox CRMs in the foreground on loopback.

Prints the ``export`` lines that point the flows (and prefect.yaml deployments) at them, then
serves until Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Any

from churnkb.config import ConfigError, load_config

READY_LINE = "# sandboxes running; press Ctrl-C to stop"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sandbox", help="run the sandbox Salesforce and HubSpot CRMs on loopback (foreground)",
        description="Generate a synthetic world and serve it from a Salesforce REST and a HubSpot "
                    "CRM v3/v4 sandbox on 127.0.0.1 until Ctrl-C. Prints the environment to export.")
    parser.add_argument("--accounts", type=int, help="customers to generate (default: config sandbox.accounts)")
    parser.add_argument("--seed", type=int, help="random seed; the same seed gives the same data "
                                                 "(default: config sandbox.seed)")
    parser.add_argument("--faults", metavar="SPEC",
                        help="faults to inject, e.g. 'rate_limit_every=7,error_every=11,latency_ms=5'")
    parser.add_argument("--salesforce-port", type=int, default=0, metavar="P", help="default: a free port")
    parser.add_argument("--hubspot-port", type=int, default=0, metavar="P", help="default: a free port")
    parser.add_argument("--hubspot-without-scope", action="append", default=[], metavar="SCOPE",
                        help="a scope the HubSpot token lacks, e.g. crm.objects.feedback_submissions.read "
                             "(that object answers 403 MISSING_SCOPES); repeatable")
    parser.set_defaults(func=run_sandbox)


def run_sandbox(args: argparse.Namespace) -> int:
    try:
        settings = sandbox_settings(args)
    except (ConfigError, ValueError) as error:
        print(f"churnkb sandbox: {error}", file=sys.stderr)
        return 2
    # Imported here so the rest of the CLI starts without loading the generator.
    from churnkb.sandbox.run import sandboxes

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        with sandboxes(**settings) as running:
            for line in describe(running) + running.exports() + [READY_LINE]:
                print(line)
            sys.stdout.flush()
            _wait(stop)
    except OSError as error:  # e.g. the requested port is taken
        print(f"churnkb sandbox: cannot start the sandboxes: {error}", file=sys.stderr)
        return 1
    print("sandboxes stopped", file=sys.stderr)
    return 0


def sandbox_settings(args: argparse.Namespace) -> dict[str, Any]:
    """Flags first, then the config's ``sandbox`` section; faults parsed (ValueError if bad)."""
    from churnkb.sandbox.faults import Faults

    section = load_config(args.config, args.data_dir).section("sandbox")
    accounts = args.accounts if args.accounts is not None else int(section.get("accounts", 200))
    if accounts < 1:
        raise ValueError(f"--accounts must be at least 1, got {accounts}")
    return {
        "accounts": accounts,
        "seed": args.seed if args.seed is not None else int(section.get("seed", 7)),
        "faults": Faults.parse(args.faults or section.get("faults")),
        "salesforce_port": args.salesforce_port,
        "hubspot_port": args.hubspot_port,
        "hubspot_missing_scopes": _known_scopes(getattr(args, "hubspot_without_scope", None) or []),
    }


def _known_scopes(scopes: list[str]) -> tuple[str, ...]:
    from churnkb.sandbox.hubspot_catalog import ALL_SCOPES

    unknown = sorted(set(scopes) - ALL_SCOPES)
    if unknown:
        raise ValueError(f"unknown HubSpot scope(s) {', '.join(unknown)}; "
                         f"known: {', '.join(sorted(ALL_SCOPES))}")
    return tuple(scopes)


def describe(running: Any) -> list[str]:
    """Comment lines saying what is served (safe to paste into a shell with the exports)."""
    world = running.world
    hubspot = ", ".join(f"{len(v)} {k}" for k, v in world.hubspot_objects.items())
    salesforce = ", ".join(f"{len(v)} {k}" for k, v in world.salesforce.items())
    lines = [f"# Salesforce sandbox at {running.salesforce.base_url}: {salesforce}",
             f"# HubSpot sandbox at {running.hubspot.base_url}: {hubspot}"]
    if running.hubspot.faults.any:
        lines.append(f"# faults: {running.hubspot.faults}")
    return lines


def _wait(stop: threading.Event) -> None:
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
