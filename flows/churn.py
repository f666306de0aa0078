"""churnkb's Prefect flows: the playbook as thin flows over a few coarse tasks.

Each flow takes `config_path` and `data_dir` (both optional: `$CHURNKB_CONFIG` / `$CHURNKB_DATA_DIR`
otherwise), leaves one artifact summarising its run, and tells the failure channel when it fails.
The work itself lives in `flows/steps.py` (plain functions, tested without Prefect).
Entry points for `prefect.yaml`: `flows/churn.py:<flow function>`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from churnkb.flows import steps
from churnkb.flows.schedule import PUBLISHERS, due_publishers, select_publishers
from prefect import flow, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import FlowRun
from prefect.states import State

from churnkb.secrets import install_log_redaction, redacting_exceptions

# A worker imports this module to run a flow: from then on every log record of the process
# (Prefect's own included, on their way to the API) is cleaned of secret values. Every task and
# flow is also @redacting_exceptions: what escapes one becomes its state message in the API.
install_log_redaction()


def _notify_failure_hook(flow_obj: Any, flow_run: FlowRun, state: State) -> None:
    """on_failure hook: runs in-process after retries are exhausted. A sub-flow of the pipeline
    stays quiet: the pipeline's own notice names every step that failed, so people get one."""
    if flow_run.parent_task_run_id is not None:
        return
    params = flow_run.parameters or {}
    inputs = steps.FlowInputs(params.get("config_path"), params.get("data_dir"))
    steps.notify_failure(inputs, flow_obj.name, state.message or f"{flow_obj.name} failed")


# --- tasks: one per source, per build, per publisher (never per record) -------------------------
# Side-effecting steps: NO_CACHE so a rerun really reruns. Only strings cross task boundaries.


def _worth_retrying(task_obj: Any, task_run: Any, state: State) -> bool:
    """Retry what a second try can fix (network, timeouts, failed streams or sends); a missing
    token, a bad config or a missing mart fails the same way every time, so fail at once."""
    try:
        state.result()
    except steps.NotRetryable:
        return False
    except (steps.StepFailed, OSError, TimeoutError):
        return True
    except Exception:
        return False
    return True


@task(retries=2, retry_delay_seconds=[5, 30], retry_condition_fn=_worth_retrying, cache_policy=NO_CACHE)
@redacting_exceptions
def sync_source_task(
    source: str, config_path: str | None, data_dir: str | None, streams: list[str] | None, full_refresh: bool
) -> dict[str, Any]:
    """Retried: a transient API outage is worth a second try; cursors make the rerun cheap."""
    summary = steps.run_sync(source, steps.FlowInputs(config_path, data_dir).config(),
                             streams=streams, full_refresh=full_refresh)
    create_table_artifact(key=f"sync-{source}", table=summary["rows"] or [{"stream": "-", "records": 0}],
                          description=f"{source} sync: {summary['status']}")
    steps.check_sync(summary)
    return summary


@task(cache_policy=NO_CACHE)
@redacting_exceptions
def build_task(
    config_path: str | None, data_dir: str | None, select: list[str] | None, full_refresh: bool
) -> dict[str, Any]:
    """Not retried: a dbt failure is deterministic, and waiting for the writer lock is built in."""
    summary = steps.run_build(steps.FlowInputs(config_path, data_dir).config(),
                              select=select, full_refresh=full_refresh)
    table = [{"success": summary["success"], "duration_s": summary["duration_s"], "failed": failure}
             for failure in summary["failures"] or [None]]
    create_table_artifact(key="build-warehouse", table=table, description="dbt build of the churn warehouse")
    steps.check_build(summary)
    return summary


@task(retries=2, retry_delay_seconds=[5, 30], retry_condition_fn=_worth_retrying, cache_policy=NO_CACHE)
@redacting_exceptions
def publish_task(name: str, config_path: str | None, data_dir: str | None,
                 period: str | None = None) -> dict[str, Any]:
    """Retried: channels fail transiently, and the publication ledger stops a double send."""
    summary = steps.run_publisher(name, steps.FlowInputs(config_path, data_dir).config(),
                                  period=period)
    create_table_artifact(key=f"publish-{name}", table=summary["rows"] or [{"sent": 0, "failed": 0}],
                          description=f"{name}: {summary['sent']} sent, {summary['failed']} failed")
    steps.check_publish(summary)
    return summary


# --- flows -------------------------------------------------------------------------------------


@flow(name="sync-salesforce", on_failure=[_notify_failure_hook])
@redacting_exceptions
def sync_salesforce(config_path: str | None = None, data_dir: str | None = None,
                    streams: list[str] | None = None, full_refresh: bool = False) -> dict[str, Any]:
    """Closed-lost deals, cancellation cases, notes and activity from Salesforce into the raw zone."""
    return sync_source_task("salesforce", config_path, data_dir, streams, full_refresh)


@flow(name="sync-hubspot", on_failure=[_notify_failure_hook])
@redacting_exceptions
def sync_hubspot(config_path: str | None = None, data_dir: str | None = None,
                 streams: list[str] | None = None, full_refresh: bool = False) -> dict[str, Any]:
    """Closed-lost deals, cancellation tickets, notes and feedback from HubSpot into the raw zone."""
    return sync_source_task("hubspot", config_path, data_dir, streams, full_refresh)


@flow(name="build-warehouse", on_failure=[_notify_failure_hook])
@redacting_exceptions
def build_warehouse(config_path: str | None = None, data_dir: str | None = None,
                    select: list[str] | None = None, full_refresh: bool = False) -> dict[str, Any]:
    """Rebuild the DuckDB warehouse from the raw zone into a copy, swapped in whole when complete
    (readers meanwhile keep the last complete warehouse; a killed build leaves it untouched)."""
    return build_task(config_path, data_dir, select, full_refresh)


@flow(name="publish-digests", on_failure=[_notify_failure_hook])
@redacting_exceptions
def publish_digests(config_path: str | None = None, data_dir: str | None = None,
                    period: str | None = None) -> dict[str, Any]:
    """Each department's digest of churn feedback routed to it (default: the last complete
    period; `period` such as 2026-W47 or 2026-11 publishes that one)."""
    return publish_task("digests", config_path, data_dir, period)


@flow(name="publish-alerts", on_failure=[_notify_failure_hook])
@redacting_exceptions
def publish_alerts(config_path: str | None = None, data_dir: str | None = None) -> dict[str, Any]:
    """Offboarding alerts: saveable notices, SLA breaches, hand-over deadlines."""
    return publish_task("alerts", config_path, data_dir)


@flow(name="publish-reengagement", on_failure=[_notify_failure_hook])
@redacting_exceptions
def publish_reengagement(config_path: str | None = None, data_dir: str | None = None) -> dict[str, Any]:
    """The win-back list: 30-day follow-ups, shipped features, moved champions."""
    return publish_task("reengagement", config_path, data_dir)


PUBLISH_FLOWS = {"digests": publish_digests, "alerts": publish_alerts, "reengagement": publish_reengagement}
SYNC_FLOWS = {"salesforce": sync_salesforce, "hubspot": sync_hubspot}


def _pipeline_now() -> datetime:
    """The run's scheduled time (so a late start still publishes what was due), else now."""
    from prefect.runtime import flow_run

    scheduled = flow_run.scheduled_start_time
    if isinstance(scheduled, datetime):  # Prefect hands out a Pendulum subclass; use the plain kind
        return datetime.fromtimestamp(scheduled.timestamp(), UTC)
    return datetime.now(UTC)


class _StepClock:
    """Wall time per step, for the artifact and the demo's closing line."""

    def __init__(self, timings: dict[str, float]) -> None:
        self.timings = timings

    @contextmanager
    def __call__(self, step: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self.timings[step] = round(time.monotonic() - started, 1)


def _failure_message(state: State) -> str:
    return steps.safe_text(state.message or state.name)


@flow(name="churn-pipeline", on_failure=[_notify_failure_hook])
@redacting_exceptions
def churn_pipeline(
    config_path: str | None = None,
    data_dir: str | None = None,
    publishers: list[str] | None = None,
    due_window_minutes: int = 60,
    full_refresh: bool = False,
) -> dict[str, Any]:
    """Sync both CRMs, build the warehouse, then run each publisher that is due.

    `publishers=None` publishes what the schedules (publishing.schedules, publishing.timezone)
    say fired in the last `due_window_minutes`; `["all"]` or an explicit list overrides that.
    A failed sync still lets the other sync and the build run (raw data is append-only), but
    skips publishing, so nobody gets a digest built on a half-synced warehouse.
    """
    config = steps.FlowInputs(config_path, data_dir).config()
    schedules, tz = steps.publisher_schedules(config)
    due = due_publishers(schedules, _pipeline_now(), timedelta(minutes=due_window_minutes), tz)
    chosen = select_publishers(publishers, due)

    failures: list[str] = []
    result: dict[str, Any] = {"syncs": {}, "build": None, "published": {}, "publishers": chosen,
                              "timings_s": {}}
    clock = _StepClock(result["timings_s"])
    for source, sync_flow in SYNC_FLOWS.items():
        with clock(f"sync-{source}"):
            state = sync_flow(config_path=config_path, data_dir=data_dir, full_refresh=full_refresh,
                              return_state=True)
        if state.is_completed():
            result["syncs"][source] = state.result()
        else:
            failures.append(f"sync-{source}: {_failure_message(state)}")

    with clock("build-warehouse"):
        result["build"] = build_warehouse(config_path=config_path, data_dir=data_dir,
                                          full_refresh=full_refresh)

    if failures:  # no digest or list from a half-synced warehouse
        result["skipped"] = chosen
        chosen = []
    for name in chosen:
        with clock(f"publish-{name}"):
            state = PUBLISH_FLOWS[name](config_path=config_path, data_dir=data_dir, return_state=True)
        if state.is_completed():
            result["published"][name] = state.result()
        else:
            failures.append(f"publish-{name}: {_failure_message(state)}")

    create_markdown_artifact(key="churn-pipeline", markdown=pipeline_markdown(result, failures),
                             description="churn pipeline run")
    if failures:
        raise steps.StepFailed("churn pipeline: " + " | ".join(failures))
    return result


def pipeline_markdown(result: dict[str, Any], failures: list[str]) -> str:
    """The run at a glance: records per stream, build, what was published."""
    lines = ["# churn pipeline", "", "| source | stream | records |", "|---|---|---|"]
    for source, summary in result["syncs"].items():
        for row in summary["rows"]:
            lines.append(f"| {source} | {row.get('stream', '-')} | {row.get('records', row.get('rows', '-'))} |")
    build = result.get("build") or {}
    lines += ["", f"build: {'ok' if build.get('success') else 'not run'} "
                  f"({build.get('duration_s', '-')} s)", ""]
    for name in PUBLISHERS:
        published = result["published"].get(name)
        if published:
            lines.append(f"- {name}: {published['sent']} sent, {published['failed']} failed")
        elif name in result.get("skipped", []):
            lines.append(f"- {name}: skipped (a sync failed)")
        elif name not in result["publishers"]:
            lines.append(f"- {name}: not due")
    lines += [f"- FAILED {failure}" for failure in failures]
    return "\n".join(lines)
