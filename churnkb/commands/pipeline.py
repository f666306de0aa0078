"""`churnkb demo`, `churnkb serve` and `churnkb run <flow>`: the CLI front of the Prefect flows.

Prefect is imported only inside the handlers, after its settings are in the environment.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path

from churnkb.config import ConfigError, load_config, resolve_config_path, resolve_data_dir

FLOW_FUNCTIONS = {
    "sync-salesforce": "sync_salesforce",
    "sync-hubspot": "sync_hubspot",
    "build-warehouse": "build_warehouse",
    "publish-digests": "publish_digests",
    "publish-alerts": "publish_alerts",
    "publish-reengagement": "publish_reengagement",
    "churn-pipeline": "churn_pipeline",
}
DEMO_MARKER = ".churnkb-demo"
KEPT_BETWEEN_DEMOS = {DEMO_MARKER, ".prefect"}  # Prefect's DB: later runs skip its migrations
NEEDS_SERVER = (
    "churnkb serve needs a running Prefect server, and {problem}.\n"
    "Start one with `prefect server start` (it listens on http://127.0.0.1:4200) and set\n"
    "PREFECT_API_URL=http://127.0.0.1:4200/api, or point PREFECT_API_URL at Prefect Cloud.\n"
    "To run the pipeline once without a server, use `churnkb demo` or `churnkb run churn-pipeline`."
)


class DemoDirError(RuntimeError):
    """The data directory holds something the demo must not wipe."""


def register(subparsers: argparse._SubParsersAction) -> None:
    demo = subparsers.add_parser(
        "demo", help="run the whole pipeline once against in-process sandbox CRMs and print a summary",
        description="Starts the sandbox CRMs, runs churn_pipeline end to end on a fresh data directory "
                    "(default ./data; earlier demo output there is replaced) and prints a summary.")
    demo.add_argument("--accounts", type=int, help="sandbox accounts (default: sandbox.accounts in the config)")
    demo.add_argument("--seed", type=int, help="sandbox seed (default: sandbox.seed in the config)")
    demo.set_defaults(func=run_demo)

    serve = subparsers.add_parser(
        "serve", help="serve every flow with its schedule from this process (needs a Prefect server)")
    serve.set_defaults(func=run_serve)

    run = subparsers.add_parser(
        "run", help="run one flow now, locally",
        description="Runs one Prefect flow once in this process (an ephemeral local Prefect server "
                    "under <data dir>/.prefect unless PREFECT_API_URL is set) and prints a summary.")
    run.add_argument("flow", choices=sorted(FLOW_FUNCTIONS), help="the flow to run")
    run.add_argument("--publishers", nargs="+", metavar="NAME",
                     help="churn-pipeline only: publishers to run (alerts digests reengagement, or all); "
                          "default: those due by schedule")
    run.add_argument("--full-refresh", action="store_true", help="syncs and builds: start from scratch")
    run.set_defaults(func=run_flow)


# --- demo ----------------------------------------------------------------------------------------


def prepare_demo_dir(data_dir: Path) -> None:
    """Empty the data directory of earlier demo output; refuse to touch anything else."""
    if data_dir.exists() and any(data_dir.iterdir()) and not (data_dir / DEMO_MARKER).exists():
        raise DemoDirError(
            f"{data_dir} already holds data that the demo did not create; the demo needs a fresh "
            f"directory: pass --data-dir (e.g. --data-dir demo-data) or empty {data_dir}")
    data_dir.mkdir(parents=True, exist_ok=True)
    for entry in data_dir.iterdir():
        if entry.name in KEPT_BETWEEN_DEMOS:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    (data_dir / DEMO_MARKER).write_text("created by `churnkb demo`; the next demo run empties this directory\n")


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """Set env vars for the duration (the connectors read the sandbox URLs and tokens from it)."""
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _config_arg(args: argparse.Namespace) -> str | None:
    path = resolve_config_path(args.config)
    return str(path.resolve()) if path else None


def run_demo(args: argparse.Namespace) -> int:
    started = time.monotonic()
    data_dir = resolve_data_dir(args.data_dir)
    try:
        config = load_config(args.config, data_dir)
        prepare_demo_dir(data_dir)
    except (ConfigError, DemoDirError) as exc:
        print(f"churnkb demo: {exc}", file=sys.stderr)
        return 2
    from churnkb.flows.runtime import apply_local_prefect_env

    apply_local_prefect_env(data_dir)
    sandbox = config.section("sandbox")
    accounts = args.accounts or int(sandbox.get("accounts", 200))
    seed = args.seed if args.seed is not None else int(sandbox.get("seed", 7))
    print(f"churnkb demo: sandbox CRMs with {accounts} accounts (seed {seed}), data in {data_dir}")
    print("Starting Prefect (a local ephemeral server) and running churn_pipeline ...", flush=True)

    from churnkb.flows.churn import churn_pipeline
    from churnkb.flows.runtime import without_heartbeat
    from churnkb.flows.summary import demo_summary
    from churnkb.sandbox.generator import generate_world
    from churnkb.sandbox.run import sandboxes

    # The sandbox's history ends today, so this week's digests and alerts have something to say.
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    world = generate_world(accounts=accounts, seed=seed, now=today)
    try:
        with sandboxes(world=world) as crms, environment(crms.env), without_heartbeat():
            result = churn_pipeline(config_path=_config_arg(args), data_dir=str(data_dir),
                                    publishers=["alerts", "reengagement"])
            result["digest_period"] = publish_demo_digests(result, config, _config_arg(args), data_dir)
        print()
        print(demo_summary(result, config))
        steps_line = ", ".join(f"{step} {seconds:.0f} s" for step, seconds in result["timings_s"].items())
        print(f"\nSteps: {steps_line}")
    except Exception as exc:  # a clear one-line reason instead of a traceback; details are in the run
        from churnkb.flows.steps import safe_text

        print(f"churnkb demo failed: {safe_text(exc)}", file=sys.stderr)
        return 1
    print(f"\nDemo finished in {time.monotonic() - started:.0f} s.")
    return 0


def publish_demo_digests(result: dict, config, config_path: str | None, data_dir: Path) -> str:  # noqa: ANN001
    """Publish the digests for the latest month in which every department has something to
    report, so the demo shows all five (the last complete week often has little churn)."""
    from churnkb.flows.churn import publish_digests
    from churnkb.flows.steps import richest_digest_month
    from churnkb.publishers.settings import Publishing

    departments = list(Publishing.from_config(config).departments)
    period = richest_digest_month(config, departments)
    started = time.monotonic()
    result["published"]["digests"] = publish_digests(config_path=config_path, data_dir=str(data_dir),
                                                     period=period)
    result["timings_s"]["publish-digests"] = round(time.monotonic() - started, 1)
    return period or "the last complete period"


# --- serve ---------------------------------------------------------------------------------------


def prefect_api_problem() -> str | None:
    """None if a Prefect API is configured and healthy, else what is wrong."""
    import httpx
    from prefect.settings import PREFECT_API_URL

    api_url = PREFECT_API_URL.value()
    if not api_url:
        return "PREFECT_API_URL is not set"
    try:
        response = httpx.get(api_url.rstrip("/") + "/health", timeout=5)
    except httpx.HTTPError as exc:
        return f"nothing answers at {api_url} ({type(exc).__name__})"
    if response.status_code != 200:
        return f"{api_url}/health answered HTTP {response.status_code}"
    return None


def run_serve(args: argparse.Namespace) -> int:
    for name, value in (("DBT_LOG_LEVEL", "warn"), ("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")):
        os.environ.setdefault(name, value)
    problem = prefect_api_problem()
    if problem:
        print(NEEDS_SERVER.format(problem=problem), file=sys.stderr)
        return 2
    from prefect import serve

    from churnkb.flows.deployments import served_deployments

    parameters = {"config_path": _config_arg(args), "data_dir": str(resolve_data_dir(args.data_dir))}
    serve(*served_deployments(parameters))
    return 0


# --- run -----------------------------------------------------------------------------------------


def run_flow(args: argparse.Namespace) -> int:
    data_dir = resolve_data_dir(args.data_dir)
    from churnkb.flows.runtime import apply_local_prefect_env

    apply_local_prefect_env(data_dir)
    from churnkb.flows import churn
    from churnkb.flows.runtime import without_heartbeat
    from churnkb.flows.steps import safe_text
    from churnkb.flows.summary import run_summary

    config = load_config(args.config, data_dir)
    flow_obj = getattr(churn, FLOW_FUNCTIONS[args.flow])
    params: dict[str, object] = {"config_path": _config_arg(args), "data_dir": str(data_dir)}
    if args.flow == "churn-pipeline" and args.publishers:
        params["publishers"] = args.publishers
    if args.full_refresh and args.flow in ("sync-salesforce", "sync-hubspot", "build-warehouse", "churn-pipeline"):
        params["full_refresh"] = True
    # heartbeats only help a real server spot crashed runs; the ephemeral one dies with us
    quiet = nullcontext() if os.environ.get("PREFECT_API_URL") else without_heartbeat()
    try:
        with quiet:
            result = flow_obj(**params)
    except Exception as exc:
        print(f"churnkb run: {args.flow} failed: {safe_text(exc)}", file=sys.stderr)
        return 1
    print(run_summary(args.flow, result, config))
    return 0
